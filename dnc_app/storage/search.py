"""Substring search in SQL: `LIKE '%…%'` with the text's own `%`, `_` and `\\` literal,
ASCII letters in any case (member and lead tokens keep theirs), what a search term asks
of the identifier part of the stored URLs, and the queries of the indexes of those parts:
SQLite's FTS5 trigram index (migrations 0016, 0017, 0026) and PostgreSQL's GIN index of
substrings by team and range of seq (migrations 0018, 0026).

A stored URL is a profile, `https://linkedin.com/in/<username>` (URL_PREFIX), or a Sales
Navigator lead, `https://linkedin.com/sales/lead/<token>` (LEAD_PREFIX); no username or
token holds `/`, `%`, `$`, whitespace or control characters (normalize.py; pinned by
tests/test_normalize.py). The index holds, ASCII letters lowered, the username of a
profile and `sales/lead/<token>` of a lead (all that follows `https://linkedin.com/`), then
`$$`: the padding gives every position a trigram that starts there, so a term of 1 or 2
characters is found through the trigrams that start with it. A term either lies in the
part both prefixes share (every URL matches), or in one prefix only (a scan decides), or
its part after its last `/` lies in what the index holds, or it matches nothing:
`username_search` says which, without SQL.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from sqlalchemy import (
    ColumnElement,
    Integer,
    String,
    Text,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import Join

from dnc_app.domain.normalize import CANONICAL_PREFIX as URL_PREFIX
from dnc_app.domain.normalize import LEAD_PREFIX

# What every stored URL starts with, profile or lead.
SHARED_PREFIX = "https://linkedin.com/"
# The index's text of a row (migration 0026 holds a copy): a profile's username or a
# lead's `sales/lead/<token>`, ASCII letters lowered (SQLite's lower() lowers only those;
# the normalizer has lowered every other letter already), then the padding.
SQLITE_INDEXED_TEXT = (
    "lower(CASE WHEN substr({row}.url, 1, 24) = 'https://linkedin.com/in/' "
    "THEN substr({row}.url, 25) ELSE substr({row}.url, 22) END) || '$$'"
)

# SQLite's contentless FTS5 table of `<username>$$` (trigram tokenizer, case-sensitive),
# rowid = dnc_entry.seq, and its fts5vocab table of terms (the trigrams).
ENTRY_FTS = table("dnc_entry_fts_username", column("rowid", Integer))
ENTRY_FTS_TERMS = table("dnc_entry_fts_username_terms", column("term", String))
# How far the index has taken the entries (migration 0017): those with seq <= indexed_upto.
_HAS_ENTRY_FTS = text(
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'dnc_entry_fts_state'"
)
_INDEXED_UPTO = text("SELECT indexed_upto FROM dnc_entry_fts_state")
# What follows the username in the index: '$' is never in a username.
END = "$$"


class ascii_lower(FunctionElement):
    """The text with its ASCII letters lowered, the folding SQLite's LIKE does itself."""

    type = String()
    inherit_cache = True


@compiles(ascii_lower)
def _ascii_lower(element, compiler, **kw):
    return compiler.process(element.clauses, **kw)  # SQLite's LIKE folds ASCII case


@compiles(ascii_lower, "postgresql")
def _ascii_lower_pg(element, compiler, **kw):
    # lower() in the "C" collation (always present, whatever the database's locale) maps
    # the ASCII letters only, byte by byte: what translate() of A-Z to a-z gives, many
    # times faster (translate compares each character with each of the 26), and the LIKE
    # then compares bytes. Every scanned or index-found row of a search pays it.
    return f'lower(({compiler.process(element.clauses, **kw)}) COLLATE "C")'


