"""The changes feed: `GET /v1/dnc/changes`, a team's additions and removals in commit
order, for clients that keep a local copy of the list.

A client stores `nextCursor` and polls with it: every later change comes exactly once and
in commit order, because the cursor is a position in the team's change log, whose `seq`
is the commit order within a team (see dnc_app.domain.changelog). Each item carries its `seq`,
the number webhook events carry too, so a receiver that sees a gap knows what to read.
"""

from __future__ import annotations

import base64

from flask import g, request
from sqlalchemy import select

from dnc_app.domain.changelog import Action, read_entry_changes
from dnc_app.domain.timeutil import isoformat
from dnc_app.extensions import db
from dnc_app.http.api import bp, cursors
from dnc_app.http.api.auth import require_api_key
from dnc_app.http.api.errors import InvalidParameter
from dnc_app.http.api.limits import CHANGES, team_limits
from dnc_app.http.api.schemas import parse, query_source
from dnc_app.http.api.schemas.changes import DEFAULT_CHANGES_PAGE, MAX_CHANGES_PAGE, ChangesQuery
from dnc_app.http.errors import envelope
from dnc_app.storage.models import Team

__all__ = ["DEFAULT_CHANGES_PAGE", "MAX_CHANGES_PAGE", "decode_cursor", "encode_cursor"]
# The cursor's kind: a new one lets the cursor's meaning change later.
_KIND = "c2"
# Cursors issued before they were signed: a position only, still accepted (a stored
# cursor does not expire) when it is not past the team's newest change.
_LEGACY_PREFIX = "c1:"
_TYPES = {
    Action.ADD.value: "added",
    Action.REMOVE.value: "removed",
    Action.ERASE.value: "erased",
    # An alias of the entry added: `url` is the alias (null once the person is erased).
    Action.ALIAS_ADD.value: "updated",
}
BAD_CURSOR = "cursor is not valid: pass the nextCursor of an earlier page"


def encode_cursor(team_id: str, seq: int) -> str:
    return cursors.encode(_KIND, team_id, seq)


def decode_cursor(team_id: str, cursor: str) -> int:
    """The position in a cursor this server issued to the team and that is not past its
    newest change; InvalidParameter for any other (forged, altered, another team's, one
    past the end after a restore), so that a client never polls an empty page forever."""
    seq = cursors.decode(_KIND, team_id, cursor)
    if seq is None:
        seq = _legacy(cursor)
    if seq is None or seq > (
        db.session.scalar(select(Team.change_seq).where(Team.id == team_id)) or 0
    ):
        raise InvalidParameter(BAD_CURSOR)
    return seq


def _legacy(cursor: str) -> int | None:
    digits = (cursors.unpadded(cursor) or "").removeprefix(_LEGACY_PREFIX)
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 19:
        return None
    seq = int(digits)
    canonical = base64.urlsafe_b64encode(f"{_LEGACY_PREFIX}{seq}".encode()).decode()
    return seq if canonical.rstrip("=") == cursor else None


def _change(row) -> dict:
    return {
        "type": _TYPES[row.action],
        "entryId": row.subject_id,
        "url": row.url,
        "at": isoformat(row.created_at),
        "source": row.source,
        "seq": row.seq,
    }


@bp.get("/dnc/changes")
@require_api_key
@team_limits(CHANGES)
def get_changes():
    query = parse(ChangesQuery, query_source(request.args, ChangesQuery))
    limit, cursor = query.limit, query.cursor
    # No cursor (or an empty one): from the team's first change.
    after = decode_cursor(g.team_id, cursor) if cursor else 0
    rows = read_entry_changes(g.team_id, after, limit + 1)
    page = rows[:limit]
    # Also with nothing new: the same position, to poll from.
    next_seq = page[-1].seq if page else after
    data = {
        "changes": [_change(row) for row in page],
        "nextCursor": encode_cursor(g.team_id, next_seq),
        "hasMore": len(rows) > limit,
    }
    return envelope(None, data, f"{len(page)} changes", 200)
