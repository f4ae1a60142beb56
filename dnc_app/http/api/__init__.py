"""The JSON API under /v1 (Kakiyo-compatible contract)."""

from flask import Blueprint, abort, current_app, request

from dnc_app.extensions import csrf
from dnc_app.http.api.mediatype import refuses_body

bp = Blueprint("api", __name__, url_prefix="/v1")
# Bearer-key API: no cookies are read, so there is nothing for CSRF to protect.
csrf.exempt(bp)


@bp.before_request
def cap_request_size():
    cap = current_app.config["API_MAX_CONTENT_LENGTH"]
    if request.content_length is not None:
        request.max_content_length = cap  # a larger Content-Length is a 413 on reading
        return
    # A chunked body has no Content-Length, and werkzeug silently stops reading it at
    # the cap: the view would see truncated JSON (a 400). Read one byte more than the
    # cap to tell a body that fits from one that does not.
    request.max_content_length = cap + 1
    if len(request.get_data(cache=True)) > cap:
        abort(413)


@bp.before_request
def refuse_non_json_body():
    """A body that is not JSON is a 415 (api/mediatype.py; the hot path asks the same)."""
    if refuses_body(request.environ):
        abort(415)


from dnc_app.http.api import changes, companies, entries, errors, webhooks  # noqa: E402,F401  (routes and error handlers)
from dnc_app.http.api.limits import add_rate_limit_headers  # noqa: E402

bp.after_request(add_rate_limit_headers)
