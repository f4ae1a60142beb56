"""aliases: every identifier of a person in one unique index

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 09:00:00

An entry is a person with more than one identifier: its URL, and up to ten aliases (the
member-token form of the profile, a Sales Navigator lead, …). Every identifier of a team
must name one person only, also under concurrency, so all of them are rows of one table
whose primary key is the unique index over them:
- `dnc_identifier(team_id, sha256, entry_seq, url, created_at)`, primary key
  (team_id, sha256): the digest of each normalized identifier. The entry's own URL has a
  row too (`url` NULL there: the entry holds it); an alias keeps its URL (NULL once
  erased). `entry_seq` references the entry, ON DELETE CASCADE: removing an entry removes
  its identifiers.
- `dnc_entry.aliases`: the alias URLs, one per line (NULL: none), read with the entry so
  that every read of an entry (the API's hot path too) has them without a join.

The entries' own rows are kept by triggers, so every insert on any path (one add, bulk
adds on either database) has its identifier in the same statement: a BEFORE INSERT
trigger skips a row whose digest is already an identifier of the team (as ON CONFLICT DO
NOTHING skips a listed URL: the service reads it as a duplicate), an AFTER INSERT trigger
adds the row's identifier (PostgreSQL: one statement-level insert from the transition
table). Existing entries are backfilled.

SQLite's batch mode (a rebuild of `dnc_entry`) drops these triggers like the others: such
a migration must create them again (TRIGGERS below).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None

TABLE = 'dnc_identifier'
SKIP = 'dnc_entry_identifier_taken'
ADD = 'dnc_entry_identifier_add'

SQLITE_TRIGGERS = {
    SKIP: f"""CREATE TRIGGER {SKIP} BEFORE INSERT ON dnc_entry
        WHEN EXISTS (SELECT 1 FROM {TABLE}
                     WHERE team_id = NEW.team_id AND sha256 = NEW.url_sha256)
        BEGIN SELECT RAISE(IGNORE); END""",
    ADD: f"""CREATE TRIGGER {ADD} AFTER INSERT ON dnc_entry BEGIN
        INSERT INTO {TABLE} (team_id, sha256, entry_seq, created_at)
        VALUES (NEW.team_id, NEW.url_sha256, NEW.seq, NEW.created_at); END""",
}

PG_FUNCTIONS = [
    f"""CREATE FUNCTION {SKIP}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM {TABLE} WHERE team_id = NEW.team_id AND sha256 = NEW.url_sha256)
  THEN RETURN NULL;
  END IF;
  RETURN NEW;
END $$""",
    f"""CREATE FUNCTION {ADD}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {TABLE} (team_id, sha256, entry_seq, created_at)
  SELECT team_id, url_sha256, seq, created_at FROM new_rows;
  RETURN NULL;
END $$""",
]
PG_TRIGGERS = [
    f"""CREATE TRIGGER {SKIP} BEFORE INSERT ON dnc_entry
        FOR EACH ROW EXECUTE FUNCTION {SKIP}()""",
    f"""CREATE TRIGGER {ADD} AFTER INSERT ON dnc_entry REFERENCING NEW TABLE AS new_rows
        FOR EACH STATEMENT EXECUTE FUNCTION {ADD}()""",
]


def create_triggers(bind) -> None:
    if bind.dialect.name == 'postgresql':
        for statement in PG_FUNCTIONS + PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)


UPDATED = 'dnc.entry.updated'
ALL_BEFORE = ('dnc.entry.added', 'dnc.entry.removed', 'dnc.entry.erased')


def _endpoints():
    return sa.table('webhook_endpoint', sa.column('id', sa.String()),
                    sa.column('events', sa.String()))


def _subscribe_all_to_updated(bind) -> None:
    """Endpoints that took every event type take the new one too (as 0024 did)."""
    endpoints = _endpoints()
    for endpoint_id, events in bind.execute(sa.select(endpoints.c.id, endpoints.c.events)).all():
        kinds = (events or '').split()
        if all(kind in kinds for kind in ALL_BEFORE) and UPDATED not in kinds:
            bind.execute(sa.update(endpoints).where(endpoints.c.id == endpoint_id)
                         .values(events=' '.join([*kinds, UPDATED])))


def upgrade():
    op.create_table(
        TABLE,
        sa.Column('team_id', sa.String(length=40), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('entry_seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
                  nullable=False),
        sa.Column('url', sa.String(length=255), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['entry_seq'], ['dnc_entry.seq'],
                                name=op.f('fk_dnc_identifier_entry_seq_dnc_entry'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('team_id', 'sha256', name=op.f('pk_dnc_identifier')),
    )
    op.create_index('ix_dnc_identifier_entry_seq', TABLE, ['entry_seq'])
    op.add_column('dnc_entry', sa.Column('aliases', sa.Text(), nullable=True))
    bind = op.get_bind()
    op.execute(f"INSERT INTO {TABLE} (team_id, sha256, entry_seq, created_at) "
               "SELECT team_id, url_sha256, seq, created_at FROM dnc_entry")
    create_triggers(bind)
    _subscribe_all_to_updated(bind)


def downgrade():
    bind = op.get_bind()
    endpoints = _endpoints()
    for endpoint_id, events in bind.execute(sa.select(endpoints.c.id, endpoints.c.events)).all():
        kinds = [kind for kind in (events or '').split() if kind != UPDATED]
        bind.execute(sa.update(endpoints).where(endpoints.c.id == endpoint_id)
                     .values(events=' '.join(kinds)))
    # The change log keeps its `alias_add` records: older code lists them by their name.
    if bind.dialect.name == 'postgresql':
        for name in (SKIP, ADD):
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON dnc_entry")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_index('ix_dnc_identifier_entry_seq', table_name=TABLE)
    op.drop_table(TABLE)
    # Not batch mode on SQLite (a rebuild would drop dnc_entry's triggers): 3.35+ drops
    # a column in place.
    op.execute("ALTER TABLE dnc_entry DROP COLUMN aliases")
