"""Team notifications and password reset by email, against a real SMTP server on
loopback (aiosmtpd) and a real chat receiver: public opt-outs (the first at once, then
digests), disabled endpoints, per-member switches, the chat webhook, the reset flow, and
a mail server that is down or hangs (delays, never loses, never slows a page)."""

from __future__ import annotations

import json
import re
import time

import pytest
from sqlalchemy import select, update

from dnc_app.domain import entries
from dnc_app.domain.accounts.teams import create_team
from dnc_app.domain.accounts.users import create_user
from dnc_app.events.webhooks import endpoints
from dnc_app.extensions import db
from dnc_app.storage.models import NotificationMessage, PasswordReset, Team
from tests.mail_support import HangingSmtp, SmtpSink, free_port
from tests.support import TEST_ACTOR
from tests.test_optout import post_optout
from tests.web_support import PASSWORD, csrf_from, sign_in, token_for
from tests.webhook_support import Answer, Receiver

OWNER, MEMBER, OTHER = "owner@example.com", "member@example.com", "other@example.com"
DIGEST = 1.5  # seconds: the digest interval in these tests


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def notify_app(make_app, port: int, **overrides):
    return make_app(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_STARTTLS=False,
        WEBHOOK_DELIVERY=True,
        WEBHOOK_POLL_INTERVAL=0.05,
        NOTIFY_DIGEST_INTERVAL=DIGEST,
        NOTIFY_RETRY_MIN=0.1,
        NOTIFY_RETRY_MAX=0.5,
        WEBHOOK_ALLOW_PRIVATE=True,
        OPTOUT_MIN_SECONDS=0,
        WEBHOOK_RETRY_SCHEDULE=[0, 0.1],
        **overrides,
    )


def setup_team(app, members=((OWNER, "owner"), (MEMBER, "member"))):
    with app.app_context():
        team = create_team("Acme")
        for email, role in members:
            create_user(team.id, email, PASSWORD, role=role)
        return team.id, team.slug


def opt_out(client, slug: str, url: str, n: int):
    started = time.monotonic()
    response = post_optout(client, slug, url, environ={"REMOTE_ADDR": f"10.0.0.{n}"})
    assert response.status_code == 200, response.status_code
    return time.monotonic() - started


def settled(app, timeout: float = 10) -> None:
    """Wait until every queued message is recorded as done (sent after the server got it)."""
    deadline = time.monotonic() + timeout
    while pending(app):
        assert time.monotonic() < deadline, "messages still pending"
        time.sleep(0.02)


def pending(app) -> list[NotificationMessage]:
    with app.app_context():
        rows = db.session.scalars(
            select(NotificationMessage).where(NotificationMessage.status == "pending")
        ).all()
        db.session.expunge_all()
        return rows


# --------------------------------------------------------------------------- opt-outs


def test_first_optout_mailed_at_once_later_ones_in_one_digest(make_app, smtp):
    app = notify_app(make_app, smtp.port)
    _team_id, slug = setup_team(app)
    client = app.test_client()
    start = time.monotonic()
    opt_out(client, slug, "linkedin.com/in/first-person", 1)
    first = smtp.wait_for(1)[0]
    assert time.monotonic() - start < 60
    assert first.to == [OWNER]  # the member's switch is off by default
    assert "1 person opted out" in first.subject
    assert "linkedin.com/in/first-person" in first.body
    assert re.search(r"receipt OPT-", first.body)
    first_at = time.monotonic()

    opt_out(client, slug, "linkedin.com/in/second-person", 2)
    opt_out(client, slug, "linkedin.com/in/third-person", 3)
    digest = smtp.wait_for(2)[1]
    assert time.monotonic() - first_at >= DIGEST * 0.9  # not before the interval
    assert digest.to == [OWNER]
    assert "2 people opted out" in digest.subject
    assert "second-person" in digest.body and "third-person" in digest.body
    assert "first-person" not in digest.body
    assert len(smtp.mails) == 2
    # Sent messages keep no body (no personal data waits in the queue).
    settled(app)
    with app.app_context():
        assert db.session.scalars(select(NotificationMessage.body)).all() == [None, None]


def test_switches_on_the_account_page(make_app, smtp):
    app = notify_app(make_app, smtp.port)
    _team_id, slug = setup_team(app, ((OWNER, "owner"), (MEMBER, "member"), (OTHER, "member")))
    owner, member = app.test_client(), app.test_client()
    sign_in(owner, OWNER)
    sign_in(member, MEMBER)
    page = owner.get("/account").get_data(as_text=True)
    assert re.search(r'name="optouts" value="y" checked', page)  # owners: on
    assert not re.search(
        r'name="optouts" value="y" checked', member.get("/account").get_data(as_text=True)
    )
    # Without JavaScript: a plain form post, CSRF-checked, then back to the page.
    refused = owner.post("/account/notifications", data={})
    assert refused.status_code == 400
    off = owner.post(
        "/account/notifications",
        data={"csrf_token": token_for(owner, "/account"), "endpoints": "y"},
    )
    assert off.status_code == 303
    on = member.post(
        "/account/notifications", data={"csrf_token": token_for(member, "/account"), "optouts": "y"}
    )
    assert on.status_code == 303
    assert not re.search(
        r'name="optouts" value="y" checked', owner.get("/account").get_data(as_text=True)
    )

    opt_out(app.test_client(), slug, "linkedin.com/in/someone", 1)
    mail = smtp.wait_for(1)[0]
    assert mail.to == [MEMBER]
    settled(app)
    with app.app_context():  # every message made was sent: none waits for the owner
        assert db.session.scalars(select(NotificationMessage.recipient)).all() == [MEMBER]


