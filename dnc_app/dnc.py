"""The service layer: the one way entries enter and leave a team's list.

Every path that changes a list (API, pages, public form, CSV import, CLI) calls these
functions. Each normalizes the URL, lets the unique constraint decide duplicates (no
check-then-insert race), writes the audit record and the team's entry count in the same
transaction, and returns the entry or raises a typed error.

Concurrency: a write transaction first locks the team row (PostgreSQL `SELECT … FOR
UPDATE`; SQLite takes the database write lock with `BEGIN IMMEDIATE`), so writes to one
team are serialized (they are rate-limited to a few per second anyway) and two batches
with the same URLs in different orders cannot deadlock.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import ARRAY, String, bindparam, delete, func, insert, select, text, update
from sqlalchemy.orm import configure_mappers

from . import ids
from .database import begin_write
from .extensions import db
from .models import AuditEvent, DncEntry, Team
from .normalize import InvalidURL, normalize_linkedin_url
from .timeutil import UTCDateTime, utcnow

MAX_REASON_LENGTH = 1000
# Rows per INSERT statement: well under SQLite's 32,766 bound parameters.
_INSERT_CHUNK = 500
# URLs per `IN (…)` lookup.
_LOOKUP_CHUNK = 1000


@dataclass(frozen=True)
class Actor:
    """Who made a change: an API key, a team member, the public form or the CLI."""

    kind: str  # "api_key" | "user" | "public" | "cli"
    id: str | None
    label: str
    ip_hash: str | None = None


class DncError(Exception):
    code = "error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidURLError(DncError):
    code = "invalid_url"

    def __init__(self, reason: str):
        super().__init__(f"Invalid LinkedIn URL: {reason}")
        self.reason = reason


class InvalidReasonError(DncError):
    code = "invalid_parameter"


class AlreadyListed(DncError):
    code = "already_exists"

    def __init__(self, entry: DncEntry):
        super().__init__("URL already exists in Do Not Contact list")
        self.entry = entry


class EntryNotFound(DncError):
    code = "not_found"

    def __init__(self):
        super().__init__("DNC entry not found")


class TeamNotFound(DncError):
    code = "team_not_found"

    def __init__(self):
        super().__init__("Team not found")


def normalize(raw_url: object) -> str:
    """Normalize a URL or raise InvalidURLError with the reason."""
    try:
        return normalize_linkedin_url(raw_url)
    except InvalidURL as exc:
        raise InvalidURLError(exc.reason) from None


def clean_reason(reason: object) -> str | None:
    """An optional free-text reason: trimmed, at most MAX_REASON_LENGTH characters."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        raise InvalidReasonError("reason must be a string")
    reason = reason.strip()
    if len(reason) > MAX_REASON_LENGTH:
        raise InvalidReasonError(f"reason must be at most {MAX_REASON_LENGTH:,} characters")
    if any(ord(c) < 32 and c not in "\t\n\r" for c in reason):
        raise InvalidReasonError("reason must not contain control characters")
    # A JSON "\ud800" escape: no database can store a lone surrogate.
    if not reason.isascii() and any("\ud800" <= c <= "\udfff" for c in reason):
        raise InvalidReasonError("reason must not contain lone surrogates")
    return reason or None


# --------------------------------------------------------------------------- statements

# Built once and executed with parameters: building an expression and running it through
# the ORM cost more than the SQL on every request.
_ENTRY_TABLE = DncEntry.__table__
_FIND_BY_URL = select(_ENTRY_TABLE).where(_ENTRY_TABLE.c.team_id == bindparam("team_id"),
                                          _ENTRY_TABLE.c.url == bindparam("url"))
_GET_ENTRY = select(_ENTRY_TABLE).where(_ENTRY_TABLE.c.id == bindparam("entry_id"),
                                        _ENTRY_TABLE.c.team_id == bindparam("team_id"))


