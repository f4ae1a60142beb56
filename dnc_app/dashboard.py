"""The list page's dashboard: a team's numbers and its additions per week by source.

What is on the list now (an entry added and then removed is not counted as added) is
read from entry_hour_count, the entries per hour and source that triggers keep: a few
hundred rows whatever the number of entries (a million added in the last weeks read in
milliseconds, not seconds). The total is the team's kept count; removals come from the
change log, a range of its (team_id, seq) index found by timeorder.first_seq_at.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, literal_column, select

from .changelog import Action, Source
from .entries import count_entries
from .entries.statements import ENTRIES
from .extensions import db
from .models import AuditEvent, EntryHourCount
from .timeorder import first_seq_at
from .timeutil import utcnow

WEEKS = 12
HOURS_A_WEEK = 7 * 24
_LOG = AuditEvent.__table__
_HOURS = EntryHourCount.__table__


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


def epoch_hour(moment: datetime) -> int:
    """Whole hours since the Unix epoch: the `hour` of entry_hour_count."""
    return int(moment.timestamp()) // 3600


def _hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


def read_dashboard(team_id: str, now: datetime | None = None) -> Dashboard:
    now = now or utcnow()
    mondays = week_starts(now)
    start_hour = epoch_hour(_midnight(mondays[0]))
    # Both later than the first Monday (WEEKS weeks reach back further than a month).
    # Midnights are whole hours; a week ago is not: its first hour is counted apart.
    week_ago = now - timedelta(days=7)
    first_whole_hour = -(-int(week_ago.timestamp()) // 3600)
    month_hour = epoch_hour(_midnight(now.date().replace(day=1)))
    c = _HOURS.c
    hours = (select(((c.hour - start_hour) // HOURS_A_WEEK).label("week"), c.source,
                    c.entries,
                    case((c.hour >= first_whole_hour, c.entries), else_=0).label("recent"),
                    case((c.hour >= month_hour, c.entries), else_=0).label("this_month"))
             .where(c.team_id == team_id, c.hour >= start_hour).subquery())
    counts = db.session.execute(
        select(hours.c.week, hours.c.source, func.sum(hours.c.entries),
               func.sum(hours.c.recent), func.sum(hours.c.this_month))
        .group_by(hours.c.week, hours.c.source)).all()
    weeks = [Week(monday) for monday in mondays]
    added_last_7_days = _added_between(team_id, week_ago, _hour_start(first_whole_hour))
    public_this_month = 0
    for week, source, *sums in counts:
        added, last_7_days, this_month = map(int, sums)  # PostgreSQL sums are numeric
        if not added:
            continue  # every entry of those hours was removed
        by_source = weeks[min(week, WEEKS - 1)].by_source
        by_source[source] = by_source.get(source, 0) + added
        added_last_7_days += last_7_days
        if source == Source.PUBLIC_FORM:
            public_this_month += this_month
    return Dashboard(count_entries(team_id), added_last_7_days, public_this_month,
                     removals_since(team_id, now - timedelta(days=30)), weeks)


def _added_between(team_id: str, since: datetime, until: datetime) -> int:
    """The team's current entries created in [since, until): less than an hour, read from
    the entries themselves (a range of their (team_id, seq) index)."""
    if since >= until:
        return 0
    c = ENTRIES.c
    return db.session.execute(
        select(func.count()).select_from(ENTRIES)
        .where(c.team_id == team_id, c.seq >= first_seq_at(ENTRIES, team_id, since),
               c.seq < first_seq_at(ENTRIES, team_id, until),
               c.created_at >= since, c.created_at < until)
    ).scalar_one()


# Literal, not a parameter: the planner uses the partial index of removals only when the
# query's condition is the index's own.
_IS_REMOVAL = _LOG.c.action == literal_column(f"'{Action.REMOVE.value}'")


def removals_since(team_id: str, moment: datetime) -> int:
    """Entries removed since `moment`: the change log's removals from the first change
    at `moment` on, read on their partial index (not the adds around them)."""
    c = _LOG.c
    return db.session.execute(
        select(func.count()).select_from(_LOG)
        .where(c.team_id == team_id, _IS_REMOVAL, c.seq >= first_seq_at(_LOG, team_id, moment),
               c.created_at >= moment)
    ).scalar_one()
