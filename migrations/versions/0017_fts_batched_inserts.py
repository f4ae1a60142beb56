"""the trigram index takes new entries in batches (SQLite only)

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-30 19:00:00

With 0016's triggers every insert wrote the FTS5 index in its own transaction: a new
index segment per add, then merges. That was about a fifth of the CPU of a single add
(≈ 120 µs of ≈ 590 µs in-process). Now the index holds the entries up to a position
(`dnc_entry_fts_state.indexed_upto`, a `seq`), and an insert that takes the entries past
it by LAG indexes all of them at once (one segment per LAG adds). Searches read the
entries past that position by a scan of the team's newest rows (at most LAG rows, all
teams together), so their results do not change (dnc_app/domain/entries/listing.py).

The invariant the triggers keep, in the transaction of every write: an entry is in the
index exactly when its seq <= indexed_upto.
- An insert at or below the position (SQLite reuses the seq of a deleted newest row) is
  indexed at once.
- An insert LAG or more past the position indexes every entry between the two and moves
  the position to it (rows of a multi-row INSERT fire one by one, in seq order).
- A delete or a URL change of an indexed entry updates the index; others need nothing.

Like 0013's, 0015's and 0016's, these triggers are dropped by SQLite's batch mode (a table
rebuild of `dnc_entry`): such a migration must create them again (TRIGGERS below).

PostgreSQL: nothing to do (its GIN index already defers new entries in its pending list).
Downgrade: 0016's per-row triggers, after indexing the entries past the position.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

FTS = "dnc_entry_fts_username"
STATE = "dnc_entry_fts_state"
# How far the index may lag behind the newest entry (in seq): one index write per LAG adds.
LAG = 1000
INDEXED = "substr({row}.url, 25) || '$$'"
UPTO = f"(SELECT indexed_upto FROM {STATE})"
TRIGGERS = {
    f"{FTS}_insert_reused": f"""AFTER INSERT ON dnc_entry WHEN new.seq <= {UPTO} BEGIN
        INSERT INTO {FTS}(rowid, username) VALUES (new.seq, {INDEXED.format(row='new')}); END""",
    f"{FTS}_insert_batch": f"""AFTER INSERT ON dnc_entry WHEN new.seq >= {UPTO} + {LAG} BEGIN
        INSERT INTO {FTS}(rowid, username)
        SELECT seq, {INDEXED.format(row='dnc_entry')} FROM dnc_entry
        WHERE seq > {UPTO} AND seq <= new.seq;
        UPDATE {STATE} SET indexed_upto = new.seq; END""",
    f"{FTS}_delete": f"""AFTER DELETE ON dnc_entry WHEN old.seq <= {UPTO} BEGIN
        INSERT INTO {FTS}({FTS}, rowid, username)
        VALUES ('delete', old.seq, {INDEXED.format(row='old')}); END""",
    f"{FTS}_update": f"""AFTER UPDATE OF url ON dnc_entry WHEN old.seq <= {UPTO} BEGIN
        INSERT INTO {FTS}({FTS}, rowid, username)
        VALUES ('delete', old.seq, {INDEXED.format(row='old')});
        INSERT INTO {FTS}(rowid, username) VALUES (new.seq, {INDEXED.format(row='new')}); END""",
}
# 0016's triggers (one index write per row), for the downgrade: copied, not imported, so that
# this migration stays what it is whatever later becomes of 0016's file.
ROW_TRIGGERS = {
    f"{FTS}_insert": f"""AFTER INSERT ON dnc_entry BEGIN
        INSERT INTO {FTS}(rowid, username) VALUES (new.seq, {INDEXED.format(row='new')}); END""",
    f"{FTS}_delete": f"""AFTER DELETE ON dnc_entry BEGIN
        INSERT INTO {FTS}({FTS}, rowid, username)
        VALUES ('delete', old.seq, {INDEXED.format(row='old')}); END""",
    f"{FTS}_update": f"""AFTER UPDATE OF url ON dnc_entry BEGIN
        INSERT INTO {FTS}({FTS}, rowid, username)
        VALUES ('delete', old.seq, {INDEXED.format(row='old')});
        INSERT INTO {FTS}(rowid, username) VALUES (new.seq, {INDEXED.format(row='new')}); END""",
}


def _has_index(bind) -> bool:
    return bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
                        {"n": FTS}).first() is not None


def _replace_triggers(old, new) -> None:
    for name in old:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for name, body in new.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not _has_index(bind):
        return
    # Every entry is indexed now (0016's triggers): the position is the newest one.
    op.execute(f"CREATE TABLE {STATE} (id INTEGER PRIMARY KEY CHECK (id = 1), "
               "indexed_upto INTEGER NOT NULL)")
    op.execute(f"INSERT INTO {STATE} (id, indexed_upto) "
               "SELECT 1, coalesce(max(seq), 0) FROM dnc_entry")
    _replace_triggers(ROW_TRIGGERS, TRIGGERS)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not _has_index(bind):
        return
    op.execute(f"INSERT INTO {FTS}(rowid, username) SELECT seq, {INDEXED.format(row='dnc_entry')} "
               f"FROM dnc_entry WHERE seq > {UPTO}")
    _replace_triggers(TRIGGERS, ROW_TRIGGERS)
    op.execute(f"DROP TABLE {STATE}")