_TEAM_TABLE = Team.__table__
_LOCK_TEAM = (
    select(_TEAM_TABLE.c.id).where(_TEAM_TABLE.c.id == bindparam("team_id")).with_for_update()
)
_COUNT_ENTRIES = (
    update(_TEAM_TABLE)
    .where(_TEAM_TABLE.c.id == bindparam("team_id"))
    .values(entry_count=_TEAM_TABLE.c.entry_count + bindparam("delta"))
)
_DELETE_ENTRY = delete(_ENTRY_TABLE).where(_ENTRY_TABLE.c.seq == bindparam("seq"))
_TEAM_ENTRY_COUNT = select(_TEAM_TABLE.c.entry_count).where(
    _TEAM_TABLE.c.id == bindparam("team_id"))


# --------------------------------------------------------------------------- writes


def _begin_write(team_id: str) -> None:
    """Start a fresh write transaction holding the team's write lock."""
    begin_write()
    found = db.session.execute(_LOCK_TEAM, {"team_id": team_id}).scalar()
    if found is None:
        db.session.rollback()
        raise TeamNotFound()


def _insert_ignoring_duplicates(rows: list[dict]) -> dict[str, tuple[int, str]]:
    """INSERT … ON CONFLICT DO NOTHING; return {url: (seq, id)} of the rows stored.

    One statement per dialect, compiled once and cached; SQLAlchemy sends many rows as
    multi-row VALUES batches ("insertmanyvalues") with RETURNING.
    """
    dialect = db.session.get_bind().dialect.name
    stmt = _INSERT_IGNORE.get(dialect)
    if stmt is None:
        stmt = _INSERT_IGNORE[dialect] = _insert_ignore_statement(dialect)
    stored: dict[str, tuple[int, str]] = {}
    for start in range(0, len(rows), _INSERT_CHUNK):
        for seq, entry_id, url in db.session.execute(stmt, rows[start : start + _INSERT_CHUNK]):
            stored[url] = (seq, entry_id)
    return stored


_INSERT_IGNORE: dict = {}


def _insert_ignore_statement(dialect: str):
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise RuntimeError(f"unsupported database: {dialect}")
    table = DncEntry.__table__
    return (
        dialect_insert(table)
        .on_conflict_do_nothing(index_elements=["team_id", "url"])
        .returning(table.c.seq, table.c.id, table.c.url)
    )


def _audit_rows(
    team_id: str, action: str, entries: Iterable[DncEntry], source: str, actor: Actor,
    reason: str | None = None, now: datetime | None = None, reference: str | None = None,
) -> list[dict]:
    now = now or utcnow()
    return [
        {
            "team_id": team_id,
            "action": action,
            "entry_id": e.id,
            "url": e.url,
            "reason": reason if reason is not None else e.reason,
            "source": source,
            "actor_type": actor.kind,
            "actor_id": actor.id,
            "actor_label": actor.label,
            "ip_hash": actor.ip_hash,
            "reference": reference,
            "created_at": now,
        }
        for e in entries
    ]


def _write_audit(rows: list[dict]) -> None:
    if rows:
        # The Core table, not the ORM entity: the ORM's bulk path costs more than the SQL.
        db.session.execute(insert(AuditEvent.__table__), rows)


def _count_entries(team_id: str, delta: int) -> None:
    if delta:
        db.session.execute(_COUNT_ENTRIES, {"team_id": team_id, "delta": delta})


def _entry_row(team_id: str, url: str, reason: str | None, source: str, actor: Actor,
               now: datetime, entry_id: str | None = None) -> dict:
    return {
        "id": entry_id or ids.entry_id(),
        "team_id": team_id,
        "url": url,
        "reason": reason,
        "source": source,
        "added_by": actor.label,
        "created_at": now,
        "updated_at": now,
    }


