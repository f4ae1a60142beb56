"""Public opt-out: a prospect removes themself from a team's outreach."""

from flask import Blueprint

bp = Blueprint("optout", __name__, url_prefix="/optout")

from . import views  # noqa: E402,F401  (registers the routes)
