"""The "Connect your outreach tool" page: linked, accessible, and its code works as shown.

The code blocks are taken from the rendered page and run: the webhook checks against
signatures made by the `standardwebhooks` package (as the service signs), the JavaScript
with Node, the changes-feed loop against a real server.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import secrets
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook

from tests.services import missing
from tests.web_support import make_member, sign_in


def page(client) -> str:
    resp = client.get("/docs/connect")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    return resp.get_data(as_text=True)


def code_block(text: str, block_id: str) -> str:
    found = re.search(
        rf'<pre tabindex="0" id="{block_id}"><code>(.*?)</code></pre>', text, re.DOTALL
    )
    assert found, block_id
    return html.unescape(found.group(1))


def signed(
    body: bytes,
    *,
    age: timedelta = timedelta(0),
    secret: str | None = None,
    extra_secret: str | None = None,
) -> tuple[str, dict[str, str]]:
    """A secret and the headers the service sends with `body` (a second, other signature
    first, as during a secret rotation)."""
    secret = secret or "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()
    msg_id, when = "msg_" + secrets.token_hex(8), datetime.now(UTC) - age
    signatures = [
        Webhook(s).sign(msg_id, when, body.decode()) for s in filter(None, [extra_secret, secret])
    ]
    return secret, {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": " ".join(signatures),
    }


BODY = json.dumps(
    {
        "type": "dnc.entry.added",
        "timestamp": "2026-11-30T10:35:30.123Z",
        "data": {"url": "https://linkedin.com/in/jürgen"},
    }
).encode()
OTHER = "whsec_" + base64.b64encode(b"x" * 24).decode()


def test_the_page_explains_each_mechanism_and_is_linked_from_the_reference(client):
    text = page(client)
    for words in (
        "Webhooks",
        "Screening",
        "Changes feed",
        "/v1/dnc/screen",
        "/v1/dnc/changes",
        "nextCursor",
        "sha256",
        'POST "$DNC_URL/v1/webhooks"',
        "standardwebhooks",
        "node:crypto",
        "60/minute",
        # Managing an endpoint and catching up after downtime.
        "/v1/webhooks/&lt;id&gt;/attempts",
        "rotate-secret",
        "redeliver",
        "/recover",
        "disabledReason",
        "too_many_endpoints",
        "5,000",
        'href="#recover"',
        "webhook-id</code> you already processed",
    ):
        assert words in text, words
    assert 'href="/docs/connect"' in client.get("/docs").get_data(as_text=True)
    assert "<script" not in text and "style=" not in text and "<style" not in text


@pytest.mark.parametrize("path", ["/docs", "/docs/connect"])
def test_every_code_block_can_be_reached_with_the_keyboard(client, path):
    # axe rule scrollable-region-focusable: a <pre> that scrolls must be focusable.
    text = client.get(path).get_data(as_text=True)
    blocks = re.findall(r"<pre[^>]*>", text)
    assert blocks and all('tabindex="0"' in tag for tag in blocks), blocks


def test_the_team_pages_link_to_the_docs(app, client, team):
    make_member(app, team.id)
    sign_in(client)
    text = client.get("/entries").get_data(as_text=True)
    assert 'href="/docs/connect"' in text and 'href="/docs"' in text


def test_the_hand_written_python_check_accepts_the_services_signatures(client):
    namespace: dict = {}
    exec(code_block(page(client), "verify-python-hmac"), namespace)
    verify = namespace["verify_webhook"]
    secret, headers = signed(BODY, extra_secret=OTHER)
    assert verify(secret, headers, BODY) is True
    assert verify(OTHER, headers, BODY) is True  # the rotated-out secret still signs
    assert verify(secret, headers, BODY.replace(b"added", b"removd")) is False
    assert verify("whsec_" + base64.b64encode(b"y" * 24).decode(), headers, BODY) is False
    old_secret, old = signed(BODY, age=timedelta(minutes=6))
    assert verify(old_secret, old, BODY) is False


def test_the_package_receiver_accepts_signed_requests_and_refuses_others(client, monkeypatch):
    secret, headers = signed(BODY)
    monkeypatch.setenv("DNC_WEBHOOK_SECRET", secret)
    namespace: dict = {"__name__": "receiver"}
    exec(code_block(page(client), "verify-python-package"), namespace)
    receiver = namespace["app"].test_client()
    assert receiver.post("/dnc-webhook", data=BODY, headers=headers).status_code == 204
    forged = {**headers, "webhook-signature": signed(BODY)[1]["webhook-signature"]}
    assert receiver.post("/dnc-webhook", data=BODY, headers=forged).status_code == 400


def test_the_javascript_check_accepts_the_services_signatures(client, tmp_path):
    if shutil.which("node") is None:
        missing("Node.js")  # skipped locally, a failure in CI
    secret, headers = signed(BODY, extra_secret=OTHER)
    _, wrong = signed(BODY)
    script = tmp_path / "verify.js"
    script.write_text(
        code_block(page(client), "verify-node")
        + """
const [secret, headers, wrong, body] = JSON.parse(process.argv[2]);
const raw = Buffer.from(body, "base64");
console.log(JSON.stringify([
  verifyWebhook(secret, headers, raw), verifyWebhook(secret, wrong, raw),
  verifyWebhook(secret, headers, Buffer.concat([raw, Buffer.from(" ")]))]));
"""
    )
    args = json.dumps([secret, headers, wrong, base64.b64encode(BODY).decode()])
    out = subprocess.run(
        ["node", str(script), args], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert json.loads(out) == [True, False, False]


@pytest.mark.live
def test_the_feed_loop_keeps_a_copy_of_a_real_servers_list(
    live_server_factory, team, client, monkeypatch
):
    text = page(client)
    live = live_server_factory()
    monkeypatch.setenv("DNC_URL", live.url)
    monkeypatch.setenv("DNC_API_KEY", team.api_key)
    namespace: dict = {}
    exec(code_block(text, "feed-python"), namespace)
    sync = namespace["sync"]

    def api(method, path, body=None):
        resp = getattr(client, method)(path, json=body, headers=team.headers)
        assert resp.status_code in (200, 201), resp.get_json()
        return resp.get_json()["data"]

    ann = api("post", "/v1/dnc", {"url": "in/ann"})
    api("post", "/v1/dnc/batch", {"entries": [{"url": f"in/p{i}"} for i in range(3)]})
    copy: dict = {}
    cursor = sync(copy, "")
    assert sorted(copy.values()) == [
        f"https://linkedin.com/in/{n}" for n in ("ann", "p0", "p1", "p2")
    ]
    api("delete", f"/v1/dnc/{ann['$id']}")
    api("post", "/v1/dnc", {"url": "in/bob"})
    assert sync(copy, cursor) != cursor
    listed = {e["$id"]: e["url"] for e in api("get", "/v1/dnc?limit=1000")["entries"]}
    assert copy == listed
    assert os.environ["DNC_URL"] == live.url
