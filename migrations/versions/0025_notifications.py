"""Team notifications: their outbox (events, messages), switches, chat URL, password resets

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07 06:00:00

Public opt-outs and disabled endpoints write a notification_event in their own
transaction; the delivery loop turns them into notification_message rows (emails, chat
posts) and sends those with retries. Password reset links keep only a token hash.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

BigIntPK = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    # ADD COLUMN, not a batch: a rebuilt team or user_account table would cascade.
    op.add_column('team', sa.Column('chat_webhook_url', sa.Text(), nullable=True))
    op.add_column('team', sa.Column('optouts_notified_at', sa.DateTime(), nullable=True))
    op.add_column('user_account', sa.Column('notify_optouts', sa.Boolean(), nullable=True))
    op.add_column('user_account', sa.Column('notify_endpoints', sa.Boolean(), nullable=True))
    op.create_table(
        'notification_event',
        sa.Column('id', BigIntPK, primary_key=True, autoincrement=True),
        sa.Column('team_id', sa.String(40), sa.ForeignKey('team.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=True),
        sa.Column('endpoint_id', sa.String(40), nullable=True),
        sa.Column('detail', sa.String(500), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('digested_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_notification_event_waiting', 'notification_event',
                    ['digested_at', 'team_id'])
    op.create_table(
        'notification_message',
        sa.Column('id', BigIntPK, primary_key=True, autoincrement=True),
        sa.Column('team_id', sa.String(40), sa.ForeignKey('team.id', ondelete='CASCADE'),
                  nullable=True),
        sa.Column('channel', sa.String(10), nullable=False),
        sa.Column('kind', sa.String(20), nullable=False),
        sa.Column('recipient', sa.String(254), nullable=True),
        sa.Column('subject', sa.String(200), nullable=True),
        sa.Column('body', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
        sa.Column('locked_until', sa.DateTime(), nullable=True),
        sa.Column('last_error', sa.String(100), nullable=True),
        sa.Column('sent_at', sa.DateTime(), nullable=True),
        sa.Column('expires_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_notification_message_due', 'notification_message',
                    ['status', 'next_attempt_at'])
    op.create_index('ix_notification_message_team_id', 'notification_message', ['team_id'])
    op.create_table(
        'password_reset',
        sa.Column('token_hash', sa.String(64), primary_key=True),
        sa.Column('user_id', sa.Integer(),
                  sa.ForeignKey('user_account.id', ondelete='CASCADE'), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_password_reset_user_id', 'password_reset', ['user_id'])


def downgrade():
    op.drop_table('password_reset')
    op.drop_table('notification_message')
    op.drop_table('notification_event')
    # ALTER TABLE … DROP COLUMN (SQLite 3.35+): no rebuilt table, nothing cascades.
    for table, column in (('user_account', 'notify_endpoints'),
                          ('user_account', 'notify_optouts'),
                          ('team', 'optouts_notified_at'), ('team', 'chat_webhook_url')):
        op.drop_column(table, column)
