"""The dashboard's chart of additions per week by source: the geometry of an SVG drawn
on the server (no chart library; the page's CSP allows no inline style, so every
measure is an SVG attribute and every colour a CSS class)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for

from ..changelog import Source
from ..dashboard import Dashboard, Week

WIDTH, HEIGHT = 480, 220
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 12, 30
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
BAR_WIDTH = 24


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
    label_x: float
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
    """The list filtered to one week (and one source)."""
    values: dict[str, Any] = {"from": week.start.isoformat(), "to": week.end.isoformat()}
    return url_for("web.entries", source=source or None, **values)


def bars(dashboard: Dashboard) -> tuple[list[Bar], int]:
    """The bars (sources stacked bottom up, in the vocabulary's order) and the axis top."""
    top = nice_ceiling(dashboard.busiest_week)
    slot = (WIDTH - LEFT - RIGHT) / len(dashboard.weeks)
    drawn = []
    for i, week in enumerate(dashboard.weeks):
        x = LEFT + i * slot + (slot - BAR_WIDTH) / 2
        base, segments = float(HEIGHT - BOTTOM), []
        for source in dashboard.sources:
            count = week.by_source.get(source.value, 0)
            if not count:
                continue
            height = max(count / top * PLOT_HEIGHT, 2.0)  # one entry stays visible
            base -= height
            segments.append(Segment(source, count, round(base, 1), round(height, 1),
                                    week_link(week, source.value)))
        drawn.append(Bar(week, round(x, 1), round(x + BAR_WIDTH / 2, 1), segments))
    return drawn, top


def chart_context(dashboard: Dashboard) -> dict:
    """What templates/web/_dashboard.html draws."""
    drawn, top = bars(dashboard)
    values = [0, top // 2, top] if top % 2 == 0 else [0, top]
    ticks = [(value, round(HEIGHT - BOTTOM - value / top * PLOT_HEIGHT, 1)) for value in values]
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": RIGHT,
            "bar_width": BAR_WIDTH, "bars": drawn, "ticks": ticks}
