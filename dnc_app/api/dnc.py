"""DNC list endpoints."""

from __future__ import annotations

import json

from flask import g, request

from .. import dnc
from ..errors import envelope
from . import bp
from .auth import require_api_key, write_limit


def json_object() -> dict | tuple:
    """The request body as a JSON object, or an error response."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        return envelope("invalid_json", None, "Request body is not valid JSON", 400)
    if not isinstance(body, dict):
        return envelope("invalid_json", None, "Request body must be a JSON object", 400)
    return body


def error_response(exc: dnc.DncError, status: int = 400, data=None):
    return envelope(exc.code, data, exc.message, status)


@bp.post("/dnc")
@require_api_key
@write_limit
def add_entry():
    body = json_object()
    if isinstance(body, tuple):
        return body
    url = body.get("url")
    if url is None or url == "":
        return envelope("missing_url", None, "URL is required", 400)
    try:
        entry = dnc.add_entry(
            g.team_id, url, reason=body.get("reason"), source="api", actor=g.actor
        )
    except dnc.AlreadyListed as exc:
        return error_response(exc, 409, data=exc.entry.to_dict())
    except dnc.DncError as exc:
        return error_response(exc)
    return envelope(None, entry.to_dict(), "Added to Do Not Contact list", 201)


@bp.get("/verify")
@require_api_key
def verify():
    return {"status": "success", "message": "API key is valid"}
