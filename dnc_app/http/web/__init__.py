"""Team pages: members manage their list in the browser (server-rendered, htmx)."""

from flask import Blueprint, Response

bp = Blueprint("web", __name__)


@bp.after_request
def no_store(response: Response) -> Response:
    # Team data must not stay in shared caches or come back from the browser's cache
    # (e.g. with the back button after signing out).
    response.headers.setdefault("Cache-Control", "no-store")
    return response


from dnc_app.http.web import (  # noqa: E402,F401  (routes)
    account,
    aliases,
    audit,
    auth,
    bulk,
    companies,
    evidence,
    export,
    keys,
    members,
    remove_many,
    reset,
    screen,
    settings,
    views,
    webhooks,
)
from dnc_app.http.web.access import can, can_remove, forbidden  # noqa: E402

# A page the member's role does not allow: the normal page, why, and whom to ask.
bp.register_error_handler(403, forbidden)

# The templates show only what the member's role may use (the views enforce it).
bp.add_app_template_global(can, "can")
bp.add_app_template_global(can_remove, "can_remove")
