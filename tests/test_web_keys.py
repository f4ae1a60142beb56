"""API keys page: create (shown once), list, revoke; another team's keys are out of reach."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from dnc_app.domain import ids
from dnc_app.extensions import db
from dnc_app.storage.models import ApiKey, AuditEvent
from tests.web_support import HTMX, token_for

KEY_RE = re.compile(r"dnc_sk_[A-Za-z0-9]{40}")


def create(client, name, htmx=False):
    token = token_for(client, "/keys")
    headers = {**HTMX, "X-CSRFToken": token} if htmx else {}
    return client.post("/keys", data={"name": name, "csrf_token": token}, headers=headers)


@pytest.mark.parametrize("htmx", [False, True])
def test_a_new_key_is_shown_once_and_works(app, signed_in, team, htmx):
    response = create(signed_in, "HubSpot sync", htmx=htmx)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    html = response.get_data(as_text=True)
    secret = KEY_RE.findall(html)
    assert len(set(secret)) == 1
    secret = secret[0]
    assert "Copy it now" in html and f'data-copy="{secret}"' in html
    assert (
        signed_in.get("/v1/verify", headers={"Authorization": f"Bearer {secret}"}).status_code
        == 200
    )
    # Never again: not on the keys page, and only its hash is stored.
    page = signed_in.get("/keys").get_data(as_text=True)
    assert secret not in page and f"{secret[:11]}…" in page and "HubSpot sync" in page
    with signed_in.session_transaction() as session:
        assert secret not in repr(dict(session))
    with app.app_context():
        key = db.session.execute(select(ApiKey).where(ApiKey.name == "HubSpot sync")).scalar_one()
        assert key.key_hash == ids.hash_api_key(secret)
        assert key.created_by == "member@example.com"
        event = db.session.execute(
            select(AuditEvent).where(AuditEvent.subject_id == key.id)
        ).scalar_one()
        assert (event.action, event.source, event.actor_label) == (
            "key_create",
            "web",
            "member@example.com",
        )


def test_the_htmx_answer_adds_the_row_on_top(signed_in):
    html = create(signed_in, "zapier", htmx=True).get_data(as_text=True)
    assert html.lstrip().startswith('<section id="key-panel"')
    assert '<template><tbody hx-swap-oob="afterbegin:#key-rows"><tr id="key-key_' in html


def test_the_list_shows_prefix_created_last_used_and_status(app, signed_in, team):
    signed_in.get("/v1/verify", headers=team.headers)  # marks the fixture key used
    html = signed_in.get("/keys").get_data(as_text=True)
    assert f"<code>{team.api_key[:11]}…</code>" in html
    assert team.api_key not in html
    assert html.count("<time datetime=") >= 2  # created and last used
    assert "badge-active" in html


def test_revoke_without_javascript_confirms_first(app, signed_in, team):
    with app.app_context():
        key = db.session.execute(select(ApiKey)).scalar_one()
    confirm = signed_in.get(f"/keys/{key.id}/revoke")
    assert confirm.status_code == 200
    assert "Revoke an API key" in confirm.get_data(as_text=True)
    response = signed_in.post(
        f"/keys/{key.id}/revoke", data={"csrf_token": token_for(signed_in, "/keys")}
    )
    assert response.status_code == 303 and response.headers["Location"] == "/keys"
    assert "badge-muted" in signed_in.get("/keys").get_data(as_text=True)
    assert signed_in.get("/v1/verify", headers=team.headers).status_code == 401
    with app.app_context():
        assert (
            db.session.execute(select(AuditEvent).where(AuditEvent.action == "key_revoke"))
            .scalar_one()
            .actor_label
            == "member@example.com"
        )


def test_revoke_with_htmx_confirms_inline(app, signed_in, team):
    with app.app_context():
        key = db.session.execute(select(ApiKey)).scalar_one()
    inline = signed_in.get(f"/keys/{key.id}/revoke", headers=HTMX).get_data(as_text=True)
    assert inline.startswith(f'<tr id="key-{key.id}" class="entry confirm-row">')
    assert "Revoke key" in inline
    row = signed_in.post(
        f"/keys/{key.id}/revoke", headers={**HTMX, "X-CSRFToken": token_for(signed_in, "/keys")}
    ).get_data(as_text=True)
    assert row.startswith(f'<tr id="key-{key.id}"') and "badge-muted" in row


def test_a_member_cannot_see_or_revoke_another_teams_keys(app, signed_in, make_team):
    other = make_team("Other")
    with app.app_context():
        key = db.session.execute(select(ApiKey).where(ApiKey.team_id == other.id)).scalar_one()
    assert key.prefix not in signed_in.get("/keys").get_data(as_text=True)
    assert signed_in.get(f"/keys/{key.id}/revoke").status_code == 404
    assert signed_in.get(f"/keys/{key.id}/row", headers=HTMX).status_code == 404
    response = signed_in.post(
        f"/keys/{key.id}/revoke", data={"csrf_token": token_for(signed_in, "/keys")}
    )
    assert response.status_code == 404
    assert signed_in.get("/v1/verify", headers=other.headers).status_code == 200


def test_a_name_over_100_characters_is_refused(signed_in):
    response = create(signed_in, "x" * 101)
    assert response.status_code == 422
    assert "Field cannot be longer than 100 characters." in response.get_data(as_text=True)
    assert not KEY_RE.search(response.get_data(as_text=True))
