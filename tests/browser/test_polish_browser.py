"""The rough edges outside the list page, in Chromium: the key's secret leaves the page
when the key is revoked, a bulk operation opens in the audit trail, the receipt's Copy
reference and Print, and /docs code blocks by keyboard with their Copy buttons."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from dnc_app.domain import entries
from tests.browser.support import screenshot
from tests.browser.test_accessibility import sign_in
from tests.support import TEST_ACTOR
from tests.web_support import make_member

pytestmark = pytest.mark.live
CLIPBOARD = {"permissions": ["clipboard-read", "clipboard-write"]}


def console_errors(page: Page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("console", lambda msg: problems.append(msg.text) if msg.type == "error" else None)
    return problems


def test_revoking_the_new_key_takes_its_secret_off_the_page(app, team, shared_server, new_page):
    make_member(app, team.id)
    page = new_page()
    problems = console_errors(page)
    sign_in(page, shared_server.url)
    page.goto(shared_server.url + "/keys")
    page.get_by_label(re.compile("^Name")).fill("Short-lived")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("The new API key").input_value()
    page.evaluate("window.sameDocument = true")
    row = page.locator("#key-rows tr", has_text="Short-lived")
    row.get_by_role("link", name=re.compile("Revoke")).click()
    page.get_by_role("button", name="Revoke key").click()
    expect(row).to_contain_text("Revoked")
    expect(page.get_by_role("heading", name="Create a key")).to_be_visible()
    assert secret not in page.content()
    assert page.evaluate("window.sameDocument") is True
    screenshot(page, "keys-revoked-new-key")
    assert problems == []


def test_a_bulk_operation_is_one_event_that_opens(app, team, shared_server, new_page):
    make_member(app, team.id)
    with app.app_context():
        entries.add_entries(
            team.id,
            [f"linkedin.com/in/fair-{i}" for i in range(40)],
            reasons=["Met at the fair"] * 40,
            source="web_bulk",
            actor=TEST_ACTOR,
        )
    for width, viewport in (
        ("desktop", {"width": 1280, "height": 900}),
        ("phone", {"width": 390, "height": 844}),
    ):
        page = new_page(viewport=viewport)
        sign_in(page, shared_server.url)
        page.goto(shared_server.url + "/audit")
        assert page.locator("tr.action-add").count() == 1
        page.get_by_text("40 profiles").click()
        expect(page.locator(".operation-rows li")).to_have_count(10)
        # Nothing sticks out sideways on a phone (long URLs wrap at their separators).
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        screenshot(page, f"audit-operation-{width}")
        page.get_by_role("link", name="All 40 in the audit trail").click()
        expect(page.locator("tr.action-add")).to_have_count(40)


def test_the_receipt_copies_its_reference_and_prints(team, shared_server, new_page):
    page = new_page(**CLIPBOARD)
    problems = console_errors(page)
    page.goto(f"{shared_server.url}/optout/{team.slug}")
    page.locator("#url").fill("linkedin.com/in/copy-me")
    page.get_by_role("button", name="Opt out").click()
    reference = page.locator("[data-reference]").inner_text()
    page.get_by_role("button", name="Copy reference").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == reference
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.printed") is True
    page.emulate_media(media="print")
    expect(page.get_by_role("button", name="Print")).to_be_hidden()
    page.emulate_media(media="screen")
    screenshot(page, "optout-receipt-actions")
    assert problems == []


def test_the_receipt_buttons_stay_hidden_without_javascript(team, shared_server, new_page):
    page = new_page(java_script_enabled=False)
    page.goto(f"{shared_server.url}/optout/{team.slug}")
    page.locator("#url").fill("linkedin.com/in/no-script")
    page.get_by_role("button", name="Opt out").click()
    expect(page.locator("[data-reference]")).to_be_visible()
    expect(page.get_by_role("button", name="Print")).to_be_hidden()


def test_docs_code_blocks_scroll_by_keyboard_and_copy(shared_server, new_page):
    page = new_page(viewport={"width": 390, "height": 844}, **CLIPBOARD)
    page.goto(shared_server.url + "/docs")
    block = page.locator("pre").nth(1)
    block.focus()
    expect(block).to_be_focused()
    # At phone width the curl example is wider than its box, so the keys must move it.
    assert block.evaluate("pre => pre.scrollWidth > pre.clientWidth")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    # Chromium animates keyboard scrolling: wait for the scroll to land, not a fixed tick.
    page.wait_for_function("pre => pre.scrollLeft > 0", arg=block.element_handle(), timeout=5000)
    copy = page.locator(".code-block").nth(1).get_by_role("button", name=re.compile("^Copy"))
    copy.click()
    assert page.evaluate("navigator.clipboard.readText()") == block.inner_text()
    expect(page.get_by_role("link", name="← Back to the app")).to_have_attribute("href", "/")
    page.goto(shared_server.url + "/favicon.ico")
    assert page.evaluate("document.contentType") == "image/svg+xml"
