"""trigram index for URL substring search (PostgreSQL only)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 09:00:00

Searching a list by part of a URL (`GET /v1/dnc?q=`, the team pages' search) is a
`url LIKE '%…%'`, which no B-tree index can serve: at a million entries every search
scanned the whole list (about 0.2-0.3 s). A pg_trgm GIN index answers selective
searches in milliseconds (measured at 1,000,000 entries, GET /v1/dnc?q=: no match
280 ms -> 5-7 ms, 1,000 matches 290 ms -> 40-50 ms; a text in most URLs still counts
every match, ~0.4 s). It costs writes a little: a batch of 1,000 new URLs took
p50 ~92 ms without it and ~105-120 ms with it (GIN `fastupdate` on, the default; off
was ~330 ms).

The index needs the pg_trgm extension. It is a "trusted" extension since PostgreSQL 13:
the owner of the database (or any role with CREATE on it) can create it, no superuser
needed. If it cannot be created, the migration says so and goes on without the index:
search still works, only slower. Create it later with `CREATE EXTENSION pg_trgm;` as a
privileged role and run this migration again (downgrade to 0001, upgrade).

SQLite: nothing to do (no trigram index; a search scans the team's rows: 0.5-0.9 s per page at
a million entries).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

INDEX = "ix_dnc_entry_url_trgm"


def _has_pg_trgm(bind) -> bool:
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        return True
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        print(f"WARNING: pg_trgm is not available ({exc.orig}); URL search will work "
              "without the trigram index (slower on large lists).")
        return False
    savepoint.commit()
    return True


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql" or not _has_pg_trgm(bind):
        return
    op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON dnc_entry USING gin (url gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    # The extension stays: other objects may use it.
    op.execute(f"DROP INDEX IF EXISTS {INDEX}")
