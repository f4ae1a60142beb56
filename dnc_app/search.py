"""Substring search in SQL: `LIKE '%…%'` with the text's own `%`, `_` and `\\` literal,
and the query that finds candidate rows in SQLite's trigram index (migration 0015)."""

from __future__ import annotations

from sqlalchemy import ColumnElement, Integer, column, literal_column, table, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.selectable import Join

# SQLite's FTS5 table of the entries' URLs (trigram tokenizer), rowid = dnc_entry.seq.
ENTRY_FTS = table("dnc_entry_fts", column("rowid", Integer))
_HAS_ENTRY_FTS = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dnc_entry_fts'")


def contains(column, text: str) -> ColumnElement[bool]:
    """Case-insensitive for the stored (lower-case) URLs: the text is lowered too."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{escaped}%", escape="\\")


def trigram_query(text: str) -> str | None:
    """An FTS5 query for the rows holding every trigram of the text (lowered as in
    `contains`), or None when the text is shorter than a trigram. The rows it finds are a
    superset of the LIKE's (the index folds case further and ignores trigram order), so
    the LIKE is applied to them too."""
    lowered = text.lower()
    # FTS5's query parser stops at a NUL (no URL holds one: the LIKE decides those terms).
    trigrams = dict.fromkeys(trigram for i in range(len(lowered) - 2)
                             if "\x00" not in (trigram := lowered[i : i + 3]))
    if not trigrams:
        return None
    return " AND ".join('"' + trigram.replace('"', '""') + '"' for trigram in trigrams)


def trigram_match(query: str) -> ColumnElement[bool]:
    return literal_column("dnc_entry_fts").op("MATCH")(query)


class CrossJoin(Join):
    """`a CROSS JOIN b ON …`: SQLite keeps the tables of a CROSS JOIN in the order written.
    Its planner would otherwise, lacking statistics, walk the team's rows and probe the
    FTS table for each (every row of the team read, then sorted)."""

    inherit_cache = True


@compiles(CrossJoin, "sqlite")
def _cross_join(element, compiler, **kw):
    # The left side is a plain table name: the first " JOIN " is this join's.
    return compiler.visit_join(element, **kw).replace(" JOIN ", " CROSS JOIN ", 1)


def has_entry_fts(connection) -> bool:
    """Whether the trigram index exists (SQLite with FTS5's trigram tokenizer, migration
    0015 applied): looked up per search, a few µs, so a migration is seen at once."""
    return connection.execute(_HAS_ENTRY_FTS).first() is not None
