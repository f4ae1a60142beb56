"""The API's one rule on request bodies' media type, for the Flask views and the hot path.

A request under /v1 that carries a body must send it as JSON (`application/json`, or a
`+json` type such as `application/merge-patch+json`); anything else, a missing
Content-Type included, is a 415 `unsupported_media_type`. A request without a body (no
Content-Length, or 0, and not chunked) is not concerned.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.http import parse_options_header


def has_body(environ: Mapping[str, Any]) -> bool:
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length and length != "0":
        return True
    return "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()


def is_json(content_type: str) -> bool:
    if content_type == "application/json":  # the usual case, without parsing
        return True
    mimetype = parse_options_header(content_type)[0].lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def refuses_body(environ: Mapping[str, Any]) -> bool:
    """Whether this request's body is refused with a 415 (the WSGI environ of a request)."""
    return has_body(environ) and not is_json(str(environ.get("CONTENT_TYPE", "")))
