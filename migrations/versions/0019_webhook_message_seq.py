"""webhook_message.seq: the team's change number of the event

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07 05:00:00

Every event carries the `seq` of the change it announces (the changes feed's number), so
a receiver can line events up with the feed and see a gap. The delivery loop attempts an
endpoint's events in this order. NULL for a test event and for events written before this
migration. Nullable column without default: no table rebuild on either database.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('webhook_message', sa.Column('seq', sa.BigInteger(), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_message', schema=None) as batch_op:
        batch_op.drop_column('seq')
