"""The changes feed: `GET /v1/dnc/changes`, a team's additions and removals in commit
order, for clients that keep a local copy of the list (SPEC §4).

A client stores `nextCursor` and polls with it: every later change comes exactly once and
in commit order, because the cursor is a position in the team's change log, whose `seq`
is the commit order within a team (see dnc_app.changelog).
"""

from __future__ import annotations

import base64
import binascii

from flask import g, request

from ..changelog import Action, read_entry_changes
from ..errors import envelope
from ..timeutil import isoformat
from . import bp
from .auth import require_api_key
from .errors import InvalidParameter
from .limits import CHANGES, team_limits
from .params import int_arg

MAX_CHANGES_PAGE = 1000
DEFAULT_CHANGES_PAGE = 100
# A position fits a signed 64-bit integer (larger ones would fail in SQL).
_MAX_SEQ = 2**63 - 1
# The version prefix lets the cursor's meaning change later without breaking old ones.
_CURSOR_PREFIX = "c1:"
_TYPES = {Action.ADD.value: "added", Action.REMOVE.value: "removed",
          Action.ERASE.value: "erased"}
BAD_CURSOR = "cursor is not valid: pass the nextCursor of an earlier page"


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The position in a cursor; InvalidParameter for anything this server did not write
    (only the canonical encoding is accepted: no padding, sign, spaces or stray bytes)."""
    if len(cursor) > 40 or not cursor.isascii():
        raise InvalidParameter(BAD_CURSOR)
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (ValueError, binascii.Error):
        raise InvalidParameter(BAD_CURSOR) from None
    digits = raw.removeprefix(_CURSOR_PREFIX)
    if (digits == raw or not (digits.isascii() and digits.isdigit())
            or int(digits) > _MAX_SEQ or encode_cursor(int(digits)) != cursor):
        raise InvalidParameter(BAD_CURSOR)
    return int(digits)


def _change(row) -> dict:
    return {"type": _TYPES[row.action], "entryId": row.subject_id, "url": row.url,
            "at": isoformat(row.created_at), "source": row.source}


@bp.get("/dnc/changes")
@require_api_key
@team_limits(CHANGES)
def get_changes():
    limit = int_arg("limit", DEFAULT_CHANGES_PAGE, 1, MAX_CHANGES_PAGE,
                     f"limit must be an integer between 1 and {MAX_CHANGES_PAGE}")
    # No cursor (or an empty one): from the team's first change.
    cursor = request.args.get("cursor") or ""
    after = decode_cursor(cursor) if cursor else 0
    rows = read_entry_changes(g.team_id, after, limit + 1)
    page = rows[:limit]
    # Also with nothing new: the same position, to poll from.
    next_seq = page[-1].seq if page else after
    data = {"changes": [_change(row) for row in page], "nextCursor": encode_cursor(next_seq),
            "hasMore": len(rows) > limit}
    return envelope(None, data, f"{len(page)} changes", 200)
