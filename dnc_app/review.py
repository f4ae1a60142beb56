"""Entries flagged for review: public opt-outs that arrived above a team's threshold.

They are on the list like any other entry (an opt-out is never lost); the flag only
asks the team to look. Marking them reviewed clears the flag, nothing else.
"""

from __future__ import annotations

from sqlalchemy import func, select, update

from . import dnc
from .database import begin_write
from .extensions import db
from .models import DncEntry

_FLAGGED = DncEntry.needs_review.is_(True)


def count_flagged(team_id: str) -> int:
    """Served by the partial index of flagged entries: no scan of the list."""
    return db.session.execute(
        select(func.count()).select_from(DncEntry)
        .where(DncEntry.team_id == team_id, _FLAGGED)
    ).scalar_one()


def list_flagged(team_id: str, *, limit: int = 50, cursor: str | None = None) -> dnc.EntryPage:
    """Newest first with keyset cursors, like dnc.list_entries. Raises dnc.InvalidCursor."""
    stmt = select(DncEntry).where(DncEntry.team_id == team_id, _FLAGGED)
    if cursor:
        stmt = stmt.where(DncEntry.seq < dnc.decode_cursor(cursor))
    entries = list(db.session.execute(
        stmt.order_by(DncEntry.seq.desc()).limit(limit + 1)).scalars())
    next_cursor = dnc.encode_cursor(entries[limit - 1].seq) if len(entries) > limit else None
    return dnc.EntryPage(entries[:limit], count_flagged(team_id), next_cursor)


def newest_flagged_seq(team_id: str) -> int | None:
    return db.session.execute(
        select(func.max(DncEntry.seq)).where(DncEntry.team_id == team_id, _FLAGGED)
    ).scalar()


def mark_reviewed(team_id: str, through_seq: int) -> int:
    """Clear the flag of the team's entries up to `through_seq` (the newest one the
    member saw: any that arrived since stay flagged). Returns how many were cleared."""
    begin_write()
    cleared = db.session.execute(
        update(DncEntry)
        .where(DncEntry.team_id == team_id, _FLAGGED, DncEntry.seq <= through_seq)
        .values(needs_review=False)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return cleared
