"""A person's own opt-out protects their entry whatever added it first.

Through the real public page and personal links: an entry the team added (API, pages)
becomes the person's own when they opt out, every endpoint shows `protected`, the audit
trail says "opted out themselves" with the receipt's reference, and from then on an
ordinary key's DELETE is a 403 `protected_entry` (a key an owner allowed still removes it,
with a reason). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dnc_app.domain.accounts.apikeys import create_api_key
from dnc_app.domain.changelog import Source
from dnc_app.extensions import db
from dnc_app.http.optout import links
from dnc_app.storage.models import AuditEvent
from tests.roles_support import client_as, make_world
from tests.test_optout import hidden_fields, post_optout, reference_of
from tests.web_support import TEST_ACTOR

URL = "https://linkedin.com/in/mary-major"


@pytest.fixture
def app(make_app):
    return make_app(OPTOUT_MIN_SECONDS=0)


def _add(client, team, url=URL):
    response = client.post("/v1/dnc", json={"url": url}, headers=team.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["data"]


def _check(client, team, url=URL):
    response = client.get("/v1/dnc/check", query_string={"url": url}, headers=team.headers)
    assert response.status_code == 200
    return response.get_json()["data"]["entry"]


def _trail(app, team_id, entry_id):
    with app.app_context():
        rows = db.session.execute(
            select(AuditEvent.action, AuditEvent.source, AuditEvent.reference)
            .where(AuditEvent.team_id == team_id, AuditEvent.subject_id == entry_id)
            .order_by(AuditEvent.seq)
        ).all()
        db.session.remove()
    return [tuple(row) for row in rows]


def test_a_new_entry_of_the_team_is_not_protected_and_says_so(client, team):
    entry = _add(client, team)
    assert entry["protected"] is False
    assert _check(client, team)["protected"] is False


def test_a_new_public_opt_out_is_protected(client, team):
    assert post_optout(client, team.slug, URL).status_code == 200
    entry = _check(client, team)
    assert entry["protected"] is True and entry["source"] == "public_form"


def test_an_api_entry_becomes_the_persons_own_when_they_opt_out(app, client, team):
    added = _add(client, team)
    receipt = post_optout(app.test_client(), team.slug, "www.linkedin.com/in/Mary-Major/")
    assert receipt.status_code == 200
    reference = reference_of(receipt.get_data(as_text=True))

    # Every endpoint that returns the entry says so; what added it stays.
    checked = _check(client, team)
    assert checked["protected"] is True and checked["source"] == "api"
    assert checked["$id"] == added["$id"] and checked["$updatedAt"] >= added["$updatedAt"]
    listed = client.get("/v1/dnc", headers=team.headers).get_json()["data"]["entries"]
    assert [e["protected"] for e in listed] == [True]
    again = client.post("/v1/dnc", json={"url": URL}, headers=team.headers)
    assert again.status_code == 409 and again.get_json()["data"]["protected"] is True

    # The trail: added by the API, then the person's own request with their reference.
    assert _trail(app, team.id, added["$id"]) == [
        ("add", "api", None),
        ("opted_out", "public_form", reference),
    ]

    # An ordinary key can no longer delete it; the refused attempt is recorded.
    refused = client.delete(
        f"/v1/dnc/{added['$id']}", headers=team.headers, json={"reason": "cleanup"}
    )
    assert refused.status_code == 403 and refused.get_json()["error"] == "protected_entry"
    assert _check(client, team)["protected"] is True
    assert _trail(app, team.id, added["$id"])[-1][0] == "remove_refused"

    # A second request of the person is a repeated one: still protected.
    post_optout(app.test_client(), team.slug, URL)
    assert _trail(app, team.id, added["$id"])[-1][0] == "add_duplicate"

    # A key an owner allowed removes it, with a reason.
    with app.app_context():
        _key, allowed = create_api_key(
            team.id, name="gdpr", actor=TEST_ACTOR, can_remove_optouts=True
        )
    headers = {"Authorization": f"Bearer {allowed}"}
    assert client.delete(f"/v1/dnc/{added['$id']}", headers=headers).status_code == 400
    removed = client.delete(
        f"/v1/dnc/{added['$id']}",
        headers=headers,
        json={"reason": "They asked to be contacted again"},
    )
    assert removed.status_code == 200
    assert _check(client, team) is None


def test_a_personal_link_protects_an_entry_the_pages_added(app, client, team):
    with app.app_context():
        from dnc_app.domain import entries

        entry = entries.add_entry(team.id, URL, source=Source.WEB, actor=TEST_ACTOR)
        token = links.make_token(team.slug, URL)
    visitor = app.test_client()
    page = visitor.get(f"/optout/{team.slug}/p/{token}").get_data(as_text=True)
    response = post_optout(visitor, team.slug, fields=hidden_fields(page))
    assert response.status_code == 200
    assert _check(client, team)["protected"] is True
    assert [a for a, _s, _r in _trail(app, team.id, entry.id)] == ["add", "opted_out"]


def test_the_pages_show_protection_and_tell_a_member_why_they_cannot_remove_it(app, team):
    world = make_world(app, team.id)
    post_optout(app.test_client(), team.slug, "https://linkedin.com/in/listed-by-api")
    member, owner = client_as(app, "member"), client_as(app, "owner")

    row = member.get(f"/entries/{world.entry_id}/row", headers={"HX-Request": "true"}).get_data(
        as_text=True
    )
    assert "badge-protected" in row
    assert f"/entries/{world.entry_id}/remove" not in row  # no remove action for a member
    checked = member.post(
        "/check",
        headers={"HX-Request": "true"},
        data={"csrf_token": hidden_csrf(member), "url": "in/listed-by-api"},
    ).get_data(as_text=True)
    assert "badge-protected" in checked and "Only an owner of the team can remove it" in checked
    refused = member.get(f"/entries/{world.entry_id}/remove")
    assert refused.status_code == 403
    assert "only an owner of the team can remove it" in refused.get_data(as_text=True)

    owner_check = owner.post(
        "/check",
        headers={"HX-Request": "true"},
        data={"csrf_token": hidden_csrf(owner), "url": "in/listed-by-api"},
    ).get_data(as_text=True)
    assert "badge-protected" in owner_check and "Only an owner" not in owner_check
    confirm = owner.get(f"/entries/{world.entry_id}/remove").get_data(as_text=True)
    assert "the person's own opt-out" in confirm.replace("’", "'")


def hidden_csrf(client) -> str:
    from tests.web_support import token_for

    return token_for(client, "/check")


def test_migration_0021_protects_what_the_trail_already_proves(app, client, team):
    """Down to before 0021 (no `protected`), the old way of recording, up again: entries of the
    public form, and entries the person asked for again on it, are protected."""
    from flask_migrate import upgrade
    from sqlalchemy import text

    from tests.support import downgrade_before

    team_entry = _add(client, team, "in/team-only")["$id"]
    asked_again = _add(client, team, "in/asked-again")["$id"]
    own = post_optout(app.test_client(), team.slug, "in/own-request")
    assert own.status_code == 200
    with app.app_context():
        downgrade_before(app, "0021")
        # What a repeated request on the public form recorded before 0021.
        db.session.execute(
            text(
                "INSERT INTO audit_event (team_id, seq, action, subject_type, subject_id, source, "
                "actor_type, created_at) VALUES (:t, 1000, 'add_duplicate', 'entry', :e, "
                "'public_form', 'public', CURRENT_TIMESTAMP)"
            ),
            {"t": team.id, "e": asked_again},
        )
        db.session.commit()
        db.session.remove()
        upgrade()
        db.session.remove()
    assert _check(client, team, "in/team-only")["protected"] is False
    assert _check(client, team, "in/asked-again")["protected"] is True
    assert _check(client, team, "in/own-request")["protected"] is True
    assert _check(client, team, "in/team-only")["$id"] == team_entry
