"""The Companies page in Chromium, at 1280 px and 390 px: paste several company URLs,
see the preview of what is valid, block them; remove one after its confirmation; axe
finds nothing on the list, the preview or the confirmation; without JavaScript too.

Screenshots go to artifacts/screenshots/ (companies-…).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import update

from dnc_app.domain import companies
from dnc_app.domain.changelog import Source
from dnc_app.extensions import db
from dnc_app.storage.models import CompanyBlock
from tests.browser.support import screenshot
from tests.browser.test_accessibility import AXE, describe
from tests.browser.test_list_browser import DESKTOP, PHONE, fits
from tests.browser.test_web_browser import sign_in, watch
from tests.support import TEST_ACTOR
from tests.web_support import make_member

pytestmark = pytest.mark.live

PASTE = (
    "https://www.linkedin.com/company/acme/about/\n"
    "linkedin.com/company/globex\n"
    "https://www.linkedin.com/in/john-doe\n"
    "company/initech-with-a-rather-long-company-name-for-phones\n"
)


def axe_clean(page: Page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])


def an_expired_block(app, team_id: str) -> None:
    with app.app_context():
        block = companies.add_block(
            team_id, "company/old-partner", reason="Ended", source=Source.CLI, actor=TEST_ACTOR
        )
        db.session.execute(
            update(CompanyBlock)
            .where(CompanyBlock.id == block.id)
            .values(until=companies.today() - timedelta(days=2))
        )
        db.session.commit()


def blocked_urls(app, team_id: str) -> list[str]:
    with app.app_context():
        return sorted(b.url for b in companies.list_blocks(team_id, limit=100)[0])


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_paste_preview_block_and_remove(app, team, live_server, new_page, width):
    make_member(app, team.id)
    an_expired_block(app, team.id)
    viewport = DESKTOP if width == "desktop" else PHONE
    page = new_page(viewport=viewport)
    problems = watch(page)
    sign_in(page, live_server.url, "/companies")
    expired = page.locator("#company-rows tr", has_text="old-partner")
    expect(expired.get_by_text("Expired")).to_be_visible()
    fits(page, viewport["width"])
    axe_clean(page)

    page.get_by_label("Company page URLs, one per line").fill(PASTE)
    page.get_by_label("Reason").fill("Partners")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: 3 valid, 1 invalid")).to_be_visible()
    expect(page.get_by_text("this is a person's profile")).to_be_visible()
    fits(page, viewport["width"])
    axe_clean(page)
    screenshot(page, f"companies-preview-{width}")
    assert blocked_urls(app, team.id) == ["https://linkedin.com/company/old-partner"]

    page.get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_text("Blocked 3 companies.")).to_be_visible()
    # The refused line stays in the form to fix; the page did not reload (htmx).
    expect(page.get_by_label("Company page URLs, one per line")).to_have_value(
        "https://www.linkedin.com/in/john-doe"
    )
    expect(page.locator("#company-rows tr.entry")).to_have_count(4)
    fits(page, viewport["width"])
    axe_clean(page)
    screenshot(page, f"companies-added-{width}")

    row = page.locator("#company-rows tr", has_text="globex")
    row.get_by_role("link", name=re.compile("^Remove…")).click()
    confirm = page.locator("#company-rows tr.confirm-row")
    expect(confirm).to_contain_text("Unblock linkedin.com/company/globex?")
    axe_clean(page)
    screenshot(page, f"companies-remove-confirm-{width}")
    confirm.get_by_role("button", name="Remove block").click()
    expect(page.get_by_role("status").filter(has_text="Unblocked")).to_contain_text(
        "linkedin.com/company/globex"
    )
    assert blocked_urls(app, team.id) == [
        "https://linkedin.com/company/acme",
        "https://linkedin.com/company/initech-with-a-rather-long-company-name-for-phones",
        "https://linkedin.com/company/old-partner",
    ]
    assert problems == []


def test_without_javascript(app, team, live_server, new_page):
    make_member(app, team.id)
    page = new_page(viewport=DESKTOP, java_script_enabled=False)
    sign_in(page, live_server.url, "/companies")
    page.get_by_label("Company page URLs, one per line").fill("company/acme\ncompany/Acme/")
    page.get_by_role("button", name="Preview").click()
    expect(page.get_by_role("heading", name="Preview: 1 valid, 1 invalid")).to_be_visible()
    page.get_by_role("button", name="Block", exact=True).click()
    expect(page.get_by_text("Blocked 1 company.")).to_be_visible()
    page.get_by_role("link", name=re.compile("^Remove…")).click()
    expect(page.get_by_role("heading", name="Remove a company block")).to_be_visible()
    page.get_by_role("button", name="Remove block").click()
    expect(page).to_have_url(re.compile(r"/companies$"))
    expect(page.get_by_text("Unblocked linkedin.com/company/acme.")).to_be_visible()
    assert blocked_urls(app, team.id) == []
