"""Adding an alias on an entry's page in a real browser (htmx swaps the section in place),
with its inline errors, and axe-core clean at desktop and phone widths."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dnc_app.domain.entries import aliases
from tests.browser.support import screenshot
from tests.browser.test_accessibility import AXE, EMAIL, WIDTHS, describe, sign_in
from tests.live import LiveServer
from tests.support import TEST_ACTOR
from tests.web_support import add_entries, make_member

pytestmark = pytest.mark.live

LEAD = "https://linkedin.com/sales/lead/ACwAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"
TOKEN = "https://linkedin.com/in/ACoAAA7IcPoBXbqAyFuCjYLHAhmm13BgChs-P5g"


def assert_axe_clean(page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])


@pytest.mark.parametrize("width", WIDTHS)
def test_a_member_adds_an_alias_on_the_entry_page(
    width: str, shared_server: LiveServer, app, team, new_page
):
    page = new_page(viewport=WIDTHS[width])
    make_member(app, team.id, EMAIL)
    jane, john = add_entries(app, team.id, ["linkedin.com/in/jane-roe", "linkedin.com/in/john"])
    with app.app_context():
        aliases.add_aliases(team.id, john.id, [LEAD], source="api", actor=TEST_ACTOR)
    sign_in(page, shared_server.url)
    page.goto(f"{shared_server.url}/entries/{jane.id}/evidence")
    section = page.locator("#aliases")
    expect(section).to_contain_text("None yet")
    assert_axe_clean(page)

    field = page.get_by_label("Add other identifiers of this person")
    # Another entry's identifier: the error is inline and links to that entry.
    field.fill("https://www.linkedin.com/sales/people/" + LEAD.rsplit("/", 1)[1] + ",NAME")
    page.get_by_role("button", name="Add aliases").click()
    error = page.locator("#alias-error")
    expect(error).to_contain_text("already an identifier of another entry")
    expect(error.get_by_role("link")).to_have_attribute("href", f"/entries/{john.id}/evidence")
    expect(field).to_have_attribute("aria-invalid", "true")
    screenshot(page, f"aliases-conflict-{width}")
    assert_axe_clean(page)

    # A valid alias: saved in place (no page load), listed, the field empty again.
    page.evaluate("window.__same_page = true")
    page.get_by_label("Add other identifiers of this person").fill(TOKEN + "/")
    page.get_by_role("button", name="Add aliases").click()
    expect(page.locator("#aliases")).to_contain_text("Aliases saved.")
    expect(page.locator("#aliases a", has_text=TOKEN)).to_have_attribute("href", TOKEN)
    assert page.evaluate("window.__same_page") is True
    expect(page.get_by_label("Add other identifiers of this person")).to_have_value("")
    screenshot(page, f"aliases-added-{width}")
    assert_axe_clean(page)
