"""/favicon.ico: browsers ask for it whatever the page says; it is the SVG icon that the
pages name in `<link rel=icon>` (every current browser reads an SVG favicon)."""

from __future__ import annotations

from flask import Blueprint, current_app, send_from_directory

from dnc_app.extensions import limiter

bp = Blueprint("favicon", __name__)


@bp.get("/favicon.ico")
@limiter.exempt
def favicon():
    response = send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=86400
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
