"""one change log: subject type and id, a per-team sequence number

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 09:00:00

audit_event becomes the change log (dnc_app.domain.changelog):
- `entry_id` held entry ids for list changes and key ids for key events: it is now
  `subject_id`, with `subject_type` saying which ("entry", "api_key", "team", "member"),
  and `subject_label` for how people recognise a subject that is not an entry (a key's
  prefix, filled in here from api_key for the existing key events);
- `seq` numbers each team's changes in commit order (existing rows: in id order, which
  was their commit order within a team, since every write held the team's lock), unique
  with team_id; this index replaces (team_id, id);
- `team.change_seq` is the counter `seq` is taken from.

SQLite runs the audit_event changes in batch mode (the table is copied: nothing references
it); `team` is altered in place on both. PostgreSQL alters in place. Both number the existing rows with one window-function UPDATE.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    # Never in batch mode: copying `team` on SQLite would drop the old table, and with
    # foreign keys on that deletes every row that references a team (ON DELETE CASCADE).
    op.add_column('team', sa.Column('change_seq', sa.BigInteger(), server_default='0',
                                    nullable=False))
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('entry_id', new_column_name='subject_id',
                              existing_type=sa.String(length=40), existing_nullable=True)
        batch_op.add_column(sa.Column('seq', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('subject_type', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('subject_label', sa.String(length=255), nullable=True))

    op.execute("""
        UPDATE audit_event SET seq = numbered.n
        FROM (SELECT id, row_number() OVER (PARTITION BY team_id ORDER BY id) AS n
              FROM audit_event) AS numbered
        WHERE audit_event.id = numbered.id
    """)
    op.execute("""
        UPDATE audit_event SET subject_type = CASE
            WHEN action IN ('key_create', 'key_revoke') THEN 'api_key' ELSE 'entry' END
    """)
    op.execute("""
        UPDATE audit_event SET subject_label = (
            SELECT api_key.prefix FROM api_key WHERE api_key.id = audit_event.subject_id)
        WHERE subject_type = 'api_key'
    """)
    op.execute("""
        UPDATE team SET change_seq = COALESCE(
            (SELECT MAX(seq) FROM audit_event WHERE audit_event.team_id = team.id), 0)
    """)

    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column('subject_type', existing_type=sa.String(length=20),
                              nullable=False)
        batch_op.drop_index('ix_audit_event_team_id_id')
        batch_op.create_index('uq_audit_event_team_seq', ['team_id', 'seq'], unique=True)


def downgrade():
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('uq_audit_event_team_seq')
        batch_op.create_index('ix_audit_event_team_id_id', ['team_id', 'id'], unique=False)
        batch_op.drop_column('subject_label')
        batch_op.drop_column('subject_type')
        batch_op.drop_column('seq')
        batch_op.alter_column('subject_id', new_column_name='entry_id',
                              existing_type=sa.String(length=40), existing_nullable=True)
    op.drop_column('team', 'change_seq')  # ALTER TABLE … DROP COLUMN (SQLite 3.35+), see above
