"""The team pages in a real Chromium against a real gunicorn: with htmx, and without
JavaScript (every form must then work by full page loads).

Screenshots of the main pages go to artifacts/screenshots/ for a person to look at.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from dnc_app.domain import entries as dnc_list
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry
from tests.browser.support import screenshot
from tests.web_support import PASSWORD, TEST_ACTOR, add_entries, make_member

pytestmark = pytest.mark.live
EMAIL = "member@example.com"
KEY_RE = re.compile(r"^dnc_sk_[A-Za-z0-9]{40}$")


def watch(page: Page) -> list[str]:
    """Collect what would mean the page is broken: script errors and CSP violations."""
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"pageerror: {exc}"))
    page.on(
        "console",
        lambda msg: (
            problems.append(msg.text)
            if msg.type == "error"
            and ("Content Security Policy" in msg.text or "htmx" in msg.text.lower())
            else None
        ),
    )
    return problems


def sign_in(page: Page, base: str, path: str = "/entries") -> None:
    page.goto(base + path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(base + path)
    # The URL changes when the new page's response arrives (Playwright's "commit"), before
    # its stylesheet and scripts have loaded: measuring or typing then sees a page
    # without its styles or htmx.
    page.wait_for_load_state("load")


def slow_response(route) -> None:
    time.sleep(0.5)
    route.continue_()


def api_status(base: str, key: str) -> int:
    request = urllib.request.Request(
        base + "/v1/verify", headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        exc.close()
        return exc.code


def entry_urls(app, team_id: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(
                select(DncEntry.url).where(DncEntry.team_id == team_id).order_by(DncEntry.seq)
            ).scalars()
        )


# --------------------------------------------------------------------------- with htmx


def test_add_search_and_remove_without_reloading(app, team, live_server, page):
    make_member(app, team.id)
    add_entries(app, team.id, ["linkedin.com/in/existing-one", "linkedin.com/in/existing-two"])
    problems = watch(page)
    sign_in(page, live_server.url)
    screenshot(page, "list")
    page.evaluate("window.sameDocument = true")  # gone if the page reloads

    # Inline validation, visible before submitting.
    url_input = page.get_by_label("LinkedIn profile URL")
    feedback = page.locator("#add-url-feedback")
    url_input.press_sequentially("linkedin.com/company/acme", delay=5)
    expect(feedback).to_contain_text("Not a person profile")
    url_input.fill("https://www.linkedin.com/in/Jane-Doe/?trk=abc")
    expect(feedback).to_contain_text("Will be saved as https://linkedin.com/in/jane-doe")
    page.get_by_label("Reason").fill("Asked us to stop")
    screenshot(page, "add-validation")

    # Submit: the row appears on top, the form is fresh, the count moves, no reload.
    page.get_by_role("button", name="Add to list").click()
    expect(page.locator("#entry-rows tr").first).to_contain_text("linkedin.com/in/jane-doe")
    expect(page.locator("#entry-rows tr").first).to_contain_text("Asked us to stop")
    expect(page.locator("#entry-total")).to_have_text("3 profiles")
    expect(page.locator("#flashes")).to_contain_text("Added https://linkedin.com/in/jane-doe")
    expect(page.get_by_label("LinkedIn profile URL")).to_have_value("")
    assert page.evaluate("window.sameDocument") is True
    assert entry_urls(app, team.id)[-1] == "https://linkedin.com/in/jane-doe"

    # A duplicate says so, as information, and points to the entry; the "Added …" goes.
    page.get_by_label("LinkedIn profile URL").fill("in/JANE-DOE")
    expect(feedback).to_contain_text("Already on the list since")
    page.get_by_role("button", name="Add to list").click()
    info = page.locator("#add-url-info")
    expect(info).to_contain_text("already on the list")
    expect(info).to_contain_text("Already protected since")
    expect(info.get_by_role("link", name="Show the entry")).to_have_attribute(
        "href", "/entries?q=https://linkedin.com/in/jane-doe"
    )
    expect(page.locator("#flashes")).to_be_empty()
    expect(page.locator("#add-url-error")).to_have_count(0)
    # The refused field takes the focus back (autofocus after the swap).
    expect(page.get_by_label("LinkedIn profile URL")).to_be_focused()

    # Search as you type: results and URL follow, still the same document. fill() sets
    # the search box's value and fires its input event: typed keystrokes follow the
    # focus, which the autofocus above can still move (htmx and the browser both
    # apply it, a frame apart), and then land in the URL field about one run in five.
    page.get_by_label("Search the list").fill("existing-t")
    expect(page.locator("#entry-rows tr.entry")).to_have_count(1)
    expect(page.locator("#entry-rows")).to_contain_text("existing-two")
    expect(page).to_have_url(re.compile(r"/entries\?q=existing-t$"))
    expect(page.locator("#entry-results")).to_have_count(1)  # replaced, not nested
    expect(page.locator("#live-status")).to_have_text("1 entry matches “existing-t”.")
    screenshot(page, "list-search")

    # Remove with a reason, confirmed inline.
    row = page.locator("#entry-rows tr", has_text="existing-two")
    row.get_by_role("link", name=re.compile("Remove")).click()
    reason = page.get_by_label("Why is it removed?")
    expect(reason).to_be_focused()
    screenshot(page, "remove-confirm")
    reason.fill("Added by mistake")
    page.get_by_role("button", name="Remove from list").click()
    expect(page.locator("#entry-rows")).to_contain_text("Removed linkedin.com/in/existing-two")
    expect(page.locator("#entry-total")).to_have_text("2 profiles")
    assert page.evaluate("window.sameDocument") is True
    assert "https://linkedin.com/in/existing-two" not in entry_urls(app, team.id)
    with app.app_context():
        removal = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "remove")
        ).scalar_one()
        assert (removal.reason, removal.actor_label) == ("Added by mistake", EMAIL)
    assert problems == []

    # A refused htmx request (here: a stale CSRF token) says so on the page.
    page.evaluate("""document.querySelector('meta[name=csrf-token]').content = 'stale';
        document.querySelectorAll('input[name=csrf_token]').forEach(i => i.value = 'stale');""")
    page.get_by_label("LinkedIn profile URL").fill("in/refused")
    page.get_by_role("button", name="Add to list").click()
    expect(page.locator("#request-error")).to_contain_text("Reload the page and try again")
    assert "https://linkedin.com/in/refused" not in entry_urls(app, team.id)


def test_a_refused_field_takes_the_focus_once(app, team, live_server, page):
    """The refused add field is focused once, when it is swapped in: a person who moves
    on at once (here: the moment the field gets the focus) keeps the focus where they put
    it. Before, htmx focused `[autofocus]` a settle delay (20 ms) after the swap while the
    browser's own autofocus had already focused it a frame earlier, and took the focus
    back from the search box (the search text then landed in the URL field)."""
    make_member(app, team.id)
    add_entries(app, team.id, ["linkedin.com/in/jane-doe"])
    problems = watch(page)
    sign_in(page, live_server.url)
    page.evaluate("""document.addEventListener('focusin', (evt) => {
        // The refused field swapped in (the one typed into before has no autofocus).
        if (evt.target.id === 'add-url' && evt.target.autofocus && !window.movedOn) {
          window.movedOn = true;
          setTimeout(() => document.getElementById('search-q').focus(), 0);
        }
      });""")
    page.get_by_label("LinkedIn profile URL").fill("in/jane-doe")
    page.get_by_role("button", name="Add to list").click()
    expect(page.locator("#add-url-info")).to_contain_text("already on the list")
    page.wait_for_function("window.movedOn === true")
    page.wait_for_timeout(300)  # well past any settle delay and animation frame
    assert page.evaluate("document.activeElement.id") == "search-q"
    assert problems == []


def test_bulk_upload_of_a_csv_with_preview_then_confirm(
    app, team, live_server_factory, new_page, tmp_path
):
    make_member(app, team.id)
    add_entries(app, team.id, ["linkedin.com/in/person-0003"])
    server = live_server_factory(BULK_UPLOAD_DIR=str(tmp_path / "uploads"))
    rows = ["Name;Profile;Email"]
    for i in range(3000):
        url = (
            "https://www.linkedin.com/company/acme"
            if i % 500 == 7
            else f"https://www.linkedin.com/in/person-{i % 2990:04d}/"
        )
        rows.append(f'"Person {i}";{url};p{i}@example.com')
    csv_path = tmp_path / "people.csv"
    csv_path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode())

    page = new_page()
    problems = watch(page)
    sign_in(page, server.url, "/bulk")
    # Record what the progress bar shows while htmx reports upload progress.
    page.evaluate("""window.progressSeen = [];
        document.addEventListener('htmx:xhr:progress', () => {
          const bar = document.getElementById('bulk-upload-progress');
          if (bar) window.progressSeen.push(bar.value);
        });""")
    page.get_by_label("…or upload a CSV file").set_input_files(csv_path)
    screenshot(page, "bulk-form")
    page.get_by_role("button", name="Preview").click()
    heading = page.get_by_role("heading", name=re.compile("Preview"))
    expect(heading).to_have_text("2. Preview: 3,000 URLs found")
    tallies = page.locator(".tallies")
    expect(tallies).to_contain_text("2,984 new")
    expect(tallies).to_contain_text("1 already on the list")
    expect(tallies).to_contain_text("9 repeated in this upload")
    expect(tallies).to_contain_text("6 invalid")
    expect(page.locator("details.sample[open]")).to_contain_text("Not a person profile")
    assert max(page.evaluate("window.progressSeen")) == 100
    assert entry_urls(app, team.id) == ["https://linkedin.com/in/person-0003"]
    screenshot(page, "bulk-preview")

    page.get_by_role("button", name="Add 2,984 profiles to the list").click()
    expect(page.get_by_role("heading", name=re.compile("Done"))).to_have_text(
        "Done: 2,984 profiles added"
    )
    screenshot(page, "bulk-summary")
    assert len(entry_urls(app, team.id)) == 2985
    assert list((tmp_path / "uploads").glob("*.json")) == []
    assert problems == []


def test_create_a_key_shown_once_then_revoke_it(app, team, live_server, new_page):
    make_member(app, team.id)
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    problems = watch(page)
    sign_in(page, live_server.url, "/keys")
    page.get_by_label("Name").fill("CRM sync")
    page.get_by_role("button", name="Create key").click()
    key_field = page.get_by_label("The new API key")
    expect(key_field).to_be_visible()
    secret = key_field.input_value()
    assert KEY_RE.match(secret)
    expect(page.locator("#key-rows tr").first).to_contain_text("CRM sync")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "keys-new-key")
    assert api_status(live_server.url, secret) == 200

    page.reload()
    assert secret not in page.content()  # shown once
    row = page.locator("#key-rows tr", has_text="CRM sync")
    expect(row).to_contain_text(secret[:11] + "…")
    row.get_by_role("link", name=re.compile("Revoke")).click()
    page.get_by_role("button", name="Revoke key").click()
    expect(page.locator("#key-rows tr", has_text="CRM sync")).to_contain_text("Revoked")
    assert api_status(live_server.url, secret) == 401
    assert problems == []


def test_audit_trail_filters_and_sign_out(app, team, live_server, page):
    make_member(app, team.id)
    entries = add_entries(app, team.id, [f"linkedin.com/in/person-{i}" for i in range(4)])
    with app.app_context():
        dnc_list.remove_entry(
            team.id, entries[1].id, reason="Asked twice", source="web", actor=TEST_ACTOR
        )
    problems = watch(page)
    sign_in(page, live_server.url, "/audit")
    # 4 adds, 1 removal, 1 key; this sign-in only when sign-ins are shown
    expect(page.locator("#audit-results tbody tr")).to_have_count(6)
    page.get_by_label("Show sign-ins").check()
    expect(page.locator("#audit-results tbody tr")).to_have_count(7)
    page.get_by_label("Show sign-ins").uncheck()
    expect(page.locator("#audit-results tbody tr")).to_have_count(6)
    screenshot(page, "audit")
    page.get_by_label("Action").select_option("remove")
    expect(page.locator("#audit-results tbody tr")).to_have_count(1)
    expect(page.locator("#audit-results")).to_contain_text("Asked twice")
    expect(page).to_have_url(re.compile(r"action=remove"))

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(live_server.url + "/login")
    expect(page.locator("#flashes")).to_contain_text("You are signed out.")
    screenshot(page, "signed-out")
    page.goto(live_server.url + "/entries")
    expect(page).to_have_url(re.compile(r"/login\?next=/entries"))
    assert problems == []


def test_change_the_password_in_place_and_sign_out_other_browsers(
    app, team, live_server, page, new_page
):
    make_member(app, team.id)
    other = new_page()
    sign_in(other, live_server.url)
    problems = watch(page)
    sign_in(page, live_server.url)
    page.get_by_role("link", name="Account").click()
    expect(page).to_have_url(live_server.url + "/account")
    page.evaluate("window.notReloaded = true")

    def change(current: str, new: str, again: str) -> None:
        page.get_by_label("Current password").fill(current)
        page.get_by_label("New password", exact=True).fill(new)
        page.get_by_label("New password again").fill(again)
        page.get_by_role("button", name="Change password").click()

    change(PASSWORD, "a new password 42", "another password 42")
    expect(page.locator("#password-panel")).to_contain_text(
        "The two new passwords are not the same."
    )
    change(PASSWORD, "a new password 42", "a new password 42")
    expect(page.locator("#password-panel")).to_contain_text(
        "Password changed. 1 other session signed out."
    )
    assert page.evaluate("window.notReloaded") is True  # htmx swapped the panel only
    other.goto(live_server.url + "/entries")
    expect(other).to_have_url(re.compile(r"/login\?next=/entries"))
    page.goto(live_server.url + "/entries")
    expect(page).to_have_url(live_server.url + "/entries")
    assert problems == []


def test_the_list_fits_a_phone(app, team, live_server, new_page):
    make_member(app, team.id)
    with app.app_context():
        for i in range(6):
            dnc_list.add_entry(
                team.id,
                f"linkedin.com/in/a-rather-long-profile-name-{i}",
                reason="Replied: please remove me from your list",
                source="api",
                actor=TEST_ACTOR,
            )
    page = new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    # The stylesheet arrives late, as on a busy machine: the page is measured once loaded,
    # not as soon as its URL changes (that measured the unstyled table: 620 px).
    page.route("**/static/css/app.css", slow_response)
    sign_in(page, live_server.url)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_role("button", name="Add to list")).to_be_visible()
    screenshot(page, "list-phone")


# --------------------------------------------------------------------------- without JavaScript


def test_every_form_works_without_javascript(app, team, live_server_factory, new_page, tmp_path):
    make_member(app, team.id)
    add_entries(app, team.id, ["linkedin.com/in/existing-one"])
    server = live_server_factory(BULK_UPLOAD_DIR=str(tmp_path / "uploads"))
    base = server.url
    page = new_page(java_script_enabled=False)
    sign_in(page, base)

    # Add: a full POST, a redirect and a message; an invalid URL says why.
    page.get_by_label("LinkedIn profile URL").fill("https://www.linkedin.com/in/No-Js/")
    page.get_by_role("button", name="Add to list").click()
    expect(page).to_have_url(base + "/entries")
    expect(page.locator("#flashes")).to_contain_text("Added https://linkedin.com/in/no-js")
    expect(page.locator("#entry-rows tr").first).to_contain_text("linkedin.com/in/no-js")
    page.get_by_label("LinkedIn profile URL").fill("https://evil.com/in/x")
    page.get_by_role("button", name="Add to list").click()
    expect(page.locator("#add-url-error")).to_contain_text("Not a LinkedIn URL")
    screenshot(page, "nojs-add-error")

    # Search with the button.
    page.get_by_label("Search the list").fill("existing")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(base + "/entries?q=existing")
    expect(page.locator("#entry-rows tr.entry")).to_have_count(1)

    # Remove: a confirmation page that asks for the reason.
    page.locator("#entry-rows tr", has_text="existing-one").get_by_role(
        "link", name=re.compile("Remove")
    ).click()
    expect(page.get_by_role("heading", name="Remove from the list")).to_be_visible()
    page.get_by_label("Why is it removed?").fill("Wrong person")
    page.get_by_role("button", name="Remove from list").click()
    expect(page.locator("#flashes")).to_contain_text("Removed https://linkedin.com/in/existing-one")

    # Check.
    page.goto(base + "/check")
    page.get_by_label("LinkedIn profile URL").fill("linkedin.com/in/NO-JS")
    page.get_by_role("button", name="Check").click()
    expect(page.locator("#check-result")).to_contain_text("On the list since")
    screenshot(page, "nojs-check")

    # Bulk add: paste, preview, confirm.
    page.goto(base + "/bulk")
    page.get_by_label("Paste URLs, one per line").fill("in/bulk-a\nin/bulk-b\nin/no-js\nnope")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".tallies")).to_contain_text("2 new")
    page.get_by_role("button", name="Add 2 profiles to the list").click()
    expect(page.get_by_role("heading", name="Done: 2 profiles added")).to_be_visible()

    # API keys: create (shown once), revoke on a confirmation page.
    page.goto(base + "/keys")
    page.get_by_label("Name").fill("No-JS key")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_label("The new API key").input_value()
    assert KEY_RE.match(secret)
    page.goto(base + "/keys")
    page.locator("#key-rows tr", has_text="No-JS key").get_by_role(
        "link", name=re.compile("Revoke")
    ).click()
    page.get_by_role("button", name="Revoke key").click()
    expect(page).to_have_url(base + "/keys")
    expect(page.locator("#key-rows tr", has_text="No-JS key")).to_contain_text("Revoked")
    assert api_status(base, secret) == 401

    # Audit trail filter with the button.
    page.goto(base + "/audit")
    page.get_by_label("Action").select_option("remove")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#audit-results tbody tr")).to_have_count(1)
    expect(page.locator("#audit-results")).to_contain_text("Wrong person")

    assert sorted(entry_urls(app, team.id)) == [
        "https://linkedin.com/in/bulk-a",
        "https://linkedin.com/in/bulk-b",
        "https://linkedin.com/in/no-js",
    ]

    # A friendly error page.
    response = page.goto(base + "/entries/dnc_doesnotexist/remove")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not Found")).to_be_visible()
    screenshot(page, "nojs-error-404")

    page.goto(base + "/entries")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(base + "/login")
