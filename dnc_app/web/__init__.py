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
    members,
    remove_many,
    screen,
    settings,
    views,
    webhooks,
)
from .access import can, can_remove  # noqa: E402

# The templates show only what the member's role may use (the views enforce it).
bp.add_app_template_global(can, "can")
bp.add_app_template_global(can_remove, "can_remove")
