"""A team with one member of each role, for the role tests. No tests here."""

from __future__ import annotations

from dataclasses import dataclass

from dnc_app.domain import entries, members
from dnc_app.domain.accounts.apikeys import create_api_key
from dnc_app.domain.accounts.users import create_user
from dnc_app.domain.changelog import Source
from tests.support import TEST_ACTOR
from tests.web_support import PASSWORD, sign_in

EMAILS = {
    "owner": "owner@example.com",
    "member": "member@example.com",
    "viewer": "viewer@example.com",
}


@dataclass
class RoleWorld:
    team_id: str
    users: dict[str, int]  # role -> member id
    target_id: int  # a further member (for role changes and removals)
    entry_id: str  # added through the API
    optout_id: str  # the person's own opt-out (public form)
    key_id: str
    invite_id: str


def make_world(app, team_id: str) -> RoleWorld:
    with app.app_context():
        users = {
            role: create_user(team_id, email, PASSWORD, role=role).id
            for role, email in EMAILS.items()
        }
        target = create_user(team_id, "target@example.com", PASSWORD, role="member")
        entry = entries.add_entry(
            team_id, "https://linkedin.com/in/listed-by-api", source=Source.API, actor=TEST_ACTOR
        )
        optout = entries.add_entry(
            team_id,
            "https://linkedin.com/in/asked-themselves",
            source=Source.PUBLIC_FORM,
            actor=TEST_ACTOR,
        )
        key, _secret = create_api_key(team_id, name="k", actor=TEST_ACTOR)
        invite, _token = members.create_invite(
            team_id, "new@example.com", "member", actor=TEST_ACTOR
        )
        return RoleWorld(team_id, users, target.id, entry.id, optout.id, key.id, invite.id)


def client_as(app, role: str):
    client = app.test_client()
    response = sign_in(client, EMAILS[role])
    assert response.status_code == 303, response.status_code
    return client
