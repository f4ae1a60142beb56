"""The SQL of the entry service: statements built once, and what differs per dialect.

Built once and executed with parameters: building an expression and running it through
the ORM cost more than the SQL on every request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    String,
    bindparam,
    delete,
    func,
    select,
    text,
    true,
    update,
)

from dnc_app.domain.changelog import PROTECTED_SOURCES
from dnc_app.domain.entries.validation import url_digest
from dnc_app.domain.entries.values import ENTRY_FIELDS, Entry
from dnc_app.domain.timeutil import UTCDateTime
from dnc_app.extensions import db
from dnc_app.storage.database import run
from dnc_app.storage.models import DncEntry, DncIdentifier, Team
from dnc_app.storage.search import unindex_entries

# Rows per INSERT statement: well under SQLite's 32,766 bound parameters.
_INSERT_CHUNK = 500
# URLs per `IN (…)` lookup.
_LOOKUP_CHUNK = 1000

ENTRIES = DncEntry.__table__
TEAMS = Team.__table__
IDENTIFIERS = DncIdentifier.__table__
# An identifier's entry: the unique (team_id, sha256) key, then the entry by its seq.
_BY_IDENTIFIER = IDENTIFIERS.join(ENTRIES, ENTRIES.c.seq == IDENTIFIERS.c.entry_seq)

# Exactly the columns of an Entry, in its field order.
SELECT_ENTRY = select(*(ENTRIES.c[name] for name in ENTRY_FIELDS))
# By the digest of the normalized URL, not the URL: an erased entry has only its digest
# left, and is still the person (check, add and screen find it). The digest of any of the
# person's identifiers (its URL or an alias): one probe of the identifiers' unique key.
FIND_BY_DIGEST = SELECT_ENTRY.select_from(_BY_IDENTIFIER).where(
    IDENTIFIERS.c.team_id == bindparam("team_id"), IDENTIFIERS.c.sha256 == bindparam("sha256")
)
GET_ENTRY = SELECT_ENTRY.where(
    ENTRIES.c.id == bindparam("entry_id"), ENTRIES.c.team_id == bindparam("team_id")
)
# The person's own request for an entry listed otherwise: it becomes protected.
PROTECT_ENTRY = (
    update(ENTRIES)
    .where(ENTRIES.c.seq == bindparam("entry_seq"))
    .values(protected=true(), updated_at=bindparam("at", type_=UTCDateTime()))
)

LOCK_TEAM = select(TEAMS.c.id).where(TEAMS.c.id == bindparam("team_id")).with_for_update()
READ_ENTRY_COUNT = select(TEAMS.c.entry_count).where(TEAMS.c.id == bindparam("team_id"))
TEAM_HAS_WEBHOOKS = select(TEAMS.c.has_webhooks).where(TEAMS.c.id == bindparam("team_id"))


def dialect_name() -> str:
    return db.engine.dialect.name


# --------------------------------------------------------------------------- inserts


def insert_ignoring_duplicates(rows: list[dict]) -> dict[str, tuple[int, str]]:
    """INSERT … ON CONFLICT DO NOTHING; return {url: (seq, id)} of the rows stored.

    No conflict target: an entry is unique in its team by its URL and by the digest of
    its URL (migration 0024: an erased entry keeps only the digest), and a row that
    breaks either is a duplicate. (A clash of random ids, which never happens, would
    look like one too, and the add tries again.)

    Each row is stored with the digest of its URL (`url_sha256`, for screening).
    One statement per dialect, compiled once and cached; SQLAlchemy sends many rows as
    multi-row VALUES batches ("insertmanyvalues") with RETURNING.
    """
    dialect = dialect_name()
    stmt = _INSERT_IGNORE.get(dialect)
    if stmt is None:
        stmt = _INSERT_IGNORE[dialect] = _insert_ignore_statement(dialect)
    stored: dict[str, tuple[int, str]] = {}
    rows = [_stored(row) for row in rows]
    if len(rows) == 1:  # an add: the statement straight on the cursor
        return {url: (seq, entry_id) for seq, entry_id, url in run(stmt, rows[0])}
    for start in range(0, len(rows), _INSERT_CHUNK):
        for seq, entry_id, url in db.session.connection().execute(
            stmt, rows[start : start + _INSERT_CHUNK]
        ):
            stored[url] = (seq, entry_id)
    return stored


_INSERT_IGNORE: dict = {}


def _stored(row: dict) -> dict:
    """The row as inserted: with its URL's digest; `protected` only when set (else the
    column's default, false: a bulk add is never the person's own request)."""
    stored = {**row, "url_sha256": url_digest(row["url"])}
    if not stored.get("protected", True):
        del stored["protected"]
    return stored


def _insert_ignore_statement(dialect: str):
    # No conflict target: a clash on the URL or on the digest (an erased person, whose
    # URL is gone) is a duplicate either way.
    returned = ENTRIES.c.seq, ENTRIES.c.id, ENTRIES.c.url
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(ENTRIES).on_conflict_do_nothing().returning(*returned)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(ENTRIES).on_conflict_do_nothing().returning(*returned)
    # pragma: no cover - only SQLite and PostgreSQL are supported
    raise RuntimeError(f"unsupported database: {dialect}")


def insert_one_locking_team_pg(row: dict) -> dict[str, tuple[int, str]]:
    """PostgreSQL, one entry: lock the team row and insert in one statement (one round
    trip instead of two). Stored with its URL's digest (`url_sha256`, for screening), like
    every insert. {url: (seq, id)}, or {} when the URL is listed or there is no such team
    (the caller tells the two apart)."""
    row = _stored(row)
    keys = tuple(row)
    stmt = _LOCKED_INSERTS.get(keys)
    if stmt is None:
        stmt = _LOCKED_INSERTS[keys] = _locked_insert_statement(keys)
    return {url: (seq, entry_id) for seq, entry_id, url in run(stmt, row)}


_LOCKED_INSERTS: dict = {}


def _locked_insert_statement(keys: tuple[str, ...]):
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    # The SELECT yields the row only once it holds the team's lock (FOR UPDATE), so the
    # insert is ordered after it exactly as LOCK_TEAM then INSERT were.
    values = [bindparam(key, type_=ENTRIES.c[key].type) for key in keys]
    locked_row = (
        select(*values)
        .select_from(TEAMS)
        .where(TEAMS.c.id == bindparam("team_id"))
        .with_for_update()
    )
    return (
        pg_insert(ENTRIES)
        .from_select(list(keys), locked_row)
        .on_conflict_do_nothing()
        .returning(ENTRIES.c.seq, ENTRIES.c.id, ENTRIES.c.url)
    )


# PostgreSQL: each column travels as one array parameter and unnest() turns the arrays
# back into rows, so a statement is short and constant whatever the number of rows (a
# multi-row VALUES list of thousands of placeholders costs more to build and parse than
# the insert itself). ORDER BY n keeps the input order in `seq`.
_PG_INSERT_ENTRIES = text("""
    INSERT INTO dnc_entry (id, team_id, url, url_sha256, reason, source, protected,
                           added_by, created_at, updated_at)
    SELECT t.id, :team_id, t.url, encode(sha256(convert_to(t.url, 'UTF8')), 'hex'),
           t.reason, :source, :protected, :added_by, :now, :now
    FROM unnest(CAST(:ids AS varchar[]), CAST(:urls AS varchar[]), CAST(:reasons AS text[]))
         WITH ORDINALITY AS t(id, url, reason, n)
    ORDER BY t.n
    ON CONFLICT DO NOTHING
    RETURNING seq, id, url
