"""change log: one operation id for the changes of one call, and a URL index

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 13:00:00

- `audit_event.operation`: the `seq` of the first change of a multi-change call of the
  writer (a bulk add of 500 profiles is 500 rows with one operation), NULL for a single
  change. The audit page shows an operation as one event with its count, read on the
  partial index (team_id, operation) that holds only such rows.
- `ix_audit_event_team_url` (team_id, url): the check page reads the history of one
  profile (added, removed, by whom) without scanning the team's log.

Nullable column without default: no table rebuild on either database.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('audit_event', sa.Column('operation', sa.BigInteger(), nullable=True))
    op.create_index('ix_audit_event_team_url', 'audit_event', ['team_id', 'url'], unique=False)
    op.create_index('ix_audit_event_team_operation', 'audit_event', ['team_id', 'operation'],
                    unique=False, postgresql_where=sa.text('operation IS NOT NULL'),
                    sqlite_where=sa.text('operation IS NOT NULL'))


def downgrade():
    op.drop_index('ix_audit_event_team_operation', table_name='audit_event')
    op.drop_index('ix_audit_event_team_url', table_name='audit_event')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_column('operation')
