"""The list page in Chromium at 1280 px and at 390 px: the dashboard and its chart, the
menu button, rows as cards, no sideways scrolling, and the add/duplicate messages.

Screenshots go to artifacts/screenshots/ (list-desktop, list-phone-menu, …).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from dnc_app.domain import entries
from dnc_app.domain.changelog import Source
from dnc_app.domain.timeutil import utcnow
from tests.browser.support import SCREENSHOTS, screenshot
from tests.browser.test_web_browser import sign_in, watch
from tests.web_support import TEST_ACTOR, make_member

pytestmark = pytest.mark.live
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def seed_weeks(app, team_id: str, monkeypatch) -> None:
    """Entries over the last weeks from several sources, written (in time order) through
    the service with its clock set back to each week."""
    now = utcnow()
    plan = [
        (70, Source.WEB_BULK, 6),
        (49, Source.API, 3),
        (35, Source.PUBLIC_FORM, 2),
        (21, Source.WEB, 4),
        (14, Source.WEB_BULK, 8),
        (7, Source.PUBLIC_FORM, 3),
        (0, Source.API, 2),
    ]
    with app.app_context():
        for days, source, count in plan:
            then = now - timedelta(days=days, minutes=1)
            monkeypatch.setattr("dnc_app.domain.entries.service.utcnow", lambda then=then: then)
            monkeypatch.setattr("dnc_app.domain.changelog.utcnow", lambda then=then: then)
            entries.add_entries(
                team_id,
                [
                    f"linkedin.com/in/{source.value.replace('_', '-')}-{days}-person-{i}"
                    for i in range(count)
                ],
                source=source,
                actor=TEST_ACTOR,
            )
    monkeypatch.undo()


def shot(locator, name: str, height: int) -> None:
    """A screenshot of the top of one part of the page, at its real size."""
    box = locator.bounding_box()  # in the viewport; the clip is in the page
    top = box["y"] + locator.page.evaluate("window.scrollY")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    locator.page.screenshot(
        path=str(SCREENSHOTS / f"{name}.png"),
        full_page=True,
        clip={
            "x": 0,
            "y": top,
            "width": locator.page.viewport_size["width"],
            "height": min(box["height"], height),
        },
    )


def fits(page: Page, width: int) -> None:
    """No sideways scrolling (and if there is, the elements that stick out)."""
    wide = page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > width + 1)
        .slice(0, 5).map(el => el.tagName + '.' + el.className + ' ' +
                         Math.round(el.getBoundingClientRect().right))""",
        width,
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wide