""").bindparams(bindparam("now", type_=UTCDateTime()))


# The search index's pending list (migration 0018) takes all of a bulk insert's rows, then
# they are merged into the index at once: 20 merges of 64 kB for 1,000 rows cost ≈ 50 ms
# more. Merged only by the index's owner (as VACUUM; the app's role when it migrates):
# else the app's next add merges them.
_PG_BULK_PENDING_LIST = text("SET LOCAL gin_pending_list_limit = '4MB'")
_PG_MERGE_PENDING_LIST = text("""
    SELECT gin_clean_pending_list(oid) FROM pg_class
    WHERE relname = 'ix_dnc_entry_search' AND pg_has_role(relowner, 'USAGE')""")


def insert_entries_pg(
    team_id: str,
    ids: list[str],
    urls: list[str],
    reasons: list[str | None],
    *,
    source: str,
    added_by: str,
    now: datetime,
) -> dict[str, tuple[int, str]]:
    """PostgreSQL's bulk insert (one statement); {url: (seq, id)} of the rows stored."""
    db.session.execute(_PG_BULK_PENDING_LIST)
    rows = db.session.execute(
        _PG_INSERT_ENTRIES,
        {
            "team_id": team_id,
            "source": source,
            # A person's own request (the public form) is their objection, as in one add.
            "protected": source in PROTECTED_SOURCES,
            "added_by": added_by,
            "now": now,
            "ids": ids,
            "urls": urls,
            "reasons": reasons,
        },
    ).all()
    db.session.execute(_PG_MERGE_PENDING_LIST)
    return {url: (seq, entry_id) for seq, entry_id, url in rows}


# --------------------------------------------------------------------------- lookups

_URL_ARRAY = ARRAY(String())


def listed_urls(team_id: str, urls: list[str]) -> set[str]:
    """Which of these URLs the team lists (by their digests, among every identifier of
    its people: erased entries and aliases too)."""
    by_digest = {url_digest(url): url for url in urls}
    digests = list(by_digest)
    column, team = IDENTIFIERS.c.sha256, IDENTIFIERS.c.team_id
    if dialect_name() == "postgresql":
        # One array parameter: a short statement whatever the number of URLs.
        any_digest = func.any(bindparam("digests", type_=_URL_ARRAY))
        stmt = select(column).where(team == team_id, column == any_digest)
        return {by_digest[d] for d in db.session.execute(stmt, {"digests": digests}).scalars()}
    listed: set[str] = set()
    for start in range(0, len(digests), _LOOKUP_CHUNK):
        chunk = digests[start : start + _LOOKUP_CHUNK]
        listed.update(
            by_digest[d]
            for d in db.session.execute(
                select(column).where(team == team_id, column.in_(chunk))
            ).scalars()
        )
    return listed


