"""dnc_entry.protected: a person's own opt-out, whatever added the entry; team.optout_language

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07 05:00:00

`protected` is set when the public form or a personal link names a profile, also one that
was already listed (added by the API, the pages, a bulk import): from then on only an
owner, or a key an owner allowed, removes it. It is a column rather than derived from the
audit trail so that every read of an entry (the API's check is the hot path) has it
without a join. Existing rows are backfilled from what the trail already proves: entries
from the public form, and entries the person asked for again on the public form (their
`add_duplicate` records).

`team.optout_language`: the public page's language when the team fixed one; NULL keeps
the installation's OPTOUT_LANGUAGE.

Both columns are added in place (a constant default or none: no table rebuild).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('dnc_entry', sa.Column('protected', sa.Boolean(), nullable=False,
                                         server_default=sa.false()))
    op.add_column('team', sa.Column('optout_language', sa.String(length=10), nullable=True))
    op.execute("""
        UPDATE dnc_entry SET protected = true
        WHERE source = 'public_form'
           OR id IN (SELECT subject_id FROM audit_event
                     WHERE action = 'add_duplicate' AND source = 'public_form'
                       AND subject_type = 'entry' AND subject_id IS NOT NULL)
    """)


def downgrade():
    # DROP COLUMN in place on both (SQLite 3.35+): a rebuild would drop dnc_entry's triggers.
    op.execute("ALTER TABLE team DROP COLUMN optout_language")
    op.execute("ALTER TABLE dnc_entry DROP COLUMN protected")
