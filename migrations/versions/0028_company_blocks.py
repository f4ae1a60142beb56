"""company blocks: a team blocks whole companies by their LinkedIn page

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07 09:00:00

One row per blocked company page of a team (`https://linkedin.com/company/<slug>`),
unique per team; screening looks prospects' companies up on that unique index. `until`
is the block's last day (NULL: no end), compared when screening.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'company_block',
        sa.Column('id', sa.String(40), primary_key=True),
        sa.Column('team_id', sa.String(40), sa.ForeignKey('team.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('url', sa.String(255), nullable=False),
        sa.Column('url_sha256', sa.String(64), nullable=False),
        sa.Column('name', sa.String(200), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('until', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by', sa.String(255), nullable=True),
        sa.UniqueConstraint('team_id', 'url', name='uq_company_block_team_url'),
    )
    op.create_index('ix_company_block_team_created', 'company_block',
                    ['team_id', 'created_at'])


def downgrade():
    op.drop_index('ix_company_block_team_created', table_name='company_block')
    op.drop_table('company_block')
