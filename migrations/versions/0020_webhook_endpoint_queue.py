"""webhook_message: an endpoint's queue in order (endpoint, status, attempts, id)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07 05:30:00

The delivery loop claims per endpoint: the head of its stream of new events (pending,
no attempt yet, lowest id), a batch of the stream in order, its due retries, and its
events in flight. Each is a range of this index instead of a scan of the endpoint's
whole outbox.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_webhook_message_endpoint_queue', 'webhook_message',
                    ['endpoint_id', 'status', 'attempts', 'id'])


def downgrade():
    op.drop_index('ix_webhook_message_endpoint_queue', table_name='webhook_message')
