"""SQLite: the entry service keeps the hour counts and the search index on removal, set-based

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07 09:00:00

SQLite has only row-level triggers, and a table with any DELETE trigger loses SQLite's
one-pass delete (each row is read whole for the trigger, whatever its WHEN says): firing
0013's count trigger and 0026's search-index trigger for each of 1,000 removed entries
cost more than the rest of the DELETE. Both delete triggers go; the entry service, the one writer
of entries, keeps the counts with one grouped UPDATE and the index with one INSERT …
SELECT of the rows it removes, in the same transaction, for one removal and for many
(dnc_app/domain/entries/statements.py delete_entries).

A team's removal (its entries go by the foreign key's cascade) takes its entries out of
the search index by a BEFORE DELETE trigger on `team`, in one statement; its hour counts
go by their own cascade. The insert and update triggers stay as they were.

Like 0013's and 0026's, the triggers of `dnc_entry` are dropped by SQLite's batch mode (a
table rebuild): such a migration must create them again.

PostgreSQL: nothing to do (0013's count trigger is a statement-level one; the GIN index
of 0018 drops dead rows at VACUUM).
Downgrade: 0013's and 0026's delete triggers again; the team trigger goes.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

FTS = "dnc_entry_fts_username"
STATE = "dnc_entry_fts_state"
UPTO = f"(SELECT indexed_upto FROM {STATE})"
# Copied, not imported (0013's, 0026's and dnc_app/storage/search.py SQLITE_INDEXED_TEXT).
HOUR = "(CAST(strftime('%s', {row}.created_at) AS INTEGER) / 3600)"
INDEXED = (
    "lower(CASE WHEN substr({row}.url, 1, 24) = 'https://linkedin.com/in/' "
    "THEN substr({row}.url, 25) ELSE substr({row}.url, 22) END) || '$$'"
)

COUNT_DELETE = "dnc_entry_count_delete"
FTS_DELETE = f"{FTS}_delete"
TEAM_DELETE = f"{FTS}_team_delete"

OLD_COUNT_DELETE = f"""AFTER DELETE ON dnc_entry BEGIN
          UPDATE entry_hour_count SET entries = entries - 1
          WHERE team_id = OLD.team_id AND hour = {HOUR.format(row="OLD")}
            AND source = OLD.source;
        END"""
OLD_FTS_DELETE = f"""AFTER DELETE ON dnc_entry WHEN old.seq <= {UPTO} BEGIN
            INSERT INTO {FTS}({FTS}, rowid, username)
            VALUES ('delete', old.seq, {INDEXED.format(row="old")}); END"""
TEAM_UNINDEX = f"""BEFORE DELETE ON team BEGIN
            INSERT INTO {FTS}({FTS}, rowid, username)
            SELECT 'delete', seq, {INDEXED.format(row="dnc_entry")} FROM dnc_entry
            WHERE team_id = old.id AND seq <= {UPTO}; END"""


def _has_index(bind) -> bool:
    return (
        bind.execute(
            sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": FTS}
        ).first()
        is not None
    )


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {COUNT_DELETE}")
    op.execute(f"DROP TRIGGER IF EXISTS {FTS_DELETE}")
    if _has_index(bind):  # else SQLite has no FTS5 trigram tokenizer: no index (0016)
        op.execute(f"CREATE TRIGGER {TEAM_DELETE} {TEAM_UNINDEX}")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    op.execute(f"DROP TRIGGER IF EXISTS {TEAM_DELETE}")
    op.execute(f"CREATE TRIGGER {COUNT_DELETE} {OLD_COUNT_DELETE}")
    if _has_index(bind):
        op.execute(f"CREATE TRIGGER {FTS_DELETE} {OLD_FTS_DELETE}")
