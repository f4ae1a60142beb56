"""The list page's dashboard in Chromium at 1280 px and at 390 px: the chart takes the
card's width, its labels stay readable on a phone, a source of one entry beside a large
one is still a visible bar (and its total is in the legend), it says that removed entries
are not counted, and its range (12 weeks / 12 months) works as a link without JavaScript
and as a swap with htmx; axe finds nothing in any of these states."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from dnc_app.domain import entries
from dnc_app.domain.changelog import Source
from dnc_app.domain.timeutil import utcnow
from tests.browser.support import screenshot
from tests.browser.test_accessibility import AXE, describe
from tests.browser.test_list_browser import seed_weeks
from tests.browser.test_web_browser import sign_in, watch
from tests.web_support import TEST_ACTOR, make_member

pytestmark = pytest.mark.live


def seed(app, team_id: str, monkeypatch) -> None:
    seed_weeks(app, team_id, monkeypatch)
    now = utcnow()
    with app.app_context():
        # A large week of one source, beside which one CLI entry is tiny, and one entry
        # months ago (only in the 12 months).
        for days, source, count in [(200, Source.CLI, 1), (3, Source.API, 400), (3, Source.CLI, 1)]:
            then = now - timedelta(days=days)
            monkeypatch.setattr("dnc_app.domain.entries.service.utcnow", lambda then=then: then)
            monkeypatch.setattr("dnc_app.domain.changelog.utcnow", lambda then=then: then)
            entries.add_entries(
                team_id,
                [f"linkedin.com/in/{source.value}-{days}-{i}" for i in range(count)],
                source=source,
                actor=TEST_ACTOR,
            )
    monkeypatch.undo()


def axe_clean(page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])


def no_sideways_scroll(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", [1280, 390])
def test_the_dashboard_is_readable_at_both_widths_and_its_range_swaps(
    app, team, live_server, new_page, monkeypatch, width
):
    make_member(app, team.id)
    seed(app, team.id, monkeypatch)
    page = new_page(viewport={"width": width, "height": 900})
    problems = watch(page)
    sign_in(page, live_server.url)
    chart = page.locator(".chart")
    expect(chart.get_by_text("removed entries are not counted")).to_be_visible()
    # Full width: the bars take the card's width (less the axis labels).
    card, svg = chart.bounding_box(), page.locator(".chart-svg").bounding_box()
    assert svg["width"] > card["width"] - 110, (svg, card)
    if width == 1280:
        main = page.locator("main").bounding_box()
        assert card["width"] > main["width"] - 80, (card, main)
    # Labels at their CSS size, whatever the width.
    for selector in (".chart-xaxis li span", ".chart-yaxis .tick"):
        size = page.locator(selector).first.evaluate(
            "el => parseFloat(getComputedStyle(el).fontSize)"
        )
        assert size >= 12, (selector, size)
    # Each visible label fits its column: none overlaps the next.
    boxes = [
        box
        for box in page.locator(".chart-xaxis li span").evaluate_all(
            """els => els.filter(el => getComputedStyle(el).visibility !== 'hidden')
                      .map(el => { const r = el.getBoundingClientRect();
                                   return [r.left, r.right]; })"""
        )
    ]
    assert all(a[1] <= b[0] for a, b in zip(boxes, boxes[1:], strict=False)), boxes
    # The one CLI entry beside 400 others is a bar one can see (and click).
    tiny = page.locator(".chart-bar rect.bar-cli").last
    assert tiny.bounding_box()["height"] >= 3
    expect(page.locator('.legend li[data-source="cli"]')).to_have_text("Command line 1")
    no_sideways_scroll(page, width)
    axe_clean(page)
    screenshot(page, f"dashboard-weeks-{width}")

    # 12 months, with htmx: the dashboard alone is swapped; the link keeps the focus.
    page.locator("#range-months").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".chart-caption")).to_contain_text("Added per month")
    expect(page.locator("#range-months")).to_have_attribute("aria-current", "true")
    expect(page.locator("#range-months")).to_be_focused()
    assert page.url == live_server.url + "/entries"  # swapped in place
    expect(page.locator('.legend li[data-source="cli"]')).to_have_text("Command line 2")
    no_sideways_scroll(page, width)
    axe_clean(page)
    screenshot(page, f"dashboard-months-{width}")
    # The choice holds for the next visit of the list.
    page.reload()
    expect(page.locator(".chart-caption")).to_contain_text("Added per month")
    assert problems == []


def test_the_range_is_a_link_without_javascript(app, team, live_server, new_page, monkeypatch):
    make_member(app, team.id)
    seed(app, team.id, monkeypatch)
    page = new_page(java_script_enabled=False)
    sign_in(page, live_server.url, "/entries?source=api")
    page.get_by_role("link", name="12 months").click()
    expect(page).to_have_url(re.compile(r"/entries\?source=api&range=months$"))
    expect(page.locator(".chart-caption")).to_contain_text("Added per month")
    page.get_by_role("link", name="12 weeks").click()
    expect(page.locator(".chart-caption")).to_contain_text("Added per week")
