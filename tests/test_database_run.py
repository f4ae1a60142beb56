"""database.run: the write path's statements straight on the DBAPI cursor (issue 12) must
behave as Core's execute does: the same rows (types processed), errors wrapped the same
way, the engine's cursor events fired. And an add on SQLite, which runs them on a
connection outside the session unless the session is in a transaction or the team has
webhooks."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from dnc_app.domain import entries
from dnc_app.domain.changelog import Actor, ActorType, Source
from dnc_app.domain.entries import statements as sql
from dnc_app.domain.entries import url_digest
from dnc_app.extensions import db
from dnc_app.storage import database
from dnc_app.storage.database import begin_write, run, session_in_transaction
from dnc_app.storage.models import AuditEvent, Team


def _row(team_id: str, url: str, entry_id: str) -> dict:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    return {
        "id": entry_id,
        "team_id": team_id,
        "url": url,
        "url_sha256": url_digest(url),
        "reason": "r",
        "source": "api",
        "added_by": "test",
        "created_at": now,
        "updated_at": now,
        "needs_review": False,
    }


INSERT = insert(sql.ENTRIES).returning(sql.ENTRIES.c.seq, sql.ENTRIES.c.created_at)


def test_rows_are_those_core_returns(app, team):
    with app.app_context():
        begin_write()
        raw = run(INSERT, _row(team.id, "https://linkedin.com/in/raw", "e-raw"))
        core = (
            db.session.connection()
            .execute(INSERT, _row(team.id, "https://linkedin.com/in/core", "e-core"))
            .all()
        )
        db.session.commit()
        assert len(raw) == 1 and len(core) == 1
        # Timestamps come back aware (the column type's result processor ran), as Core's do.
        assert raw[0].created_at == core[0].created_at == datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        assert raw[0].seq + 1 == core[0].seq
        found = run(
            sql.FIND_BY_DIGEST,
            {"team_id": team.id, "sha256": url_digest("https://linkedin.com/in/raw")},
        )
        assert [(e.id, e.reason) for e in found] == [("e-raw", "r")]
        db.session.rollback()


def test_errors_are_wrapped_as_core_wraps_them(app, team):
    with app.app_context():
        begin_write()
        run(INSERT, _row(team.id, "https://linkedin.com/in/twice", "e-1"))
        # The unique id: a wrapped DBAPI error. (A second row of the same URL is skipped
        # by the identifiers' trigger, migration 0027, as ON CONFLICT DO NOTHING would.)
        with pytest.raises(IntegrityError):
            run(INSERT, _row(team.id, "https://linkedin.com/in/other", "e-1"))
        db.session.rollback()
        for url in ("https://linkedin.com/in/twice", "https://linkedin.com/in/other"):
            assert run(sql.FIND_BY_DIGEST, {"team_id": team.id, "sha256": url_digest(url)}) == []
        db.session.rollback()


def test_cursor_events_fire_and_many_runs_each_set(app, team):
    seen = []
    with app.app_context():
        engine = db.engine

        def before(conn, cursor, statement, parameters, context, executemany):
            seen.append((statement.split()[0], executemany))

        event.listen(engine, "before_cursor_execute", before)
        try:
            begin_write()
            assert (
                run(
                    insert(sql.ENTRIES),
                    [
                        _row(team.id, f"https://linkedin.com/in/many-{n}", f"e-m{n}")
                        for n in range(3)
                    ],
                )
                == []
            )
            db.session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", before)
        assert ("INSERT", True) in seen
        rows = run(
            sql.SELECT_ENTRY.where(sql.ENTRIES.c.team_id == team.id).order_by(sql.ENTRIES.c.seq), {}
        )
        assert [r.url for r in rows] == [f"https://linkedin.com/in/many-{n}" for n in range(3)]
        db.session.rollback()


# --------------------------------------------------------------------------- an add on SQLite

ACTOR = Actor(ActorType.API_KEY, "key_1", "key")


@contextmanager
def statements():
    seen: list[str] = []

    def record(conn, cursor, statement, *args):
        seen.append(" ".join(statement.split()[:3]))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def stored(team_id: str) -> tuple[int, list[str]]:
    """(entries, change-log actions on entries) as a new connection sees them: committed."""
    with db.engine.connect() as connection:
        count = connection.execute(
            select(func.count()).select_from(sql.ENTRIES).where(sql.ENTRIES.c.team_id == team_id)
        ).scalar_one()
        actions = list(
            connection.execute(
                select(AuditEvent.action)
                .where(AuditEvent.team_id == team_id, AuditEvent.action.like("add%"))
                .order_by(AuditEvent.seq)
            ).scalars()
        )
    return count, actions


@pytest.mark.database("sqlite")  # PostgreSQL's add is counted in test_round_trips
def test_an_add_runs_outside_the_session_unless_the_team_has_webhooks(app, team):
    with app.app_context():
        with statements() as seen:
            entry = entries.add_entry(team.id, "in/outside", source=Source.API, actor=ACTOR)
        # Four statements on a connection of its own; the session never began.
        assert seen == [
            "SELECT team.has_webhooks FROM",
            "INSERT INTO dnc_entry",
            "UPDATE team SET",
            "INSERT INTO audit_event",
        ], seen
        assert not session_in_transaction()
        assert stored(team.id) == (1, ["add"])
        with pytest.raises(entries.AlreadyListed) as listed:
            entries.add_entry(team.id, "in/outside", source=Source.API, actor=ACTOR)
        assert listed.value.entry.id == entry.id and stored(team.id) == (1, ["add"])
        with pytest.raises(entries.TeamNotFound):
            entries.add_entry("team_missing", "in/x", source=Source.API, actor=ACTOR)
        # A team with webhooks: the outbox rides on the session's commit, so the session's
        # path adds it (after the first attempt rolled back: one entry, one record).
        db.session.execute(update(Team).where(Team.id == team.id).values(has_webhooks=True))
        db.session.commit()
        with statements() as seen:
            entries.add_entry(team.id, "in/hooked", source=Source.API, actor=ACTOR)
        # Read outside the session, then the session's own write: its team lock, the
        # insert, the change log and the outbox's look-up of the team's endpoints.
        assert seen[0] == "SELECT team.has_webhooks FROM" and "SELECT team.id FROM" in seen, seen
        assert any("webhook_endpoint" in s for s in seen), seen
        assert stored(team.id) == (2, ["add", "add"])


@pytest.mark.database("sqlite")
def test_an_add_inside_a_session_transaction_takes_the_sessions_path(app, team):
    """The session may hold the write lock (a write in progress): an add joins it rather
    than waiting on the lock it holds."""
    with app.app_context():
        db.session.execute(update(Team).where(Team.id == team.id).values(name="Renamed"))
        entries.add_entry(team.id, "in/inside", source=Source.API, actor=ACTOR)
        assert stored(team.id) == (1, ["add"])
        assert db.session.get(Team, team.id).name == "Renamed"


@pytest.mark.database("sqlite")
def test_a_locked_database_on_the_outside_path_is_a_503_and_writes_nothing(
    make_app, team, monkeypatch
):
    """Another process holds the write lock past the busy timeout: BEGIN IMMEDIATE on the
    pooled DBAPI connection fails, wrapped as Core wraps it (a 503 in the envelope)."""
    import sqlite3

    monkeypatch.setattr(database, "SQLITE_BUSY_TIMEOUT_MS", 50)
    app = make_app()
    with app.app_context():
        path = db.engine.url.database
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        answer = app.test_client().post(
            "/v1/dnc", json={"url": "in/while-locked"}, headers=team.headers
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert answer.status_code == 503, answer.get_json()
    assert answer.get_json()["error"] == "service_unavailable"
    with app.app_context():
        assert stored(team.id) == (0, [])
        # The connection went back to the pool usable: the next add goes through.
        entries.add_entry(team.id, "in/after-lock", source=Source.API, actor=ACTOR)
        assert stored(team.id) == (1, ["add"])


@pytest.mark.database("sqlite")
def test_a_database_that_cannot_be_opened_on_the_outside_path_is_wrapped(make_app, tmp_path):
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no/such/dir/dnc.sqlite3")
    with app.app_context(), pytest.raises(OperationalError):
        entries.add_entry("team_x", "in/nowhere", source=Source.API, actor=ACTOR)


@pytest.mark.database("sqlite")
def test_a_connection_lost_on_the_outside_path_is_its_wrapped_error(app, team):
    """A connection that goes away mid-write: its error, wrapped as Core wraps it, is what
    the caller gets (not the rollback's on the way out), and the pool does not hand the
    dead connection out again."""
    from sqlalchemy.exc import DBAPIError

    from dnc_app.storage.database import write_outside_session

    with app.app_context():
        with pytest.raises(DBAPIError) as caught, write_outside_session() as transaction:
            transaction.fairy.driver_connection.close()
            run(sql.TEAM_HAS_WEBHOOKS, {"team_id": team.id})
        assert "closed database" in str(caught.value.orig)
        # The pool replaced it: the next add goes through.
        entries.add_entry(team.id, "in/after-loss", source=Source.API, actor=ACTOR)
        assert stored(team.id) == (1, ["add"])


# ------------------------------------------------------------ SQLite's checkpoints


def _wal_pages(engine) -> int:
    """The pages in the WAL (a PASSIVE checkpoint's count, which copies them back too)."""
    with engine.connect() as connection:
        busy, pages, copied = connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").one()
    assert (busy, copied) == (0, pages)
    return pages


def _add_many(team_id: str, start: int, count: int) -> None:
    entries.add_entries(
        team_id,
        [f"https://linkedin.com/in/wal-{n:06d}-{'x' * 40}" for n in range(start, start + count)],
        source=Source.CLI,
        actor=ACTOR,
    )


@pytest.mark.database("sqlite")
def test_a_commit_checkpoints_past_10000_pages_not_1000(app, team):
    """SQLite's own threshold is raised: three writes of 1,000 entries (thousands of
    pages) leave them in the WAL, where SQLite's default would have copied them back at
    every thousand pages."""
    with app.app_context():
        engine = db.engine
        with engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
        assert pages == database.SQLITE_WAL_AUTOCHECKPOINT_PAGES == 10_000
        _wal_pages(engine)  # from an empty WAL on
        for chunk in range(3):
            _add_many(team.id, chunk * 1000, 1000)
        assert 1000 < _wal_pages(engine) < 10_000
