"""Where the service depends on how limits and Flask-Limiter work: their public extension
points, and the two deliberate exceptions below (tests/test_limitstore_versions.py fails
on their next major versions, so that these are checked again before the pins move).

1. The in-memory rate-limit store (memory://, one process): `SweepingMemoryStorage`, a
limits storage of its own (limits' documented extension point: a `Storage` subclass that
names its URI schemes), which Flask-Limiter builds from the configured memory:// URI.
limits' MemoryStorage starts a timer thread to sweep expired entries whenever the
previous one has finished, i.e. every 10 ms under load: a thread start and a sweep of
every key cost more than the rest of the limit check. Here the sweep runs at most once a
second, inline; every read compares timestamps itself, so the answers are the same.

2. Deliberate exceptions in Flask-Limiter: no X-RateLimit-* headers on a response
(forget_current_limit): Flask-Limiter writes them from the request's current limit, kept
in its request context (a property its documentation marks private); it has no public way
to withdraw them. And the API pipeline's routes run no Flask hooks, so they call
Flask-Limiter's own before-request check (check_app_wide_limits), which has no public name.

3. Deliberate exception: one Redis round trip per limit and request (hit_with_window):
limits' own Lua scripts for the moving window, acquire then read, in one script. It must
keep limits' list layout, so that budgets counted here and by Flask-Limiter are one.
"""

from __future__ import annotations

import bisect
import threading
import time
import weakref
from typing import NamedTuple

from flask_limiter import Limiter
from limits import RateLimitItem
from limits.errors import StorageError
from limits.storage import MovingWindowSupport, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter, RateLimiter

SWEEP_INTERVAL_S = 1.0


class SweepingMemoryStorage(Storage, MovingWindowSupport):
    """One process's rate-limit counters, for the moving window (the strategy the service
    uses) and fixed-window counters; expired entries are swept inline, at most once a
    second."""

    # memory:// itself: registering the scheme makes Flask-Limiter (and anything else
    # in the process that asks limits for memory://) build this store.
    STORAGE_SCHEME = ["memory"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        # One lock: every operation is a few list or dict steps.
        self.lock = threading.Lock()
        # key -> acquisition times, newest first, at most `limit` of them.
        self.events: dict[str, list[float]] = {}
        self.event_expiry: dict[str, float] = {}  # key -> when its newest entry expires
        self.counters: dict[str, int] = {}
        self.counter_expiry: dict[str, float] = {}
        self.next_sweep = 0.0
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return ValueError

    def _sweep(self, now: float) -> None:
        """Under the lock: drop what has expired, at most once a SWEEP_INTERVAL_S."""
        if now < self.next_sweep:
            return
        self.next_sweep = now + SWEEP_INTERVAL_S
        for expiries, values in (
            (self.event_expiry, self.events),
            (self.counter_expiry, self.counters),
        ):
            for key in [k for k, at in expiries.items() if at <= now]:
                del expiries[key]
                values.pop(key, None)

    # ---- fixed-window counters (limits' Storage interface)

    def _counter(self, key: str, now: float) -> int:
        if self.counter_expiry.get(key, 0) <= now:
            self.counters.pop(key, None)
            self.counter_expiry.pop(key, None)
        return self.counters.get(key, 0)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        with self.lock:
            self._sweep(now)
            value = self._counter(key, now) + amount
            self.counters[key] = value
            if value == amount:
                self.counter_expiry[key] = now + expiry
            return value

    def decr(self, key: str, amount: int = 1) -> int:
        now = time.time()
        with self.lock:
            value = max(self._counter(key, now) - amount, 0)
            if key in self.counters:
                self.counters[key] = value
            return value

    def get(self, key: str) -> int:
        with self.lock:
            return self._counter(key, time.time())

    def get_expiry(self, key: str) -> float:
        now = time.time()
        with self.lock:
            return self.counter_expiry.get(key, now)

    def check(self) -> bool:
        return True

    def reset(self) -> int | None:
        with self.lock:
            count = max(len(self.counters), len(self.events))
            for mapping in (self.counters, self.counter_expiry, self.events, self.event_expiry):
                mapping.clear()
            return count

    def clear(self, key: str) -> None:
        with self.lock:
            for mapping in (self.counters, self.counter_expiry, self.events, self.event_expiry):
                mapping.pop(key, None)

    # ---- the moving window (limits' MovingWindowSupport interface)

    def _acquire(self, key: str, limit: int, expiry: int, amount: int, now: float) -> bool:
        if amount > limit:
            return False
        events = self.events.setdefault(key, [])
        if len(events) > limit - amount and events[limit - amount] >= now - expiry:
            return False
        events[:0] = [now] * amount
        del events[limit:]  # older entries can no longer decide anything
        self.event_expiry[key] = now + expiry
        return True

    def _window(self, key: str, expiry: int, now: float) -> tuple[float, int]:
        """(time of the oldest entry in the window, entries in it), as limits' own
        MemoryStorage answers."""
        events = self.events.get(key)
        if not events:
            return now, 0
        count = bisect.bisect_left(events, -(now - expiry), key=lambda at: -at)
        return events[count - 1], count

    def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        now = time.time()
        with self.lock:
            self._sweep(now)
            return self._acquire(key, limit, expiry, amount, now)

    def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        now = time.time()
        with self.lock:
            return self._window(key, expiry, now)

    def acquire_and_window(self, key: str, limit: int, expiry: int) -> tuple[bool, float, int]:
        """One entry acquired (or refused) and the window read, atomically."""
        now = time.time()
        with self.lock:
            self._sweep(now)
            counted = self._acquire(key, limit, expiry, 1, now)
            return (counted, *self._window(key, expiry, now))


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
        if isinstance(storage, SweepingMemoryStorage):
            counted, start, count = storage.acquire_and_window(key, amount, expiry)
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
