"""Entries flagged for review: public opt-outs that arrived above a team's threshold.

They are on the list like any other entry (an opt-out is never lost); the flag only
asks the team to look. Marking them reviewed clears the flag (recorded in the change log),
nothing else.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from dnc_app.domain.changelog import Action, Actor, Change, Source, record
from dnc_app.domain.entries import statements as sql
from dnc_app.domain.entries.cursor import decode_cursor, encode_cursor
from dnc_app.domain.entries.values import Entry, EntryPage
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write, rows_matched

_ENTRIES = sql.ENTRIES
_FLAGGED = _ENTRIES.c.needs_review.is_(True)


def count_flagged(team_id: str) -> int:
    """Served by the partial index of flagged entries: no scan of the list."""
    return db.session.execute(
        select(func.count()).select_from(_ENTRIES).where(_ENTRIES.c.team_id == team_id, _FLAGGED)
    ).scalar_one()


def list_flagged(team_id: str, *, limit: int = 50, cursor: str | None = None) -> EntryPage:
    """Newest first with keyset cursors, like list_entries. Raises InvalidCursor."""
    c = _ENTRIES.c
    stmt = sql.SELECT_ENTRY.where(c.team_id == team_id, _FLAGGED)
    if cursor:
        stmt = stmt.where(c.seq < decode_cursor(cursor))
    rows = db.session.execute(stmt.order_by(c.seq.desc()).limit(limit + 1)).all()
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return EntryPage([Entry(*row) for row in rows[:limit]], count_flagged(team_id), next_cursor)


def newest_flagged_seq(team_id: str) -> int | None:
    return db.session.execute(
        select(func.max(_ENTRIES.c.seq)).where(_ENTRIES.c.team_id == team_id, _FLAGGED)
    ).scalar()


def mark_reviewed(
    team_id: str, through_seq: int, *, actor: Actor, source: Source = Source.WEB
) -> int:
    """Clear the flag of the team's entries up to `through_seq` (the newest one the
    member saw: any that arrived since stay flagged). Returns how many were cleared."""
    begin_write()
    cleared = rows_matched(
        db.session.execute(
            update(_ENTRIES)
            .where(_ENTRIES.c.team_id == team_id, _FLAGGED, _ENTRIES.c.seq <= through_seq)
            .values(needs_review=False)
        )
    )
    if cleared:
        noun = "entry" if cleared == 1 else "entries"
        record(
            team_id,
            Action.REVIEWED,
            [Change(team_id, None, f"{cleared:,} {noun}")],
            source=source,
            actor=actor,
        )
    db.session.commit()
    return cleared
