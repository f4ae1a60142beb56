"""Time windows on tables kept in insertion order, without an index on the time.

A team's entries (`dnc_entry`) and changes (`audit_event`) are numbered in `seq` as they
are written, and each row's `created_at` is the time of its write: within a team,
`created_at` rises with `seq` (up to the milliseconds between taking the time and
taking the team's write lock). So "rows since T" is "rows from one `seq` on": a range of
the (team_id, seq) index, found by a binary search of a few dozen index lookups, instead
of a scan of the team's rows (there is no index on `created_at`, and at a million rows
none is needed for this).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, bindparam, func, select

from dnc_app.extensions import db


def first_seq_at(table: Table, team_id: str, moment: datetime) -> int:
    """The smallest `seq` from which the team's rows are created at or after `moment`
    (one past the team's last row when none is; 0 for a team without rows)."""
    c = table.c
    # Two statements: SQLite reads min() or max() alone from the index's end, but scans
    # the team's whole range for both in one.
    low = db.session.execute(select(func.min(c.seq)).where(c.team_id == team_id)).scalar()
    if low is None:
        return 0
    high = db.session.execute(select(func.max(c.seq)).where(c.team_id == team_id)).scalar_one()
    first_from = (
        select(c.seq, c.created_at)
        .where(c.team_id == bindparam("team_id"), c.seq >= bindparam("seq"))
        .order_by(c.seq)
        .limit(1)
    )
    # The smallest x in [low, high + 1] such that the first row at or after x is recent
    # enough (true for high + 1: no row there).
    high += 1
    while low < high:
        middle = (low + high) // 2
        seq, created_at = db.session.execute(first_from, {"team_id": team_id, "seq": middle}).one()
        if created_at >= moment:
            high = middle
        else:
            low = seq + 1  # every x up to this row's seq finds this same (older) row
    return low
