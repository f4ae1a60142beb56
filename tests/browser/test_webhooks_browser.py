"""The Webhooks page in a real Chromium against a real gunicorn that delivers to a real
receiver: create an endpoint, see its secret once, send a test event, see the delivery."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.support import screenshot
from tests.browser.test_web_browser import sign_in, watch
from tests.web_support import make_member

pytestmark = pytest.mark.live


def test_create_an_endpoint_send_a_test_and_see_the_delivery(app, team, live_server_factory,
                                                              new_page, receiver):
    make_member(app, team.id)
    live = live_server_factory(WEBHOOK_ALLOW_PRIVATE="1")
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    problems = watch(page)
    sign_in(page, live.url, "/webhooks")
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Description").fill("CRM")
    page.get_by_role("button", name="Add endpoint").click()
    secret_field = page.get_by_label("The signing secret")
    expect(secret_field).to_be_visible()
    secret = secret_field.input_value()
    assert re.match(r"^whsec_[A-Za-z0-9+/=]{44}$", secret)
    page.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "webhooks-new-endpoint")

    page.goto(live.url + "/webhooks")
    assert secret not in page.content()  # shown once
    page.get_by_role("link", name=receiver.url).click()
    page.get_by_role("button", name="Send a test event").click()
    expect(page.locator("[role=status], .notice").first).to_contain_text("Test event queued")
    received = receiver.wait_for(1, timeout=10)[0]
    assert received.verified(secret)["type"] == "webhook.test"

    deadline = time.monotonic() + 10
    while not page.locator("tr[data-attempt]").count() and time.monotonic() < deadline:
        time.sleep(0.2)
        page.reload()
    row = page.locator("tr[data-attempt]").first
    expect(row).to_contain_text("webhook.test")
    expect(row).to_contain_text("200")
    screenshot(page, "webhook-delivery-log")
    assert problems == []