def add_entry(
    team_id: str,
    raw_url: object,
    *,
    reason: object = None,
    source: str,
    actor: Actor,
    reference: str | None = None,
    record_duplicate: bool = False,
    needs_review: bool = False,
) -> DncEntry:
    """Add one URL. Raises InvalidURLError, InvalidReasonError or AlreadyListed.

    `needs_review` stores a new entry flagged for the team to look at (the caller
    decides: the public form above the team's threshold).

    `reference` is kept in the audit record (a receipt the person can quote). With
    `record_duplicate`, a request for a URL already listed is recorded too (action
    "add_duplicate"), so every public opt-out request leaves a trace and takes the
    same path as a new one.
    """
    url = normalize(raw_url)
    reason = clean_reason(reason)
    for _attempt in range(3):
        now = utcnow()
        row = _entry_row(team_id, url, reason, source, actor, now)
        row["needs_review"] = needs_review
        _begin_write(team_id)
        stored = _insert_ignoring_duplicates([row])
        if url in stored:
            row["seq"] = stored[url][0]
            entry = DncEntry(**row)
            _write_audit(_audit_rows(team_id, "add", [entry], source, actor, now=now,
                                     reference=reference))
            _count_entries(team_id, 1)
            db.session.commit()
            return entry
        existing = _entry_from_row(
            db.session.execute(_FIND_BY_URL, {"team_id": team_id, "url": url}).first())
        if existing is not None and record_duplicate:
            _write_audit(_audit_rows(team_id, "add_duplicate", [existing], source, actor,
                                     reason=reason, now=now, reference=reference))
            db.session.commit()
        else:
            db.session.rollback()
        if existing is not None:
            raise AlreadyListed(existing)
        # The conflicting row was removed between our insert and our read: try again.
    raise RuntimeError("could not add the entry after 3 attempts")  # pragma: no cover


@dataclass
class ItemResult:
    """One line of a bulk add, in input order."""

    input: object
    url: str | None  # normalized, when valid
    status: str  # "added" | "duplicate" | "error"
    error: str | None = None
    entry_id: str | None = None
    reason: str | None = None


@dataclass
class BulkResult:
    items: list[ItemResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)

    @property
    def added(self) -> int:
        return self.count("added")

    @property
    def duplicates(self) -> int:
        return self.count("duplicate")

    @property
    def errors(self) -> int:
        return self.count("error")


def preview_entries(team_id: str, raw_urls: Sequence[object]) -> BulkResult:
    """What `add_entries` would do, without writing: statuses are "new", "duplicate"
    (already listed or repeated within the input) or "error"."""
    result, pending = _classify(raw_urls)
    listed = _listed_urls(team_id, list(pending))
    for url, item in pending.items():
        item.status = "duplicate" if url in listed else "new"
    return result


def _classify(raw_urls: Sequence[object]) -> tuple[BulkResult, dict[str, ItemResult]]:
    """Normalize every input; the first occurrence of each URL is pending, repeats are
    duplicates, invalid ones are errors."""
    result = BulkResult()
    pending: dict[str, ItemResult] = {}
    for raw in raw_urls:
        try:
            url = normalize(raw)
        except InvalidURLError as exc:
            result.items.append(ItemResult(raw, None, "error", exc.reason))
            continue
        item = ItemResult(raw, url, "pending")
        if url in pending:
            item.status = "duplicate"
            item.error = "Duplicate of an earlier line in this request"
        else:
            pending[url] = item
        result.items.append(item)
    return result, pending


_URL_ARRAY = ARRAY(String())


def _listed_urls(team_id: str, urls: list[str]) -> set[str]:
    if db.session.get_bind().dialect.name == "postgresql":
        # One array parameter: a short statement whatever the number of URLs.
        any_url = func.any(bindparam("urls", type_=_URL_ARRAY))
        stmt = select(DncEntry.url).where(DncEntry.team_id == team_id, DncEntry.url == any_url)
        return set(db.session.execute(stmt, {"urls": urls}).scalars())
    listed: set[str] = set()
    for start in range(0, len(urls), _LOOKUP_CHUNK):
        chunk = urls[start : start + _LOOKUP_CHUNK]
        listed.update(
            db.session.execute(
                select(DncEntry.url).where(DncEntry.team_id == team_id, DncEntry.url.in_(chunk))
            ).scalars()
        )
    return listed


class _NewEntry(NamedTuple):
    id: str
    url: str
    reason: str | None


def _store_new_entries(team_id: str, new: list[_NewEntry], source: str, actor: Actor,
                       now: datetime) -> dict[str, tuple[int, str]]:
    """Insert the entries (in order; a URL listed meanwhile is skipped) and their audit
    records; return {url: (seq, id)} of those stored."""
    if db.session.get_bind().dialect.name == "postgresql":
        return _store_new_entries_pg(team_id, new, source, actor, now)
    rows = [_entry_row(team_id, e.url, e.reason, source, actor, now, e.id) for e in new]
    stored = _insert_ignoring_duplicates(rows)
    # Plain records for the audit rows: building ORM objects would cost more than the SQL.
    added = [e for e in new if e.url in stored]
    _write_audit(_audit_rows(team_id, "add", added, source, actor, now=now))
    return stored


