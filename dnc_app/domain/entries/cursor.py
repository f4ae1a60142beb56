"""Opaque keyset-pagination cursors: a position in a team's list (its insertion order)."""

from __future__ import annotations

import base64
import binascii

from dnc_app.domain.entries.errors import InvalidCursor

# A sequence number fits a signed 64-bit integer (larger ones would fail in SQL).
_MAX_SEQ = 2**63


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        digits = raw[1:]
        if not raw.startswith("s") or not (digits.isascii() and digits.isdigit()):
            raise ValueError
        seq = int(digits)
        if seq >= _MAX_SEQ:
            raise ValueError
        return seq
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor() from None
