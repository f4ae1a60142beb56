"""Liveness and readiness for load balancers and process managers (no auth, no limits).

/healthz: the process answers. /readyz: it can also serve, i.e. the database and the
rate-limit store are reachable; a load balancer takes a 503 instance out of rotation.
"""

from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from dnc_app.extensions import db, limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return {"status": "ok"}


@bp.get("/readyz")
@limiter.exempt
def readyz():
    limits = _limit_store_state()
    checks = {"database": "ok" if _database_ok() else "unavailable", "rateLimitStorage": limits}
    ready = "unavailable" not in checks.values()
    body = {
        "status": "ok" if ready else "unavailable",
        # Only ok/unavailable (disabled: no limit store): the endpoint is public, the
        # reasons go to the log.
        "checks": checks,
    }
    return body, 200 if ready else 503, {"Cache-Control": "no-store"}


def _database_ok() -> bool:
    for attempt in (1, 2):
        try:
            _select_one()
            return True
        except Exception as exc:  # any failure means "not ready"; the reason goes to the log
            if attempt == 1 and isinstance(exc, DBAPIError) and exc.connection_invalidated:
                # A pooled connection that outlived a database restart: it is discarded
                # (with the pool's other old ones); what counts is whether the database
                # answers now, on a new connection.
                continue
            current_app.logger.warning("readyz: database check failed: %s", type(exc).__name__)
    return False


def _select_one() -> None:
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _limit_store_state() -> str:
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return "disabled"  # no limits, so no store to reach
    try:
        ok = bool(limiter.storage.check())
    except Exception as exc:  # check() normally returns False rather than raising
        current_app.logger.warning("readyz: limiter storage check raised %s", type(exc).__name__)
        return "unavailable"
    if not ok:
        current_app.logger.warning("readyz: limiter storage unreachable")
    return "ok" if ok else "unavailable"
