"""dnc_app/storage/limitstore.py is the one module that relies on how limits and Flask-Limiter
work (limits' storage registry, Flask-Limiter's request context, limits' Redis list
layout). This fails on their next major versions and when what it relies on moves, so
the module is reviewed before the pins change; and its memory store answers as limits'
own does."""

from __future__ import annotations

import threading

import flask_limiter
import limits
import limits.storage
import pytest
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter, MovingWindowRateLimiter

from dnc_app.extensions import limiter
from dnc_app.storage.limitstore import SweepingMemoryStorage

# The majors limitstore.py was written against (pyproject.toml's pins end before the next).
LIMITS_MAJOR = 5
FLASK_LIMITER_MAJOR = 4


def _major(version: str) -> int:
    return int(version.split(".")[0])


def test_the_libraries_are_the_majors_limitstore_knows():
    assert _major(limits.__version__) == LIMITS_MAJOR, (
        "limits changed major: review dnc_app/storage/limitstore.py, then this test"
    )
    assert _major(flask_limiter.__version__) == FLASK_LIMITER_MAJOR, (
        "Flask-Limiter changed major: review dnc_app/storage/limitstore.py, then this test"
    )


def test_flask_limiter_builds_the_memory_store_from_the_registry(make_app):
    assert limits.storage.SCHEMES["memory"] is SweepingMemoryStorage
    app = make_app()
    assert app.config["RATELIMIT_STORAGE_URI"] == "memory://"
    assert type(limiter.storage) is SweepingMemoryStorage
    assert limiter.limiter.storage is limiter.storage


@pytest.mark.parametrize("strategy", [MovingWindowRateLimiter, FixedWindowRateLimiter])
def test_the_memory_store_answers_as_limits_own(strategy):
    ours, theirs = strategy(SweepingMemoryStorage()), strategy(MemoryStorage())
    item, other = parse("3/minute"), parse("1/second")
    for step in range(6):
        for limiter_ in (ours, theirs):
            assert limiter_.storage.check()
        got = [
            (
                s.hit(item, "team", "a"),
                s.test(other, "team", "b"),
                s.hit(other, "team", "b"),
                s.get_window_stats(item, "team", "a").remaining,
            )
            for s in (ours, theirs)
        ]
        assert got[0] == got[1], step
    for s in (ours, theirs):
        s.clear(item, "team", "a")
    assert ours.hit(item, "team", "a") and ours.get_window_stats(item, "team", "a").remaining == 2


def test_expired_entries_are_swept_inline_at_most_once_a_second(monkeypatch):
    threads_before = threading.active_count()
    store = SweepingMemoryStorage()
    now = [1000.0]
    monkeypatch.setattr("dnc_app.storage.limitstore.time.time", lambda: now[0])
    assert store.acquire_entry("a", 2, 10) and store.incr("c", 10) == 1
    now[0] += 11  # both expired; the next write sweeps them
    assert store.acquire_entry("b", 2, 10)
    assert set(store.events) == {"b"} and store.counters == {}
    now[0] += 0.5
    store.acquire_entry("d", 2, 0)  # expired at once, but the last sweep was just now
    assert "d" in store.events
    now[0] += 1
    store.acquire_entry("e", 2, 10)
    assert set(store.events) == {"b", "e"}
    # No thread of its own, ever.
    assert threading.active_count() == threads_before


def test_forgetting_the_current_limit_drops_the_headers(make_app, team):
    from dnc_app.storage.limitstore import forget_current_limit

    app = make_app()
    with app.test_request_context("/login"):
        assert hasattr(limiter.context, "view_rate_limit")
        forget_current_limit(limiter)
        assert limiter.current_limit is None


def test_flask_limiters_request_check_is_where_the_pipeline_calls_it():
    # check_app_wide_limits calls Flask-Limiter's before-request check by its name.
    import inspect

    from flask_limiter import Limiter

    check = Limiter._check_request_limit
    assert "in_middleware" in inspect.signature(check).parameters
