"""Opaque, signed cursors for the API's keyset pages (the changes feed, the delivery log).

A cursor holds a position and a short HMAC (under a key derived from SECRET_KEY) over
its kind, the scope it belongs to (the team, the endpoint) and the position: a cursor the
server never issued (forged, altered, another team's) is refused, never read as a
position. Only the canonical spelling is accepted (no padding, spaces or stray bytes).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from flask import current_app

# A position fits a signed 64-bit integer (larger ones would fail in SQL).
MAX_POSITION = 2**63 - 1
MAX_CURSOR_LENGTH = 80
_MAC_BYTES = 12


def _mac(kind: str, scope: str, position: int) -> str:
    key = hashlib.sha256(b"dnc api cursors\0" + current_app.config["SECRET_KEY"].encode()).digest()
    digest = hmac.new(key, f"{kind}\0{scope}\0{position}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).decode()


def encode(kind: str, scope: str, position: int) -> str:
    raw = f"{kind}:{position}:{_mac(kind, scope, position)}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(kind: str, scope: str, cursor: str) -> int | None:
    """The position in a cursor of this kind and scope, or None if the server did not
    issue it."""
    raw = unpadded(cursor)
    if raw is None or raw.count(":") != 2:
        return None
    prefix, digits, _mac_text = raw.split(":")
    if (
        prefix != kind
        or not (digits.isascii() and digits.isdigit())
        or len(digits) > 19
        or int(digits) > MAX_POSITION
    ):
        return None
    position = int(digits)
    return position if hmac.compare_digest(encode(kind, scope, position), cursor) else None


def unpadded(cursor: str) -> str | None:
    """The text of an unpadded URL-safe base64 cursor, or None."""
    if len(cursor) > MAX_CURSOR_LENGTH or not cursor.isascii():
        return None
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, binascii.Error):
        return None
