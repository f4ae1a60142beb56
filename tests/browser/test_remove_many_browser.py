"""Removing many from the list in Chromium, at 1280 px and 390 px: select rows (or the
whole page with the head checkbox), the confirmation that says
how many and which are opt-outs, one reason; axe finds nothing on the list or the
confirmation.

Screenshots go to artifacts/screenshots/ (remove-many-…).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.support import screenshot
from tests.browser.test_accessibility import AXE, describe
from tests.browser.test_list_browser import DESKTOP, PHONE, fits
from tests.browser.test_web_browser import sign_in, watch
from tests.web_support import add_entries, make_member

pytestmark = pytest.mark.live


def axe_clean(page: Page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])


def seed(app, team_id: str) -> None:
    add_entries(app, team_id, [f"linkedin.com/in/person-{i}" for i in range(4)])
    add_entries(app, team_id, ["linkedin.com/in/objected"], source="public_form")


def confirm_and_remove(page: Page, count: int, name: str) -> None:
    expect(page.locator("#remove-many-summary")).to_contain_text(
        f"{count} {'entry' if count == 1 else 'entries'} will be removed"
    )
    expect(page.get_by_text("is a person's own opt-out")).to_be_visible()
    axe_clean(page)
    screenshot(page, f"remove-many-confirm-{name}")
    page.get_by_label("Why are they removed?").fill("Contract signed")
    page.get_by_role("button", name=re.compile(rf"^Remove {count} ")).click()
    expect(page).to_have_url(re.compile(r"/entries$"))
    expect(page.get_by_text(f"Removed {count} ")).to_be_visible()


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_select_rows_then_confirm(app, team, live_server, new_page, width):
    make_member(app, team.id)  # the first member: an owner, who sees opt-outs flagged
    seed(app, team.id)
    viewport = DESKTOP if width == "desktop" else PHONE
    page = new_page(viewport=viewport)
    problems = watch(page)
    sign_in(page, live_server.url)
    fits(page, viewport["width"])
    axe_clean(page)
    page.get_by_label("Select https://linkedin.com/in/person-1").check()
    page.get_by_label("Select https://linkedin.com/in/objected").check()
    screenshot(page, f"remove-many-list-{width}")
    page.get_by_role("button", name="Remove selected…").click()
    confirm_and_remove(page, 2, width)
    fits(page, viewport["width"])
    rows = page.locator("#entry-rows tr.entry")
    expect(rows).to_have_count(3)
    assert problems == []


def test_select_all_on_the_page_with_the_head_checkbox(app, team, live_server, new_page):
    make_member(app, team.id)
    seed(app, team.id)
    page = new_page(viewport=DESKTOP)
    sign_in(page, live_server.url)
    page.get_by_label("Select all on this page").check()
    boxes = page.locator("input[data-select-row]")
    assert all(boxes.nth(i).is_checked() for i in range(boxes.count()))
    page.get_by_role("button", name="Remove selected…").click()
    confirm_and_remove(page, 5, "all")
    expect(page.locator("#entry-rows tr.entry")).to_have_count(0)
