"""The service layer: the one way entries enter and leave a list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from dnc_app.domain import entries
from dnc_app.domain.changelog import Actor, ActorType
from dnc_app.domain.timeutil import isoformat
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry, Team

ACTOR = Actor(ActorType.MEMBER, "7", "ann@example.com")


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


def entry_count(team_id: str) -> int:
    return db.session.get(Team, team_id).entry_count


def audit(team_id: str) -> list[tuple]:
    rows = db.session.execute(
        select(AuditEvent)
        .where(AuditEvent.team_id == team_id, AuditEvent.action.not_like("key_%"))
        .order_by(AuditEvent.id)
    ).scalars()
    return [(r.action, r.url, r.source, r.actor_type, r.actor_label, r.reason) for r in rows]


def test_add_entry_normalizes_audits_and_counts(ctx, team):
    entry = entries.add_entry(
        team.id,
        " HTTPS://WWW.LinkedIn.com/in/Ann/ ",
        reason=" met at fair ",
        source="web",
        actor=ACTOR,
    )
    assert entry.url == "https://linkedin.com/in/ann"
    assert entry.reason == "met at fair"
    assert entry.added_by == "ann@example.com"
    assert audit(team.id) == [("add", entry.url, "web", "user", "ann@example.com", "met at fair")]
    assert entry_count(team.id) == 1
    stored = db.session.execute(select(DncEntry)).scalar_one()
    assert (stored.id, stored.url, stored.team_id) == (entry.id, entry.url, team.id)


def test_a_duplicate_raises_with_the_existing_entry_and_writes_nothing(ctx, team):
    first = entries.add_entry(team.id, "in/ann", source="api", actor=ACTOR)
    with pytest.raises(entries.AlreadyListed) as caught:
        entries.add_entry(team.id, "linkedin.com/in/ANN/", source="api", actor=ACTOR)
    assert caught.value.entry.id == first.id
    assert len(audit(team.id)) == 1
    assert entry_count(team.id) == 1


def test_record_duplicate_leaves_a_trace_with_the_reference(ctx, team):
    # The person's first request for an entry the API added makes it their own opt-out
    # ("opted_out"); their next request is a repeated one ("add_duplicate").
    entries.add_entry(team.id, "in/ann", source="api", actor=ACTOR)
    public = Actor(ActorType.PUBLIC, None, "form", ip_hash="h")
    for reference in ("OPT-1", "OPT-2"):
        with pytest.raises(entries.AlreadyListed) as caught:
            entries.add_entry(
                team.id,
                "in/ann",
                reason="again",
                source="public_form",
                actor=public,
                reference=reference,
                record_duplicate=True,
            )
        assert caught.value.entry.protected and caught.value.entry.source == "api"
    rows = (
        db.session.execute(
            select(AuditEvent).where(AuditEvent.subject_type == "entry").order_by(AuditEvent.id)
        )
        .scalars()
        .all()
    )
    assert [(r.action, r.reference, r.ip_hash) for r in rows] == [
        ("add", None, None),
        ("opted_out", "OPT-1", "h"),
        ("add_duplicate", "OPT-2", "h"),
    ]
    assert entry_count(team.id) == 1
    assert entries.get_entry(team.id, caught.value.entry.id).protected


def test_invalid_input_raises_typed_errors_and_writes_nothing(ctx, team):
    with pytest.raises(entries.InvalidURL) as caught:
        entries.add_entry(team.id, "https://linkedin.com/company/x", source="api", actor=ACTOR)
    assert caught.value.code == "invalid_url" and "company" in caught.value.reason
    with pytest.raises(entries.InvalidReason):
        entries.add_entry(team.id, "in/ann", reason="\x00", source="api", actor=ACTOR)
    with pytest.raises(entries.TeamNotFound):
        entries.add_entry("team_missing", "in/ann", source="api", actor=ACTOR)
    assert db.session.execute(select(func.count()).select_from(DncEntry)).scalar() == 0
    assert audit(team.id) == []


def test_add_entries_keeps_input_order_and_reports_every_line(ctx, team):
    entries.add_entry(team.id, "in/old", source="api", actor=ACTOR)
    result = entries.add_entries(
        team.id,
        ["in/b", "in/a", "linkedin.com/in/B", "https://evil.com/in/x", "in/old", None],
        reasons=["rb", "ra", None, None, None, None],
        source="api",
        actor=ACTOR,
    )
    assert [(i.url, i.status) for i in result.items] == [
        ("https://linkedin.com/in/b", "added"),
        ("https://linkedin.com/in/a", "added"),
        ("https://linkedin.com/in/b", "duplicate"),
        (None, "error"),
        ("https://linkedin.com/in/old", "duplicate"),
        (None, "error"),
    ]
    assert (result.added, result.duplicates, result.errors) == (2, 2, 2)
    assert "host" in result.items[3].error
    assert entry_count(team.id) == 3
    # Stored in input order: the later line is the newer entry.
    page = entries.list_entries(team.id, limit=10)
    assert [e.url for e in page.entries] == [
        "https://linkedin.com/in/a",
        "https://linkedin.com/in/b",
        "https://linkedin.com/in/old",
    ]
    assert [e.reason for e in page.entries[:2]] == ["ra", "rb"]
    assert [a[0] for a in audit(team.id)] == ["add", "add", "add"]


def test_add_entries_handles_more_rows_than_one_statement_chunk(ctx, team):
    urls = [f"in/person-{i}" for i in range(1234)]
    result = entries.add_entries(team.id, urls, source="cli", actor=ACTOR)
    assert result.added == 1234
    again = entries.add_entries(team.id, urls[:10] + ["in/new"], source="cli", actor=ACTOR)
    assert (again.added, again.duplicates) == (1, 10)
    assert entry_count(team.id) == 1235
    assert db.session.execute(select(func.count()).select_from(DncEntry)).scalar() == 1235


def test_preview_writes_nothing(ctx, team):
    entries.add_entry(team.id, "in/old", source="api", actor=ACTOR)
    result = entries.preview_entries(team.id, ["in/old", "in/new", "in/new", "bad"])
    assert [i.status for i in result.items] == ["duplicate", "new", "duplicate", "error"]
    assert entry_count(team.id) == 1


def test_remove_entry_keeps_the_audit_and_allows_adding_again(ctx, make_team):
    team, other = make_team("A"), make_team("B")
    entry = entries.add_entry(team.id, "in/ann", source="api", actor=ACTOR)
    with pytest.raises(entries.EntryNotFound):
        entries.remove_entry(other.id, entry.id, source="api", actor=ACTOR)
    removed = entries.remove_entry(
        team.id, entry.id, reason="asked twice", source="web", actor=ACTOR
    )
    assert removed.url == "https://linkedin.com/in/ann"
    assert entries.get_entry(team.id, entry.id) is None
    assert entry_count(team.id) == 0
    assert audit(team.id)[-1] == (
        "remove",
        removed.url,
        "web",
        "user",
        "ann@example.com",
        "asked twice",
    )
    again = entries.add_entry(team.id, "in/ann", source="api", actor=ACTOR)
    assert again.id != entry.id
    with pytest.raises(entries.EntryNotFound):
        entries.remove_entry(team.id, "dnc_unknown", source="api", actor=ACTOR)


def test_list_entries_pages_by_offset_and_cursor_newest_first(ctx, team):
    entries.add_entries(team.id, [f"in/p{i:02d}" for i in range(25)], source="api", actor=ACTOR)
    first = entries.list_entries(team.id, limit=10)
    assert first.total == 25
    assert first.entries[0].url.endswith("/p24")
    seen = [e.url for e in first.entries]
    cursor = first.next_cursor
    while cursor:
        page = entries.list_entries(team.id, limit=10, cursor=cursor)
        seen += [e.url for e in page.entries]
        cursor = page.next_cursor
    assert seen == [f"https://linkedin.com/in/p{i:02d}" for i in range(24, -1, -1)]
    by_offset = entries.list_entries(team.id, limit=10, offset=20)
    assert [e.url for e in by_offset.entries] == seen[20:]
    assert entries.list_entries(team.id, limit=5, q="P1").total == 10
    assert entries.list_entries(team.id, limit=5, q="%").total == 0  # LIKE wildcards are literal
    with pytest.raises(entries.InvalidCursor):
        entries.list_entries(team.id, cursor="not-a-cursor")


def test_concurrent_writers_in_one_process_all_succeed_and_release_the_write_lock(app, team):
    import threading

    from dnc_app.storage.database import _SQLITE_WRITE_LOCKS

    errors = []

    def writer(n: int) -> None:
        with app.app_context():
            try:
                for i in range(15):
                    entries.add_entry(team.id, f"in/w{n}-{i}", source="api", actor=ACTOR)
                with pytest.raises(entries.AlreadyListed):  # a refused write releases it too
                    entries.add_entry(team.id, f"in/w{n}-0", source="api", actor=ACTOR)
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with app.app_context():
        assert entry_count(team.id) == 8 * 15
        lock = _SQLITE_WRITE_LOCKS.get(db.engine)
    if lock is not None:  # SQLite: nobody holds the write lock any more
        assert lock.acquire(blocking=False)
        lock.release()


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (datetime(2026, 11, 26, 10, 15, 30, 123999, tzinfo=UTC), "2026-11-26T10:15:30.123Z"),
        (datetime(2026, 11, 26, 10, 15, 30), "2026-11-26T10:15:30.000Z"),  # stored: naive UTC
        (
            datetime(2026, 1, 1, 1, 0, 0, 999, tzinfo=timezone(timedelta(hours=2))),
            "2025-12-31T23:00:00.000Z",
        ),
        (None, None),
    ],
)
def test_timestamps_are_utc_with_milliseconds_and_a_z(value, text):
    assert isoformat(value) == text
