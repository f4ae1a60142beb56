"""Liveness for load balancers and process managers."""

from flask import Blueprint

from .extensions import limiter

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@limiter.exempt
def healthz():
    return {"status": "ok"}
