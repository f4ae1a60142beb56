"""pending bulk uploads tracked on the server

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 10:00:00

"One pending upload per session" relied on the signed session cookie, so replaying an
old cookie staged file after file. A row per member now names the member's one pending
upload (a new one replaces it), with its size for the per-team cap of staged bytes and
its creation time for the sweep of expired ones.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('pending_upload',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('team_id', sa.String(length=40), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['team.id'], name=op.f('fk_pending_upload_team_id_team'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_pending_upload_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_pending_upload')),
    sa.UniqueConstraint('token', name=op.f('uq_pending_upload_token'))
    )
    with op.batch_alter_table('pending_upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_upload_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pending_upload_team_id'), ['team_id'], unique=False)


def downgrade():
    with op.batch_alter_table('pending_upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_upload_team_id'))
        batch_op.drop_index(batch_op.f('ix_pending_upload_created_at'))

    op.drop_table('pending_upload')
