"""member roles, invitations, API keys that may remove opt-outs

Revision ID: 0011
Revises: 0008
Create Date: 2026-11-30 12:45:00

Roles: every member who exists already becomes an `owner`. A team with one member makes
it its owner (the first member of a team is its owner); a team with several keeps the
powers they all had until now (each could manage keys and settings): all owners. Owners
then lower the roles they want lowered on the members page.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # No table rebuild on SQLite: ADD COLUMN with a constant default is enough.
    op.add_column('user_account', sa.Column('role', sa.String(length=10), nullable=False,
                                            server_default='member'))
    op.execute("UPDATE user_account SET role = 'owner'")
    op.add_column('api_key', sa.Column('can_remove_optouts', sa.Boolean(), nullable=False,
                                       server_default=sa.false()))
    op.create_table(
        'member_invite',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('team_id', sa.String(length=40), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_member_invite_team_id', 'member_invite', ['team_id'], unique=False)


def downgrade():
    op.drop_index('ix_member_invite_team_id', table_name='member_invite')
    op.drop_table('member_invite')
    with op.batch_alter_table('api_key', schema=None) as batch_op:
        batch_op.drop_column('can_remove_optouts')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('role')
