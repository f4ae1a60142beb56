"""Team pages: members manage their list in the browser (server-rendered, htmx)."""

from flask import Blueprint, Response

bp = Blueprint("web", __name__)


@bp.after_request
def no_store(response: Response) -> Response:
    # Team data must not stay in shared caches or come back from the browser's cache
    # (e.g. with the back button after signing out).
    response.headers.setdefault("Cache-Control", "no-store")
    return response


from . import (  # noqa: E402,F401  (routes)
    account,
    audit,
    auth,
    bulk,
    export,
    keys,
    screen,
    settings,
    views,
    webhooks,
)
