"""entries flagged for review (public opt-outs above a team's threshold)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 12:00:00

A public opt-out that arrives while a team's public form takes more than
OPTOUT_TEAM_REVIEW_THRESHOLD submissions is listed like any other and flagged, so the
team can look at a flood. A partial index keeps the flagged entries of a team (few)
apart from its list (up to a million): counting them for the list page's notice and
listing them costs no scan.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    # No table rebuild on SQLite: ADD COLUMN with a constant default is enough.
    op.add_column('dnc_entry', sa.Column('needs_review', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    op.create_index('ix_dnc_entry_team_review', 'dnc_entry', ['team_id', 'seq'],
                    unique=False, postgresql_where=sa.text('needs_review'),
                    sqlite_where=sa.text('needs_review'))


def downgrade():
    op.drop_index('ix_dnc_entry_team_review', table_name='dnc_entry')
    with op.batch_alter_table('dnc_entry', schema=None) as batch_op:
        batch_op.drop_column('needs_review')
