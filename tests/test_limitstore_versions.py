"""dnc_app/limitstore.py is the one module that relies on how limits and Flask-Limiter
work inside (a private method of limits' MemoryStorage, the storage Flask-Limiter made,
its request context, limits' Redis list layout). This fails on their next major versions
and when those internals move, so the module is reviewed before the pins change."""

from __future__ import annotations

import flask_limiter
import limits
from limits.storage import MemoryStorage

from dnc_app.extensions import limiter
from dnc_app.limitstore import SweepingMemoryStorage

# The majors limitstore.py was written against (pyproject.toml's pins end before the next).
LIMITS_MAJOR = 5
FLASK_LIMITER_MAJOR = 4


def _major(version: str) -> int:
    return int(version.split(".")[0])


def test_the_libraries_are_the_majors_limitstore_knows():
    assert _major(limits.__version__) == LIMITS_MAJOR, (
        "limits changed major: review dnc_app/limitstore.py, then this test"
    )
    assert _major(flask_limiter.__version__) == FLASK_LIMITER_MAJOR, (
        "Flask-Limiter changed major: review dnc_app/limitstore.py, then this test"
    )


def test_the_internals_it_relies_on_are_there(make_app):
    assert callable(getattr(MemoryStorage, "_MemoryStorage__schedule_expiry", None))
    make_app()
    # The memory store Flask-Limiter made was replaced, and its strategy uses ours.
    assert type(limiter.storage) is SweepingMemoryStorage
    assert limiter.limiter.storage is limiter.storage


def test_forgetting_the_current_limit_drops_the_headers(make_app, team):
    from dnc_app.limitstore import forget_current_limit

    app = make_app()
    with app.test_request_context("/login"):
        assert hasattr(limiter.context, "view_rate_limit")
        forget_current_limit(limiter)
        assert limiter.current_limit is None
