"""PostgreSQL: the search index's key function folds case with lower(… COLLATE "C")

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07 12:30:00

Migration 0026's `dnc_entry_search_keys` lowered a username's ASCII letters with
`translate(…, 'A…Z', 'a…z')`, which compares every character with each of the 26
letters. `lower(… COLLATE "C")` maps the same ASCII letters and nothing else, whatever
the database's locale (the search's terms are folded the same way: dnc_app/storage/
search.py), so every key is the same text: the function's body changes, the index stays
valid without a rebuild. What changes is the cost of the function, paid once per row
written and per row of an index build or REINDEX.

SQLite: nothing to do (its triggers use SQLite's own lower(), ASCII only).
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION dnc_entry_search_keys(team text, seq bigint, url text)
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE STRICT COST 10000 AS $$
DECLARE
  head text := team || ':' || (seq >> 15)::text || ':';
  username text := lower((
    CASE WHEN left(url, 24) = 'https://linkedin.com/in/' THEN substr(url, 25)
    ELSE substr(url, 22) END) COLLATE "C");
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

# 0026's body.
TRANSLATE_FUNCTION = FUNCTION.replace(
    """lower((
    CASE WHEN left(url, 24) = 'https://linkedin.com/in/' THEN substr(url, 25)
    ELSE substr(url, 22) END) COLLATE "C")""",
    """translate(
    CASE WHEN left(url, 24) = 'https://linkedin.com/in/' THEN substr(url, 25)
    ELSE substr(url, 22) END,
    'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')""",
)


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(TRANSLATE_FUNCTION)
