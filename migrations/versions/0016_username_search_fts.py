"""trigram index of the usernames only, padded, so that 1-2 character terms use it (SQLite only)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30 18:30:00

0015 indexed whole URLs: every row carried the 22 trigrams of `https://linkedin.com/in/`,
which cost every insert and answer no search (raw SQLite, bulk: ≈ 28 µs per row with
0015's index, ≈ 19 µs with this one), and a term of 1 or 2 characters had no trigram, so it
scanned the team (≈ 0.33 s at a million entries when nothing matched; now ≈ 1 ms).

Every stored URL is `https://linkedin.com/in/<username>` and no username holds `$`
(normalize.py). This table holds `<username>$$` and nothing else:
- contentless (`content=''`): only the index is stored, not the text;
- trigram tokenizer, `case_sensitive 1`: the URLs are stored lower case and the search
  lowers its term, so no folding is needed (nor wanted: the index matches what LIKE does);
- `detail='none'`, `columnsize=0`: no positions, no sizes (the LIKE re-check decides).
The `$$` padding gives each position of the username a trigram starting there, so a term
of 1-2 characters finds its rows through the terms that start with it, listed by the
fts5vocab table `dnc_entry_fts_username_terms` (dnc_app/storage/search.py maps a term to this).

Kept by triggers, in the transaction of every insert, delete or URL change, whatever
writes the row. A contentless table forgets the text: a delete names the same text again
(FTS5's 'delete' command). Existing rows are indexed in batches of 10,000, then merged
into one segment.

The trigram tokenizer needs SQLite 3.34+ built with FTS5. Without it the migration says
so and goes on without the index (search scans: slower, same results); 0015's objects
are dropped either way.

Like 0013's and 0015's, these triggers are dropped by SQLite's batch mode (a table
rebuild of `dnc_entry`): such a migration must create them again (TRIGGERS below).

PostgreSQL: nothing to do (the pg_trgm GIN index of migration 0002 serves searches).
Downgrade: 0015's whole-URL index, rebuilt from the entries.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

FTS = "dnc_entry_fts_username"
TERMS = "dnc_entry_fts_username_terms"
BATCH = 10_000
# What is indexed for a row: the username (after the 24 characters of
# `https://linkedin.com/in/`) and the padding.
INDEXED = "substr({row}.url, 25) || '$$'"
TRIGGERS = {
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

# 0015's index of whole URLs (external content), for the downgrade: copied, not imported,
# so that this migration stays what it is whatever later becomes of 0015's file.
OLD_FTS = "dnc_entry_fts"
OLD_TRIGGERS = {
    f"{OLD_FTS}_insert": f"""AFTER INSERT ON dnc_entry BEGIN
        INSERT INTO {OLD_FTS}(rowid, url) VALUES (new.seq, new.url); END""",
    f"{OLD_FTS}_delete": f"""AFTER DELETE ON dnc_entry BEGIN
        INSERT INTO {OLD_FTS}({OLD_FTS}, rowid, url) VALUES ('delete', old.seq, old.url); END""",
    f"{OLD_FTS}_update": f"""AFTER UPDATE OF url ON dnc_entry BEGIN
        INSERT INTO {OLD_FTS}({OLD_FTS}, rowid, url) VALUES ('delete', old.seq, old.url);
        INSERT INTO {OLD_FTS}(rowid, url) VALUES (new.seq, new.url); END""",
}


def _has_trigram_fts(bind) -> bool:
    try:
        bind.execute(sa.text("CREATE VIRTUAL TABLE temp.fts_probe USING fts5(x, content='', "
                             "tokenize='trigram case_sensitive 1', detail='none')"))
        bind.execute(sa.text("DROP TABLE temp.fts_probe"))
    except sa.exc.OperationalError as exc:
        version = bind.execute(sa.text("SELECT sqlite_version()")).scalar()
        print(f"WARNING: SQLite {version} has no FTS5 trigram tokenizer ({exc.orig}; "
              "SQLite 3.34+ with FTS5 is needed); URL search will work without the index "
              "(slower on large lists).")
        return False
    return True


def _drop(table: str, triggers) -> None:
    for name in triggers:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {table}")


def _create_triggers(triggers) -> None:
    for name, body in triggers.items():
        op.execute(f"CREATE TRIGGER {name} {body}")


def _backfill(bind, last: int) -> None:
    """Index the rows up to seq `last` (stored before the triggers), 10,000 at a time."""
    done = 0
    while done < last:
        upto = bind.execute(sa.text(
            "SELECT max(seq) FROM (SELECT seq FROM dnc_entry WHERE seq > :done AND seq <= :last "
            "ORDER BY seq LIMIT :batch)"), {"done": done, "last": last, "batch": BATCH}).scalar()
        if upto is None:
            break
        bind.execute(sa.text(f"INSERT INTO {FTS}(rowid, username) SELECT seq, "
                             f"{INDEXED.format(row='dnc_entry')} FROM dnc_entry "
                             "WHERE seq > :done AND seq <= :upto"), {"done": done, "upto": upto})
        done = upto


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    _drop(OLD_FTS, OLD_TRIGGERS)
    if not _has_trigram_fts(bind):
        return
    op.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5(username, content='', "
               "tokenize='trigram case_sensitive 1', detail='none', columnsize=0)")
    op.execute(f"CREATE VIRTUAL TABLE {TERMS} USING fts5vocab({FTS}, 'row')")
    # The rows stored before the triggers exist are indexed below, the later ones by them.
    last = bind.execute(sa.text("SELECT max(seq) FROM dnc_entry")).scalar() or 0
    _create_triggers(TRIGGERS)
    _backfill(bind, last)
    # One segment instead of one per batch: a search probes every segment for every trigram.
    op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('optimize')")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    op.execute(f"DROP TABLE IF EXISTS {TERMS}")
    _drop(FTS, TRIGGERS)
    if not _has_trigram_fts(bind):
        return
    op.execute(f"CREATE VIRTUAL TABLE {OLD_FTS} USING fts5(url, content='dnc_entry', "
               "content_rowid='seq', tokenize='trigram', detail='none', columnsize=0)")
    _create_triggers(OLD_TRIGGERS)
    # External content: FTS5 reads every row of dnc_entry again, then merges its segments.
    op.execute(f"INSERT INTO {OLD_FTS}({OLD_FTS}) VALUES ('rebuild')")
    op.execute(f"INSERT INTO {OLD_FTS}({OLD_FTS}) VALUES ('optimize')")
