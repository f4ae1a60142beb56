"""Team settings for the public opt-out page (placeholder until implemented)."""

from . import bp


@bp.get("/settings")
def settings():
    return "Settings", 200
