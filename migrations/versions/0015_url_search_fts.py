"""trigram full-text index for URL substring search (SQLite only)

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 15:00:00

A search of the list (`url LIKE '%…%'`) scanned the team's rows on SQLite: 285-320 ms per
page at a million entries when the matches are few or none. An FTS5 table with the
trigram tokenizer finds the rows that contain every trigram of the term; the search
re-checks them with the same LIKE, so results are exactly what they were
(dnc_app/domain/entries/listing.py). External content (the URLs are not stored twice), no
positions (`detail=none`: a third of the size; the LIKE re-check replaces the phrase
check) and no column sizes (no ranking is done).

Kept in sync by triggers, in the transaction of every insert, delete or URL change,
whatever writes the row (the entry service, bulk imports, a team's cascade delete).
Existing rows are indexed in batches of 10,000, then merged into one segment.

The trigram tokenizer needs SQLite 3.34+ built with FTS5. Without it the migration says
so and goes on without the index: search still works (the application finds no index
and scans), only slower. Upgrade SQLite, downgrade one revision and upgrade again to add it.

Like 0013's triggers, these are dropped by SQLite's batch mode (a table rebuild of
`dnc_entry`): such a migration must create them again (TRIGGERS below).

PostgreSQL: nothing to do (the pg_trgm GIN index of migration 0002 serves searches).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

FTS = "dnc_entry_fts"
BATCH = 10_000
TRIGGERS = {
    f"{FTS}_insert": f"""AFTER INSERT ON dnc_entry BEGIN
        INSERT INTO {FTS}(rowid, url) VALUES (new.seq, new.url); END""",
    f"{FTS}_delete": f"""AFTER DELETE ON dnc_entry BEGIN
        INSERT INTO {FTS}({FTS}, rowid, url) VALUES ('delete', old.seq, old.url); END""",
    f"{FTS}_update": f"""AFTER UPDATE OF url ON dnc_entry BEGIN
        INSERT INTO {FTS}({FTS}, rowid, url) VALUES ('delete', old.seq, old.url);
        INSERT INTO {FTS}(rowid, url) VALUES (new.seq, new.url); END""",
}


def _has_trigram_fts(bind) -> bool:
    try:
        bind.execute(sa.text("CREATE VIRTUAL TABLE temp.fts_probe USING fts5(x, tokenize='trigram')"))
        bind.execute(sa.text("DROP TABLE temp.fts_probe"))
    except sa.exc.OperationalError as exc:
        version = bind.execute(sa.text("SELECT sqlite_version()")).scalar()
        print(f"WARNING: SQLite {version} has no FTS5 trigram tokenizer ({exc.orig}; "
              "SQLite 3.34+ with FTS5 is needed); URL search will work without the index "
              "(slower on large lists).")
        return False
    return True


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "sqlite" or not _has_trigram_fts(bind):
        return
    op.execute(f"CREATE VIRTUAL TABLE {FTS} USING fts5(url, content='dnc_entry', "
               "content_rowid='seq', tokenize='trigram', detail='none', columnsize=0)")
    # The rows stored before the triggers exist are indexed below, the later ones by them.
    last = bind.execute(sa.text("SELECT max(seq) FROM dnc_entry")).scalar() or 0
    for name, body in TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    done = 0
    while done < last:
        upto = bind.execute(sa.text(
            "SELECT max(seq) FROM (SELECT seq FROM dnc_entry WHERE seq > :done AND seq <= :last "
            "ORDER BY seq LIMIT :batch)"), {"done": done, "last": last, "batch": BATCH}).scalar()
        if upto is None:
            break
        bind.execute(sa.text(f"INSERT INTO {FTS}(rowid, url) SELECT seq, url FROM dnc_entry "
                             "WHERE seq > :done AND seq <= :upto"), {"done": done, "upto": upto})
        done = upto
    # One segment instead of one per batch: a search probes every segment for every trigram
    # (10x faster at a million entries, ~4 s to merge them). Later writes merge as they go.
    op.execute(f"INSERT INTO {FTS}({FTS}) VALUES ('optimize')")


def downgrade():
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute(f"DROP TABLE IF EXISTS {FTS}")
