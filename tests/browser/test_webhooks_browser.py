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


def test_create_an_endpoint_send_a_test_and_see_the_delivery(
    app, team, live_server_factory, new_page, receiver
):
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


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_repair_a_disabled_endpoint_in_the_page(
    app, team, live_server_factory, new_page, receiver, width
):
    """A 410 disabled the endpoint: the page says why; enable it, send the changes made
    meanwhile, rotate the secret (htmx in place, the page's CSP), with no axe violations."""
    from axe_playwright_python.sync_playwright import Axe

    from tests.browser.test_accessibility import WIDTHS, describe
    from tests.test_webhooks import deliver
    from tests.webhook_support import Answer

    make_member(app, team.id)
    live = live_server_factory(WEBHOOK_ALLOW_PRIVATE="1", WEBHOOK_DELIVERY="off")
    app.config["WEBHOOK_ALLOW_PRIVATE"] = True  # the receiver is on loopback
    client = app.test_client()
    created = client.post(
        "/v1/webhooks", json={"url": receiver.url}, headers=team.headers
    ).get_json()["data"]
    receiver.script = [Answer(410)]
    client.post("/v1/dnc", json={"url": "in/first"}, headers=team.headers)
    deliver(app)
    client.post("/v1/dnc", json={"url": "in/while-disabled"}, headers=team.headers)

    page = new_page(viewport=WIDTHS[width])
    problems = watch(page)
    sign_in(page, live.url, f"/webhooks/{created['id']}")
    expect(page.locator("[data-disabled-reason]")).to_contain_text("410 Gone")
    results = Axe().run(page)
    assert results.violations_count == 0, describe(results.response["violations"])

    page.get_by_role("button", name="Enable", exact=True).click()
    expect(page.locator("#flashes")).to_contain_text("Enabled")
    assert page.url.endswith(created["id"])  # swapped in place, no navigation
    page.get_by_label("Send the changes since (UTC)").fill("2000-01-01T00:00:00")
    page.get_by_role("button", name="Send the changes").click()
    expect(page.locator("#flashes")).to_contain_text("2 changes are queued")
    page.get_by_role("button", name="Rotate the secret").click()
    expect(page.get_by_label("The new signing secret")).to_be_visible()
    screenshot(page, f"webhook-repaired-{width}")
    results = Axe().run(page)
    assert results.violations_count == 0, describe(results.response["violations"])
    assert problems == []
