"""The list page's dashboard: a team's numbers and its additions per week (or month) by
source.

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

from dnc_app.domain.changelog import Action, Source
from dnc_app.domain.entries import count_entries
from dnc_app.domain.entries.statements import ENTRIES
from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, EntryHourCount
from dnc_app.storage.timeorder import first_seq_at

WEEKS = 12
PERIODS = 12  # bars of the chart, whichever the range
SPANS = ("weeks", "months")  # the chart's range: 12 weeks, or 12 months
HOURS_A_WEEK = 7 * 24
_LOG = AuditEvent.__table__
_HOURS = EntryHourCount.__table__


@dataclass(frozen=True)
class Week:
    """A week (Monday to Sunday, UTC) or a calendar month: the entries added, by source
    value, of those still on the list."""

    start: date
    by_source: dict[str, int] = field(default_factory=dict)
    next_start: date | None = None  # the next period's first day (a week's when None)

    @property
    def end(self) -> date:
        """The last day."""
        return (self.next_start or self.start + timedelta(days=7)) - timedelta(days=1)

    @property
    def total(self) -> int:
        return sum(self.by_source.values())


Period = Week


@dataclass(frozen=True)
class Dashboard:
    total: int
    added_last_7_days: int
    public_this_month: int
    removed_last_30_days: int
    weeks: list[Week]  # the periods, oldest first; the last one is the current one
    span: str = "weeks"

    @property
    def periods(self) -> list[Week]:
        return self.weeks

    @property
    def sources(self) -> list[Source]:
        """The sources that added something in the periods shown, in the vocabulary's order."""
        seen = {value for week in self.weeks for value in week.by_source}
        return [source for source in Source if source in seen]

    @property
    def source_totals(self) -> list[tuple[Source, int]]:
        """Each source's entries over the whole range (the legend: a source too small for
        its bars to show still says how many)."""
        return [
            (source, sum(week.by_source.get(source.value, 0) for week in self.weeks))
            for source in self.sources
        ]

    @property
    def busiest_week(self) -> int:
        return max((week.total for week in self.weeks), default=0)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def week_starts(now: datetime) -> list[date]:
    """The Mondays of the last WEEKS weeks, oldest first (the last: this week's)."""
    this_monday = now.date() - timedelta(days=now.weekday())
    return [this_monday - timedelta(weeks=n) for n in range(WEEKS - 1, -1, -1)]


def month_starts(now: datetime) -> list[date]:
    """The first days of the last PERIODS months, oldest first (the last: this month's)."""
    year, month = now.year, now.month
    firsts = []
    for _ in range(PERIODS):
        firsts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return firsts[::-1]


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def epoch_hour(moment: datetime) -> int:
    """Whole hours since the Unix epoch: the `hour` of entry_hour_count."""
    return int(moment.timestamp()) // 3600


def _hour_start(hour: int) -> datetime:
    return datetime.fromtimestamp(hour * 3600, UTC)


def read_dashboard(team_id: str, now: datetime | None = None, span: str = "weeks") -> Dashboard:
    """The numbers, and the chart's periods: the last 12 weeks, or (span "months") the
    last 12 calendar months. Either way one grouped read of at most a year of hour counts
    (a row per hour and source that added something), summed into 12 periods."""
    now = now or utcnow()
    if span == "months":
        starts = month_starts(now)
        periods = [Week(first, next_start=_next_month(first)) for first in starts]
    else:
        starts = week_starts(now)
        periods = [Week(monday) for monday in starts]
    start_hour = epoch_hour(midnight(starts[0]))
    # All later than the first period's start (12 weeks reach back further than a month).
    # Midnights are whole hours; a week ago is not: its first hour is counted apart.
    week_ago = now - timedelta(days=7)
    first_whole_hour = -(-int(week_ago.timestamp()) // 3600)
    month_hour = epoch_hour(midnight(now.date().replace(day=1)))
    c = _HOURS.c
    # The period of an hour: its index among the periods' first hours (the last that is
    # not after it), a CASE of 11 comparisons (months are not of one length).
    period = case(
        *[(c.hour < epoch_hour(midnight(first)), i - 1) for i, first in enumerate(starts) if i],
        else_=len(starts) - 1,
    )
    hours = (
        select(
            period.label("period"),
            c.source,
            c.entries,
            case((c.hour >= first_whole_hour, c.entries), else_=0).label("recent"),
            case((c.hour >= month_hour, c.entries), else_=0).label("this_month"),
        )
        .where(c.team_id == team_id, c.hour >= start_hour)
        .subquery()
    )
    counts = db.session.execute(
        select(
            hours.c.period,
            hours.c.source,
            func.sum(hours.c.entries),
            func.sum(hours.c.recent),
            func.sum(hours.c.this_month),
        ).group_by(hours.c.period, hours.c.source)
    ).all()
    added_last_7_days = _added_between(team_id, week_ago, _hour_start(first_whole_hour))
    public_this_month = 0
    for index, source, *sums in counts:
        added, last_7_days, this_month = map(int, sums)  # PostgreSQL sums are numeric
        if not added:
            continue  # every entry of those hours was removed
        by_source = periods[min(int(index), len(periods) - 1)].by_source
        by_source[source] = by_source.get(source, 0) + added
        added_last_7_days += last_7_days
        if source == Source.PUBLIC_FORM:
            public_this_month += this_month
    return Dashboard(
        count_entries(team_id),
        added_last_7_days,
        public_this_month,
        removals_since(team_id, now - timedelta(days=30)),
        periods,
        span,
    )


def _added_between(team_id: str, since: datetime, until: datetime) -> int:
    """The team's current entries created in [since, until): less than an hour, read from
    the entries themselves (a range of their (team_id, seq) index)."""
    if since >= until:
        return 0
    c = ENTRIES.c
    return db.session.execute(
        select(func.count())
        .select_from(ENTRIES)
        .where(
            c.team_id == team_id,
            c.seq >= first_seq_at(ENTRIES, team_id, since),
            c.seq < first_seq_at(ENTRIES, team_id, until),
            c.created_at >= since,
            c.created_at < until,
        )
    ).scalar_one()


# Literal, not a parameter: the planner uses the partial index of removals only when the
# query's condition is the index's own.
_IS_REMOVAL = _LOG.c.action == literal_column(f"'{Action.REMOVE.value}'")


def removals_since(team_id: str, moment: datetime) -> int:
    """Entries removed since `moment`: the change log's removals from the first change
    at `moment` on, read on their partial index (not the adds around them)."""
    c = _LOG.c
    return db.session.execute(
        select(func.count())
        .select_from(_LOG)
        .where(
            c.team_id == team_id,
            _IS_REMOVAL,
            c.seq >= first_seq_at(_LOG, team_id, moment),
            c.created_at >= moment,
        )
    ).scalar_one()