# PostgreSQL: each column travels as one array parameter and unnest() turns the arrays
# back into rows, so a statement is short and constant whatever the number of rows (a
# multi-row VALUES list of thousands of placeholders costs more to build and parse than
# the insert itself). ORDER BY n keeps the input order in `seq`.
_PG_INSERT_ENTRIES = text("""
    INSERT INTO dnc_entry (id, team_id, url, reason, source, added_by, created_at, updated_at)
    SELECT t.id, :team_id, t.url, t.reason, :source, :added_by, :now, :now
    FROM unnest(CAST(:ids AS varchar[]), CAST(:urls AS varchar[]), CAST(:reasons AS text[]))
         WITH ORDINALITY AS t(id, url, reason, n)
    ORDER BY t.n
    ON CONFLICT (team_id, url) DO NOTHING
    RETURNING seq, id, url
""").bindparams(bindparam("now", type_=UTCDateTime()))

_PG_INSERT_AUDIT = text("""
    INSERT INTO audit_event (team_id, action, entry_id, url, reason, source, actor_type,
                             actor_id, actor_label, ip_hash, created_at)
    SELECT :team_id, 'add', t.entry_id, t.url, t.reason, :source, :actor_type, :actor_id,
           :actor_label, :ip_hash, :now
    FROM unnest(CAST(:entry_ids AS varchar[]), CAST(:urls AS varchar[]),
                CAST(:reasons AS text[])) WITH ORDINALITY AS t(entry_id, url, reason, n)
    ORDER BY t.n
""").bindparams(bindparam("now", type_=UTCDateTime()))


def _store_new_entries_pg(team_id: str, new: list[_NewEntry], source: str, actor: Actor,
                          now: datetime) -> dict[str, tuple[int, str]]:
    rows = db.session.execute(_PG_INSERT_ENTRIES, {
        "team_id": team_id, "source": source, "added_by": actor.label, "now": now,
        "ids": [e.id for e in new], "urls": [e.url for e in new],
        "reasons": [e.reason for e in new],
    })
    stored = {url: (seq, entry_id) for seq, entry_id, url in rows}
    added = [e for e in new if e.url in stored]
    if added:
        db.session.execute(_PG_INSERT_AUDIT, {
            "team_id": team_id, "source": source, "actor_type": actor.kind,
            "actor_id": actor.id, "actor_label": actor.label, "ip_hash": actor.ip_hash,
            "now": now, "entry_ids": [e.id for e in added], "urls": [e.url for e in added],
            "reasons": [e.reason for e in added],
        })
    return stored


def add_entries(
    team_id: str,
    raw_urls: Sequence[object],
    *,
    reasons: Sequence[object] | None = None,
    source: str,
    actor: Actor,
) -> BulkResult:
    """Add many URLs in one transaction with a constant number of statements per
    chunk of rows (no query per item). Results are in input order; entries are stored
    in input order, so the later line is the newer entry."""
    result, pending = _classify(raw_urls)
    if reasons is not None:
        for item, reason in zip(result.items, reasons, strict=True):
            if item.status == "pending":
                try:
                    item.reason = clean_reason(reason)
                except InvalidReasonError as exc:
                    item.status, item.error = "error", exc.message
                    del pending[item.url]
    if not pending:
        return result
    now = utcnow()
    _begin_write(team_id)
    listed = _listed_urls(team_id, list(pending))
    new = [_NewEntry(entry_id, url, pending[url].reason) for url, entry_id in zip(
        (url for url in pending if url not in listed), ids.entry_ids(len(pending) - len(listed)),
        strict=True)]
    stored = _store_new_entries(team_id, new, source, actor, now) if new else {}
    _count_entries(team_id, len(stored))
    db.session.commit()
    for url, item in pending.items():
        if url in stored:
            item.status, item.entry_id = "added", stored[url][1]
        else:
            item.status, item.error = "duplicate", "Already on the Do Not Contact list"
    return result


