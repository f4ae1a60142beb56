"""Liveness and readiness for load balancers and process managers (no auth, no limits).

/healthz: the process answers. /readyz: it can also serve, i.e. the database and the
rate-limit store are reachable; a load balancer takes a 503 instance out of rotation.
"""

from flask import Blueprint, current_app
from sqlalchemy import text

from dnc_app.extensions import db, limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
@limiter.exempt
def readyz():
    checks = {"database": _database_ok(), "rateLimitStorage": _limit_store_ok()}
    ready = all(checks.values())
    body = {
        "status": "ok" if ready else "unavailable",
        # Only ok/unavailable: the endpoint is public, the reasons go to the log.
        "checks": {name: "ok" if ok else "unavailable" for name, ok in checks.items()},
    }
    return body, 200 if ready else 503, {"Cache-Control": "no-store"}


def _database_ok() -> bool:
    try:
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        current_app.logger.warning("readyz: database check failed: %s", type(exc).__name__)
        return False


def _limit_store_ok() -> bool:
    try:
        ok = bool(limiter.storage.check())
    except Exception as exc:  # check() normally returns False rather than raising
        current_app.logger.warning("readyz: limiter storage check raised %s", type(exc).__name__)
        return False
    if not ok:
        current_app.logger.warning("readyz: limiter storage unreachable")
    return ok
