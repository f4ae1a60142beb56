"""url_sha256: the digest of each entry's URL, for screening by SHA-256

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 12:40:00

POST /v1/dnc/screen accepts hex SHA-256 digests of normalized URLs, so a connector can
screen a prospect list without sending it. The column holds that digest of `url` (UTF-8)
and is indexed per team. Existing rows are backfilled: on PostgreSQL in one UPDATE
(pgcrypto is not needed: sha256() is built in since PostgreSQL 11); on SQLite, which has
no SHA-256 function, in Python in batches of rows keyed by `seq`.
"""
import hashlib

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_BATCH = 5000


def _backfill_in_python(bind):
    entries = sa.table('dnc_entry', sa.column('seq', sa.BigInteger()),
                       sa.column('url', sa.String()), sa.column('url_sha256', sa.String()))
    update = (sa.update(entries).where(entries.c.seq == sa.bindparam('row_seq'))
              .values(url_sha256=sa.bindparam('digest')))
    last = None
    while True:
        query = sa.select(entries.c.seq, entries.c.url).order_by(entries.c.seq).limit(_BATCH)
        if last is not None:
            query = query.where(entries.c.seq > last)
        rows = bind.execute(query).all()
        if not rows:
            return
        bind.execute(update, [
            {'row_seq': seq, 'digest': hashlib.sha256(url.encode('utf-8')).hexdigest()}
            for seq, url in rows])
        last = rows[-1][0]


def upgrade():
    op.add_column('dnc_entry', sa.Column('url_sha256', sa.String(length=64), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute("UPDATE dnc_entry SET url_sha256 = "
                   "encode(sha256(convert_to(url, 'UTF8')), 'hex')")
    else:
        _backfill_in_python(bind)
    op.create_index('ix_dnc_entry_team_sha256', 'dnc_entry', ['team_id', 'url_sha256'],
                    unique=False)


def downgrade():
    op.drop_index('ix_dnc_entry_team_sha256', table_name='dnc_entry')
    with op.batch_alter_table('dnc_entry', schema=None) as batch_op:
        batch_op.drop_column('url_sha256')