def test_the_dashboard_chart_filters_the_list_at_desktop_width(
    app, team, live_server, new_page, monkeypatch
):
    make_member(app, team.id)
    seed_weeks(app, team.id, monkeypatch)
    page = new_page(viewport=DESKTOP)
    problems = watch(page)
    sign_in(page, live_server.url)
    expect(page.locator("#stat-total")).to_have_text("28")
    expect(page.locator(".chart-svg")).to_be_visible()
    expect(page.locator(".legend")).to_contain_text("Public opt-out form")
    # Wide: the navigation is shown, the menu button is not; rows show Remove directly.
    expect(page.get_by_role("link", name="Audit trail")).to_be_visible()
    expect(page.locator(".menu-button")).to_be_hidden()
    # The owner's whole navigation and "Sign out" keep to the brand's one row.
    row = page.locator(".header-row").bounding_box()["height"]
    assert row < 2 * page.locator(".brand").bounding_box()["height"] + 40, row
    expect(
        page.locator("#entry-rows tr").first.get_by_role("link", name=re.compile("Remove"))
    ).to_be_visible()
    fits(page, DESKTOP["width"])
    screenshot(page, "list-desktop")
    shot(page.locator("body"), "list-desktop-top", height=DESKTOP["height"])

    # The week two weeks back, bulk: a click on its bar shows exactly those entries.
    bar = page.locator(".chart-bar rect.bar-web_bulk").last
    bar.click()
    page.wait_for_load_state("load")
    expect(page).to_have_url(re.compile(r"/entries\?source=web_bulk&from=\d{4}-\d\d-\d\d&to="))
    expect(page.locator("#entry-rows tr.entry")).to_have_count(8)
    expect(page.locator(".results-meta")).to_contain_text("8 entries from Bulk add, added")
    expect(page.get_by_label("Source", exact=True)).to_have_value("web_bulk")
    screenshot(page, "list-desktop-bar-filtered")

    # The filters work together with the search (htmx swaps the results).
    page.get_by_label("Source", exact=True).select_option("")
    expect(page.locator("#entry-rows tr.entry")).to_have_count(8)  # same week, all sources
    page.get_by_label("Search the list").fill("person-7")
    expect(page.locator("#entry-rows tr.entry")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=person-7"))
    assert problems == []


def test_the_list_on_a_phone_has_a_menu_button_and_two_line_cards(
    app, team, live_server, new_page, monkeypatch
):
    make_member(app, team.id)
    seed_weeks(app, team.id, monkeypatch)
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    problems = watch(page)
    sign_in(page, live_server.url)
    fits(page, PHONE["width"])
    header = page.locator(".site-header").bounding_box()
    assert header["height"] < 70  # one row: the brand and the menu button
    expect(page.get_by_role("link", name="Audit trail")).to_be_hidden()
    screenshot(page, "list-phone")
    shot(page.locator("main"), "list-phone-top", height=PHONE["height"])
    shot(page.locator("#entry-results"), "list-phone-rows", height=PHONE["height"])
    shot(page.locator(".chart"), "list-phone-chart", height=PHONE["height"])

    # A row is two lines: the profile, then the date and the source.
    row = page.locator("#entry-rows tr.entry").first
    profile, added, source = (
        row.locator(f".cell-{name}").bounding_box() for name in ("profile", "added", "source")
    )
    assert profile["y"] + profile["height"] <= added["y"] + 1
    assert abs(added["y"] - source["y"]) < 8 and source["x"] > added["x"]
    assert row.bounding_box()["height"] < 90, row.bounding_box()
    expect(row.locator(".cell-reason")).to_be_hidden()
    remove = row.get_by_role("link", name=re.compile("Remove"))
    expect(remove).to_be_hidden()
    row.locator("summary").click()
    expect(remove).to_be_visible()
    fits(page, PHONE["width"])
    shot(row, "list-phone-row-menu", height=300)
    remove.click()
    expect(page.get_by_label("Why is it removed?")).to_be_focused()
    page.get_by_role("button", name="Cancel").or_(page.get_by_role("link", name="Cancel")).click()
    # The row is back (its menu button takes the focus) before the navigation is opened.
    expect(row.locator("summary")).to_be_focused()

    # The menu button opens the navigation.
    page.get_by_text("Menu").click()
    expect(page.get_by_role("link", name="Audit trail")).to_be_visible()
    fits(page, PHONE["width"])
    screenshot(page, "list-phone-menu")
    shot(page.locator("body"), "list-phone-menu-top", height=PHONE["height"])
    page.keyboard.press("Escape")
    expect(page.get_by_role("link", name="Audit trail")).to_be_hidden()
    page.get_by_text("Menu").click()
    page.get_by_role("link", name="Audit trail").click()
    expect(page).to_have_url(re.compile(r"/audit$"))
    assert problems == []


def test_the_phone_menu_works_without_javascript(app, team, live_server, new_page):
    make_member(app, team.id)
    page = new_page(viewport=PHONE, is_mobile=True, java_script_enabled=False)
    sign_in(page, live_server.url)
    expect(page.locator(".empty-list")).to_contain_text("public opt-out page")
    fits(page, PHONE["width"])
    screenshot(page, "nojs-list-phone-empty")
    page.get_by_text("Menu").click()
    page.get_by_role("link", name="Check").click()
    expect(page).to_have_url(re.compile(r"/check$"))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_add_then_duplicate_shows_only_the_neutral_message(
    app, team, live_server, new_page, viewport
):
    make_member(app, team.id)
    page = new_page(viewport=viewport)
    sign_in(page, live_server.url)
    url_field = page.get_by_label("LinkedIn profile URL")
    url_field.fill("linkedin.com/in/twice-added")
    page.get_by_role("button", name="Add to list").click()
    expect(page.locator("#flashes")).to_contain_text("Added https://linkedin.com/in/twice-added")
    expect(page.locator("#stat-total")).to_have_text("1")  # the dashboard's total follows
    url_field.fill("https://www.linkedin.com/in/Twice-Added/")
    page.get_by_role("button", name="Add to list").click()
    info = page.locator("#add-url-info")
    expect(info).to_contain_text("Already protected since")
    expect(page.locator("#flashes")).to_be_empty()
    expect(page.locator(".notice-success, .notice-error:visible, .field-error")).to_have_count(0)
    fits(page, viewport["width"])
    shot(page.locator("body"), f"list-duplicate-{viewport['width']}", height=viewport["height"])
    info.get_by_role("link", name="Show the entry").click()
    expect(page.locator("#entry-rows tr.entry")).to_have_count(1)
    page.wait_for_load_state("load")  # measured with its stylesheet
    fits(page, viewport["width"])
