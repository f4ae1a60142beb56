"""The list page's reads: the entries matching filters (source, a date range, a search),
a page at a time in either direction, and how many match; and the API's list with `q`.

Kept fast at a million entries: a date range is a range of the (team_id, seq) index
(see timeorder), pages are keyset pages on it, and a filtered count stops at COUNT_CAP.
A search first asks what the term can match (search.username_search, no SQL): every URL
(a piece of `https://linkedin.com/in/`: the newest rows fill the page), none (nothing is
read), or URLs whose username holds some text. Then it reads the team's newest rows (a
term in many URLs fills its page there; fewer of them on PostgreSQL, and none for its
count: PG_WINDOW_PER_ROW), then the rows the index of the usernames finds, for terms of
any length: SQLite's FTS5 trigram table (migrations 0016, 0017), or PostgreSQL's GIN
index of substrings by range of seq, read newest range first (0018). Either way every row
is tested with the same `LIKE`, so the results are those of a scan. Every scan starts at
the team's first row in its span (_window), whichever index the planner walks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from dnc_app.domain.entries import statements as sql
from dnc_app.domain.entries.cursor import decode_cursor, encode_cursor
from dnc_app.domain.entries.errors import InvalidURL
from dnc_app.domain.entries.validation import normalize, url_digest
from dnc_app.domain.entries.values import Entry, EntryPage
from dnc_app.extensions import db
from dnc_app.storage.database import read_one
from dnc_app.storage.search import (
    ENTRY_FTS,
    CrossJoin,
    bucketed_search,
    contains,
    entry_fts_upto,
    trigram_match,
    username_fts_query,
    username_grams,
    username_search,
)
from dnc_app.storage.timeorder import first_seq_at

# A filtered count stops here and says "1,000+": counting every match of a broad
# search would read most of a large list on each page view.
COUNT_CAP = 1_000
# How many of the newest rows (below a page's cursor) a search reads before it asks the
# trigram index: a term in one URL of 20 fills a page of 50 there (about 1 ms on SQLite)
# without the index reading the long lists of its common trigrams. The count reads more,
# so that a term in half of the URLs reaches the cap without the index.
PAGE_WINDOW = 1_000
COUNT_WINDOW = 2_500
# PostgreSQL reads a window of this many times the rows a page wants (at most
# PAGE_WINDOW), and its count none: its index holds every row and yields a bucket's
# matches only, so a term in fewer than one row of four costs less there than in a
# window of rows that mostly do not match. The window still serves the dense terms,
# whose newest bucket the index would read whole for a page.
PG_WINDOW_PER_ROW = 4


@dataclass(frozen=True)
class ListFilter:
    """What the list shows. `q` is already in its search form (validation.search_term)."""

    q: str = ""
    source: str = ""  # a Source value, or "" for every source
    since: datetime | None = None  # created at or after
    until: datetime | None = None  # created before

    @property
    def active(self) -> bool:
        return bool(self.q or self.source or self.since or self.until)


@dataclass
class BrowsePage:
    entries: list[Entry]
    total: int  # exact, unless `more` (then at least COUNT_CAP + 1)
    more: bool
    older: str | None  # cursor of the next, older page
    newer: str | None  # cursor of the previous, newer page


def _conditions(team_id: str, where: ListFilter) -> list:
    """The conditions on the rows: the team's first (see _indexed), then the filter's
    (its dates' range of seq narrows the span read: _dates_span)."""
    c = sql.ENTRIES.c
    conditions = [c.team_id == team_id]
    if where.since is not None:
        conditions.append(c.created_at >= where.since)
    if where.until is not None:
        conditions.append(c.created_at < where.until)
    if where.source:
        conditions.append(c.source == where.source)
    if where.q:
        conditions.append(contains(c.url, where.q))
    return conditions


@dataclass(frozen=True)
class _Span:
    """The rows to read, by seq: exclusive bounds (None: open), newest or oldest first."""

    after: int | None = None
    before: int | None = None
    ascending: bool = False

    def of(self, column) -> list:
        return ([column > self.after] if self.after is not None else []) + (
            [column < self.before] if self.before is not None else []
        )

    def order(self, column):
        return column if self.ascending else column.desc()

    def within(self, other: _Span) -> _Span:
        """This span narrowed to `other`'s bounds."""

        def tighter(mine, theirs, pick):
            return mine if theirs is None else theirs if mine is None else pick(mine, theirs)

        return _Span(
            tighter(self.after, other.after, max),
            tighter(self.before, other.before, min),
            self.ascending,
        )

    def split(self, edge: int) -> tuple[_Span, _Span]:
        """The part read first (up to and including `edge`) and the rest."""
        if self.ascending:
            return _Span(self.after, edge + 1, True), _Span(edge, self.before, True)
        return _Span(edge - 1, self.before), _Span(self.after, edge)


@dataclass(frozen=True)
class _Search:
    """How a search finds its rows: `empty` (no row can match: nothing is read), else a
    scan newest first, or (`indexed`) the newest rows and then the trigram index."""

    q: str = ""
    empty: bool = False
    indexed: bool = False
    username: str = ""  # what the username must contain (the index query)
    # SQLite: the index holds the entries up to this seq (it takes new ones in batches,
    # migration 0017); the newer ones are read by a scan. None: every entry (PostgreSQL).
    indexed_upto: int | None = None

    def index_query(self) -> str | list[str] | None:
        """The FTS5 query (SQLite; None: the index finds no row), or the grams every
        matching username holds (PostgreSQL). Asked only when the newest rows fell short."""
        if sql.dialect_name() == "sqlite":
            return username_fts_query(db.session.connection(), self.username)
        return username_grams(self.username)


def _dates_span(team_id: str, where: ListFilter) -> _Span:
    """The range of seq of the filter's dates (timeorder), which narrows the span read: the
    scans read a range of the (team_id, seq) index, and PostgreSQL's search only the
    buckets in it. Each bound is a binary search of ≈ 20 lookups: found once for a page
    and its total."""
    since, until = where.since, where.until
    return _Span(
        first_seq_at(sql.ENTRIES, team_id, since) - 1 if since is not None else None,
        first_seq_at(sql.ENTRIES, team_id, until) if until is not None else None,
    )


def _search(q: str) -> _Search:
    if not q:
        return _Search()
    wanted = username_search(q)
    if wanted.none:
        return _Search(q, empty=True)
    if wanted.every:  # every row matches: the newest rows fill any page
        return _Search(q)
    if sql.dialect_name() == "sqlite":
        upto = entry_fts_upto(db.session.connection())
        return _Search(q, indexed=upto is not None, username=wanted.text, indexed_upto=upto)
    return _Search(q, indexed=True, username=wanted.text)


def _window(team_id: str, span: _Span, size: int) -> tuple[_Span, int | None] | None:
    """The team's first `size` rows of `span` in its order (None: it has none): `span`
    with its near end moved to the first of them (both ends, when they are all its rows),
    and the seq of the `size`-th (None: there are fewer), from the (team_id, seq) index.

    The scans read between such bounds: PostgreSQL's planner takes a team's rows for
    spread evenly over the table, and for a large team it would walk the primary key down
    from the table's newest row, through every newer row of the other teams."""
    c = sql.ENTRIES.c
    first = (
        select(c.seq)
        .where(c.team_id == team_id, *span.of(c.seq))
        .order_by(span.order(c.seq))
        .limit(size)
        .subquery()
    )
    low, high, found = db.session.execute(
        select(func.min(first.c.seq), func.max(first.c.seq), func.count())
    ).one()
    if not found:
        return None
    if found < size:
        return span.within(_Span(low - 1, high + 1)), None
    if span.ascending:
        return span.within(_Span(after=low - 1)), high
    return span.within(_Span(before=high + 1)), low


def _scanned(columns, conditions: list, span: _Span):
    c = sql.ENTRIES.c
    return select(*columns).where(*conditions, *span.of(c.seq)).order_by(span.order(c.seq))


def _indexed(
    team_id: str,
    columns,
    conditions: list,
    span: _Span,
    query,
    *,
    limit: int,
    offset: int = 0,
    ordered: bool = True,
):
    """`limit` of the rows of `span` the index finds (SQLite: FTS5 `query`; PostgreSQL:
    the rows holding the grams `query`), still tested by `conditions`, after `offset`; in
    `span`'s order, or unordered for a count on PostgreSQL."""
    if sql.dialect_name() == "sqlite":
        # Driven by the FTS table, which yields its rowids in order: the page stops early.
        rowid = ENTRY_FTS.c.rowid
        return (
            select(*columns)
            .select_from(CrossJoin(ENTRY_FTS, sql.ENTRIES, sql.ENTRIES.c.seq == rowid))
            .where(trigram_match(query), *span.of(rowid), *conditions)
            .order_by(span.order(rowid))
            .offset(offset)
            .limit(limit)
        )
    # Without the team's condition: the index keys hold the team (no team id holds ':'),
    # and the condition would offer the planner the team's index, read whole per bucket.
    return bucketed_search(
        sql.ENTRIES,
        columns,
        conditions[1:],
        team_id=team_id,
        grams=query,
        span=span,
        limit=limit,
        offset=offset,
        ordered=ordered,
    )


def _parts(span: _Span, edge: int, upto: int | None) -> list[tuple[_Span, bool]]:
    """`span` in reading order, split at the window's `edge`: (part, read through the
    index). Entries past the index's position `upto` are always scanned (at most the
    index's lag, all teams together)."""
    if not span.ascending:  # the newest rows down to the edge, then the index
        if upto is not None:
            edge = min(edge, upto + 1)
        window, rest = span.split(edge)
        return [(window, False), (rest, True)]
    window, rest = span.split(edge)  # the oldest rows up to the edge, then newer ones
    if upto is None or (rest.before is not None and rest.before <= upto + 1):
        return [(window, False), (rest, True)]
    return [
        (window, False),
        (_Span(edge, upto + 1, True), True),
        (_Span(max(edge, upto), rest.before, True), False),
    ]


def _matching_rows(
    team_id: str,
    where: ListFilter,
    span: _Span,
    count: int,
    offset: int = 0,
    dates: _Span | None = None,
) -> list:
    """Up to `count` matching rows of `span` in its order, the first `offset` skipped
    (newest first only). `dates`: the filter's _dates_span, if already found."""
    assert not (offset and span.ascending)
    search = _search(where.q)
    if search.empty:
        return []
    conditions = _conditions(team_id, where)
    span = span.within(dates or _dates_span(team_id, where))
    columns = sql.SELECT_ENTRY.selected_columns
    size = PAGE_WINDOW if search.indexed else 1  # not indexed: only the span's bounds
    if search.indexed and sql.dialect_name() != "sqlite":
        size = min(size, PG_WINDOW_PER_ROW * (offset + count))
    bounded = _window(team_id, span, size)
    if bounded is None:
        return []
    span, edge = bounded
    if edge is None or not search.indexed:
        return list(
            db.session.execute(
                _scanned(columns, conditions, span).offset(offset).limit(count)
            ).all()
        )
    rows: list = []
    skip, query = offset, None
    for part, through_index in _parts(span, edge, search.indexed_upto):
        if len(rows) >= count:
            break
        if not through_index:
            # A scanned part is the window or the index's lag: a bounded number of rows.
            found = db.session.execute(
                _scanned(columns, conditions, part).limit(skip + count - len(rows))
            ).all()
            rows += found[skip:]
            skip -= min(skip, len(found))
            continue
        query = query or search.index_query()  # asked only when the scans fell short
        if query is not None:
            rows += db.session.execute(
                _indexed(
                    team_id, columns, conditions, part, query, limit=count - len(rows), offset=skip
                )
            ).all()
            skip = 0  # the last part when newest first; oldest first has no offset
    return rows


def page_rows(
    team_id: str,
    where: ListFilter,
    *,
    limit: int = 50,
    older_than: str | None = None,
    newer_than: str | None = None,
    dates: _Span | None = None,
) -> tuple[list, bool, bool]:
    """(rows newest first, has newer, has older). Raises InvalidCursor."""
    if newer_than:
        rows = _matching_rows(
            team_id,
            where,
            _Span(after=decode_cursor(newer_than), ascending=True),
            limit + 1,
            dates=dates,
        )
        return rows[:limit][::-1], len(rows) > limit, bool(rows)
    span = _Span(before=decode_cursor(older_than)) if older_than else _Span()
    rows = _matching_rows(team_id, where, span, limit + 1, dates=dates)
    return rows[:limit], bool(older_than), len(rows) > limit


def _count(stmt, most: int | None = None) -> int:
    """How many rows `stmt` yields, up to `most` (None: `stmt` has its own limit)."""
    if most is not None:
        stmt = stmt.limit(most)
    return db.session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()


def count_matches(
    team_id: str,
    where: ListFilter,
    *,
    known: int = 0,
    before: int | None = None,
    dates: _Span | None = None,
) -> tuple[int, bool]:
    """(how many entries match, whether that is COUNT_CAP + 1 or more). `known`: the
    matches with seq >= `before`, already read (a first page's): only older ones are
    counted, so the count does not read again the newest rows and index buckets the page
    went through. `dates`: the filter's _dates_span, if already found."""
    if not where.active:
        return count_entries(team_id), False
    c, cap = sql.ENTRIES.c, COUNT_CAP
    search = _search(where.q)
    if search.empty:
        return 0, False
    conditions = _conditions(team_id, where)
    span = _Span(before=before).within(dates or _dates_span(team_id, where))
    found = known
    pg_index = search.indexed and sql.dialect_name() != "sqlite"
    # No window on PostgreSQL (PG_WINDOW_PER_ROW): the capped count stops in the newest
    # buckets of a dense term, and reads only the matches of a rare one; the bucketed read
    # finds the team's rows in the span itself (its walk of the team's index).
    parts: list[tuple[_Span, bool]] = [(span, True)]  # (part, read through the index)
    if not pg_index:
        bounded = _window(team_id, span, COUNT_WINDOW if search.indexed else 1)
        if bounded is None:
            return found, found > cap
        span, edge = bounded
        parts = [(span, False)]
        if search.indexed and edge is not None:
            parts = _parts(span, edge, search.indexed_upto)
    for part, through_index in parts:
        if found > cap:
            break
        if not through_index:
            found += _count(_scanned([c.seq], conditions, part), cap + 1 - found)
            continue
        query = search.index_query()
        if query is not None:
            found += _count(
                _indexed(
                    team_id, [c.seq], conditions, part, query, limit=cap + 1 - found, ordered=False
                )
            )
    return found, found > cap


def _first_page_total(
    team_id: str, where: ListFilter, shown: list, dates: _Span | None = None
) -> tuple[int, bool]:
    """The total beside a first page of matches that has older ones: the page's rows
    are every match from its last one up, so only older matches are counted."""
    return count_matches(team_id, where, known=len(shown), before=shown[-1].seq, dates=dates)


def _oldest_page(team_id: str, where: ListFilter, limit: int, dates: _Span) -> BrowsePage:
    """The last page (the oldest matches), read as a keyset page from the oldest end, so
    its cost does not grow with the list. It holds what is left after the full pages from
    the newest end (the pages line up with those the Next link reaches), which needs the
    count; past COUNT_CAP, where the count stops, a full page of the oldest matches."""
    total, more = count_matches(team_id, where, dates=dates)
    size = limit if more or not total else (total - 1) % limit + 1
    rows = _matching_rows(team_id, where, _Span(ascending=True), size + 1, dates=dates)
    entries = [Entry(*row) for row in rows[:size][::-1]]
    return BrowsePage(
        entries,
        total,
        more,
        older=None,
        newer=encode_cursor(entries[0].seq) if len(rows) > size else None,
    )


def browse(
    team_id: str,
    where: ListFilter,
    *,
    limit: int = 50,
    older_than: str | None = None,
    newer_than: str | None = None,
    oldest: bool = False,
) -> BrowsePage:
    """Newest first: the first page, the page after cursor `older_than`, the page before
    cursor `newer_than`, or (`oldest`) the last page. Raises InvalidCursor."""
    if not (older_than or newer_than or oldest):
        person = _by_alias(team_id, where)
        if person is not None:
            return BrowsePage([person], 1, False, older=None, newer=None)
    dates = _dates_span(team_id, where)
    if oldest:
        return _oldest_page(team_id, where, limit, dates)
    rows, has_newer, has_older = page_rows(
        team_id, where, limit=limit, older_than=older_than, newer_than=newer_than, dates=dates
    )
    if older_than or newer_than:
        total, more = count_matches(team_id, where, dates=dates)
    elif has_older:
        total, more = _first_page_total(team_id, where, rows, dates)
    else:  # the first page holds every match: no count to run
        total, more = (len(rows), False) if where.active else (count_entries(team_id), False)
    entries = [Entry(*row) for row in rows]
    return BrowsePage(
        entries,
        total,
        more,
        older=encode_cursor(entries[-1].seq) if has_older and entries else None,
        newer=encode_cursor(entries[0].seq) if has_newer and entries else None,
    )


def _by_alias(team_id: str, where: ListFilter) -> Entry | None:
    """A search for a whole identifier (a pasted URL, in its stored form) that is one of a
    person's aliases: that person (one probe of the identifiers' key). Their own URL is
    found by the search itself."""
    q = where.q
    if where.source or where.since or where.until or not q.startswith("https://linkedin.com/"):
        return None
    try:
        if normalize(q) != q:
            return None
    except InvalidURL:
        return None
    row = read_one(sql.FIND_BY_DIGEST, {"team_id": team_id, "sha256": url_digest(q)})
    entry = None if row is None else Entry(*row)
    return entry if entry is not None and q in entry.alias_list else None


def search_entries(
    team_id: str, q: str, *, limit: int, offset: int = 0, cursor: str | None = None
) -> EntryPage:
    """The API's list with `q` (entries.list_entries): newest first, offset or cursor
    pages, the rows of a scan; the total exact up to COUNT_CAP, else COUNT_CAP + 1 with
    `total_exact` False. Raises InvalidCursor."""
    where = ListFilter(q=q)
    span = _Span(before=decode_cursor(cursor)) if cursor else _Span()
    rows = _matching_rows(team_id, where, span, limit + 1, offset)
    if cursor or offset:
        total, more = count_matches(team_id, where)
    elif len(rows) > limit:
        total, more = _first_page_total(team_id, where, rows[:limit])
    else:
        total, more = len(rows), False  # the first page holds every match
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return EntryPage(
        [Entry(*row) for row in rows[:limit]], total, next_cursor, total_exact=not more
    )


# --------------------------------------------------------------------------- the API's list


def count_entries(team_id: str) -> int:
    """The team's number of entries: kept by every write, so O(1) at a million."""
    return db.session.execute(sql.READ_ENTRY_COUNT, {"team_id": team_id}).scalar() or 0


def list_entries(
    team_id: str,
    *,
    limit: int = 50,
    offset: int = 0,
    cursor: str | None = None,
    q: str | None = None,
) -> EntryPage:
    """Newest first. Offset pagination, or keyset pagination with `cursor` (fast on
    the last page of a million entries). `q` filters on a substring of the URL, the way
    the list page searches (its total exact up to listing.COUNT_CAP)."""
    if q:
        return search_entries(team_id, q, limit=limit, offset=offset, cursor=cursor)
    c = sql.ENTRIES.c
    # The page's seqs from the (team_id, seq) index, then their rows by primary key. By
    # `team_id = X ORDER BY seq`, PostgreSQL's planner takes a team's rows for spread
    # evenly over the table and may walk the primary key down from the team's newest row,
    # through every other team's rows between it and the team's older ones (a team with a
    # few recent entries and many old ones: the whole table). A range of one team ordered
    # by (team_id, seq) is an order only that index has.
    seqs = select(c.seq).where(c.team_id.between(team_id, team_id))
    if cursor:
        seqs = seqs.where(c.seq < decode_cursor(cursor))
    elif offset:
        seqs = seqs.offset(offset)
    page = seqs.order_by(c.team_id.desc(), c.seq.desc()).limit(limit + 1).subquery()
    stmt = sql.SELECT_ENTRY.join(page, c.seq == page.c.seq).where(c.team_id == team_id)
    rows = db.session.connection().execute(stmt.order_by(c.seq.desc())).all()
    entries = [Entry(*row) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return EntryPage(entries, count_entries(team_id), next_cursor)


def walk_entries(team_id: str, chunk_size: int) -> Iterator[list[Entry]]:
    """Every entry of the team, newest first, `chunk_size` at a time (an export).

    Each chunk is read in its own short transaction (no snapshot is held open for the
    whole walk); keyset pagination on the insertion order means an entry added meanwhile
    is simply not in the walk and none is repeated.
    """
    cursor = None
    while True:
        page = list_entries(team_id, limit=chunk_size, cursor=cursor)
        db.session.commit()  # end this chunk's read transaction
        yield page.entries
        if page.next_cursor is None:
            return
        cursor = page.next_cursor