def entries_among(team_id: str, keys: list[str], *, by_url: bool) -> list[tuple[str, Entry]]:
    """(key, Entry) of the team's entries among `keys` (at most a removal's 1,000 at a
    time on SQLite, one array parameter on PostgreSQL): by URL, the digest of any of the
    person's identifiers (its URL or an alias; an erased person too, whose digests are
    kept), one probe of the identifiers' unique key each; by id, the rows are read through
    the unique index of ids alone and another team's dropped here: with the team's
    condition in SQL, SQLite's planner may read the team's rows instead."""
    if by_url:
        column = IDENTIFIERS.c.sha256
        base = (
            select(column, *SELECT_ENTRY.selected_columns)
            .select_from(_BY_IDENTIFIER)
            .where(IDENTIFIERS.c.team_id == team_id)
        )
    else:
        column = ENTRIES.c.id
        base = select(column, *SELECT_ENTRY.selected_columns)
    if dialect_name() == "postgresql":
        stmt = base.where(column == func.any(bindparam("keys", type_=_URL_ARRAY)))
        rows = list(db.session.execute(stmt, {"keys": keys}))
    else:
        rows = []
        for start in range(0, len(keys), _LOOKUP_CHUNK):
            rows += db.session.execute(base.where(column.in_(keys[start : start + _LOOKUP_CHUNK])))
    found = ((row[0], Entry(*row[1:])) for row in rows)
    return [(key, entry) for key, entry in found if entry.team_id == team_id]


# PostgreSQL: one statement; 0013's statement-level trigger takes the hour counts down once.
_PG_DELETE_SEQS = delete(ENTRIES).where(
    ENTRIES.c.seq == func.any(bindparam("seqs", type_=ARRAY(BigInteger())))
)
# SQLite (migration 0029): no delete trigger (a row-level one fires per row and costs SQLite
# its one-pass delete), so the hour counts and the search index are kept here, one
# statement each, before the rows go. The seqs travel as one JSON array (json_each): short
# statements whatever their number. CROSS JOIN keeps the array the outer loop (without
# statistics the planner would scan the entries). Identifiers that hang off an entry
# would be one more DELETE of the same seqs.
_SQLITE_UNCOUNT = text("""
    UPDATE entry_hour_count AS c SET entries = c.entries - d.n
    FROM (SELECT e.team_id, CAST(strftime('%s', e.created_at) AS INTEGER) / 3600 AS hour,
                 e.source, count(*) AS n
          FROM json_each(:seqs) AS r CROSS JOIN dnc_entry AS e ON e.seq = r.value
          GROUP BY 1, 2, 3) AS d
    WHERE c.team_id = d.team_id AND c.hour = d.hour AND c.source = d.source
""")
_SQLITE_DELETE = text("DELETE FROM dnc_entry WHERE seq IN (SELECT value FROM json_each(:seqs))")


def delete_entries(seqs: list[int]) -> None:
    """Delete these entries (by seq) in the write in progress, with a constant number of
    statements whatever their number; the hour counts and the search index follow."""
    if dialect_name() == "postgresql":
        db.session.execute(_PG_DELETE_SEQS, {"seqs": seqs})
        return
    connection = db.session.connection()
    listed = json.dumps(seqs)
    connection.execute(_SQLITE_UNCOUNT, {"seqs": listed})
    unindex_entries(connection, listed)
    connection.execute(_SQLITE_DELETE, {"seqs": listed})


def _screen_statements(*columns, key):
    """{dialect: SELECT columns of a team's identifiers (and their entries) whose `key`
    is among :values}, built once: PostgreSQL takes the values as one array parameter,
    SQLite as an expanding IN (callers pass at most _LOOKUP_CHUNK values, well under its
    parameter bound)."""
    team = IDENTIFIERS.c.team_id == bindparam("team_id")
    base = select(*columns).select_from(_BY_IDENTIFIER)
    return {
        "postgresql": base.where(team, key == func.any(bindparam("values", type_=_URL_ARRAY))),
        "sqlite": base.where(team, key.in_(bindparam("values", expanding=True))),
    }


_SCREEN_BY_DIGEST = _screen_statements(
    IDENTIFIERS.c.sha256, ENTRIES.c.url, ENTRIES.c.id, key=IDENTIFIERS.c.sha256
)


def screen_by_digest(team_id: str, digests: list[str]) -> Sequence[Any]:
    """(digest, url, id) of the team's people with one of these lowercase hex digests
    among their identifiers (url: the entry's own; None once erased)."""
    return (
        db.session.connection()
        .execute(_SCREEN_BY_DIGEST[dialect_name()], {"team_id": team_id, "values": digests})
        .all()
    )
