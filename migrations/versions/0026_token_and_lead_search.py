"""the username search indexes hold member tokens lowered and Sales Navigator leads

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07 06:00:00

A stored URL is now a profile, `https://linkedin.com/in/<username>`, whose username may be
a member token that keeps its case (`ACoAA…`), or a Sales Navigator lead,
`https://linkedin.com/sales/lead/<token>` (case kept). The indexes of migrations 0016-0018
held `substr(url, 25)`, the username of a profile: a lead would be indexed from the middle
of its path, and a token with its upper-case letters, which a search (it lowers its term)
would not find. They now hold a profile's username, or a lead's `sales/lead/<token>` (all
that follows `https://linkedin.com/`, so that a search for `sales/lead/ACw` or `lead`
finds leads through the index too), with its ASCII letters lowered (the normalizer lowers
every other letter of a username already).

Every URL stored before this revision is a lower-case profile URL, for which the new text
is the old one: the indexes stay valid without a rebuild (SQLite: the triggers change;
PostgreSQL: the key function's body). Rows whose text differs (written by an app of this revision, then downgraded) are
reindexed both ways.

SQLite's triggers are 0017's with the new text; like theirs, they are dropped by SQLite's
batch mode (a table rebuild of `dnc_entry`): such a migration must create them again
(TRIGGERS below).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

FTS = "dnc_entry_fts_username"
STATE = "dnc_entry_fts_state"
LAG = 1000  # 0017's
UPTO = f"(SELECT indexed_upto FROM {STATE})"
# Copied, not imported (dnc_app/storage/search.py SQLITE_INDEXED_TEXT is the same text).
INDEXED = ("lower(CASE WHEN substr({row}.url, 1, 24) = 'https://linkedin.com/in/' "
           "THEN substr({row}.url, 25) ELSE substr({row}.url, 22) END) || '$$'")
OLD_INDEXED = "substr({row}.url, 25) || '$$'"


def _triggers(indexed: str) -> dict[str, str]:
    return {
        f"{FTS}_insert_reused": f"""AFTER INSERT ON dnc_entry WHEN new.seq <= {UPTO} BEGIN
            INSERT INTO {FTS}(rowid, username) VALUES (new.seq, {indexed.format(row='new')});
            END""",
        f"{FTS}_insert_batch": f"""AFTER INSERT ON dnc_entry WHEN new.seq >= {UPTO} + {LAG}
            BEGIN
            INSERT INTO {FTS}(rowid, username)
            SELECT seq, {indexed.format(row='dnc_entry')} FROM dnc_entry
            WHERE seq > {UPTO} AND seq <= new.seq;
            UPDATE {STATE} SET indexed_upto = new.seq; END""",
        f"{FTS}_delete": f"""AFTER DELETE ON dnc_entry WHEN old.seq <= {UPTO} BEGIN
            INSERT INTO {FTS}({FTS}, rowid, username)
            VALUES ('delete', old.seq, {indexed.format(row='old')}); END""",
        f"{FTS}_update": f"""AFTER UPDATE OF url ON dnc_entry WHEN old.seq <= {UPTO} BEGIN
            INSERT INTO {FTS}({FTS}, rowid, username)
            VALUES ('delete', old.seq, {indexed.format(row='old')});
            INSERT INTO {FTS}(rowid, username) VALUES (new.seq, {indexed.format(row='new')});
            END""",
    }


TRIGGERS = _triggers(INDEXED)
OLD_TRIGGERS = _triggers(OLD_INDEXED)

KEYS_FUNCTION = """
CREATE OR REPLACE FUNCTION dnc_entry_search_keys(team text, seq bigint, url text)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT COST 10000 AS $$
DECLARE
  head text := team || ':' || (seq >> 15)::text || ':';
  username text := translate(
    CASE WHEN left(url, 24) = 'https://linkedin.com/in/' THEN substr(url, 25)
    ELSE substr(url, 22) END,
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz');
  n int := length(username);
  keys text[] := array_fill(NULL::text, ARRAY[3 * n]);
BEGIN
  -- Past the end, substr gives the shorter substrings: duplicates, which GIN keeps once.
  FOR i IN 1..n LOOP
    keys[3 * i - 2] := head || substr(username, i, 1);
    keys[3 * i - 1] := head || substr(username, i, 2);
    keys[3 * i] := head || substr(username, i, 3);
  END LOOP;
  RETURN keys;
END $$"""
OLD_KEYS_FUNCTION = """
CREATE OR REPLACE FUNCTION dnc_entry_search_keys(team text, seq bigint, url text)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT COST 10000 AS $$
DECLARE
  head text := team || ':' || (seq >> 15)::text || ':';
  username text := substr(url, 25);
  n int := length(username);
  keys text[] := array_fill(NULL::text, ARRAY[3 * n]);
BEGIN
  FOR i IN 1..n LOOP
    keys[3 * i - 2] := head || substr(username, i, 1);
    keys[3 * i - 1] := head || substr(username, i, 2);
    keys[3 * i] := head || substr(username, i, 3);
  END LOOP;
  RETURN keys;
END $$"""


def _has_index(bind) -> bool:
    return bind.execute(sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"),
                        {"n": FTS}).first() is not None


def _replace_triggers(new) -> None:
    for name, body in new.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute(f"CREATE TRIGGER {name} {body}")


def _reindex_changed(old: str, new: str) -> None:
    """SQLite: the indexed rows whose text differs, from `old` text to `new`."""
    changed = (f"FROM dnc_entry WHERE seq <= {UPTO} AND url IS NOT NULL AND "
               f"{old.format(row='dnc_entry')} != {new.format(row='dnc_entry')}")
    op.execute(f"INSERT INTO {FTS}({FTS}, rowid, username) "
               f"SELECT 'delete', seq, {old.format(row='dnc_entry')} {changed}")
    op.execute(f"INSERT INTO {FTS}(rowid, username) "
               f"SELECT seq, {new.format(row='dnc_entry')} {changed}")


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(KEYS_FUNCTION)
        # Rows whose keys change (only those an app of this revision wrote, then
        # downgraded): their index entries hold the old keys.
        if bind.execute(sa.text(
                "SELECT 1 FROM dnc_entry WHERE url !~ '^https://linkedin\\.com/in/[^A-Z]*$' "
                "LIMIT 1")).first() is not None:
            op.execute("REINDEX INDEX ix_dnc_entry_search")
    elif bind.dialect.name == "sqlite" and _has_index(bind):
        _reindex_changed(OLD_INDEXED, INDEXED)  # none, unless rows came from a newer app
        _replace_triggers(TRIGGERS)


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(OLD_KEYS_FUNCTION)
        op.execute("REINDEX INDEX ix_dnc_entry_search")
    elif bind.dialect.name == "sqlite" and _has_index(bind):
        _reindex_changed(INDEXED, OLD_INDEXED)
        _replace_triggers(OLD_TRIGGERS)
