"""Public opt-out: a prospect removes themself from a team's outreach."""

from flask import Blueprint

from dnc_app.http.optout.links import URL_PREFIX

bp = Blueprint("optout", __name__, url_prefix=URL_PREFIX)

from dnc_app.http.optout import views  # noqa: E402,F401  (registers the routes)
