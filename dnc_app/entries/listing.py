"""The list page's reads: the entries matching filters (source, a date range, a search),
a page at a time in either direction, and how many match.

Kept fast at a million entries: a date range is a range of the (team_id, seq) index
(see timeorder), pages are keyset pages on it, and a filtered count stops at COUNT_CAP.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from ..extensions import db
from ..search import contains
from ..timeorder import first_seq_at
from . import statements as sql
from .cursor import decode_cursor, encode_cursor
from .service import count_entries
from .values import Entry

# A filtered count stops here and says "10,000+": counting every match of a broad
# search would read most of a large list on each page view.
COUNT_CAP = 10_000


@dataclass(frozen=True)
class ListFilter:
    """What the list shows. `q` is already in its search form (validation.search_term)."""

    q: str = ""
    source: str = ""  # a Source value, or "" for every source
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before

    @property
    def active(self) -> bool:
        return bool(self.q or self.source or self.since or self.until)


@dataclass
class BrowsePage:
    entries: list[Entry]
    total: int  # exact, unless `more` (then at least COUNT_CAP + 1)
    more: bool
    older: str | None  # cursor of the next, older page
    newer: str | None  # cursor of the previous, newer page


def _conditions(team_id: str, where: ListFilter) -> list:
    c = sql.ENTRIES.c
    conditions = [c.team_id == team_id]
    if where.since is not None:
        conditions += [c.seq >= first_seq_at(sql.ENTRIES, team_id, where.since),
                       c.created_at >= where.since]
    if where.until is not None:
        conditions += [c.seq < first_seq_at(sql.ENTRIES, team_id, where.until),
                       c.created_at < where.until]
    if where.source:
        conditions.append(c.source == where.source)
    if where.q:
        conditions.append(contains(c.url, where.q))
    return conditions


def _count(conditions: list) -> tuple[int, bool]:
    capped = select(sql.ENTRIES.c.seq).where(*conditions).limit(COUNT_CAP + 1).subquery()
    found = db.session.execute(select(func.count()).select_from(capped)).scalar_one()
    return found, found > COUNT_CAP


def browse(team_id: str, where: ListFilter, *, limit: int = 50, older_than: str | None = None,
           newer_than: str | None = None) -> BrowsePage:
    """Newest first: the first page, the page after cursor `older_than`, or the page
    before cursor `newer_than`. Raises InvalidCursor."""
    c = sql.ENTRIES.c
    conditions = _conditions(team_id, where)
    stmt = sql.SELECT_ENTRY.where(*conditions)
    if newer_than:
        rows = db.session.execute(stmt.where(c.seq > decode_cursor(newer_than))
                                  .order_by(c.seq).limit(limit + 1)).all()
        has_newer, has_older = len(rows) > limit, bool(rows)
        rows = rows[:limit][::-1]
    else:
        if older_than:
            stmt = stmt.where(c.seq < decode_cursor(older_than))
        rows = db.session.execute(stmt.order_by(c.seq.desc()).limit(limit + 1)).all()
        has_newer, has_older = bool(older_than), len(rows) > limit
        rows = rows[:limit]
    total, more = _count(conditions) if where.active else (count_entries(team_id), False)
    entries = [Entry(*row) for row in rows]
    return BrowsePage(
        entries, total, more,
        older=encode_cursor(entries[-1].seq) if has_older and entries else None,
        newer=encode_cursor(entries[0].seq) if has_newer and entries else None)
