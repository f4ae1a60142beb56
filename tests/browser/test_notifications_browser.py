"""In Chromium against gunicorn and a real SMTP server on loopback: password reset by
email from the sign-in page to the new password, and the notification switches on the
account page with and without JavaScript; axe-clean at 1280 and 390 px."""

from __future__ import annotations

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from dnc_app.domain.accounts.teams import create_team
from dnc_app.domain.accounts.users import create_user
from tests.browser.support import screenshot
from tests.mail_support import SmtpSink
from tests.web_support import PASSWORD

WIDTHS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}
AXE = Axe()
OWNER = "owner@example.com"


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def server(live_server_factory, smtp):
    return live_server_factory(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp.port),
        SMTP_STARTTLS="false",
        TRUSTED_HOSTS="127.0.0.1",
        WEBHOOK_POLL_INTERVAL="0.1",
    )


@pytest.fixture
def owner(app):
    with app.app_context():
        team = create_team("Acme")
        create_user(team.id, OWNER, PASSWORD, role="owner")


def axe_clean(page: Page, name: str) -> None:
    screenshot(page, name)
    results = AXE.run(page)
    assert results.violations_count == 0, results.response["violations"]


def sign_in(page: Page, base: str, password: str) -> None:
    page.goto(base + "/login")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/entries$"))


@pytest.mark.parametrize("width", WIDTHS)
def test_password_reset_by_email(width, server, smtp, owner, new_page):
    page = new_page(viewport=WIDTHS[width])
    page.goto(server.url + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    axe_clean(page, f"reset-request-{width}")
    page.get_by_label("Email").fill(OWNER)
    page.get_by_role("button", name="Send the link").click()
    expect(page.locator(".notice-success")).to_contain_text("If an account uses that address")
    axe_clean(page, f"reset-sent-{width}")

    link = re.search(r"http://\S+/login/reset/\S+", smtp.wait_for(1)[0].body).group(0)
    page.goto(link)
    axe_clean(page, f"reset-new-password-{width}")
    new = "a brand new long password"
    page.get_by_label("New password", exact=True).fill(new)
    page.get_by_label("New password again").fill(new)
    page.get_by_role("button", name="Set the new password").click()
    expect(page).to_have_url(re.compile(r"/login$"))
    sign_in(page, server.url, new)
    page.goto(link)  # used: refused
    expect(page.get_by_role("alert")).to_contain_text("cannot be used")
    axe_clean(page, f"reset-used-{width}")


@pytest.mark.parametrize("javascript", [True, False], ids=["htmx", "no-js"])
def test_notification_switches(javascript, server, owner, new_page):
    page = new_page(viewport=WIDTHS["phone"], java_script_enabled=javascript)
    sign_in(page, server.url, PASSWORD)
    page.goto(server.url + "/account")
    optouts = page.get_by_label("Email me when a person opts out on the public page")
    expect(optouts).to_be_checked()  # owners: on by default
    if javascript:  # axe runs as a script: not in a page without JavaScript
        axe_clean(page, "account-notifications")
    optouts.uncheck()
    page.get_by_role("button", name="Save notifications").click()
    expect(page.locator("main")).to_contain_text(re.compile("saved", re.IGNORECASE))
    page.goto(server.url + "/account")
    expect(
        page.get_by_label("Email me when a person opts out on the public page")
    ).not_to_be_checked()
    expect(page.get_by_label("Email me when a webhook endpoint is disabled")).to_be_checked()
