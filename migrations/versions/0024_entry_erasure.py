"""erasure without forgetting: an entry may lose its URL and keep its digest

Revision ID: 0024
Revises: 0021
Create Date: 2026-12-07 06:00:00

An erased entry (a person's data erased on request, the person still suppressed) keeps
only the SHA-256 of its normalized URL and its dates:
- `dnc_entry.url` becomes nullable: NULL is an erased entry (its `updated_at` the time
  of the erasure). No new column: the code of every revision reads the same columns.
- The digest is what makes an entry unique in its team now: a unique index on
  (team_id, url_sha256) replaces 0008's plain one, and every insert's ON CONFLICT names
  it, so adding an erased person again is a duplicate. (team_id, url) stays unique for
  the entries that have their URL. Rows without a digest (none should be left by 0008)
  are given theirs first.
- Webhook endpoints that took every event type get `dnc.entry.erased` too: a receiver
  that mirrors the list must learn that it has to forget a person.

SQLite cannot drop a NOT NULL in place: the table is rebuilt (batch mode), which drops
its triggers (0013's counts, 0016/0017's search index) and may lose what a reflected
index cannot say (a partial index's WHERE). Both are saved from sqlite_master first and
created again exactly as they were.
"""
import hashlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0024'
down_revision = '0021'
branch_labels = None
depends_on = None

OLD_INDEX = 'ix_dnc_entry_team_sha256'
INDEX = 'uq_dnc_entry_team_sha256'
ERASED = 'dnc.entry.erased'
ALL_BEFORE = ('dnc.entry.added', 'dnc.entry.removed')
_BATCH = 5000


def _backfill_digests(bind) -> None:
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE dnc_entry SET url_sha256 = encode(sha256(convert_to(url, 'UTF8')), "
                   "'hex') WHERE url_sha256 IS NULL")
        return
    entries = sa.table('dnc_entry', sa.column('seq', sa.BigInteger()),
                       sa.column('url', sa.String()), sa.column('url_sha256', sa.String()))
    update = (sa.update(entries).where(entries.c.seq == sa.bindparam('row_seq'))
              .values(url_sha256=sa.bindparam('digest')))
    while True:
        rows = bind.execute(sa.select(entries.c.seq, entries.c.url)
                            .where(entries.c.url_sha256.is_(None)).limit(_BATCH)).all()
        if not rows:
            return
        bind.execute(update, [{'row_seq': seq,
                               'digest': hashlib.sha256(url.encode('utf-8')).hexdigest()}
                              for seq, url in rows])


def _saved_sqlite_objects(bind) -> list[tuple[str, str, str]]:
    """(type, name, sql) of dnc_entry's own indexes and triggers (not the automatic ones)."""
    return [tuple(row) for row in bind.execute(sa.text(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'dnc_entry' "
        "AND type IN ('index', 'trigger') AND sql IS NOT NULL"))]


def _restore_sqlite_objects(bind, saved, skip: set[str]) -> None:
    for kind, name, sql in saved:
        if name in skip:
            continue
        op.execute(f'DROP {kind.upper()} IF EXISTS "{name}"')
        op.execute(sql)


def _subscribe_all_to_erased(bind) -> None:
    endpoints = sa.table('webhook_endpoint', sa.column('id', sa.String()),
                         sa.column('events', sa.String()))
    for endpoint_id, events in bind.execute(sa.select(endpoints.c.id, endpoints.c.events)).all():
        kinds = (events or '').split()
        if all(kind in kinds for kind in ALL_BEFORE) and ERASED not in kinds:
            bind.execute(sa.update(endpoints).where(endpoints.c.id == endpoint_id)
                         .values(events=' '.join([*kinds, ERASED])))


def upgrade():
    bind = op.get_bind()
    _backfill_digests(bind)
    if bind.dialect.name == 'sqlite':
        saved = _saved_sqlite_objects(bind)
        with op.batch_alter_table('dnc_entry', recreate='always') as batch:
            batch.alter_column('url', existing_type=sa.String(255), nullable=True)
        _restore_sqlite_objects(bind, saved, skip={OLD_INDEX})
        op.execute(f'DROP INDEX IF EXISTS {OLD_INDEX}')
    else:
        op.alter_column('dnc_entry', 'url', existing_type=sa.String(255), nullable=True)
        op.drop_index(OLD_INDEX, table_name='dnc_entry')
    op.create_index(INDEX, 'dnc_entry', ['team_id', 'url_sha256'], unique=True)
    _subscribe_all_to_erased(bind)


def downgrade():
    bind = op.get_bind()
    # An erased entry has no URL to go back to: it cannot exist in the older schema.
    op.execute('DELETE FROM dnc_entry WHERE url IS NULL')
    op.drop_index(INDEX, table_name='dnc_entry')
    endpoints = sa.table('webhook_endpoint', sa.column('id', sa.String()),
                         sa.column('events', sa.String()))
    for endpoint_id, events in bind.execute(sa.select(endpoints.c.id, endpoints.c.events)).all():
        kinds = [kind for kind in (events or '').split() if kind != ERASED]
        bind.execute(sa.update(endpoints).where(endpoints.c.id == endpoint_id)
                     .values(events=' '.join(kinds)))
    if bind.dialect.name == 'sqlite':
        saved = _saved_sqlite_objects(bind)
        with op.batch_alter_table('dnc_entry', recreate='always') as batch:
            batch.alter_column('url', existing_type=sa.String(255), nullable=False)
        _restore_sqlite_objects(bind, saved, skip=set())
    else:
        op.alter_column('dnc_entry', 'url', existing_type=sa.String(255), nullable=False)
    op.create_index(OLD_INDEX, 'dnc_entry', ['team_id', 'url_sha256'], unique=False)