# --------------------------------------------------------------------------- endpoints, chat


def test_disabled_endpoint_mailed_and_posted_to_chat(make_app, smtp):
    app = notify_app(make_app, smtp.port)
    team_id, _slug = setup_team(app)
    hook, chat = Receiver().start(), Receiver().start()
    try:
        hook.script = [Answer(status=410)]
        owner = app.test_client()
        sign_in(owner, OWNER)
        saved = owner.post(
            "/settings/chat", data={"csrf_token": token_for(owner, "/settings"), "url": chat.url}
        )
        assert saved.status_code == 303
        with app.app_context():
            stored = db.session.get(Team, team_id).chat_webhook_url
            assert stored and chat.url not in stored  # encrypted at rest
            endpoint, _secret = endpoints.create_endpoint(team_id, hook.url)
            entries.add_entry(team_id, "linkedin.com/in/api-added", source="api", actor=TEST_ACTOR)
        mail = smtp.wait_for(1)[0]
        assert mail.to == [OWNER]
        assert "webhook endpoint was disabled" in mail.subject
        assert hook.url in mail.body and "410" in mail.body
        posted = chat.wait_for(1)[0]
        assert posted.headers["content-type"] == "application/json"
        text = json.loads(posted.body)["text"]
        assert "disabled" in text and hook.url in text
        # An opt-out mentions nothing of API adds: only the endpoint was told.
        assert all("opted out" not in m.subject for m in smtp.mails)
        assert endpoint.id
    finally:
        hook.stop()
        chat.stop()


def test_chat_gets_optouts_and_follows_the_destination_rules(make_app, smtp):
    app = notify_app(make_app, smtp.port)
    _team_id, slug = setup_team(app)
    chat = Receiver().start()
    try:
        owner = app.test_client()
        sign_in(owner, OWNER)
        token = token_for(owner, "/settings")
        app.config["WEBHOOK_ALLOW_PRIVATE"] = False
        refused = owner.post("/settings/chat", data={"csrf_token": token, "url": chat.url})
        assert refused.status_code == 422
        assert "private, loopback or reserved" in refused.get_data(as_text=True)
        app.config["WEBHOOK_ALLOW_PRIVATE"] = True
        assert (
            owner.post("/settings/chat", data={"csrf_token": token, "url": chat.url}).status_code
            == 303
        )
        assert "127.0.0.1" in owner.get("/settings").get_data(as_text=True)
        opt_out(app.test_client(), slug, "linkedin.com/in/chatty", 1)
        text = json.loads(chat.wait_for(1)[0].body)["text"]
        assert "opted out" in text and "linkedin.com/in/chatty" in text
    finally:
        chat.stop()


# --------------------------------------------------------------------------- mail server down


def test_smtp_down_delays_never_loses(make_app):
    port = free_port()  # nothing listens there yet
    app = notify_app(make_app, port)
    _team_id, slug = setup_team(app)
    opt_out(app.test_client(), slug, "linkedin.com/in/patient", 1)
    deadline = time.monotonic() + 15
    while True:  # the loop tried and failed, and keeps the message for later
        rows = pending(app)
        if rows and rows[0].attempts >= 2:
            break
        assert time.monotonic() < deadline, "no failed attempt recorded"
        time.sleep(0.05)
    assert rows[0].last_error
    sink = SmtpSink(port).start()
    try:
        mail = sink.wait_for(1)[0]
        assert "linkedin.com/in/patient" in mail.body and mail.to == [OWNER]
    finally:
        sink.stop()


def test_hanging_mail_server_never_slows_a_page(make_app):
    hanging = HangingSmtp()
    app = notify_app(make_app, hanging.port)
    _team_id, slug = setup_team(app)
    client = app.test_client()
    try:
        opt_out(client, slug, "linkedin.com/in/one", 1)
        assert hanging.accepted.wait(10)  # the loop is now stuck on the mail server
        took = [opt_out(client, slug, f"linkedin.com/in/p{n}", n) for n in range(2, 5)]
        assert max(took) < 1.0, took
        assert client.get("/login").status_code == 200
    finally:
        hanging.stop()


# --------------------------------------------------------------------------- password reset


