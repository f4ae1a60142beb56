"""database.run: the write path's statements straight on the DBAPI cursor (issue 12) must
behave as Core's execute does: the same rows (types processed), errors wrapped the same
way, the engine's cursor events fired, and only within the session's transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, insert
from sqlalchemy.exc import IntegrityError

from dnc_app.database import begin_write, run
from dnc_app.entries import statements as sql
from dnc_app.extensions import db


def _row(team_id: str, url: str, entry_id: str) -> dict:
    now = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    return {"id": entry_id, "team_id": team_id, "url": url, "url_sha256": None,
            "reason": "r", "source": "api", "added_by": "test", "created_at": now,
            "updated_at": now, "needs_review": False}


INSERT = insert(sql.ENTRIES).returning(sql.ENTRIES.c.seq, sql.ENTRIES.c.created_at)


def test_rows_are_those_core_returns(app, team):
    with app.app_context():
        begin_write()
        raw = run(INSERT, _row(team.id, "https://linkedin.com/in/raw", "e-raw"))
        core = db.session.connection().execute(
            INSERT, _row(team.id, "https://linkedin.com/in/core", "e-core")).all()
        db.session.commit()
        assert len(raw) == 1 and len(core) == 1
        # Timestamps come back aware (the column type's result processor ran), as Core's do.
        assert raw[0].created_at == core[0].created_at == datetime(2026, 11, 30, 12, 0,
                                                                   tzinfo=UTC)
        assert raw[0].seq + 1 == core[0].seq
        found = run(sql.FIND_BY_URL, {"team_id": team.id, "url": "https://linkedin.com/in/raw"})
        assert [(e.id, e.reason) for e in found] == [("e-raw", "r")]
        db.session.rollback()


def test_errors_are_wrapped_as_core_wraps_them(app, team):
    with app.app_context():
        begin_write()
        run(INSERT, _row(team.id, "https://linkedin.com/in/twice", "e-1"))
        with pytest.raises(IntegrityError):  # the unique (team, url): a wrapped DBAPI error
            run(INSERT, _row(team.id, "https://linkedin.com/in/twice", "e-2"))
        db.session.rollback()
        assert run(sql.FIND_BY_URL, {"team_id": team.id,
                                      "url": "https://linkedin.com/in/twice"}) == []
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
            assert run(insert(sql.ENTRIES), [
                _row(team.id, f"https://linkedin.com/in/many-{n}", f"e-m{n}")
                for n in range(3)]) == []
            db.session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", before)
        assert ("INSERT", True) in seen
        rows = run(sql.SELECT_ENTRY.where(sql.ENTRIES.c.team_id == team.id)
                   .order_by(sql.ENTRIES.c.seq), {})
        assert [r.url for r in rows] == [f"https://linkedin.com/in/many-{n}" for n in range(3)]
        db.session.rollback()
