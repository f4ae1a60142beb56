"""Members: invitations, role changes and removals (their sessions end), the last owner,
and people's own opt-outs, which only an owner (or a key an owner allowed) removes."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from dnc_app.domain import entries
from dnc_app.domain.accounts.apikeys import authenticate_api_key, key_may_remove_optouts
from dnc_app.domain.accounts.teams import create_team
from dnc_app.domain.accounts.users import create_user, find_member
from dnc_app.domain.changelog import Source
from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.storage.models import ApiKey, AuditEvent, DncEntry, MemberInvite, User
from tests.roles_support import client_as, make_world
from tests.support import TEST_ACTOR
from tests.web_support import PASSWORD, csrf_from, token_for

NEW_PASSWORD = "a new member's password"
_LINK = re.compile(r'data-copy="(https?://[^"]+/invite/([^"]+))"')


def actions(app, team_id: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(
                select(AuditEvent.action)
                .where(AuditEvent.team_id == team_id)
                .order_by(AuditEvent.seq)
            ).scalars()
        )


def invite(client, email: str = "new@example.com", role: str = "member"):
    token = token_for(client, "/members")
    return client.post("/members/invite", data={"csrf_token": token, "email": email, "role": role})


def invite_link(client, **kwargs) -> tuple[str, str]:
    response = invite(client, **kwargs)
    assert response.status_code == 200
    match = _LINK.search(response.get_data(as_text=True))
    assert match, "the page shows the link to copy"
    return match.group(1), match.group(2)


def accept(client, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    token = csrf_from(client.get(path).get_data(as_text=True))
    return client.post(
        path,
        data={"csrf_token": token, "password": password, "confirm_password": confirm or password},
    )


@pytest.fixture
def world(app, team):
    return make_world(app, team.id)


@pytest.fixture
def owner(app, world):
    return client_as(app, "owner")


# --------------------------------------------------------------------------- invitations


def test_an_invitation_link_signs_the_person_in_with_the_invited_role(app, team, world, owner):
    link, token = invite_link(owner, email="New@Example.com", role="viewer")
    with app.app_context():
        # The world's earlier invitation of this email was withdrawn by the new one.
        stored = db.session.execute(
            select(MemberInvite).where(
                MemberInvite.email == "new@example.com", MemberInvite.used_at.is_(None)
            )
        ).scalar_one()
        # Only the token's SHA-256 is stored.
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in repr(vars(stored))
        assert stored.expires_at - stored.created_at == timedelta(days=7)
    guest = app.test_client()
    page = guest.get(link.split("localhost", 1)[1])
    assert page.status_code == 200
    assert "new@example.com" in page.get_data(as_text=True)
    response = accept(guest, f"/invite/{token}")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/entries")
    listed = guest.get("/entries")
    assert listed.status_code == 200
    assert "new@example.com" in listed.get_data(as_text=True)
    with app.app_context():
        user = find_member("new@example.com")
        assert (user.role, user.team_id) == ("viewer", team.id)
    assert guest.get("/bulk").status_code == 403  # a viewer
    log = actions(app, team.id)
    assert "member_invited" in log and "invite_accepted" in log


def test_an_invitation_works_once(app, world, owner):
    _link, token = invite_link(owner)
    assert accept(app.test_client(), f"/invite/{token}").status_code == 303
    again = app.test_client()
    assert again.get(f"/invite/{token}").status_code == 404


def test_a_second_tab_with_the_same_link_cannot_use_it_again(app, world, owner):
    _link, token = invite_link(owner)
    first, second = app.test_client(), app.test_client()
    second_token = csrf_from(second.get(f"/invite/{token}").get_data(as_text=True))
    assert accept(first, f"/invite/{token}").status_code == 303
    late = second.post(
        f"/invite/{token}",
        data={
            "csrf_token": second_token,
            "password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
    )
    assert late.status_code == 404


def test_an_expired_invitation_is_a_404_like_an_unknown_one(app, world, owner):
    _link, token = invite_link(owner)
    with app.app_context():
        db.session.execute(update(MemberInvite).values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    guest = app.test_client()
    expired = guest.get(f"/invite/{token}")
    unknown = guest.get("/invite/" + "x" * 43)
    assert expired.status_code == unknown.status_code == 404
    # One answer: nothing tells an expired link from a made-up one.
    assert expired.get_data() == unknown.get_data()
    assert guest.post(f"/invite/{token}", data={"password": NEW_PASSWORD}).status_code in (400, 404)
    with app.app_context():
        assert find_member("new@example.com") is None


def test_a_withdrawn_invitation_no_longer_works(app, world, owner):
    _link, token = invite_link(owner)
    with app.app_context():
        invite_id = db.session.execute(
            select(MemberInvite.id).where(
                MemberInvite.email == "new@example.com", MemberInvite.used_at.is_(None)
            )
        ).scalar()
    response = owner.post(
        f"/members/invites/{invite_id}/withdraw", data={"csrf_token": token_for(owner, "/members")}
    )
    assert response.status_code == 303
    assert app.test_client().get(f"/invite/{token}").status_code == 404


def test_the_password_is_checked_and_the_invitation_stays_usable(app, world, owner):
    _link, token = invite_link(owner)
    guest = app.test_client()
    assert accept(guest, f"/invite/{token}", "short").status_code == 422
    assert accept(guest, f"/invite/{token}", NEW_PASSWORD, "another one!!").status_code == 422
    assert accept(guest, f"/invite/{token}").status_code == 303


def test_an_existing_member_is_not_invited_again(world, owner):
    response = invite(owner, email="member@example.com")
    assert response.status_code == 422
    assert "already a member" in response.get_data(as_text=True)


def test_the_members_page_shows_roles_and_last_sign_in(world, owner):
    page = owner.get("/members").get_data(as_text=True)
    for email in ("owner@example.com", "member@example.com", "viewer@example.com"):
        assert email in page
    assert "Never" in page  # the target member never signed in
    assert "new@example.com" in page  # the open invitation


# --------------------------------------------------------------------------- roles, removal


def _post(client, path: str, **data):
    return client.post(path, data={"csrf_token": token_for(client, "/account"), **data})


def test_a_role_change_ends_the_members_sessions_at_once(app, team, world, owner):
    member = client_as(app, "member")
    assert member.get("/bulk").status_code == 200
    response = _post(owner, f"/members/{world.users['member']}/role", role="viewer")
    assert response.status_code == 303
    assert member.get("/entries").status_code == 302  # signed out
    with app.app_context():
        assert db.session.get(User, world.users["member"]).role == "viewer"
    again = client_as(app, "member")
    assert again.get("/bulk").status_code == 403
    log = actions(app, team.id)
    assert "role_changed" in log and "sessions_revoked" in log


def test_a_removed_member_is_signed_out_and_cannot_sign_in(app, team, world, owner):
    member = client_as(app, "member")
    confirm = owner.get(f"/members/{world.users['member']}/remove")
    assert "member@example.com" in confirm.get_data(as_text=True)
    assert _post(owner, f"/members/{world.users['member']}/remove").status_code == 303
    assert member.get("/entries").status_code == 302
    with app.app_context():
        assert find_member("member@example.com") is None
    assert "member_removed" in actions(app, team.id)


def test_the_last_owner_can_be_neither_demoted_nor_removed(app, world, owner):
    owner_id = world.users["owner"]
    _post(owner, f"/members/{owner_id}/role", role="member")
    _post(owner, f"/members/{owner_id}/remove")
    page = owner.get("/members")
    assert page.status_code == 200  # still signed in, still an owner
    assert "A team needs an owner" in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, owner_id).role == "owner"


def test_with_a_second_owner_the_first_may_step_down(app, world, owner):
    _post(owner, f"/members/{world.users['member']}/role", role="owner")
    assert _post(owner, f"/members/{world.users['owner']}/role", role="member").status_code == 303
    with app.app_context():
        assert db.session.get(User, world.users["owner"]).role == "member"


def test_another_teams_member_is_a_404(app, make_team, world, owner):
    other = make_team("Other")
    with app.app_context():
        stranger = create_user(other.id, "stranger@example.com", PASSWORD).id
    assert _post(owner, f"/members/{stranger}/remove").status_code == 404
    assert _post(owner, f"/members/{stranger}/role", role="viewer").status_code == 404


def test_an_unknown_role_is_refused(app, world, owner):
    response = _post(owner, f"/members/{world.target_id}/role", role="admin")
    assert response.status_code == 400
    assert invite(owner, role="admin").status_code == 422


# --------------------------------------------------------------------------- opt-outs


def _listed(app, entry_id: str) -> bool:
    with app.app_context():
        return (
            db.session.execute(select(DncEntry.id).where(DncEntry.id == entry_id)).first()
            is not None
        )


def test_members_see_no_remove_button_for_a_persons_own_opt_out(app, world):
    member = client_as(app, "member")
    page = member.get("/entries").get_data(as_text=True)
    assert f"/entries/{world.entry_id}/remove" in page
    assert f"/entries/{world.optout_id}/remove" not in page
    viewer_page = client_as(app, "viewer").get("/entries").get_data(as_text=True)
    assert "/remove" not in viewer_page


def test_a_member_cannot_remove_an_opt_out_and_the_attempt_is_recorded(app, team, world):
    member = client_as(app, "member")
    assert member.get(f"/entries/{world.optout_id}/remove").status_code == 403
    response = _post(member, f"/entries/{world.optout_id}/remove", reason="please")
    assert response.status_code == 403
    assert "only an owner" in response.get_data(as_text=True)
    assert _listed(app, world.optout_id)
    with app.app_context():
        refused = db.session.execute(
            select(AuditEvent).where(AuditEvent.action == "remove_refused")
        ).scalar_one()
        assert (refused.subject_id, refused.actor_label) == (world.optout_id, "member@example.com")


def test_an_owner_removes_an_opt_out_after_a_confirmation_that_says_so(app, world, owner):
    confirm = owner.get(f"/entries/{world.optout_id}/remove").get_data(as_text=True)
    assert "the person's own opt-out" in confirm.replace("’", "'")
    assert _post(owner, f"/entries/{world.optout_id}/remove", reason="").status_code == 422
    assert _listed(app, world.optout_id)
    response = _post(
        owner, f"/entries/{world.optout_id}/remove", reason="They asked to be contacted again"
    )
    assert response.status_code == 303
    assert not _listed(app, world.optout_id)


def test_the_service_requires_a_reason_to_remove_an_opt_out(app, world):
    with app.app_context():
        with pytest.raises(entries.InvalidReason):
            entries.remove_entry(
                world.team_id,
                world.optout_id,
                source=Source.CLI,
                actor=TEST_ACTOR,
                may_remove_optouts=True,
            )
    assert _listed(app, world.optout_id)


def _delete(client, team, entry_id: str, key: str | None = None, **body):
    headers = {"Authorization": f"Bearer {key or team.api_key}"}
    return client.delete(f"/v1/dnc/{entry_id}", headers=headers, json=body or None)


def test_the_api_refuses_to_delete_an_opt_out(app, client, team, world):
    response = _delete(client, team, world.optout_id, reason="cleanup")
    assert response.status_code == 403
    body = response.get_json()
    assert body["error"] == "protected_entry"
    assert body["message"] == (
        "This entry is the person's own opt-out and cannot be removed with this API key"
    )
    assert _listed(app, world.optout_id)
    assert "remove_refused" in actions(app, team.id)
    assert _delete(client, team, world.entry_id).status_code == 200  # other entries go


def test_a_key_an_owner_allowed_deletes_an_opt_out_with_a_reason(app, client, team, world, owner):
    response = owner.post(
        "/keys",
        data={"csrf_token": token_for(owner, "/keys"), "name": "gdpr", "allow_optout_removal": "y"},
    )
    secret = re.search(r'data-copy="(dnc_sk_[^"]+)"', response.get_data(as_text=True)).group(1)
    with app.app_context():
        assert (
            db.session.execute(
                select(ApiKey.can_remove_optouts).where(ApiKey.name == "gdpr")
            ).scalar()
            is True
        )
    no_reason = _delete(client, team, world.optout_id, key=secret)
    assert no_reason.status_code == 400
    assert no_reason.get_json()["error"] == "invalid_parameter"
    ok = _delete(client, team, world.optout_id, key=secret, reason="They asked")
    assert ok.status_code == 200
    assert not _listed(app, world.optout_id)


# --------------------------------------------------------------------------- command line


def test_user_create_takes_a_role_and_the_first_member_is_the_owner(app, runner, make_team):
    team = make_team("Fresh")
    for email, args, role in [
        ("first@example.com", [], "owner"),
        ("second@example.com", [], "member"),
        ("third@example.com", ["--role", "viewer"], "viewer"),
    ]:
        result = runner.invoke(
            args=["user", "create", email, "--team", team.slug, "--password-stdin", *args],
            input=PASSWORD + "\n",
        )
        assert result.exit_code == 0, result.output
        assert f"({role})" in result.output
        with app.app_context():
            assert find_member(email).role == role


def test_key_create_can_allow_opt_out_removal(app, runner, team):
    result = runner.invoke(args=["key", "create", "--team", team.slug, "--allow-optout-removal"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        key = authenticate_api_key(result.output.strip())
        assert key_may_remove_optouts(key.id)
        assert not key_may_remove_optouts(authenticate_api_key(team.api_key).id)


# --------------------------------------------------------------------------- email


class TinySmtpServer:
    """Just enough SMTP (no TLS, no auth) to receive messages, on a free loopback port."""

    def __init__(self):
        self.messages: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as lines:
                self._session(conn, lines)

    def _session(self, conn, lines) -> None:
        conn.sendall(b"220 tiny\r\n")
        for raw in lines:
            command = raw.decode().strip().upper()
            if command.startswith(("EHLO", "HELO")):
                conn.sendall(b"250 tiny\r\n")
            elif command == "DATA":
                conn.sendall(b"354 go\r\n")
                body = []
                for data_line in lines:
                    if data_line in (b".\r\n", b".\n"):
                        break
                    body.append(data_line.decode())
                self.messages.append("".join(body))
                conn.sendall(b"250 ok\r\n")
            elif command == "QUIT":
                conn.sendall(b"221 bye\r\n")
                return
            else:
                conn.sendall(b"250 ok\r\n")

    def close(self) -> None:
        self.sock.close()


def test_an_invitation_is_emailed_when_smtp_is_configured(make_app):
    server = TinySmtpServer()
    try:
        app = make_app(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=server.port,
            SMTP_STARTTLS=False,
            SMTP_FROM="dnc@example.com",
            PUBLIC_BASE_URL="https://dnc.example.com",
        )
        with app.app_context():
            team = create_team("Mailers")
        make_world(app, team.id)
        owner = client_as(app, "owner")
        response = invite(owner, email="mailed@example.com")
        assert "It was also emailed to them." in response.get_data(as_text=True)
        link, token = _LINK.search(response.get_data(as_text=True)).groups()
        # The link shown is on PUBLIC_BASE_URL too, not on the request's host.
        assert link == f"https://dnc.example.com/invite/{token}"
        (message,) = server.messages
        assert "To: mailed@example.com" in message
        assert f"https://dnc.example.com/invite/{token}" in message
    finally:
        server.close()


def test_without_smtp_nothing_is_sent_and_the_link_is_shown(world, owner):
    page = invite(owner, email="shown@example.com").get_data(as_text=True)
    assert _LINK.search(page)
    assert "emailed" not in page
