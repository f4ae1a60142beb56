"""The JSON API under /v1 (Kakiyo-compatible contract)."""

from flask import Blueprint, current_app, request

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/v1")
# Bearer-key API: no cookies are read, so there is nothing for CSRF to protect.
csrf.exempt(bp)


@bp.before_request
def cap_request_size():
    request.max_content_length = current_app.config["API_MAX_CONTENT_LENGTH"]


from . import entries, errors  # noqa: E402,F401  (routes and error handlers)
