"""The team pages after a designer's third walk, in Chromium against a real gunicorn: the
focus after each htmx swap (never the body), Escape, the dashboard refreshed by the same
response as a row, first/last pages and a page size, who added an entry, what a member may
not do and why, a 403 page with the navigation and the owners, the webhooks' plain errors,
the settings' hex code, the audit trail without its sign-ins, the docs' sidebar, a revoked
key, and no sideways scrolling at 390 px for owner, member and viewer.

Every state reached here is scanned with axe-core (0 violations) at the width it is in.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from dnc_app.domain import entries
from dnc_app.domain.accounts.users import create_user
from dnc_app.domain.changelog import Source
from dnc_app.domain.roles import Role
from tests.browser.support import screenshot
from tests.browser.test_accessibility import describe
from tests.browser.test_web_browser import watch
from tests.web_support import PASSWORD, TEST_ACTOR, make_member

pytestmark = pytest.mark.live
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
OWNER, MEMBER, VIEWER = "owner@example.com", "ann@example.com", "vic@example.com"
AXE = Axe()


# --------------------------------------------------------------------------- helpers


def sign_in(page: Page, base: str, email: str = OWNER) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + "/entries")
    page.wait_for_load_state("load")


def people(app, team_id: str) -> None:
    """An owner (the first member), a member and a viewer."""
    make_member(app, team_id, OWNER)
    with app.app_context():
        create_user(team_id, MEMBER, PASSWORD, role=Role.MEMBER)
        create_user(team_id, VIEWER, PASSWORD, role=Role.VIEWER)


def listed(app, team_id: str, count: int, source: Source = Source.API) -> None:
    """`count` entries, the first one the oldest."""
    with app.app_context():
        entries.add_entries(
            team_id,
            [f"linkedin.com/in/person-{i:03d}" for i in range(count)],
            source=source,
            actor=TEST_ACTOR,
        )


def no_axe_violations(page: Page) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, describe(results.response["violations"])


def fits(page: Page) -> None:
    """No sideways scrolling (and if there is, the elements that stick out)."""
    width = page.viewport_size["width"]
    wide = page.evaluate(
        """(width) => [...document.querySelectorAll('body *')]
        .filter(el => el.getBoundingClientRect().right > width + 1)
        .slice(0, 5).map(el => el.tagName + '.' + el.className + ' ' +
                         Math.round(el.getBoundingClientRect().right))""",
        width,
    )
    assert page.evaluate("document.documentElement.scrollWidth") <= width, wide


def focused(page: Page) -> str:
    return page.evaluate("""() => { const el = document.activeElement;
        return el.tagName + '#' + el.id + '.' + el.className + ' ' +
               el.textContent.trim().slice(0, 60); }""")


def row(page: Page, slug: str):
    return page.locator("#entry-rows tr").filter(has_text=slug)


def breaks_inside_words(locator) -> list[str]:
    """Where the text of `locator` wraps to a new line after a character that is not a
    separator of an address (/ . @ - _): the words it cuts."""
    return locator.evaluate("""(el) => {
        const cuts = [];
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
        let last = null, previous = '';
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (let i = 0; i < node.data.length; i++) {
                const range = document.createRange();
                range.setStart(node, i); range.setEnd(node, i + 1);
                const rect = range.getClientRects()[0];
                if (!rect || !node.data[i].trim()) { previous = node.data[i]; continue; }
                if (last !== null && rect.top > last + 2 && previous.trim() &&
                    !'/.@-_'.includes(previous)) cuts.push(node.data.slice(0, i + 1));
                last = rect.top; previous = node.data[i];
            }
        }
        return cuts;
    }""")


# --------------------------------------------------------------------------- the list


def test_focus_and_numbers_follow_each_swap_on_the_list(shared_server, app, team, new_page):
    people(app, team.id)
    listed(app, team.id, 3)
    page = new_page(viewport=DESKTOP)
    problems = watch(page)
    sign_in(page, shared_server.url)
    expect(page.locator("#stat-week")).to_have_text("3")
    expect(page.locator(".legend")).not_to_contain_text("Team pages")

    # A mouse add: the message takes the focus; the dashboard (numbers and chart) follows
    # in the same response.
    page.get_by_label("LinkedIn profile URL").fill("linkedin.com/in/new-one")
    page.get_by_role("button", name="Add to list").click()
    message = page.locator("#flashes .notice-success")
    expect(message).to_be_focused()
    expect(message).to_have_text("Added https://linkedin.com/in/new-one to the list.")
    expect(page.locator("#stat-total")).to_have_text("4")
    expect(page.locator("#stat-week")).to_have_text("4")
    expect(page.locator(".legend")).to_contain_text("Team pages")
    expect(page.locator("#dashboard-panel")).to_have_count(1)
    no_axe_violations(page)

    # A later search takes the "Added …" away.
    page.get_by_label("Search the list").fill("person-00")
    expect(page.locator("#entry-rows tr.entry")).to_have_count(3)
    expect(page.locator("#flashes")).to_be_empty()
    page.get_by_label("Search the list").fill("")
    expect(page.locator("#entry-rows tr.entry")).to_have_count(4)

    # Remove…: the reason field; Escape cancels, and the focus is back on Remove….
    target = row(page, "person-001")
    target.get_by_role("link", name=re.compile("^Remove")).click()
    reason = page.get_by_label("Why is it removed?")
    expect(reason).to_be_focused()
    reason.press("Escape")
    expect(page.get_by_label("Why is it removed?")).to_have_count(0)
    expect(row(page, "person-001").get_by_role("link", name=re.compile("^Remove"))).to_be_focused()

    # Cancel with the mouse: the same.
    row(page, "person-001").get_by_role("link", name=re.compile("^Remove")).click()
    page.get_by_role("link", name="Cancel").click()
    expect(row(page, "person-001").get_by_role("link", name=re.compile("^Remove"))).to_be_focused()

    # A mouse removal: the row says so and has the focus; the dashboard follows.
    row(page, "person-001").get_by_role("link", name=re.compile("^Remove")).click()
    page.get_by_label("Why is it removed?").fill("Asked by phone")
    page.get_by_role("button", name="Remove from list").click()
    done = page.locator(".removed-row td")
    expect(done).to_be_focused()
    expect(done).to_contain_text("Removed linkedin.com/in/person-001")
    expect(page.locator("#stat-total")).to_have_text("3")
    expect(page.locator("#stat-removed")).to_have_text("1")
    expect(page.locator("#entry-total")).to_have_text("3 profiles")
    no_axe_violations(page)
    screenshot(page, "pages-list-after-removal")
    assert problems == []


def test_pages_first_last_and_size_move_the_focus_and_the_view(shared_server, app, team, new_page):
    people(app, team.id)
    listed(app, team.id, 60)
    page = new_page(viewport=PHONE, is_mobile=True)
    problems = watch(page)
    sign_in(page, shared_server.url)
    meta = page.locator("#results-meta")
    expect(page.locator(".pager-range")).to_have_text("1–50 of 60")
    page.get_by_label("Per page").select_option("25")
    expect(page.locator(".pager-range")).to_have_text("1–25 of 60")
    expect(page).to_have_url(re.compile(r"size=25"))
    first_row = page.locator("#entry-rows tr.entry").first

    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.get_by_role("link", name="Next ›").click()
    expect(meta).to_be_focused()
    expect(meta).to_have_text("Entries 26–50 of 60.")
    expect(first_row).to_contain_text("person-034")
    expect(first_row).to_be_in_viewport()

    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.get_by_role("link", name="Last »").click()
    expect(meta).to_be_focused()
    expect(meta).to_have_text("Entries 51–60 of 60.")
    expect(page.locator("#entry-rows tr.entry")).to_have_count(10)
    expect(first_row).to_contain_text("person-009")
    expect(page.locator("#entry-rows tr.entry").last).to_contain_text("person-000")
    expect(first_row).to_be_in_viewport()
    expect(page.get_by_role("link", name="Next ›")).to_have_count(0)
    fits(page)
    no_axe_violations(page)

    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.get_by_role("link", name="‹ Previous").click()
    expect(meta).to_have_text("Entries 26–50 of 60.")
    expect(first_row).to_contain_text("person-034")
    expect(meta).to_be_focused()

    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    page.get_by_role("link", name="« First").click()
    expect(meta).to_have_text("Newest first.")
    expect(meta).to_be_focused()
    expect(first_row).to_contain_text("person-059")
    expect(first_row).to_be_in_viewport()
    screenshot(page, "pages-list-paged-phone")
    assert problems == []


def test_pages_and_page_size_work_without_javascript(shared_server, app, team, new_page):
    people(app, team.id)
    listed(app, team.id, 60)
    page = new_page(viewport=DESKTOP, java_script_enabled=False)
    sign_in(page, shared_server.url)
    page.get_by_label("Per page").select_option("25")
    page.get_by_role("button", name="Search").click()
    expect(page.locator(".pager-range")).to_have_text("1–25 of 60")
    page.get_by_role("link", name="Last »").click()
    expect(page).to_have_url(re.compile(r"last=1"))
    expect(page.locator(".pager-range")).to_have_text("51–60 of 60")
    expect(page.get_by_label("Per page")).to_have_value("25")
    page.get_by_role("link", name="‹ Previous").click()
    expect(page.locator(".pager-range")).to_have_text("26–50 of 60")


def test_the_add_button_is_as_wide_as_its_fields_on_a_phone(shared_server, app, team, new_page):
    people(app, team.id)
    page = new_page(viewport=PHONE, is_mobile=True)
    sign_in(page, shared_server.url)
    field = page.get_by_label("LinkedIn profile URL").bounding_box()
    button = page.get_by_role("button", name="Add to list").bounding_box()
    assert abs(button["width"] - field["width"]) <= 1, (button, field)
    assert abs(button["x"] - field["x"]) <= 1


def test_who_added_and_what_a_member_may_not_remove(shared_server, app, team, new_page):
    people(app, team.id)
    with app.app_context():
        entries.add_entry(
            team.id, "linkedin.com/in/asked-themselves", source=Source.PUBLIC_FORM, actor=TEST_ACTOR
        )
    request = urllib.request.Request(
        shared_server.url + "/v1/dnc",
        method="POST",
        data=json.dumps({"url": "linkedin.com/in/from-the-crm"}).encode(),
        headers={"Authorization": f"Bearer {team.api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
    for viewport in (DESKTOP, PHONE):
        page = new_page(viewport=viewport)
        sign_in(page, shared_server.url, MEMBER)
        # The key's name, not "API key dnc_sk_…".
        by = row(page, "from-the-crm").locator(".cell-who")
        expect(by).to_contain_text("test")
        expect(by).not_to_contain_text("dnc_sk_")
        note = row(page, "asked-themselves").locator(".row-actions")
        expect(note).to_have_text("Only an owner can remove a person's own opt-out.")
        expect(row(page, "from-the-crm").locator(".row-menu")).to_have_count(1)
        right = "(el) => el.getBoundingClientRect().right"
        assert note.evaluate(right) <= page.locator("#entry-results .table-wrap").evaluate(right)
        fits(page)
        no_axe_violations(page)
        screenshot(page, f"pages-member-list-{viewport['width']}")


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_a_403_page_keeps_the_navigation_and_names_the_owners(
    shared_server, app, team, new_page, viewport
):
    people(app, team.id)
    page = new_page(viewport=viewport)
    sign_in(page, shared_server.url, VIEWER)
    response = page.goto(shared_server.url + "/keys")
    assert response.status == 403
    expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    expect(page.locator(".owner-list")).to_have_text(OWNER)
    # The whole navigation (behind the menu button at phone width) and "Sign out".
    # A viewer: List, Companies (to read), Check, Account.
    expect(page.locator("nav.site-nav a")).to_have_count(4)
    expect(page.locator("form.sign-out button")).to_have_text("Sign out")
    fits(page)
    no_axe_violations(page)
    screenshot(page, f"pages-403-{viewport['width']}")
    if viewport is PHONE:
        page.get_by_text("Menu").click()
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/login"))


def test_the_only_owner_is_not_offered_to_demote_or_remove_themself(
    shared_server, app, team, new_page
):
    people(app, team.id)
    page = new_page(viewport=DESKTOP)
    sign_in(page, shared_server.url, OWNER)
    page.goto(shared_server.url + "/members")
    me = page.locator("tbody tr").filter(has_text=OWNER)
    expect(me.get_by_role("combobox")).to_have_count(0)
    expect(me.get_by_role("link", name=re.compile("^Remove"))).to_have_count(0)
    expect(me).to_contain_text("The only owner")
    ann = page.locator("tbody tr").filter(has_text=MEMBER)
    expect(ann.get_by_role("link", name=re.compile("^Remove"))).to_have_count(1)
    no_axe_violations(page)
    # Another owner: then either may step down.
    ann.get_by_role("combobox").select_option("owner")
    ann.get_by_role("button", name=re.compile("^Change")).click()
    expect(page.locator("#flashes")).to_contain_text(f"{MEMBER} is now owner")
    me = page.locator("tbody tr").filter(has_text=OWNER)
    expect(me.get_by_role("combobox")).to_have_count(1)
    expect(me.get_by_role("link", name=re.compile("^Remove"))).to_have_count(1)


# --------------------------------------------------------------------------- other pages


def test_webhook_errors_are_sentences_with_a_hint_for_local_receivers(
    shared_server, app, team, new_page
):
    people(app, team.id)
    for viewport in (DESKTOP, PHONE):
        page = new_page(viewport=viewport)
        sign_in(page, shared_server.url, OWNER)
        page.goto(shared_server.url + "/webhooks")
        page.get_by_label("Endpoint URL").fill("http://127.0.0.1:9/hooks")
        page.get_by_role("button", name="Add endpoint").click()
        error = page.locator("#webhook-url-error")
        expect(error).to_have_text(re.compile(r"^This address is on a private network .*\.$"))
        page.locator(".local-hint summary").click()
        expect(page.get_by_text("WEBHOOK_ALLOW_PRIVATE=1")).to_be_visible()
        fits(page)
        no_axe_violations(page)
        page.get_by_label("Endpoint URL").fill("ftp://example.com/x")
        page.get_by_role("button", name="Add endpoint").click()
        expect(error).to_have_text("The URL must start with https:// (or http://).")


def test_the_hex_code_and_the_colour_picker_follow_each_other(shared_server, app, team, new_page):
    people(app, team.id)
    page = new_page(viewport=DESKTOP)
    problems = watch(page)
    sign_in(page, shared_server.url, OWNER)
    page.goto(shared_server.url + "/settings")
    # No privacy link is set: the preview shows none.
    expect(page.locator(".look-preview-link")).to_have_count(0)
    hex_code, picker = page.get_by_label("Hex code"), page.locator("#accent_color")
    hex_code.fill("#08f")
    expect(picker).to_have_value("#0088ff")
    expect(page.locator("[data-preview-state]")).to_have_text("(not saved yet)")
    picker.fill("#17693a")
    expect(hex_code).to_have_value("#17693a")
    hex_code.fill("c2410c")
    expect(picker).to_have_value("#c2410c")
    page.get_by_role("button", name="Save logo and colour").click()
    expect(page.locator("#flashes")).to_contain_text("Saved")
    expect(page.get_by_label("Hex code")).to_have_value("#c2410c")
    no_axe_violations(page)
    page.get_by_label("Hex code").fill("#12345g")
    page.get_by_role("button", name="Save logo and colour").click()
    expect(page.locator("#accent_color-error")).to_contain_text("The hex code must be")
    no_axe_violations(page)
    assert problems == []


def test_a_hex_code_works_without_javascript_and_a_wrong_one_is_explained(
    shared_server, app, team, new_page
):
    people(app, team.id)
    page = new_page(viewport=PHONE, java_script_enabled=False)
    sign_in(page, shared_server.url, OWNER)
    page.goto(shared_server.url + "/settings")
    page.get_by_label("Hex code").fill("#12345g")
    page.get_by_role("button", name="Save logo and colour").click()
    expect(page.locator("#accent_color-error")).to_contain_text("The hex code must be")
    expect(page.get_by_label("Hex code")).to_have_value("#12345g")
    fits(page)  # (axe needs JavaScript: the refused state is scanned in the test above)
    page.get_by_label("Hex code").fill("0b8043")
    page.get_by_role("button", name="Save logo and colour").click()
    expect(page.locator("#flashes")).to_contain_text("Saved")
    expect(page.locator("#accent_color")).to_have_value("#0b8043")


def test_the_audit_trail_hides_sign_ins_and_keeps_addresses_whole(
    shared_server, app, team, new_page
):
    long_email = "anne-marie.vandenberghe-lastname@subsidiary.example-company.com"
    make_member(app, team.id, OWNER)
    with app.app_context():
        create_user(team.id, long_email, PASSWORD, role=Role.MEMBER)
    page = new_page(viewport=PHONE, is_mobile=True)
    sign_in(page, shared_server.url, long_email)
    page.get_by_label("LinkedIn profile URL").fill("linkedin.com/in/by-the-member")
    page.get_by_role("button", name="Add to list").click()
    expect(page.locator("#flashes .notice-success")).to_be_focused()
    page.goto(shared_server.url + "/audit")
    rows = page.locator(".audit-table tbody tr")
    expect(rows.filter(has_text="Signed in")).to_have_count(0)
    expect(rows.filter(has_text="by-the-member")).to_have_count(1)
    page.get_by_label("Show sign-ins").check()
    expect(rows.filter(has_text="Signed in")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"signins=1"))
    who = rows.filter(has_text="by-the-member").locator(".who-cell")
    assert breaks_inside_words(who) == []
    fits(page)
    no_axe_violations(page)
    screenshot(page, "pages-audit-phone")


def test_the_docs_sidebar_shows_whole_paths(shared_server, new_page):
    page = new_page(viewport=DESKTOP)
    page.goto(shared_server.url + "/docs")
    link = page.locator(".docs-nav a").filter(has_text=re.compile(r"/test$"))
    expect(link).to_have_count(1)
    assert link.evaluate("(a) => a.scrollWidth <= a.clientWidth")
    nav = page.locator(".docs-nav")
    assert nav.evaluate("(n) => n.scrollWidth <= n.clientWidth")
    assert breaks_inside_words(link) == []


def test_a_revoked_key_is_muted_not_green(shared_server, app, team, new_page):
    people(app, team.id)
    page = new_page(viewport=DESKTOP)
    sign_in(page, shared_server.url, OWNER)
    page.goto(shared_server.url + "/keys")
    key_row = page.locator("tbody tr").first
    key_row.get_by_role("link", name=re.compile("^Revoke")).click()
    page.get_by_role("button", name="Revoke key").click()
    status = page.locator("tbody tr").first.locator("td[data-label=Status]")
    expect(status).to_be_focused()
    expect(status).to_contain_text("Revoked")
    revoked = page.locator("tbody tr.is-revoked")
    expect(revoked).to_have_count(1)
    # Neither the new-row flash nor a green badge: the muted look of a finished thing.
    colours = revoked.evaluate("""(tr) => [...tr.querySelectorAll('td, .badge')].map(
        (el) => getComputedStyle(el).backgroundColor + ' ' + getComputedStyle(el).color)""")
    green = page.evaluate("""() => { const el = document.createElement('span');
        el.style.color = getComputedStyle(document.documentElement)
            .getPropertyValue('--success'); document.body.append(el);
        const c = getComputedStyle(el).color; el.remove(); return c; }""")
    assert all(green not in colour for colour in colours), colours
    expect(revoked).not_to_have_class(re.compile(r"is-new"))
    no_axe_violations(page)


# --------------------------------------------------------------------------- 390 px

PAGES = {
    OWNER: [
        "/entries",
        "/bulk",
        "/screen",
        "/check",
        "/keys",
        "/webhooks",
        "/audit",
        "/audit?signins=1",
        "/settings",
        "/members",
        "/account",
        "/entries?size=25&last=1",
    ],
    MEMBER: ["/entries", "/bulk", "/screen", "/check", "/audit", "/account", "/keys"],
    VIEWER: ["/entries", "/check", "/account", "/members"],
}


@pytest.mark.parametrize("who", [OWNER, MEMBER, VIEWER], ids=["owner", "member", "viewer"])
def test_no_page_scrolls_sideways_at_390_px(shared_server, app, team, new_page, who):
    people(app, team.id)
    listed(app, team.id, 30)
    with app.app_context():
        entries.add_entry(
            team.id,
            "linkedin.com/in/" + "a-rather-long-name-" * 4,
            source=Source.PUBLIC_FORM,
            actor=TEST_ACTOR,
        )
    page = new_page(viewport=PHONE, is_mobile=True)
    sign_in(page, shared_server.url, who)
    for path in PAGES[who]:
        page.goto(shared_server.url + path)
        page.wait_for_load_state("load")
        fits(page)
    page.goto(f"{shared_server.url}/optout/{team.slug}")
    page.wait_for_load_state("load")
    fits(page)
    page.goto(f"{shared_server.url}/docs")
    page.wait_for_load_state("load")
    fits(page)