def remove_entry(
    team_id: str, entry_id: str, *, reason: object = None, source: str, actor: Actor
) -> DncEntry:
    """Remove one entry of this team. Another team's id is EntryNotFound, like an
    unknown one. The audit record of the removal stays."""
    reason = clean_reason(reason)
    _begin_write(team_id)
    entry = _entry_from_row(
        db.session.execute(_GET_ENTRY, {"team_id": team_id, "entry_id": entry_id}).first())
    if entry is None:
        db.session.rollback()
        raise EntryNotFound()
    db.session.execute(_DELETE_ENTRY, {"seq": entry.seq})
    _write_audit(_audit_rows(team_id, "remove", [entry], source, actor, reason=reason))
    _count_entries(team_id, -1)
    db.session.commit()
    return entry


# --------------------------------------------------------------------------- reads


# Single-entry reads are the hot path of the API (check). They run statements built once
# (building a WHERE clause costs more than executing it) on the session's connection,
# and return a DncEntry populated straight from the row, as the ORM's loader does, but
# without the identity map and loading machinery: about a third of the cost of an ORM
# query. The entry is a read-only snapshot for the caller (not attached to the session).
_mappers_configured = False


def _entry_from_row(row) -> DncEntry | None:
    global _mappers_configured
    if row is None:
        return None
    if not _mappers_configured:
        # Building an instance without __init__ skips the ORM's configure-on-first-use:
        # in a fresh process the attributes would not work yet.
        configure_mappers()
        _mappers_configured = True
    entry = DncEntry._sa_class_manager.new_instance()
    entry.__dict__.update(row._mapping)
    return entry


def find_by_url(team_id: str, raw_url: object) -> DncEntry | None:
    """The team's entry for this URL, if listed. Raises InvalidURLError."""
    url = normalize(raw_url)
    return _entry_from_row(db.session.connection().execute(
        _FIND_BY_URL, {"team_id": team_id, "url": url}).first())


def get_entry(team_id: str, entry_id: str) -> DncEntry | None:
    return _entry_from_row(db.session.connection().execute(
        _GET_ENTRY, {"team_id": team_id, "entry_id": entry_id}).first())


class InvalidCursor(ValueError):
    pass


_MAX_SEQ = 2**63


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        digits = raw[1:]
        if not raw.startswith("s") or not (digits.isascii() and digits.isdigit()):
            raise ValueError
        seq = int(digits)
        # A sequence number fits a signed 64-bit integer (larger ones would fail in SQL).
        if seq >= _MAX_SEQ:
            raise ValueError
        return seq
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("cursor is not valid") from None


@dataclass
class EntryPage:
    entries: list[DncEntry]
    total: int
    next_cursor: str | None


def count_entries(team_id: str) -> int:
    """The team's number of entries: kept by every write, so O(1) at a million."""
    return db.session.execute(_TEAM_ENTRY_COUNT, {"team_id": team_id}).scalar() or 0


def _like_pattern(q: str) -> str:
    escaped = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def list_entries(
    team_id: str,
    *,
    limit: int = 50,
    offset: int = 0,
    cursor: str | None = None,
    q: str | None = None,
) -> EntryPage:
    """Newest first. Offset pagination, or keyset pagination with `cursor` (fast on
    the last page of a million entries). `q` filters on a substring of the URL."""
    c = _ENTRY_TABLE.c
    where = [c.team_id == team_id]
    if q:
        # A substring match: a scan of the team's rows on SQLite; served by the trigram
        # index on PostgreSQL (migration 0002) when the text is selective.
        where.append(c.url.like(_like_pattern(q), escape="\\"))
        total = db.session.execute(
            select(func.count()).select_from(_ENTRY_TABLE).where(*where)
        ).scalar_one()
    else:
        total = count_entries(team_id)
    stmt = select(_ENTRY_TABLE).where(*where)
    if cursor:
        stmt = stmt.where(c.seq < decode_cursor(cursor))
    elif offset:
        stmt = stmt.offset(offset)
    rows = db.session.connection().execute(stmt.order_by(c.seq.desc()).limit(limit + 1)).all()
    entries = [_entry_from_row(row) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return EntryPage(entries, total, next_cursor)
