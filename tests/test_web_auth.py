"""Sign-in, sessions and sign-out of team members."""

from __future__ import annotations

import pytest
from werkzeug.security import generate_password_hash

from dnc_app.extensions import db
from dnc_app.models import User
from dnc_app.web.auth import LOGIN_ERROR, safe_next
from tests.web_support import HTMX, PASSWORD, csrf_from, make_member, sign_in, token_for


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
    from dnc_app.web import auth

    checked = []
    real_check = auth.check_password_hash

    def counting_check(pwhash, password):
        checked.append(pwhash.split("$", 1)[0])
        return real_check(pwhash, password)

    monkeypatch.setattr(auth, "check_password_hash", counting_check)
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
        user.password_hash = generate_password_hash("another password 123",
                                                    method="scrypt:1024:8:1")
        db.session.commit()
    assert client.get("/entries").status_code == 302


def test_a_session_expires_after_the_maximum_age(make_app, team):
    app = make_app(SESSION_MAX_AGE=60)
    make_member(app, team.id)
    client = app.test_client()
    sign_in(client)
    assert client.get("/entries").status_code == 200
    with client.session_transaction() as session:
        session["signed_in_at"] -= 61
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
    response = client.post("/login", data={"email": "member@example.com",
                                            "password": PASSWORD})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_pages_send_visitors_to_sign_in_and_back(client, member):
    response = client.get("/audit?action=remove")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/audit?action%3Dremove"
    login_page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/audit?action=remove"' in login_page
    assert sign_in(client, next_path="/audit?action=remove").headers["Location"] == (
        "/audit?action=remove")


def test_htmx_requests_of_a_signed_out_visitor_navigate_to_sign_in(client, member):
    response = client.get("/entries?q=x", headers={
        **HTMX, "HX-Current-URL": "http://localhost/entries?q=x"})
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


def test_sign_in_attempts_are_limited_per_email_across_ips(make_app, team):
    app = make_app(LOGIN_RATE_LIMIT="3/minute")
    make_member(app, team.id)

    def attempt(ip):
        client = app.test_client()
        page = client.get("/login", environ_base={"REMOTE_ADDR": ip})
        return client.post("/login", environ_base={"REMOTE_ADDR": ip}, data={
            "email": "member@example.com", "password": "wrong password!",
            "csrf_token": csrf_from(page.get_data(as_text=True))})

    statuses = [attempt(f"10.0.0.{i}").status_code for i in range(4)]
    assert statuses == [422, 422, 422, 429]
