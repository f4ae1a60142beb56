"""Sign-in, sessions and sign-out of team members."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from dnc_app.domain import sessions
from dnc_app.domain.accounts import users
from dnc_app.domain.accounts.users import set_disabled
from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.http.clientaddr import client_key
from dnc_app.http.web.auth import LOGIN_ERROR, safe_next
from dnc_app.storage.models import AuditEvent, MemberSession, User
from tests.services import RedisServer
from tests.web_support import (
    HTMX,
    PASSWORD,
    TEST_ACTOR,
    csrf_from,
    make_member,
    sign_in,
    token_for,
)


@pytest.fixture
def member(app, team):
    return make_member(app, team.id)


def test_root_sends_visitors_to_sign_in_and_members_to_the_list(client, member):
    assert client.get("/").headers["Location"] == "/login"
    sign_in(client)
    assert client.get("/").headers["Location"] == "/entries"


def test_sign_in_redirects_to_the_list_and_records_the_time(app, client, member):
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/entries"
    assert client.get("/entries").status_code == 200
    with app.app_context():
        assert db.session.get(User, member).last_login_at is not None


def test_sign_in_accepts_the_email_in_any_case(client, member):
    assert sign_in(client, email="  Member@Example.COM ").status_code == 303


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("member@example.com", "wrong password!"),  # right email, wrong password
        ("nobody@example.com", PASSWORD),  # unknown email
        ("nobody@example.com", "wrong password!"),
    ],
)
def test_a_failed_sign_in_gives_one_generic_error(client, member, email, password):
    response = sign_in(client, email=email, password=password)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert LOGIN_ERROR in body
    # Nothing says which of the two was wrong.
    assert "unknown" not in body.lower() and "no account" not in body.lower()
    assert client.get("/entries").status_code == 302


def test_an_unknown_email_costs_a_password_hash_like_a_known_one(app, member, monkeypatch):
    # Counted rather than timed (timing flakes on a busy machine): an unknown email must
    # cost one real scrypt check of the same method, so response time tells nothing.
    checked = []
    real_check = users.check_password_hash

    def counting_check(pwhash, password):
        checked.append(pwhash.split("$", 1)[0])
        return real_check(pwhash, password)

    monkeypatch.setattr(users, "check_password_hash", counting_check)
    client = app.test_client()
    sign_in(client, email="member@example.com", password="wrong password!")
    sign_in(client, email="nobody@example.com", password="wrong password!")
    method = app.config["PASSWORD_HASH_METHOD"]
    assert checked == [method, method]


def test_empty_fields_are_refused_without_a_hint_about_accounts(client, member):
    response = sign_in(client, email="", password="")
    assert response.status_code == 422
    assert "Enter your email address." in response.get_data(as_text=True)


def test_the_session_cookie_is_httponly_and_samesite_lax(client, member):
    response = sign_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_the_session_cookie_is_secure_when_configured(make_app, team):
    app = make_app(SESSION_COOKIE_SECURE=True)
    make_member(app, team.id)
    client = app.test_client()
    response = sign_in(client)
    assert "; Secure" in response.headers["Set-Cookie"]


def test_sign_in_starts_a_new_session(app, client, member):
    with client.session_transaction() as session:
        session["planted"] = "by an attacker before sign-in"
    sign_in(client)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["_user_id"] == str(member)


def test_a_password_change_ends_existing_sessions(app, client, member):
    sign_in(client)
    assert client.get("/entries").status_code == 200
    with app.app_context():
        user = db.session.get(User, member)
        user.password_hash = generate_password_hash(
            "another password 123", method="scrypt:1024:8:1"
        )
        db.session.commit()
    assert client.get("/entries").status_code == 302


def test_a_session_expires_after_the_maximum_age(make_app, team, monkeypatch):
    app = make_app(SESSION_MAX_AGE=60)
    make_member(app, team.id)
    client = app.test_client()
    sign_in(client)
    assert client.get("/entries").status_code == 200
    with app.app_context():
        row = db.session.execute(select(MemberSession)).scalar_one()
        assert (row.expires_at - row.created_at).total_seconds() == 60
    # The server's clock decides, not anything the cookie says.
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    assert client.get("/entries").status_code == 302


def test_sign_out_needs_a_post_with_the_csrf_token(client, member):
    sign_in(client)
    assert client.get("/logout").status_code == 405
    refused = client.post("/logout")
    assert refused.status_code == 400
    assert client.get("/entries").status_code == 200  # still signed in
    response = client.post("/logout", data={"csrf_token": token_for(client)})
    assert response.status_code == 303
    assert response.headers["Location"] == "/login"
    assert client.get("/entries").status_code == 302


def test_sign_in_needs_the_csrf_token(client, member):
    client.get("/login")
    response = client.post("/login", data={"email": "member@example.com", "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_pages_send_visitors_to_sign_in_and_back(client, member):
    response = client.get("/audit?action=remove")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/audit?action%3Dremove"
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/audit?action=remove"' in login_page
    assert sign_in(client, next_path="/audit?action=remove").headers["Location"] == (
        "/audit?action=remove"
    )


def test_htmx_requests_of_a_signed_out_visitor_navigate_to_sign_in(client, member):
    response = client.get(
        "/entries?q=x", headers={**HTMX, "HX-Current-URL": "http://localhost/entries?q=x"}
    )
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/entries?q%3Dx"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.com",
        "///evil.com",
        "https://evil.com",
        "http://evil.com/entries",
        "/\\evil.com",
        "\\\\evil.com",
        "/\t/evil.com",
        "/\n/evil.com",
        "javascript:alert(1)",
        "evil.com",
        " /entries",
        "",
    ],
)
def test_sign_in_never_redirects_off_site(client, member, target):
    assert safe_next(target) is None
    response = sign_in(client, next_path=target)
    assert response.headers["Location"] == "/entries"


@pytest.mark.parametrize("target", ["/entries", "/audit?action=remove", "/keys#x"])
def test_sign_in_redirects_to_a_path_on_this_site(client, member, target):
    assert sign_in(client, next_path=target).headers["Location"] == target


def test_sign_in_attempts_are_limited_per_ip(make_app, team):
    app = make_app(LOGIN_RATE_LIMIT="3/minute")
    make_member(app, team.id)
    client = app.test_client()
    for i in range(3):
        assert sign_in(client, email=f"guess{i}@example.com", password="x").status_code == 422
    response = sign_in(client, email="other@example.com", password="x")
    assert response.status_code == 429
    assert "Too many requests" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    # Also the right password waits: the limit is on attempts, not failures.
    assert sign_in(client).status_code == 429
    assert client.get("/login").status_code == 200  # the page itself stays reachable


def attempt_from(
    app, address: str, email: str = "member@example.com", password: str = "wrong password!"
):
    """One sign-in from a client address, with a fresh browser; returns the response."""
    client = app.test_client()
    page = client.get("/login", environ_base={"REMOTE_ADDR": address})
    return client.post(
        "/login",
        environ_base={"REMOTE_ADDR": address},
        data={
            "email": email,
            "password": password,
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        },
    )


def test_a_flood_from_one_address_does_not_lock_the_member_out_elsewhere(app, member):
    # The reproduction of issue 9 item 5, with the default limits.
    statuses = [
        attempt_from(app, "198.51.100.7", email).status_code
        for email in ["member@example.com", "MEMBER@example.com"] * 5 + ["Member@Example.com"]
    ]
    assert statuses[-1] == 429
    assert set(statuses[:5]) == {422}
    assert attempt_from(app, "203.0.113.9", password=PASSWORD).status_code == 303


def test_failed_sign_ins_from_many_addresses_do_not_lock_the_member_out(make_app, team):
    # Replaces the old limit per email across addresses: anyone could use it to lock a
    # member out. Each address has its own budget for the email.
    app = make_app(LOGIN_RATE_LIMIT="3/minute", LOGIN_ACCOUNT_RATE_LIMIT="3/minute")
    make_member(app, team.id)
    statuses = [attempt_from(app, f"10.0.0.{i}").status_code for i in range(4)]
    assert statuses == [422, 422, 422, 422]
    assert attempt_from(app, "10.0.0.99", password=PASSWORD).status_code == 303


def test_every_spelling_of_an_email_shares_one_budget_per_address(make_app, team):
    app = make_app(LOGIN_RATE_LIMIT="10/minute", LOGIN_ACCOUNT_RATE_LIMIT="3/minute")
    make_member(app, team.id)
    spellings = ["member@example.com", "MEMBER@EXAMPLE.COM", " Member@Example.com "]
    assert [attempt_from(app, "10.1.1.1", e).status_code for e in spellings] == [422] * 3
    response = attempt_from(app, "10.1.1.1", "mEmBeR@example.com", PASSWORD)
    assert response.status_code == 429
    assert "Too many requests" in response.get_data(as_text=True)
    assert int(response.headers["Retry-After"]) > 0
    # Another email from the same address still has its own (address, email) budget.
    assert attempt_from(app, "10.1.1.1", "other@example.com").status_code == 422
    assert attempt_from(app, "10.1.1.2", password=PASSWORD).status_code == 303


def test_successful_sign_ins_use_no_failure_budget(make_app, team):
    app = make_app(LOGIN_RATE_LIMIT="3/minute", LOGIN_ACCOUNT_RATE_LIMIT="3/minute")
    make_member(app, team.id)
    assert [attempt_from(app, "10.2.2.2", password=PASSWORD).status_code for _ in range(6)] == [
        303
    ] * 6
    assert [attempt_from(app, "10.2.2.2").status_code for _ in range(4)] == [422, 422, 422, 429]


def test_the_failure_budgets_work_on_redis(make_app, team):
    # The limiter's storage in production (several workers): the same answers as memory://.
    redis = RedisServer().start()
    try:
        app = make_app(RATELIMIT_STORAGE_URI=redis.url, LOGIN_ACCOUNT_RATE_LIMIT="3/minute")
        make_member(app, team.id)
        statuses = [
            attempt_from(app, "10.3.3.3", e).status_code
            for e in [
                "member@example.com",
                "Member@example.com",
                "MEMBER@example.com",
                "member@EXAMPLE.com",
            ]
        ]
        assert statuses == [422, 422, 422, 429]
        assert attempt_from(app, "10.3.3.4", password=PASSWORD).status_code == 303
    finally:
        redis.destroy()


def test_ipv6_clients_are_limited_per_64_network(make_app, team):
    app = make_app(LOGIN_RATE_LIMIT="3/minute")
    make_member(app, team.id)
    for i in range(3):
        assert attempt_from(app, f"2001:db8:1:2::{i + 1}", f"g{i}@example.com").status_code == 422
    # Another address of the same /64 shares the budget; another /64 has its own.
    assert attempt_from(app, "2001:db8:1:2:ffff::9", "x@example.com").status_code == 429
    assert attempt_from(app, "2001:db8:1:3::1", "x@example.com").status_code == 422


@pytest.mark.parametrize(
    "address, key",
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8:a:b:1:2:3:4", "2001:db8:a:b::/64"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("", "unknown"),
        (None, "unknown"),
    ],
)
def test_the_client_key_of_an_address(address, key):
    assert client_key(address) == key


# --------------------------------------------------------------------------- server sessions


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def browser_with(app, cookie: str):
    """Another browser that holds a copy of a session cookie."""
    other = app.test_client()
    other.set_cookie("session", cookie)
    return other


def test_a_cookie_copied_before_sign_out_is_refused_after(app, client, member):
    sign_in(client)
    copied = session_cookie(client)
    assert browser_with(app, copied).get("/entries").status_code == 200
    client.post("/logout", data={"csrf_token": token_for(client)})
    assert browser_with(app, copied).get("/entries").status_code == 302
    with app.app_context():
        row = db.session.execute(select(MemberSession)).scalar_one()
        assert row.revoked_at is not None


def test_the_database_keeps_only_a_hash_of_the_session_token(app, client, member):
    sign_in(client)
    with client.session_transaction() as session:
        token = session["sid"]
    with app.app_context():
        row = db.session.execute(select(MemberSession)).scalar_one()
    assert len(token) >= 40 and token not in row.id
    assert row.id == hashlib.sha256(token.encode()).hexdigest()
    assert row.user_id == member and row.revoked_at is None


def test_signing_in_again_ends_the_browsers_previous_session(app, client, member):
    sign_in(client)
    first = session_cookie(client)
    again = client.post(
        "/login",
        data={"email": "member@example.com", "password": PASSWORD, "csrf_token": token_for(client)},
    )
    assert again.status_code == 303
    assert browser_with(app, first).get("/entries").status_code == 302
    assert client.get("/entries").status_code == 200


def test_expired_sessions_are_deleted_on_sign_in(make_app, team, monkeypatch):
    app = make_app(SESSION_MAX_AGE=60)
    make_member(app, team.id)
    sign_in(app.test_client())
    sign_in(app.test_client())
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    sign_in(app.test_client())
    with app.app_context():
        rows = db.session.execute(select(MemberSession)).scalars().all()
    assert len(rows) == 1 and rows[0].expires_at > later


def test_a_page_request_loads_the_session_in_one_query(app, client, member):
    from sqlalchemy import event

    sign_in(client)
    client.get("/account")  # warm up: last_seen_at is fresh after this
    statements = []
    with app.app_context():
        engine = db.engine

        def count(_conn, _cursor, statement, *_args):
            if "member_session" in statement:
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get("/account").status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert "user_account" in statements[0]  # the member comes in the same query


def test_last_seen_is_updated_coarsely(app, client, member, monkeypatch):
    sign_in(client)
    with app.app_context():
        seen = db.session.execute(select(MemberSession.last_seen_at)).scalar_one()
    client.get("/entries")
    with app.app_context():
        assert db.session.execute(select(MemberSession.last_seen_at)).scalar_one() == seen
    later = utcnow() + sessions.LAST_SEEN_GRANULARITY + timedelta(seconds=1)
    monkeypatch.setattr(sessions, "utcnow", lambda: later)
    client.get("/entries")
    with app.app_context():
        assert db.session.execute(select(MemberSession.last_seen_at)).scalar_one() == later


def test_a_disabled_member_gets_the_same_answer_as_a_wrong_password(app, client, member):
    with app.app_context():
        set_disabled("member@example.com", True, actor=TEST_ACTOR)
    disabled = sign_in(client)
    wrong = sign_in(app.test_client(), password="wrong password!")
    assert disabled.status_code == wrong.status_code == 422
    assert LOGIN_ERROR in disabled.get_data(as_text=True)
    assert _without_token(disabled) == _without_token(wrong)
    assert client.get("/entries").status_code == 302


def _without_token(response) -> str:
    return re.sub(
        r'(name="csrf-token" content|name="csrf_token" value)="[^"]*"',
        "",
        response.get_data(as_text=True),
    )


# --------------------------------------------------------------------------- password page


def password_change(client, current=PASSWORD, new="a new password 42", again=None, headers=None):
    return client.post(
        "/account/password",
        headers=headers or {},
        data={
            "current_password": current,
            "new_password": new,
            "confirm_password": new if again is None else again,
            "csrf_token": token_for(client, "/account"),
        },
    )


def test_the_account_page_is_in_the_nav_and_has_the_password_form(client, member):
    sign_in(client)
    entries = client.get("/entries").get_data(as_text=True)
    assert 'href="/account"' in entries
    page = client.get("/account")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert 'name="csrf_token"' in body
    for name, complete in [
        ("current_password", "current-password"),
        ("new_password", "new-password"),
        ("confirm_password", "new-password"),
    ]:
        assert re.search(rf'<input[^>]*autocomplete="{complete}"[^>]*name="{name}"', body)
    assert 'hx-post="/account/password"' in body


@pytest.mark.parametrize(
    ("current", "new", "again", "message"),
    [
        ("wrong password!", "a new password 42", None, "The current password is not correct."),
        (
            PASSWORD,
            "a new password 42",
            "another password 42",
            "The two new passwords are not the same.",
        ),
        (PASSWORD, "short", None, "Use 10 to 1,024 characters."),
        ("", "a new password 42", None, "Enter your current password."),
    ],
)
def test_a_refused_password_change_says_why_and_changes_nothing(
    app, client, member, current, new, again, message
):
    sign_in(client)
    other = app.test_client()
    sign_in(other)
    response = password_change(client, current, new, again)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert sign_in(app.test_client()).status_code == 303  # the old password still works
    assert other.get("/entries").status_code == 200
    assert client.get("/entries").status_code == 200


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(app, client, member):
    sign_in(client)
    other = app.test_client()
    sign_in(other)
    response = password_change(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    notice = client.get("/account").get_data(as_text=True)
    assert "Password changed. 1 other session signed out." in notice
    assert client.get("/entries").status_code == 200
    assert other.get("/entries").status_code == 302
    assert sign_in(app.test_client()).status_code == 422
    assert sign_in(app.test_client(), password="a new password 42").status_code == 303


def test_the_password_form_works_with_htmx(app, client, member):
    sign_in(client)
    refused = password_change(client, again="something else 123", headers=HTMX)
    assert refused.status_code == 422
    fragment = refused.get_data(as_text=True)
    assert "<html" not in fragment
    assert 'id="password-panel"' in fragment
    assert "The two new passwords are not the same." in fragment
    done = password_change(client, headers=HTMX)
    assert done.status_code == 200
    assert "Password changed." in done.get_data(as_text=True)
    assert "<html" not in done.get_data(as_text=True)
    assert client.get("/entries").status_code == 200


def test_the_password_change_needs_the_csrf_token_and_a_session(app, client, member):
    sign_in(client)
    refused = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a new password 42",
            "confirm_password": "a new password 42",
        },
    )
    assert refused.status_code == 400
    assert sign_in(app.test_client()).status_code == 303  # unchanged
    anonymous = app.test_client()
    assert anonymous.get("/account").status_code == 302


def test_guessing_the_current_password_is_limited(make_app, team):
    app = make_app(LOGIN_ACCOUNT_RATE_LIMIT="2/minute")
    make_member(app, team.id)
    client = app.test_client()
    sign_in(client)
    statuses = [password_change(client, current="guess number 1").status_code for _ in range(3)]
    assert statuses == [422, 422, 429]


# --------------------------------------------------------------------------- audit


def member_events(app, team_id):
    with app.app_context():
        return [
            (e.action, e.source, e.actor_type, e.reason)
            for e in db.session.execute(
                select(AuditEvent)
                .where(AuditEvent.team_id == team_id, AuditEvent.action.not_in(["key_create"]))
                .order_by(AuditEvent.id)
            ).scalars()
        ]


def test_sign_ins_passwords_and_sessions_are_in_the_audit_trail(app, client, team, member):
    sign_in(app.test_client(), password="wrong password!")
    sign_in(app.test_client(), email="nobody@example.com")  # no member: nothing to record
    other = app.test_client()
    sign_in(other)
    sign_in(client)
    password_change(client)
    client.post("/logout", data={"csrf_token": token_for(client)})
    email = "member@example.com"
    assert member_events(app, team.id) == [
        ("member_sign_in_failed", "web", "public", email),
        ("member_signed_in", "web", "user", email),
        ("member_signed_in", "web", "user", email),
        ("password_changed", "web", "user", email),
        ("sessions_revoked", "web", "user", f"{email}: 1 session ended, after a password change"),
        ("sessions_revoked", "web", "user", f"{email}: signed out"),
    ]
    with app.app_context():
        failed = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "member_sign_in_failed")
        ).scalar_one()
        assert failed.ip_hash and "127.0.0.1" not in failed.ip_hash


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("member\x00@example.com", PASSWORD),
        ("member@example.com", "pass\x00word 123"),
        ("²@example.com", "x" * 1024),
        ("member@example.com\ufffd", PASSWORD),
    ],
)
def test_hostile_sign_in_fields_get_the_generic_error(client, member, email, password):
    # A NUL byte is refused by PostgreSQL in a query: it must never reach one (no 5xx).
    response = sign_in(client, email=email, password=password)
    assert response.status_code == 422
    assert LOGIN_ERROR in response.get_data(as_text=True)
