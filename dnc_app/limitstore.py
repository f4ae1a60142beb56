"""Where the service depends on how limits and Flask-Limiter work inside: the one module
that does (tests/test_limitstore_versions.py fails on their next major versions, so that
these are checked again before the pins move).

1. The in-memory rate-limit store (memory://, one process) without a thread per request.

limits' MemoryStorage starts a timer thread to sweep expired entries whenever the
previous one has finished, i.e. every 10 ms under load: a thread start and a sweep of
every key cost more than the rest of the limit check (~300 µs of CPU per request at a
few hundred requests/s). The sweep only frees memory — every read compares timestamps
itself — so here it runs at most once a second. Same answers, same keys. limits offers
no setting for it: the store overrides its private scheduling method, and is put in place
of the one Flask-Limiter made (Flask-Limiter takes no storage object).

2. No X-RateLimit-* headers on a response (forget_current_limit): Flask-Limiter writes
them from the request's current limit, kept in its request context (a private property).
The API pipeline's routes run no Flask hooks, so they call Flask-Limiter's before-request
check themselves (check_app_wide_limits, a private method too).

3. One Redis round trip per limit and request (hit_with_window): limits' own Lua scripts
for the moving window, acquire then read, in one script. It must keep limits' list layout,
so that budgets counted here and by Flask-Limiter are one.
"""

from __future__ import annotations

import threading
import time
import weakref
from typing import NamedTuple

from flask_limiter import Limiter
from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import STRATEGIES, MovingWindowRateLimiter, RateLimiter

SWEEP_INTERVAL_S = 1.0


class SweepingMemoryStorage(MemoryStorage):
    # Not registered under a scheme of its own: the configured URI stays memory://.
    STORAGE_SCHEME: list[str] = []

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self._next_sweep = 0.0
        self._sweep_lock = threading.Lock()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 - overrides the private
        now = time.monotonic()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + SWEEP_INTERVAL_S
            # The deliberate private call this module exists for (see the docstring).
            super()._MemoryStorage__schedule_expiry()  # type: ignore[misc]
        finally:
            self._sweep_lock.release()


def sweep_less_often(limiter: Limiter, strategy: str) -> None:
    """After limiter.init_app: a memory:// store becomes a SweepingMemoryStorage."""
    storage = limiter._storage
    if type(storage) is MemoryStorage:
        limiter._storage = SweepingMemoryStorage(wrap_exceptions=storage.wrap_exceptions)
        limiter._limiter = STRATEGIES[strategy](limiter._storage)


def check_app_wide_limits(limiter: Limiter) -> None:
    """Flask-Limiter's own check of the current request (in a request context) against its
    default and application limits, as its before-request hook makes it: raises
    RateLimitExceeded. For the API pipeline, whose routes run no Flask hooks."""
    limiter._check_request_limit(in_middleware=True)


def forget_current_limit(limiter: Limiter) -> None:
    """This response gets no X-RateLimit-* headers from Flask-Limiter."""
    limiter.context.view_rate_limit = None


# ------------------------------------------------------------ one call per limit per request

# limits' acquire_moving_window.lua (one entry) followed by its moving_window.lua, in one
# script: one round trip to Redis counts the request and reads the window for the
# X-RateLimit-* headers, atomically. Same list, same entries (Lua numbers, pushed as
# limits pushes them), so budgets counted either way are one.
_REDIS_HIT_AND_WINDOW = b"""
local timestamp = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local expiry = tonumber(ARGV[3])
local acquired = 0
local entry = redis.call('lindex', KEYS[1], limit - 1)
if not (entry and tonumber(entry) >= timestamp - expiry) then
    redis.call('lpush', KEYS[1], timestamp)
    redis.call('ltrim', KEYS[1], 0, limit - 1)
    redis.call('expire', KEYS[1], expiry)
    acquired = 1
end
local target = timestamp - expiry
local low, high, index = 0, limit - 1, nil
while low <= high do
    local mid = math.floor((low + high) / 2)
    local val = tonumber(redis.call('lindex', KEYS[1], mid))
    if val and val >= target then
        index = mid
        low = mid + 1
    else
        high = mid - 1
    end
end
if index then
    return {acquired, tostring(tonumber(redis.call('lindex', KEYS[1], index))), index + 1}
end
return {acquired, tostring(timestamp), 0}
"""

_REDIS_SCRIPTS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class WindowAfterHit(NamedTuple):
    counted: bool
    reset: float  # epoch seconds when the window has room again
    remaining: int


def hit_with_window(
    strategy: RateLimiter, item: RateLimitItem, *identifiers: str
) -> WindowAfterHit:
    """Count one request against `item` and read its moving window, in one storage
    operation where the store allows it (memory://, Redis); else `hit` then
    `get_window_stats`, as Flask-Limiter does."""
    storage = strategy.storage
    key, amount, expiry = item.key_for(*identifiers), item.amount, item.get_expiry()
    if isinstance(strategy, MovingWindowRateLimiter):
        if isinstance(storage, MemoryStorage):
            with storage.locks[key]:  # re-entrant: the two calls below take it too
                counted = storage.acquire_entry(key, amount, expiry)
                start, count = storage.get_moving_window(key, amount, expiry)
            return WindowAfterHit(counted, start + expiry, amount - count)
        if isinstance(storage, RedisStorage):
            counted, start, count = _redis_hit_and_window(storage, key, amount, expiry)
            return WindowAfterHit(counted, start + expiry, amount - count)
    counted = strategy.hit(item, *identifiers)
    reset, remaining = strategy.get_window_stats(item, *identifiers)
    return WindowAfterHit(counted, reset, remaining)


def _redis_hit_and_window(
    storage: RedisStorage, key: str, limit: int, expiry: int
) -> tuple[bool, float, int]:
    script = _REDIS_SCRIPTS.get(storage)
    try:
        if script is None:
            script = _REDIS_SCRIPTS[storage] = storage.get_connection().register_script(
                _REDIS_HIT_AND_WINDOW
            )
        acquired, start, count = script(
            keys=[storage.prefixed_key(key)], args=[time.time(), limit, expiry]
        )
    except storage.base_exceptions as exc:
        if storage.wrap_exceptions:  # as limits' own storage calls do
            raise StorageError(exc) from exc
        raise
    return bool(acquired), float(start), int(count)
