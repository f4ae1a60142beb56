"""The in-memory rate-limit store (memory://, one process) without a thread per request.

limits' MemoryStorage starts a timer thread to sweep expired entries whenever the
previous one has finished, i.e. every 10 ms under load: a thread start and a sweep of
every key cost more than the rest of the limit check (~300 µs of CPU per request at a
few hundred requests/s). The sweep only frees memory — every read compares timestamps
itself — so here it runs at most once a second. Same answers, same keys.
"""

from __future__ import annotations

import threading
import time

from flask_limiter import Limiter
from limits.storage import MemoryStorage
from limits.strategies import STRATEGIES

SWEEP_INTERVAL_S = 1.0


class SweepingMemoryStorage(MemoryStorage):
    # Not registered under a scheme of its own: the configured URI stays memory://.
    STORAGE_SCHEME = None

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
            super()._MemoryStorage__schedule_expiry()
        finally:
            self._sweep_lock.release()


def sweep_less_often(limiter: Limiter, strategy: str) -> None:
    """After limiter.init_app: a memory:// store becomes a SweepingMemoryStorage."""
    storage = limiter._storage
    if type(storage) is MemoryStorage:
        options = {"wrap_exceptions": storage.wrap_exceptions}
        limiter._storage = SweepingMemoryStorage(**options)
        limiter._limiter = STRATEGIES[strategy](limiter._storage)
