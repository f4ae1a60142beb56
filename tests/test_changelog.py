"""The change log: one writer, a per-team commit order, and one vocabulary with labels."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from dnc_app.domain import changelog, entries
from dnc_app.domain.accounts.apikeys import create_api_key, revoke_api_key
from dnc_app.domain.accounts.teams import update_team_settings
from dnc_app.domain.accounts.users import authenticate, find_member, record_member_event
from dnc_app.domain.changelog import Action, Actor, ActorType, Source
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, Team
from tests.web_support import HTMX, TEST_ACTOR, add_entries, make_member, token_for

MEMBER = Actor.member(7, "ann@example.com")


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def log(team_id: str) -> list[tuple]:
    rows = db.session.execute(
        select(AuditEvent.seq, AuditEvent.action, AuditEvent.subject_type)
        .where(AuditEvent.team_id == team_id)
        .order_by(AuditEvent.id)
    ).all()
    return [tuple(r) for r in rows]


def test_the_vocabulary_carries_human_labels():
    assert Source.PUBLIC_FORM.label == "Public opt-out form"
    assert Source.WEB_BULK == "web_bulk" and Source.WEB_BULK.label == "Bulk add"
    assert Action.KEY_CREATE.label == "API key created"
    assert Source.label_of("public_form") == "Public opt-out form"
    assert Source.label_of("something-old") == "something-old"
    for action in (
        "settings_changed",
        "exported",
        "member_signed_in",
        "member_sign_in_failed",
        "password_changed",
        "member_disabled",
        "member_enabled",
        "sessions_revoked",
    ):
        assert Action(action).label


def test_every_write_path_numbers_the_teams_changes_in_order(ctx, make_team):
    team, other = make_team("Acme"), make_team("Other")  # each: a team and its key
    entry = entries.add_entry(team.id, "in/ann", source=Source.API, actor=TEST_ACTOR)
    entries.add_entries(
        team.id, ["in/a", "in/b", "in/ann"], source=Source.WEB_BULK, actor=TEST_ACTOR
    )
    for _request in range(2):  # the person's own request, then a repeated one
        with pytest.raises(entries.AlreadyListed):
            entries.add_entry(
                team.id,
                "in/ann",
                source=Source.PUBLIC_FORM,
                actor=TEST_ACTOR,
                record_duplicate=True,
            )
    # Their own opt-out now: an owner's removal.
    entries.remove_entry(
        team.id, entry.id, reason="asked", source=Source.WEB, actor=MEMBER, may_remove_optouts=True
    )
    key, _secret = create_api_key(team.id, name="zap", actor=MEMBER)
    revoke_api_key(team.id, key.id, actor=MEMBER)
    update_team_settings(team.id, "Acme Sales", None, None, actor=MEMBER)
    entries.add_entry(other.id, "in/ann", source=Source.API, actor=TEST_ACTOR)

    assert log(team.id) == [
        (1, "key_create", "api_key"),
        (2, "add", "entry"),
        (3, "add", "entry"),
        (4, "add", "entry"),
        (5, "opted_out", "entry"),
        (6, "add_duplicate", "entry"),
        (7, "remove", "entry"),
        (8, "key_create", "api_key"),
        (9, "key_revoke", "api_key"),
        (10, "settings_changed", "team"),
    ]
    assert log(other.id) == [(1, "key_create", "api_key"), (2, "add", "entry")]
    assert db.session.get(Team, team.id).change_seq == 10
    assert db.session.get(Team, team.id).entry_count == 2  # a, b (ann removed)
    removal = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "remove")
    ).scalar_one()
    assert (removal.subject_id, removal.url, removal.reason) == (entry.id, entry.url, "asked")
    revoked = db.session.execute(
        select(AuditEvent).where(AuditEvent.action == "key_revoke")
    ).scalar_one()
    assert (revoked.subject_id, revoked.subject_label, revoked.reason) == (
        key.id,
        key.prefix,
        "zap",
    )


def test_a_reader_reads_from_a_position(ctx, team):
    entries.add_entries(
        team.id, [f"in/p{i}" for i in range(5)], source=Source.API, actor=TEST_ACTOR
    )
    first = changelog.read_from(team.id, 0, limit=3)
    assert [e.seq for e in first] == [1, 2, 3]
    rest = changelog.read_from(team.id, first[-1].seq)
    assert [e.seq for e in rest] == [4, 5, 6]
    assert [e.url for e in rest] == [f"https://linkedin.com/in/p{i}" for i in (2, 3, 4)]
    assert changelog.read_from(team.id, 6) == []


def test_seq_is_unique_per_team(ctx, team):
    entries.add_entry(team.id, "in/ann", source=Source.API, actor=TEST_ACTOR)
    duplicate = {
        "team_id": team.id,
        "seq": 1,
        "action": "add",
        "subject_type": "entry",
        "source": "api",
        "actor_type": "cli",
    }
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        db.session.execute(AuditEvent.__table__.insert(), [duplicate])
        db.session.commit()
    db.session.rollback()


def test_the_vocabulary_is_closed(ctx, team):
    with pytest.raises(ValueError):
        entries.add_entry(team.id, "in/ann", source="import", actor=TEST_ACTOR)
    assert entries.count_entries(team.id) == 0


def test_member_events_go_through_the_change_log(app, ctx, team):
    member_id = make_member(app, team.id, "ann@example.com")
    assert authenticate("ann@example.com", "wrong password", ip_hash="h") is None
    rows = changelog.read_from(team.id, 1)  # after the key's creation
    assert [
        (r.seq, r.action, r.subject_type, r.subject_id, r.subject_label, r.actor_type, r.ip_hash)
        for r in rows
    ] == [
        (2, "member_sign_in_failed", "member", str(member_id), "ann@example.com", "public", "h"),
    ]
    member = find_member("ann@example.com")
    with pytest.raises(ValueError):
        record_member_event(member, Action.ADD, TEST_ACTOR, Source.CLI)


def test_an_unchanged_settings_save_records_nothing(ctx, team):
    update_team_settings(team.id, "Acme", "https://acme.example/p", None, actor=MEMBER)
    update_team_settings(team.id, "Acme", "https://acme.example/p", None, actor=MEMBER)
    update_team_settings(team.id, None, "https://acme.example/new", None, actor=MEMBER)
    rows = [r for r in changelog.read_from(team.id) if r.action == "settings_changed"]
    assert [r.reason for r in rows] == [
        "Display name: Acme; Privacy policy link: https://acme.example/p",
        "Display name: (cleared); Privacy policy link: https://acme.example/new",
    ]
    assert {(r.actor_label, r.source) for r in rows} == {("ann@example.com", "web")}


# --------------------------------------------------------------------------- the pages


def test_settings_changes_and_exports_show_in_the_audit_trail(app, signed_in, team):
    token = token_for(signed_in, "/settings")
    response = signed_in.post(
        "/settings",
        data={
            "csrf_token": token,
            "display_name": "Acme Sales",
            "privacy_url": "https://acme.example/privacy",
            "optout_message": "",
        },
    )
    assert response.status_code == 303
    assert signed_in.get("/export.csv").status_code == 200
    html = signed_in.get("/audit?signins=1").get_data(as_text=True)
    assert re.findall(r'<tr class="entry action-(\w+)">', html) == [
        "exported",
        "settings_changed",
        "member_signed_in",
        "key_create",
    ]
    assert "List exported" in html and "Settings changed" in html
    assert "Privacy policy link: https://acme.example/privacy" in html


def test_the_audit_filter_offers_the_known_sources_with_labels(app, signed_in, team):
    with app.app_context():
        entries.add_entry(
            team.id,
            "in/opted-out",
            source=Source.PUBLIC_FORM,
            actor=Actor(ActorType.PUBLIC, None, "public opt-out form"),
        )
    add_entries(app, team.id, ["in/by-api"])
    html = signed_in.get("/audit").get_data(as_text=True)
    options = re.findall(r'<option value="(\w+)" >([^<]+)</option>', html)
    assert ("public_form", "Public opt-out form") in options
    assert ("web_bulk", "Bulk add") in options
    assert "optout" not in [value for value, _ in options]
    # The badge says what a person reads, not the stored value.
    assert '<span class="badge badge-public_form">Public opt-out form</span>' in html
    filtered = signed_in.get("/audit?source=public_form", headers=HTMX).get_data(as_text=True)
    filtered = filtered.replace("<wbr>", "")  # the line-break hints in long URLs
    assert re.findall(r'class="url-cell">\s*([^\s<]+)', filtered) == ["linkedin.com/in/opted-out"]


@pytest.mark.parametrize("before", ["²", "99999999999999999999999", "-1"])
def test_a_bad_audit_page_link_is_a_400(signed_in, before):
    assert signed_in.get(f"/audit?before={before}").status_code == 400


# --------------------------------------------------------------------------- migration


def test_migration_0003_numbers_existing_changes_per_team(app, team, make_team):
    """Down to 0002, old-shape rows, up again: seq per team in id order, subject types,
    key prefixes as labels, and each team's counter at its last number."""
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    other = make_team("Other")
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        before_0003 = ScriptDirectory.from_config(config).get_revision("0003").down_revision
        db.session.execute(text("DELETE FROM audit_event"))
        db.session.commit()
        db.session.remove()
        downgrade(revision=before_0003)
        key_id, prefix = db.session.execute(
            text("SELECT id, prefix FROM api_key WHERE team_id = :t"), {"t": team.id}
        ).one()
        old = [
            (team.id, "key_create", key_id),
            (other.id, "add", "dnc_1"),
            (team.id, "add", "dnc_2"),
            (team.id, "remove", "dnc_2"),
        ]
        for team_id, action, subject in old:
            db.session.execute(
                text(
                    "INSERT INTO audit_event (team_id, action, entry_id, source, actor_type, "
                    "created_at) VALUES (:t, :a, :e, 'api', 'cli', CURRENT_TIMESTAMP)"
                ),
                {"t": team_id, "a": action, "e": subject},
            )
        db.session.commit()
        db.session.remove()
        upgrade()
        rows = db.session.execute(
            select(
                AuditEvent.team_id,
                AuditEvent.seq,
                AuditEvent.action,
                AuditEvent.subject_type,
                AuditEvent.subject_id,
                AuditEvent.subject_label,
            ).order_by(AuditEvent.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            (team.id, 1, "key_create", "api_key", key_id, prefix),
            (other.id, 1, "add", "entry", "dnc_1", None),
            (team.id, 2, "add", "entry", "dnc_2", None),
            (team.id, 3, "remove", "entry", "dnc_2", None),
        ]
        assert db.session.get(Team, team.id).change_seq == 3
        assert db.session.get(Team, other.id).change_seq == 1
        # New changes continue the numbering.
        entries.add_entry(team.id, "in/next", source=Source.API, actor=TEST_ACTOR)
        assert changelog.read_from(team.id, 3)[0].seq == 4