def contains(column, text: str) -> ColumnElement[bool]:
    """Case-insensitive for the stored URLs (lower case but for the ASCII letters of a
    token): the text is lowered, and the URL's ASCII letters too."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ascii_lower(column).like(f"%{escaped}%", escape="\\")


def never_in_username(char: str) -> bool:
    """Characters the normalizer keeps out of every username (normalize.py)."""
    category = unicodedata.category(char)
    return char in "$%/" or char.isspace() or category[0] == "Z" or category in ("Cc", "Cs")


@dataclass(frozen=True)
class UsernameSearch:
    """What a search term (`contains`'s text) asks of the stored URLs: `every` one
    matches, `none` can, or their username must contain `text`."""

    every: bool = False
    none: bool = False
    text: str = ""


EVERY, NONE = UsernameSearch(every=True), UsernameSearch(none=True)


def username_search(term: str) -> UsernameSearch:
    """`every` also when the term lies in the profile prefix only (most rows hold it), or
    ends with a '/' of the lead prefix: the rows are then scanned with the LIKE."""
    lowered = term.lower()  # as in `contains`
    if lowered in URL_PREFIX:  # SHARED_PREFIX is a part of it
        return EVERY
    # A username or token holds no '/': what follows the term's last '/' lies in what the
    # index holds. What precedes it must end the profile prefix (then the username
    # starts), or lie in the lead prefix (the index holds its `sales/lead/` too).
    after_slash = lowered.rfind("/") + 1
    head = lowered[:after_slash]
    if after_slash and not (URL_PREFIX.endswith(head) or head in LEAD_PREFIX):
        return NONE
    username = lowered[after_slash:]
    if any(never_in_username(char) for char in username):
        return NONE
    if not username:
        return EVERY
    return UsernameSearch(text=username)


def trigram_query(text: str) -> str | None:
    """An FTS5 query for the rows holding every trigram of the text (lowered as in
    `contains`), or None when the text is shorter than a trigram. The rows it finds are a
    superset of the LIKE's (the index ignores trigram order and where the text starts),
    so the LIKE is applied to them too."""
    lowered = text.lower()
    # FTS5's query parser stops at a NUL (no URL holds one: the LIKE decides those terms).
    trigrams = dict.fromkeys(
        trigram for i in range(len(lowered) - 2) if "\x00" not in (trigram := lowered[i : i + 3])
    )
    if not trigrams:
        return None
    return _any_or_all(trigrams, " AND ")


def _any_or_all(terms, operator: str) -> str:
    return operator.join('"' + term.replace('"', '""') + '"' for term in terms)


def _after_prefix(text: str) -> str | None:
    """The least string greater than every string that starts with `text` (None: none is),
    in code point order, which is SQLite's order of UTF-8 text."""
    last = ord(text[-1]) + 1
    if last == 0xD800:  # surrogates are not text
        last = 0xE000
    return text[:-1] + chr(last) if last <= 0x10FFFF else None


def username_fts_query(connection, username: str) -> str | None:
    """The FTS5 query of the rows whose username may contain `username` (a
    UsernameSearch's text), or None when no row can. Three characters or more: all of its
    trigrams. One or two: any trigram that starts with it, listed from the index's terms
    (with the `$$` padding, the rows found are exactly the matching ones)."""
    if len(username) >= 3:
        return trigram_query(username)
    term = ENTRY_FTS_TERMS.c.term
    stmt = select(term).where(term >= username)
    upper = _after_prefix(username)
    if upper is not None:
        stmt = stmt.where(term < upper)
    starting = [found for found in connection.execute(stmt).scalars() if found.startswith(username)]
    return _any_or_all(starting, " OR ") if starting else None


def username_grams(username: str) -> list[str]:
    """PostgreSQL (migration 0018): the substrings every username containing `username`
    holds among its index keys: the text itself when shorter than a trigram (the index
    keeps every substring of 1 to 3 characters), else all its trigrams (overlapping ones
    too: they are what ties the others together, e.g. `-00` in `bench-0099`)."""
    if len(username) < 3:
        return [username]
    return list(dict.fromkeys(username[i : i + 3] for i in range(len(username) - 2)))


# PostgreSQL (migration 0018): an entry's bucket is `seq >> BUCKET_BITS`, its index keys
# dnc_entry_search_keys(team_id, seq, url), those a search wants in a bucket
# dnc_entry_search_query(team_id, bucket, grams).
BUCKET_BITS = 15
_KEYS = ARRAY(Text)


def bucketed_search(
    entries,
    columns,
    conditions: list,
    *,
    team_id: str,
    grams: list[str],
    span,
    limit: int,
    offset: int = 0,
    ordered: bool = True,
):
    """PostgreSQL: the rows (`columns`) of the team's entries in `span` (listing's: its
    bounds on a column, `span.of(column)`, and its order) that hold every gram and meet
    `conditions`, read bucket by bucket through the index: `limit` of them after `offset`.
    Every bucket's rows come in order, so the search stops at the bucket that fills the
    page. Unordered (a count): the same buckets, each one's rows as the bitmap yields them.

    PostgreSQL runs the LATERAL join as a nested loop over the buckets in the order the
    recursive walk yields them (lazily: a page that fills stops the walk); the rows come
    out in that order."""
    c = entries.c
    bits: ColumnElement[int] = literal_column(str(BUCKET_BITS))

    def team_row(*bounds):  # the bucket of the team's first row in span's order
        # A range of one team ordered by (team_id, seq): only the team's index has that
        # order (by `team_id = X ORDER BY seq` the planner may walk the primary key).
        return (
            select(c.seq.op(">>")(bits))
            .where(c.team_id.between(team_id, team_id), *span.of(c.seq), *bounds)
            .order_by(span.order(c.team_id), span.order(c.seq))
            .limit(1)
            .scalar_subquery()
        )

    # The buckets that hold rows of the team, in span's order, each found from the last by
    # one probe of the team's index (a loose index scan): a team's rows may lie in a few
    # buckets far apart (old ones, then new ones after other teams' millions), and every
    # bucket read costs a probe of the search index.
    edge = select(team_row().label("n")).cte("bucket_edge", recursive=True)
    last = edge.alias("last")
    after = (
        c.seq >= (last.c.n + 1).op("<<")(bits)
        if span.ascending
        else c.seq < last.c.n.op("<<")(bits)
    )
    walk = edge.union_all(select(team_row(after)).where(last.c.n.is_not(None)))
    buckets = select(walk.c.n).where(walk.c.n.is_not(None)).subquery("bucket")
    bucket = buckets.c.n
    keys = func.dnc_entry_search_keys(c.team_id, c.seq, c.url, type_=_KEYS)
    wanted = func.dnc_entry_search_query(team_id, bucket, literal(grams, _KEYS), type_=_KEYS)
    # The key function's declared cost keeps the planner on the index: it never evaluates
    # the function row by row (a bucket's range on seq as well would have it intersect
    # the index's rows with the range's rows, 0.4 ms a bucket).
    # The span's bounds on `seq + 0` in a bucket: on `seq` itself the planner would
    # intersect the index's rows with the bounds' range of the seq index (2 ms a bucket).
    # Those on `seq` above find the buckets to read, on the team's index.
    found = select(*columns).where(keys.contains(wanted), *conditions, *span.of(c.seq + 0))
    if ordered:
        found = found.order_by(span.order(c.seq))
    lateral = found.limit(offset + limit).lateral("found")
    # `found.*`: the columns in their order, without building a proxy of each (≈ 0.3 ms).
    return (
        select(literal_column("found.*"))
        .select_from(buckets.join(lateral, true()))
        .offset(offset)
        .limit(limit)
    )


def trigram_match(query: str) -> ColumnElement[bool]:
    return literal_column(ENTRY_FTS.name).op("MATCH")(query)


class CrossJoin(Join):
    """`a CROSS JOIN b ON …`: SQLite keeps the tables of a CROSS JOIN in the order written.
    Its planner would otherwise, lacking statistics, walk the team's rows and probe the
    FTS table for each (every row of the team read, then sorted)."""

    inherit_cache = True


@compiles(CrossJoin, "sqlite")
def _cross_join(element, compiler, **kw):
    # The left side is a plain table name: the first " JOIN " is this join's.
    return compiler.visit_join(element, **kw).replace(" JOIN ", " CROSS JOIN ", 1)


# SQLite (migration 0029): entries out of the trigram index before the entry service
# deletes them (no delete trigger), in one statement: their seqs as one JSON array, the
# array the outer loop (CROSS JOIN: without statistics the planner would scan the
# entries). Only the indexed ones: a contentless index told to delete a row it lacks is
# corrupt.
_UNINDEX_ENTRIES = text(
    "INSERT INTO dnc_entry_fts_username(dnc_entry_fts_username, rowid, username) "
    f"SELECT 'delete', e.seq, {SQLITE_INDEXED_TEXT.format(row='e')} "
    "FROM json_each(:seqs) AS r CROSS JOIN dnc_entry AS e ON e.seq = r.value "
    "WHERE e.seq <= (SELECT indexed_upto FROM dnc_entry_fts_state)"
)


def unindex_entries(connection, seqs: str) -> None:
    """SQLite: take the entries whose seqs `seqs` lists (a JSON array) out of the trigram
    index, if there is one."""
    if connection.execute(_HAS_ENTRY_FTS).first() is not None:
        connection.execute(_UNINDEX_ENTRIES, {"seqs": seqs})


def entry_fts_upto(connection) -> int | None:
    """The seq up to which the trigram index holds the entries (it takes new ones in
    batches, migration 0017), or None when there is no index (SQLite without FTS5's
    trigram tokenizer). Looked up per search, a few µs, so a migration is seen at once."""
    if connection.execute(_HAS_ENTRY_FTS).first() is None:
        return None
    return connection.execute(_INDEXED_UPTO).scalar_one()
