"""team branding: a public page's accent colour and logo

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 15:00:00

- `team_branding`: at most one row per team (created on the first change of its look),
  with the accent colour (`#rrggbb`, NULL: the default), the logo's bytes (at most
  256 KiB; bytea / BLOB), its type, size and pixel size, and a version raised by every
  change (in the cacheable URLs of the logo and the theme stylesheet).

A new table: no rebuild of an existing one on either database.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'team_branding',
        sa.Column('team_id', sa.String(length=40), nullable=False),
        sa.Column('accent_color', sa.String(length=7), nullable=True),
        sa.Column('logo', sa.LargeBinary(), nullable=True),
        sa.Column('logo_type', sa.String(length=20), nullable=True),
        sa.Column('logo_size', sa.Integer(), nullable=True),
        sa.Column('logo_width', sa.Integer(), nullable=True),
        sa.Column('logo_height', sa.Integer(), nullable=True),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['team.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id'),
    )


def downgrade():
    op.drop_table('team_branding')
