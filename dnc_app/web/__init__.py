"""Team pages: members manage their list in the browser (server-rendered, htmx)."""

from flask import Blueprint

bp = Blueprint("web", __name__)

from . import settings  # noqa: E402,F401  (registers the routes)