def _link(mail) -> str:
    match = re.search(r"http://localhost(/login/reset/[A-Za-z0-9]+)", mail.body)
    assert match, mail.body
    return match.group(1)


_CSRF_TOKEN = re.compile(r'(name="csrf-token" content="|name="csrf_token"[^>]*value=")[^"]*"')


def _without_csrf(html: str) -> str:
    return _CSRF_TOKEN.sub(r'\1"', html)


def test_password_reset_end_to_end(make_app, smtp):
    app = notify_app(make_app, smtp.port)
    setup_team(app)
    client = app.test_client()
    login = client.get("/login").get_data(as_text=True)
    assert "/login/reset" in login
    form = client.get("/login/reset").get_data(as_text=True)
    known = client.post("/login/reset", data={"csrf_token": csrf_from(form), "email": OWNER})
    unknown = client.post(
        "/login/reset", data={"csrf_token": csrf_from(form), "email": "nobody@example.com"}
    )
    assert known.status_code == unknown.status_code == 200
    # The same answer, but for the CSRF token's timestamp: Flask-WTF signs it with the
    # current second, so two pages made across a second's edge differ there alone.
    assert _without_csrf(known.get_data(as_text=True)) == _without_csrf(
        unknown.get_data(as_text=True)
    )
    mail = smtp.wait_for(1)[0]
    assert mail.to == [OWNER] and mail.subject == "Reset your password"
    link = _link(mail)
    token = link.rsplit("/", 1)[1]
    with app.app_context():  # only its hash is stored
        stored = db.session.scalars(select(PasswordReset.token_hash)).all()
        assert len(stored) == 1 and token not in stored[0]

    page = client.get(link)
    assert page.status_code == 200
    new = "a brand new long password"
    done = client.post(
        link,
        data={
            "csrf_token": csrf_from(page.get_data(as_text=True)),
            "new_password": new,
            "confirm_password": new,
        },
    )
    assert done.status_code == 303
    assert sign_in(app.test_client(), OWNER, new).status_code == 303
    assert sign_in(app.test_client(), OWNER, PASSWORD).status_code == 422
    again = client.get(link)
    assert again.status_code == 410  # single use
    assert (
        client.post(
            link,
            data={
                "csrf_token": csrf_from(page.get_data(as_text=True)),
                "new_password": "x" * 20,
                "confirm_password": "x" * 20,
            },
        ).status_code
        == 410
    )
    assert len(smtp.mails) == 1  # nothing went to the unknown address


def test_expired_reset_link_refused(make_app, smtp):
    app = notify_app(make_app, smtp.port)
    setup_team(app)
    client = app.test_client()
    form = client.get("/login/reset").get_data(as_text=True)
    client.post("/login/reset", data={"csrf_token": csrf_from(form), "email": OWNER})
    link = _link(smtp.wait_for(1)[0])
    with app.app_context():
        db.session.execute(update(PasswordReset).values(expires_at=PasswordReset.created_at))
        db.session.commit()
    assert client.get(link).status_code == 410
    assert sign_in(app.test_client(), OWNER, PASSWORD).status_code == 303


def test_reset_requests_are_limited_per_address(make_app, smtp):
    app = notify_app(make_app, smtp.port, PASSWORD_RESET_ACCOUNT_RATE_LIMIT="2/hour")
    setup_team(app)
    client = app.test_client()
    token = csrf_from(client.get("/login/reset").get_data(as_text=True))
    codes = [
        client.post(
            "/login/reset",
            data={"csrf_token": token, "email": OWNER},
            environ_base={"REMOTE_ADDR": f"10.1.0.{n}"},
        ).status_code
        for n in range(3)
    ]
    assert codes == [200, 200, 429]
    assert len(smtp.wait_for(2)) == 2


def test_without_smtp_no_reset_by_email(make_app):
    app = make_app()
    client = app.test_client()
    assert "/login/reset" not in client.get("/login").get_data(as_text=True)
    assert client.get("/login/reset").status_code == 404
    assert client.get("/login/reset/abc").status_code == 404


def test_hostile_reset_tokens_and_emails_answer_cleanly(make_app, smtp):
    app = notify_app(make_app, smtp.port)
    setup_team(app)
    client = app.test_client()
    for token in ("%00", "a" * 5000, "%F0%9F%92%A5", "..%2F..%2Fetc", "x'%20OR%201=1"):
        # 400: the request guard refuses control characters in any path.
        assert client.get(f"/login/reset/{token}").status_code in (400, 404, 410), token
    form = csrf_from(client.get("/login/reset").get_data(as_text=True))
    for email in ("\x00@x", "a" * 300, "\u202e@example.com", OWNER + "\n" + OTHER):
        status = client.post(
            "/login/reset",
            data={"csrf_token": form, "email": email},
            environ_base={"REMOTE_ADDR": "10.2.0.1"},
        ).status_code
        assert status in (200, 400, 422), (email, status)
    with app.app_context():  # none of them reached a member
        assert db.session.scalars(select(PasswordReset)).all() == []
