"""PostgreSQL: an index of each username's 1-, 2- and 3-character substrings, by team and
by range of seq, which a search reads newest range first (PostgreSQL only)

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-30 21:00:00

0002's pg_trgm index missed the 20 ms target in three cases at a million entries:
- a term whose matches are all among the oldest rows (40-50 ms): a GIN index yields a
  bitmap, in no order, so every match was read and sorted to show the newest 50;
- a term of 1 or 2 characters that few or no rows hold (145-380 ms): pg_trgm finds no
  trigram in it, so the search scanned;
- a term made of trigrams that every row holds (pg_trgm's are per word of the whole URL):
  it read their whole posting lists.

This index holds, for each entry, the keys `<team>:<bucket>:<gram>`: every substring of 1
to 3 characters of the username (what follows `https://linkedin.com/in/`, character 25 on),
with the team and the entry's bucket, `seq >> 15` (32,768 consecutive seqs). A search asks,
bucket by bucket from the newest one the team has, for the rows holding every key of its
term (the term itself when it has 1 or 2 characters, else its trigrams), and tests them with
its LIKE (dnc_app/domain/entries/listing.py): each bucket's lists are short (only that team's rows
of that range of seq), an empty bucket costs a few index pages, and the search stops at the
bucket that fills its page. Measured at 1,000,000 entries (the list page's search, page
and total, in-process): 2-10 ms for every case, those three included (docs/performance.md).
Building the index took 35 s there; writes to the table wait meanwhile.

- The key function is PL/pgSQL (its plan is kept per session: about 10 µs per row written)
  and declared costly, so that the planner reads the index instead of evaluating it per row.
- The pending list of new entries (GIN's fastupdate) is read in full by every index scan,
  that is once per bucket a search visits. The app's connections keep it small
  (`gin_pending_list_limit` 64 kB, a few dozen adds: dnc_app/storage/database.py); a bulk insert
  lets it grow for its rows, then merges them into the index at once (cheaper than many
  small merges). Not a storage parameter of the index, which would override both. Another
  writer (the server's default is 4 MB) leaves at most that much, merged by the app's next
  add or by (auto)vacuum.
- The key format lives here only: searches build their keys with
  dnc_entry_search_query().

0002's pg_trgm index has no reader left: it is dropped (the downgrade creates it again
when pg_trgm is installed). SQLite: nothing to do (its FTS5 index is 0016's and 0017's).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

INDEX = "ix_dnc_entry_search"
TRGM_INDEX = "ix_dnc_entry_url_trgm"  # 0002's (copied, not imported)

KEYS_FUNCTION = """
CREATE FUNCTION dnc_entry_search_keys(team text, seq bigint, url text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT COST 10000 AS $$
DECLARE
  head text := team || ':' || (seq >> 15)::text || ':';
  username text := substr(url, 25);
  n int := length(username);
  keys text[] := array_fill(NULL::text, ARRAY[3 * n]);
BEGIN
  -- Past the end, substr gives the shorter substrings: duplicates, which GIN keeps once.
  FOR i IN 1..n LOOP
    keys[3 * i - 2] := head || substr(username, i, 1);
    keys[3 * i - 1] := head || substr(username, i, 2);
    keys[3 * i] := head || substr(username, i, 3);
  END LOOP;
  RETURN keys;
END $$"""
QUERY_FUNCTION = """
CREATE FUNCTION dnc_entry_search_query(team text, bucket bigint, grams text[]) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
  SELECT array(SELECT team || ':' || bucket::text || ':' || gram FROM unnest(grams) AS gram)
$$"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(KEYS_FUNCTION)
    op.execute(QUERY_FUNCTION)
    op.execute(f"CREATE INDEX {INDEX} ON dnc_entry USING gin "
               "(dnc_entry_search_keys(team_id, seq, url))")
    op.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        op.execute(f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON dnc_entry "
                   "USING gin (url gin_trgm_ops)")
    op.execute(f"DROP INDEX {INDEX}")
    op.execute("DROP FUNCTION dnc_entry_search_query(text, bigint, text[])")
    op.execute("DROP FUNCTION dnc_entry_search_keys(text, bigint, text)")
