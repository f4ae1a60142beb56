"""The dashboard's chart of additions per week (or month) by source: an SVG drawn on the
server (no chart library; the page's CSP allows no inline style, so every measure is an
SVG attribute and every colour a CSS class).

The SVG holds only the bars and grid lines and stretches to the card's width
(preserveAspectRatio="none"); its labels are HTML around it, so they keep their CSS size
at any width (a scaled SVG's text would be tiny on a phone, huge on a desktop).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import redirect, render_template, request, session, url_for

from dnc_app.domain.changelog import Source
from dnc_app.domain.dashboard import SPANS, Dashboard, Week, read_dashboard
from dnc_app.domain.roles import Role
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.htmx import is_htmx
from dnc_app.http.web.signed_in import team_id

SLOT = 10  # viewBox units a period takes across
BAR_WIDTH = 6
TOP_ROOM = 10  # above the axis top: the minimum heights of small segments may reach there
PLOT_HEIGHT = 100
HEIGHT = TOP_ROOM + PLOT_HEIGHT
MIN_SEGMENT = 2.5  # a segment of one entry stays visible (a few pixels at any width)
SPAN_KEY = "dashboard_span"


@dataclass(frozen=True)
class Segment:
    source: Source
    count: int
    y: float
    height: float
    href: str


@dataclass(frozen=True)
class Bar:
    week: Week
    x: float
    label: str
    segments: list[Segment]


def nice_ceiling(value: int) -> int:
    """The axis top: 1, 2 or 5 times a power of ten, at least `value` (and 1)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= value:
                return step * factor
        step *= 10


def week_link(week: Week, source: str | None = None) -> str:
    """The list filtered to one week or month (and one source)."""
    values: dict[str, Any] = {"from": week.start.isoformat(), "to": week.end.isoformat()}
    return url_for("web.entries", source=source or None, **values)


def _label(week: Week, span: str) -> str:
    if span == "months":
        return week.start.strftime("%b %Y" if week.start.month == 1 else "%b")
    return week.start.strftime("%-d %b")


def bars(dashboard: Dashboard) -> tuple[list[Bar], int]:
    """The bars (sources stacked bottom up, in the vocabulary's order) and the axis top."""
    top = nice_ceiling(dashboard.busiest_week)
    drawn = []
    for i, week in enumerate(dashboard.weeks):
        base, segments = float(HEIGHT), []
        for source in dashboard.sources:
            count = week.by_source.get(source.value, 0)
            if not count:
                continue
            height = max(count / top * PLOT_HEIGHT, MIN_SEGMENT)
            base -= height
            segments.append(
                Segment(
                    source, count, round(base, 2), round(height, 2), week_link(week, source.value)
                )
            )
        drawn.append(
            Bar(week, i * SLOT + (SLOT - BAR_WIDTH) / 2, _label(week, dashboard.span), segments)
        )
    return drawn, top


def chart_context(dashboard: Dashboard) -> dict:
    """What templates/web/_dashboard.html draws."""
    drawn, top = bars(dashboard)
    return {
        "width": SLOT * len(dashboard.weeks),
        "height": HEIGHT,
        "bar_width": BAR_WIDTH,
        "bars": drawn,
        "top": top,
        "grid": [HEIGHT, HEIGHT - PLOT_HEIGHT / 2, TOP_ROOM],
        "half": top // 2 if top % 2 == 0 else None,
    }


def chosen_span() -> str:
    """?range=weeks|months, remembered in the session, so that the dashboard redrawn
    after an add or a removal keeps the member's choice."""
    asked = request.args.get("range")
    if asked in SPANS:
        session[SPAN_KEY] = asked
        return asked
    kept = session.get(SPAN_KEY)
    return kept if kept in SPANS else SPANS[0]


def range_link(span: str) -> str:
    """The list page as it is (its filters and page), with the chart over `span`."""
    args: dict[str, Any] = (
        {k: v for k, v in request.args.items() if k != "range"}
        if (request.endpoint == "web.entries")
        else {}
    )
    return url_for("web.entries", **args, range=span)


def dashboard_context(team: str) -> dict:
    """templates/web/_dashboard.html's context."""
    numbers = read_dashboard(team, span=chosen_span())
    return {
        "dashboard": numbers,
        "chart": chart_context(numbers),
        "week_link": week_link,
        "range_link": range_link,
    }


@bp.get("/dashboard")
@requires_role(Role.VIEWER)
def dashboard_panel():
    """The dashboard alone, for htmx (the range links); a page without htmx gets the list."""
    span = chosen_span()
    if not is_htmx():
        return redirect(url_for("web.entries", range=span))
    return render_template("web/_dashboard.html", **dashboard_context(team_id()))
