"""webhooks: endpoints, the outbox of events, the delivery log

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30 12:45:00

The outbox (`webhook_message`) is written in the transaction of each change, so a change
that committed is delivered even if the process dies right after; delivery loops claim
due rows (`status`, `next_attempt_at`) with a lease (`locked_until`).
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    # Read with each change's seq (changelog.record): no endpoint query for the teams
    # without webhooks. ADD COLUMN, not a batch: a rebuilt team table would cascade.
    op.add_column('team', sa.Column('has_webhooks', sa.Boolean(), nullable=False,
                                    server_default=sa.false()))
    op.create_table(
        'webhook_endpoint',
        sa.Column('id', sa.String(length=40), nullable=False),
        sa.Column('team_id', sa.String(length=40), nullable=False),
        sa.Column('url', sa.String(length=2048), nullable=False),
        sa.Column('events', sa.String(length=500), server_default='', nullable=False),
        sa.Column('description', sa.String(length=500), nullable=True),
        sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('previous_secret', sa.Text(), nullable=True),
        sa.Column('previous_secret_until', sa.DateTime(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('disabled_reason', sa.String(length=500), nullable=True),
        sa.Column('disabled_at', sa.DateTime(), nullable=True),
        sa.Column('failing_since', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_endpoint_team_id', 'webhook_endpoint', ['team_id'])
    op.create_table(
        'webhook_message',
        sa.Column('id', BigIntPK, autoincrement=True, nullable=False),
        sa.Column('msg_id', sa.String(length=40), nullable=False),
        sa.Column('endpoint_id', sa.String(length=40), nullable=False),
        sa.Column('event_type', sa.String(length=40), nullable=False),
        sa.Column('payload', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('msg_id'),
    )
    op.create_index('ix_webhook_message_due', 'webhook_message', ['status', 'next_attempt_at'])
    op.create_index('ix_webhook_message_endpoint_id', 'webhook_message', ['endpoint_id'])
    op.create_table(
        'webhook_attempt',
        sa.Column('id', BigIntPK, autoincrement=True, nullable=False),
        sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  nullable=False),
        sa.Column('endpoint_id', sa.String(length=40), nullable=False),
        sa.Column('attempted_at', sa.DateTime(), nullable=False),
        sa.Column('status_code', sa.Integer(), nullable=True),
        sa.Column('duration_ms', sa.Integer(), nullable=False),
        sa.Column('error', sa.String(length=100), nullable=True),
        sa.Column('response_excerpt', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoint.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['message_id'], ['webhook_message.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_webhook_attempt_endpoint', 'webhook_attempt', ['endpoint_id', 'id'])
    op.create_index('ix_webhook_attempt_message_id', 'webhook_attempt', ['message_id'])


def downgrade():
    op.drop_table('webhook_attempt')
    op.drop_table('webhook_message')
    op.drop_table('webhook_endpoint')
    op.drop_column('team', 'has_webhooks')  # ALTER TABLE … DROP COLUMN (SQLite 3.35+)
