"""The public opt-out page in Chromium against a real gunicorn: with htmx, without
JavaScript, on a phone, through a personal link, and the team's settings page.

Each flow ends with a check through the API (`GET /v1/dnc/check`) that the opt-out is on
the team's list with source `public_form`. Screenshots go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request

import pytest

from dnc_app.domain.accounts.users import create_user
from dnc_app.extensions import db
from tests.browser.support import screenshot as take_screenshot

pytestmark = pytest.mark.live

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def api_check(server, team, url: str) -> dict:
    query = urllib.parse.urlencode({"url": url})
    request = urllib.request.Request(f"{server.url}/v1/dnc/check?{query}", headers=team.headers)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["data"]


def assert_listed_by_public_form(server, team, url: str) -> None:
    data = api_check(server, team, url)
    assert data["onList"] is True
    assert data["entry"]["source"] == "public_form"


def screenshot(page, name: str) -> None:
    take_screenshot(page, name)
    # Playwright hides the caret for the picture with an inline style and leaves style=""
    # on the fields; htmx would copy it when it swaps the form, which the CSP refuses. A
    # person's browser has no such attribute: remove it.
    page.evaluate(
        "document.querySelectorAll('[style=\"\"]')"
        ".forEach((element) => element.removeAttribute('style'))"
    )


def watch_console(page) -> list[str]:
    """Console errors (CSP violations show up here) and failed requests of the page."""
    problems: list[str] = []

    def on_console(message) -> None:
        text, where = message.text, message.location.get("url", "")
        # Chromium logs every 4xx answer; the app has no favicon (not these pages' concern).
        if message.type != "error" or "/favicon.ico" in where:
            return
        if text.startswith("Failed to load resource: the server responded with a status of 400"):
            return
        problems.append(f"{text} at {where}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    return problems


@pytest.fixture(scope="module")
def server(shared_server):
    """One gunicorn for this module's tests (conftest: no minimum time, limits raised)."""
    return shared_server


def test_htmx_form_on_a_phone(server, team, new_page):
    page = new_page(**PHONE)
    problems = watch_console(page)
    page.goto(f"{server.url}/optout/{team.slug}")
    assert page.locator("h1").inner_text() == "Stop messages from Acme"
    # Fits the phone: no sideways scrolling; the button is a big tap target.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.get_by_role("button", name="Opt out").bounding_box()["height"] >= 44
    screenshot(page, "optout-form-phone")

    # Keyboard: URL, reason, button; the honeypot is skipped and off-screen.
    page.locator("#url").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "reason"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Opt out"
    box = page.locator(".hp").bounding_box()
    assert box["x"] + box["width"] <= 0

    page.evaluate("window.__samePage = true")
    page.locator("#url").press_sequentially("https://www.linkedin.com/in/Jane-Phone/", delay=5)
    page.locator("#url-feedback .feedback-ok").wait_for()
    assert (
        "We will record: https://linkedin.com/in/jane-phone"
        in page.locator("#url-feedback").inner_text()
    )
    page.locator("#reason").fill("Please stop, thanks.")
    page.get_by_role("button", name="Opt out").click()

    receipt = page.locator("#optout-panel.receipt")
    receipt.wait_for()
    # In place: no page load, and the focus moved to the receipt's heading.
    assert page.evaluate("window.__samePage") is True
    assert page.evaluate("document.activeElement.id") == "receipt-heading"
    assert receipt.locator("[data-url]").inner_text() == "https://linkedin.com/in/jane-phone"
    assert receipt.locator("[data-reference]").inner_text().startswith("OPT-")
    screenshot(page, "optout-receipt")
    assert problems == [], "\n".join(problems)
    assert_listed_by_public_form(server, team, "linkedin.com/in/jane-phone")


def test_inline_validation_and_in_place_errors(server, team, new_page):
    page = new_page(**PHONE)
    problems = watch_console(page)
    page.goto(f"{server.url}/optout/{team.slug}")
    page.evaluate("window.__samePage = true")
    url_field = page.locator("#url")
    url_field.press_sequentially("https://www.linkedin.com/company/acme", delay=5)
    error = page.locator("#url-feedback .feedback-error")
    error.wait_for()
    assert "company pages cannot be added" in error.inner_text()
    page.wait_for_function("document.getElementById('url').getAttribute('aria-invalid') === 'true'")
    screenshot(page, "optout-inline-error")

    # Sent anyway: the server's answer (400) replaces the form in place, with the error.
    page.get_by_role("button", name="Opt out").click()
    page.locator("#optout-panel [role=alert]").wait_for()
    assert page.evaluate("window.__samePage") is True
    assert page.locator("#url").input_value() == "https://www.linkedin.com/company/acme"
    assert page.locator("#url").get_attribute("aria-invalid") == "true"

    page.locator("#url").fill("")
    page.locator("#url").press_sequentially("linkedin.com/in/fixed-person", delay=5)
    page.locator("#url-feedback .feedback-ok").wait_for()
    assert page.locator("#url").get_attribute("aria-invalid") is None
    page.get_by_role("button", name="Opt out").click()
    page.locator("#optout-panel.receipt").wait_for()
    assert page.evaluate("window.__samePage") is True
    assert problems == [], "\n".join(problems)
    assert_listed_by_public_form(server, team, "https://linkedin.com/in/fixed-person")


