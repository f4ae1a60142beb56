"""Administration from the command line (scriptable)."""

from __future__ import annotations

import json

from sqlalchemy import select, update
from werkzeug.security import check_password_hash

from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.http.web.auth import LOGIN_ERROR
from dnc_app.storage.models import ApiKey, AuditEvent, DncEntry, User
from tests.web_support import make_member, sign_in


def test_team_create_json_prints_a_working_key(app, runner):
    result = runner.invoke(args=["team", "create", "Acme Sales", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) == {"teamId", "slug", "apiKey"}
    assert data["teamId"].startswith("team_") and data["slug"] == "acme-sales"
    resp = app.test_client().get(
        "/v1/verify", headers={"Authorization": f"Bearer {data['apiKey']}"}
    )
    assert resp.status_code == 200
    # A second team with the same name gets its own slug.
    second = json.loads(runner.invoke(args=["team", "create", "Acme Sales", "--json"]).output)
    assert second["slug"] == "acme-sales-2"


def test_team_create_refuses_a_taken_or_malformed_slug(runner, team):
    result = runner.invoke(args=["team", "create", "Other", "--slug", team.slug])
    assert result.exit_code != 0 and "taken" in result.output
    result = runner.invoke(args=["team", "create", "Other", "--slug", "Bad Slug!"])
    assert result.exit_code != 0 and "Slug" in result.output


def test_key_create_list_and_revoke(app, runner, team):
    result = runner.invoke(args=["key", "create", "--team", team.id, "--name", "crm"])
    assert result.exit_code == 0
    secret = result.output.strip()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/v1/verify", headers=headers).status_code == 200
    with app.app_context():
        key = db.session.execute(select(ApiKey).where(ApiKey.name == "crm")).scalar_one()
        key_id, prefix = key.id, key.prefix
    listing = runner.invoke(args=["key", "list", "--team", team.slug]).output
    assert key_id in listing and prefix in listing and secret not in listing
    result = runner.invoke(args=["key", "revoke", key_id, "--team", team.id])
    assert result.exit_code == 0
    assert client.get("/v1/verify", headers=headers).status_code == 401
    assert runner.invoke(args=["key", "revoke", "key_nope", "--team", team.id]).exit_code != 0


def test_key_create_for_an_unknown_team_fails(runner):
    result = runner.invoke(args=["key", "create", "--team", "team_nope"])
    assert result.exit_code != 0 and "No team" in result.output


def test_user_create_reads_the_password_from_stdin_and_stores_scrypt(app, runner, team):
    result = runner.invoke(
        args=["user", "create", "Ann@Example.com", "--team", team.id, "--password-stdin"],
        input="correct horse battery\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.execute(select(User)).scalar_one()
        assert user.email == "ann@example.com" and user.team_id == team.id
        assert user.password_hash.startswith("scrypt:")
        assert check_password_hash(user.password_hash, "correct horse battery")
    again = runner.invoke(
        args=["user", "create", "ann@example.com", "--team", team.id],
        input="correct horse battery\n",
    )
    assert again.exit_code != 0 and "exists" in again.output
    short = runner.invoke(
        args=["user", "create", "bob@example.com", "--team", team.id], input="short\n"
    )
    assert short.exit_code != 0 and "at least" in short.output


def test_entry_add_goes_through_the_service_layer(app, runner, team):
    result = runner.invoke(args=["entry", "add", "LINKEDIN.COM/IN/ANN", "--team", team.slug])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["url"] == "https://linkedin.com/in/ann"
    dup = runner.invoke(args=["entry", "add", "in/ann", "--team", team.slug])
    assert dup.exit_code != 0 and "Already listed" in dup.output
    bad = runner.invoke(args=["entry", "add", "in/", "--team", team.slug])
    assert bad.exit_code != 0 and "Invalid LinkedIn URL" in bad.output
    with app.app_context():
        assert db.session.execute(select(DncEntry.source)).scalars().all() == ["cli"]


def test_demo_creates_a_team_once_and_prints_working_credentials(app, runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0
    out = result.output
    key = next(w for w in out.split() if w.startswith("dnc_sk_"))
    assert "curl" in out and "/v1/dnc" in out and "demo@example.com" in out
    client = app.test_client()
    resp = client.post(
        "/v1/dnc",
        json={"url": "https://www.linkedin.com/in/john-doe/"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert resp.status_code == 201
    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0 and "dnc_sk_" not in again.output


def test_user_set_password_ends_every_session_at_its_next_request(app, runner, team):
    make_member(app, team.id)
    browser = app.test_client()
    sign_in(browser)
    assert browser.get("/entries").status_code == 200
    result = runner.invoke(
        args=["user", "set-password", " Member@Example.com", "--password-stdin"],
        input="a reset password 77\n",
    )
    assert result.exit_code == 0, result.output
    assert "1 session signed out" in result.output
    assert browser.get("/entries").status_code == 302
    assert sign_in(app.test_client()).status_code == 422
    assert sign_in(app.test_client(), password="a reset password 77").status_code == 303
    short = runner.invoke(args=["user", "set-password", "member@example.com"], input="short\n")
    assert short.exit_code != 0 and "at least" in short.output
    unknown = runner.invoke(
        args=["user", "set-password", "nobody@example.com"], input="a reset password 77\n"
    )
    assert unknown.exit_code != 0 and "No member" in unknown.output


def test_user_disable_ends_sessions_and_refuses_sign_in_until_enabled(app, runner, team):
    make_member(app, team.id)
    browser = app.test_client()
    sign_in(browser)
    result = runner.invoke(args=["user", "disable", "member@example.com"])
    assert result.exit_code == 0, result.output
    assert "1 session signed out" in result.output
    assert browser.get("/entries").status_code == 302
    refused = sign_in(app.test_client())
    assert refused.status_code == 422 and LOGIN_ERROR in refused.get_data(as_text=True)
    assert runner.invoke(args=["user", "enable", "member@example.com"]).exit_code == 0
    assert sign_in(app.test_client()).status_code == 303
    with app.app_context():
        actions = [
            tuple(row)
            for row in db.session.execute(
                select(AuditEvent.action, AuditEvent.actor_type)
                .where(
                    AuditEvent.action.in_(["member_disabled", "member_enabled", "sessions_revoked"])
                )
                .order_by(AuditEvent.id)
            )
        ]
    assert actions == [
        ("member_disabled", "cli"),
        ("sessions_revoked", "cli"),
        ("member_enabled", "cli"),
    ]


def test_disabling_also_ends_a_session_whose_revocation_was_missed(app, runner, team):
    # Disabled members are refused by the session query itself, not only by revocation.
    user_id = make_member(app, team.id)
    browser = app.test_client()
    sign_in(browser)
    with app.app_context():
        db.session.execute(update(User).where(User.id == user_id).values(disabled_at=utcnow()))
        db.session.commit()
    assert browser.get("/entries").status_code == 302
