"""Roles in a real Chromium: an owner invites a member, who joins through the link, adds
and removes entries, but cannot remove a person's own opt-out or open the keys page; a
viewer can only read and check. Screenshots at 1280 px and 390 px."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from dnc_app.domain import entries as dnc_list
from dnc_app.domain.accounts.users import create_user
from dnc_app.domain.changelog import Source
from tests.browser.support import screenshot
from tests.web_support import PASSWORD, TEST_ACTOR

pytestmark = pytest.mark.live
PHONE = {"viewport": {"width": 390, "height": 844}}
MEMBER_PASSWORD = "the member's own password"


def sign_in(page: Page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "/entries")
    page.wait_for_load_state("load")


def nav(page: Page):
    return page.get_by_role("navigation", name="Main")


def test_an_invited_member_adds_and_removes_but_not_opt_outs_or_keys(
    app, team, live_server, new_page
):
    base = live_server.url
    with app.app_context():
        create_user(team.id, "owner@example.com", PASSWORD)  # the first: owner
        optout = dnc_list.add_entry(
            team.id,
            "https://linkedin.com/in/asked-themselves",
            source=Source.PUBLIC_FORM,
            actor=TEST_ACTOR,
        )

    owner = new_page()
    sign_in(owner, base, "owner@example.com")
    nav(owner).get_by_role("link", name="Members").click()
    owner.get_by_label("Email", exact=True).fill("ann@example.com")
    owner.get_by_label("Role", exact=True).select_option("member")
    owner.get_by_role("button", name="Create invitation link").click()
    link = owner.get_by_label("The invitation link").input_value()
    assert re.fullmatch(re.escape(base) + r"/invite/[A-Za-z0-9_-]{40,}", link)
    screenshot(owner, "members-invite")

    member = new_page()
    member.goto(link)
    expect(member.get_by_role("heading", name="Join Acme")).to_be_visible()
    member.get_by_label("Choose a password").fill(MEMBER_PASSWORD)
    member.get_by_label("The password again").fill(MEMBER_PASSWORD)
    member.get_by_role("button", name="Join and sign in").click()
    expect(member).to_have_url(base + "/entries")
    expect(member.locator(".who")).to_have_text("ann@example.com")
    expect(nav(member).get_by_role("link", name="API keys")).to_have_count(0)
    expect(nav(member).get_by_role("link", name="Members")).to_have_count(0)
    expect(nav(member).get_by_role("link", name="Bulk add")).to_be_visible()

    # Adds one, removes it.
    member.get_by_label("LinkedIn profile URL").fill("linkedin.com/in/new-prospect")
    member.get_by_role("button", name="Add to list").click()
    row = member.locator("#entry-rows tr", has_text="new-prospect")
    expect(row).to_be_visible()
    row.get_by_role("link", name=re.compile("Remove")).click()
    member.get_by_label("Why is it removed?").fill("Added by mistake")
    member.get_by_role("button", name="Remove from list").click()
    expect(member.locator("#entry-rows")).to_contain_text("Removed linkedin.com/in/new-prospect")

    # The person's own opt-out has no Remove button; the keys page is refused.
    optout_row = member.locator(f"#entry-{optout.id}")
    expect(optout_row).to_be_visible()
    expect(optout_row.get_by_role("link", name=re.compile("Remove"))).to_have_count(0)
    screenshot(member, "member-list")
    response = member.goto(base + "/keys")
    assert response.status == 403
    expect(member.get_by_role("heading", level=1)).to_be_visible()
    expect(member.locator("body")).to_contain_text("does not allow this")

    # The owner sees the member, and may remove the opt-out (after saying why).
    owner.goto(base + "/members")
    expect(owner.locator("tbody")).to_contain_text("ann@example.com")
    owner.goto(base + f"/entries/{optout.id}/remove")
    expect(owner.locator("main")).to_contain_text("This is the person's own opt-out")
    screenshot(owner, "remove-optout-confirm")


def test_a_viewer_can_only_read_and_check(app, team, live_server, new_page):
    base = live_server.url
    with app.app_context():
        create_user(team.id, "owner@example.com", PASSWORD)
        create_user(team.id, "vera@example.com", PASSWORD, role="viewer")
        dnc_list.add_entry(
            team.id, "https://linkedin.com/in/listed-one", source=Source.API, actor=TEST_ACTOR
        )
    for name, options in (("viewer", {}), ("viewer-phone", PHONE)):
        page = new_page(**options)
        sign_in(page, base, "vera@example.com")
        expect(page.locator("#entry-rows")).to_contain_text("listed-one")
        expect(page.get_by_role("button", name="Add to list")).to_have_count(0)
        expect(
            page.locator("#entry-rows").get_by_role("link", name=re.compile("Remove"))
        ).to_have_count(0)
        # At phone width the links are behind the menu button: read them from the page.
        names = [n.strip() for n in page.locator("nav.site-nav a").all_text_contents()]
        assert [n for n in names if n] == ["List", "Companies", "Check", "Account"], names
        screenshot(page, f"{name}-list")
    page.goto(base + "/check")
    page.get_by_label("LinkedIn profile URL").fill("linkedin.com/in/listed-one")
    page.get_by_role("button", name=re.compile("Check")).click()
    expect(page.locator("#check-result")).to_contain_text("listed-one")
    for path in ("/bulk", "/audit", "/settings", "/members", "/export.csv"):
        assert page.goto(base + path).status == 403, path