def test_a_failed_htmx_request_falls_back_to_the_plain_form_post(server, team, new_page):
    page = new_page(**PHONE)

    def fail_htmx_posts(route, request):
        # The htmx request meets a server error (e.g. during a restart); the plain post
        # that follows goes through.
        if request.method == "POST" and request.headers.get("hx-request") == "true":
            route.fulfill(status=503, body="unavailable", content_type="text/plain")
        else:
            route.continue_()

    page.route(f"{server.url}/optout/{team.slug}", fail_htmx_posts)
    page.goto(f"{server.url}/optout/{team.slug}")
    page.locator("#url").fill("linkedin.com/in/fallback-person")
    with page.expect_navigation():
        page.get_by_role("button", name="Opt out").click()
    assert page.title() == "Request recorded · Acme"
    assert_listed_by_public_form(server, team, "linkedin.com/in/fallback-person")


def test_without_javascript_full_page_flow(server, team, new_page):
    page = new_page(java_script_enabled=False, **PHONE)
    page.goto(f"{server.url}/optout/{team.slug}")
    page.locator("#url").fill("linkedin.com/school/some-university")
    with page.expect_navigation():
        page.get_by_role("button", name="Opt out").click()
    alert = page.locator("#url-feedback [role=alert]")
    assert "school pages cannot be added" in alert.inner_text()
    assert page.locator("#url").get_attribute("aria-invalid") == "true"

    page.locator("#url").fill("https://de.linkedin.com/in/No-Script-Person?trk=abc")
    page.locator("#reason").fill("No JavaScript here.")
    with page.expect_navigation():
        page.get_by_role("button", name="Opt out").click()
    assert page.title() == "Request recorded · Acme"
    receipt = page.locator("#optout-panel.receipt")
    assert receipt.locator("[data-url]").inner_text() == "https://linkedin.com/in/no-script-person"
    screenshot(page, "optout-receipt-nojs")
    assert_listed_by_public_form(server, team, "linkedin.com/in/no-script-person")


def test_personal_link_one_click(server, app, team, new_page):
    result = app.test_cli_runner().invoke(
        args=[
            "optout",
            "link",
            "--team",
            team.slug,
            "--base-url",
            server.url,
            "https://www.linkedin.com/in/Link-Recipient/",
        ]
    )
    assert result.exit_code == 0, result.output
    link = result.output.strip()

    page = new_page(**PHONE)
    problems = watch_console(page)
    page.goto(link)
    locked = page.locator("[data-locked-url]")
    assert locked.inner_text() == "https://linkedin.com/in/link-recipient"
    assert page.locator("#url").count() == 0  # nothing to type or change
    screenshot(page, "optout-personal-link")
    page.get_by_role("button", name="Opt out").click()
    page.locator("#optout-panel.receipt").wait_for()
    assert problems == [], "\n".join(problems)
    assert_listed_by_public_form(server, team, "linkedin.com/in/link-recipient")

    # A changed link: a clear message and the ordinary form.
    token = link.rsplit("/", 1)[1]
    page.goto(f"{server.url}/optout/{team.slug}/p/{token[:-3]}xyz")
    assert "This personal link is not valid" in page.locator("#form-notice").inner_text()
    assert page.locator("#url").input_value() == ""
    screenshot(page, "optout-personal-link-invalid")


def test_settings_page(server, app, team, new_page):
    with app.app_context():
        create_user(team.id, "owner@acme.example", "a long password 123")
        db.session.remove()
    page = new_page(viewport={"width": 1024, "height": 900})
    problems = watch_console(page)
    page.goto(f"{server.url}/login")
    page.locator("input[name=email]").fill("owner@acme.example")
    page.locator("input[name=password]").fill("a long password 123")
    with page.expect_navigation():
        page.locator("form button[type=submit]").first.click()
    page.goto(f"{server.url}/settings")
    public_url = f"{server.url}/optout/{team.slug}"
    assert page.locator(f'button[data-copy="{public_url}"]').inner_text() == "Copy"

    page.locator("#display_name").fill("Acme Outreach")
    page.locator("#privacy_url").fill("https://acme.example/privacy")
    page.locator("#optout_message").fill("Sorry for the message. You will not hear from us again.")
    with page.expect_navigation():
        page.get_by_role("button", name="Save settings").click()
    assert "Settings saved" in page.content()
    assert page.locator("#display_name").input_value() == "Acme Outreach"

    page.locator("#profile_url").fill("https://www.linkedin.com/in/settings-recipient/")
    page.get_by_role("button", name="Make link").click()
    link_field = page.locator("[data-personal-link]")
    link_field.wait_for()
    link = link_field.input_value()
    assert link.startswith(f"{public_url}/p/")
    screenshot(page, "optout-settings")
    assert problems == [], "\n".join(problems)

    visitor = new_page(**PHONE)
    visitor.goto(link)
    assert visitor.locator("h1").inner_text() == "Stop messages from Acme Outreach"
    assert "You will not hear from us again." in visitor.locator(".team-message").inner_text()
    privacy = visitor.get_by_role("link", name="Privacy policy of Acme Outreach")
    assert privacy.get_attribute("href") == "https://acme.example/privacy"
    assert (
        visitor.locator("[data-locked-url]").inner_text()
        == "https://linkedin.com/in/settings-recipient"
    )
    screenshot(visitor, "optout-personal-link-with-settings")
