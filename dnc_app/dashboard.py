"""The list page's dashboard: a team's numbers and its additions per week by source.

Read from the entries (what is on the list now: an entry added and then removed is not
counted as added) and from the change log (removals). Cheap at a million entries: the
total is the team's kept count, and each time window is a range of a (team_id, seq)
index found by timeorder.first_seq_at, so a page view reads only the recent rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, select

from .changelog import Action, Source
from .entries import count_entries
from .entries.statements import ENTRIES
from .extensions import db
from .models import AuditEvent
from .timeorder import first_seq_at
from .timeutil import utcnow

WEEKS = 12
_LOG = AuditEvent.__table__


@dataclass(frozen=True)
class Week:
    """Monday to Sunday (UTC): the entries added, by source value."""

    start: date
    by_source: dict[str, int] = field(default_factory=dict)

    @property
    def end(self) -> date:
        return self.start + timedelta(days=6)

    @property
    def total(self) -> int:
        return sum(self.by_source.values())


@dataclass(frozen=True)
class Dashboard:
    total: int
    added_last_7_days: int
    public_this_month: int
    removed_last_30_days: int
    weeks: list[Week]  # oldest first; the last one is the current week

    @property
    def sources(self) -> list[Source]:
        """The sources that added something in the weeks shown, in the vocabulary's order."""
        seen = {value for week in self.weeks for value in week.by_source}
        return [source for source in Source if source in seen]

    @property
    def busiest_week(self) -> int:
        return max((week.total for week in self.weeks), default=0)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def week_starts(now: datetime) -> list[date]:
    """The Mondays of the last WEEKS weeks, oldest first (the last: this week's)."""
    this_monday = now.date() - timedelta(days=now.weekday())
    return [this_monday - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]


def read_dashboard(team_id: str, now: datetime | None = None) -> Dashboard:
    now = now or utcnow()
    mondays = week_starts(now)
    start = _midnight(mondays[0])
    # Both later than `start` (WEEKS weeks reach back further than a month).
    week_ago, month_start = now - timedelta(days=7), _midnight(now.date().replace(day=1))
    c = ENTRIES.c
    week_index = case(*[(c.created_at >= _midnight(monday), i)
                        for i, monday in reversed(list(enumerate(mondays)))], else_=0)
    recent = (select(c.source, week_index.label("week"),
                     case((c.created_at >= week_ago, 1), else_=0).label("last_7_days"),
                     case((c.created_at >= month_start, 1), else_=0).label("this_month"))
              .where(c.team_id == team_id, c.seq >= first_seq_at(ENTRIES, team_id, start),
                     c.created_at >= start)
              .subquery())
    counts = db.session.execute(
        select(recent.c.source, recent.c.week, func.count(), func.sum(recent.c.last_7_days),
               func.sum(recent.c.this_month))
        .group_by(recent.c.source, recent.c.week)).all()
    weeks = [Week(monday) for monday in mondays]
    added_last_7_days = public_this_month = 0
    for source, week, added, last_7_days, this_month in counts:
        weeks[week].by_source[source] = added
        added_last_7_days += last_7_days
        if source == Source.PUBLIC_FORM:
            public_this_month += this_month
    return Dashboard(count_entries(team_id), added_last_7_days, public_this_month,
                     removals_since(team_id, now - timedelta(days=30)), weeks)


def removals_since(team_id: str, moment: datetime) -> int:
    """Entries removed since `moment`, from the change log."""
    c = _LOG.c
    return db.session.execute(
        select(func.count()).select_from(_LOG)
        .where(c.team_id == team_id, c.seq >= first_seq_at(_LOG, team_id, moment),
               c.created_at >= moment, c.action == Action.REMOVE.value)
    ).scalar_one()
