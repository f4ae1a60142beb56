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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, insert, select, text

from .. import ids
from ..database import begin_write
from ..extensions import db
from ..models import AuditEvent
from ..timeutil import UTCDateTime, utcnow
from . import statements as sql
from .bulk import BulkResult, classify
from .cursor import decode_cursor, encode_cursor
from .errors import AlreadyListed, EntryNotFound, TeamNotFound
from .validation import clean_reason, normalize
from .values import Entry, EntryPage

__all__ = ["Actor", "add_entries", "add_entry", "count_entries", "find_by_url", "get_entry",
           "list_entries", "preview_entries", "remove_entry"]


@dataclass(frozen=True)
class Actor:
    """Who made a change: an API key, a team member, the public form or the CLI."""

    kind: str  # "api_key" | "user" | "public" | "cli"
    id: str | None
    label: str
    ip_hash: str | None = None


# --------------------------------------------------------------------------- writes


def _begin_write(team_id: str) -> None:
    """Start a fresh write transaction holding the team's write lock."""
    begin_write()
    found = db.session.execute(sql.LOCK_TEAM, {"team_id": team_id}).scalar()
    if found is None:
        db.session.rollback()
        raise TeamNotFound()


def _audit_rows(
    team_id: str, action: str, entries: Iterable, source: str, actor: Actor,
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
        db.session.execute(insert(AuditEvent.__table__), rows)


def _adjust_entry_count(team_id: str, delta: int) -> None:
    if delta:
        db.session.execute(sql.ADJUST_ENTRY_COUNT, {"team_id": team_id, "delta": delta})


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


def _entry_from_row(row) -> Entry | None:
    return None if row is None else Entry(*row)


def add_entry(
    team_id: str,
    raw_url: object,
    *,
    reason: object = None,
    source: str,
    actor: Actor,
    reference: str | None = None,
    record_duplicate: bool = False,
) -> Entry:
    """Add one URL. Raises InvalidURL, InvalidReason or AlreadyListed.

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
        _begin_write(team_id)
        stored = sql.insert_ignoring_duplicates([row])
        if url in stored:
            entry = Entry(seq=stored[url][0], **row)
            _write_audit(_audit_rows(team_id, "add", [entry], source, actor, now=now,
                                     reference=reference))
            _adjust_entry_count(team_id, 1)
            db.session.commit()
            return entry
        existing = _entry_from_row(
            db.session.execute(sql.FIND_BY_URL, {"team_id": team_id, "url": url}).first())
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


def preview_entries(team_id: str, raw_urls: Sequence[object]) -> BulkResult:
    """What `add_entries` would do, without writing: statuses are "new", "duplicate"
    (already listed or repeated within the input) or "error"."""
    result, pending = classify(raw_urls)
    listed = sql.listed_urls(team_id, list(pending))
    for url, item in pending.items():
        item.status = "duplicate" if url in listed else "new"
    return result


class _NewEntry(NamedTuple):
    id: str
    url: str
    reason: str | None


def _store_new_entries(team_id: str, new: list[_NewEntry], source: str, actor: Actor,
                       now: datetime) -> dict[str, tuple[int, str]]:
    """Insert the entries (in order; a URL listed meanwhile is skipped) and their audit
    records; return {url: (seq, id)} of those stored."""
    if sql.dialect_name() == "postgresql":
        stored = sql.insert_entries_pg(
            team_id, [e.id for e in new], [e.url for e in new], [e.reason for e in new],
            source=source, added_by=actor.label, now=now)
        added = [e for e in new if e.url in stored]
        if added:
            db.session.execute(_PG_INSERT_AUDIT, {
                "team_id": team_id, "source": source, "actor_type": actor.kind,
                "actor_id": actor.id, "actor_label": actor.label, "ip_hash": actor.ip_hash,
                "now": now, "entry_ids": [e.id for e in added],
                "urls": [e.url for e in added], "reasons": [e.reason for e in added],
            })
        return stored
    rows = [_entry_row(team_id, e.url, e.reason, source, actor, now, e.id) for e in new]
    stored = sql.insert_ignoring_duplicates(rows)
    added = [e for e in new if e.url in stored]
    _write_audit(_audit_rows(team_id, "add", added, source, actor, now=now))
    return stored


_PG_INSERT_AUDIT = text("""
    INSERT INTO audit_event (team_id, action, entry_id, url, reason, source, actor_type,
                             actor_id, actor_label, ip_hash, created_at)
    SELECT :team_id, 'add', t.entry_id, t.url, t.reason, :source, :actor_type, :actor_id,
           :actor_label, :ip_hash, :now
    FROM unnest(CAST(:entry_ids AS varchar[]), CAST(:urls AS varchar[]),
                CAST(:reasons AS text[])) WITH ORDINALITY AS t(entry_id, url, reason, n)
    ORDER BY t.n
""").bindparams(bindparam("now", type_=UTCDateTime()))


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
    result, pending = classify(raw_urls, reasons)
    if not pending:
        return result
    now = utcnow()
    _begin_write(team_id)
    listed = sql.listed_urls(team_id, list(pending))
    new = [_NewEntry(entry_id, url, pending[url].reason) for url, entry_id in zip(
        (url for url in pending if url not in listed), ids.entry_ids(len(pending) - len(listed)),
        strict=True)]
    stored = _store_new_entries(team_id, new, source, actor, now) if new else {}
    _adjust_entry_count(team_id, len(stored))
    db.session.commit()
    for url, item in pending.items():
        if url in stored:
            item.status, item.entry_id = "added", stored[url][1]
        else:
            item.status, item.error = "duplicate", "Already on the Do Not Contact list"
    return result


def remove_entry(
    team_id: str, entry_id: str, *, reason: object = None, source: str, actor: Actor
) -> Entry:
    """Remove one entry of this team. Another team's id is EntryNotFound, like an
    unknown one. The audit record of the removal stays."""
    reason = clean_reason(reason)
    _begin_write(team_id)
    entry = _entry_from_row(
        db.session.execute(sql.GET_ENTRY, {"team_id": team_id, "entry_id": entry_id}).first())
    if entry is None:
        db.session.rollback()
        raise EntryNotFound()
    db.session.execute(sql.DELETE_ENTRY, {"seq": entry.seq})
    _write_audit(_audit_rows(team_id, "remove", [entry], source, actor, reason=reason))
    _adjust_entry_count(team_id, -1)
    db.session.commit()
    return entry


# --------------------------------------------------------------------------- reads

# Single-entry reads are the hot path of the API (check): statements built once, run on
# the session's connection, rows turned into frozen Entry values (no ORM machinery).


def find_by_url(team_id: str, raw_url: object) -> Entry | None:
    """The team's entry for this URL, if listed. Raises InvalidURL."""
    url = normalize(raw_url)
    return _entry_from_row(db.session.connection().execute(
        sql.FIND_BY_URL, {"team_id": team_id, "url": url}).first())


def get_entry(team_id: str, entry_id: str) -> Entry | None:
    return _entry_from_row(db.session.connection().execute(
        sql.GET_ENTRY, {"team_id": team_id, "entry_id": entry_id}).first())


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
    the last page of a million entries). `q` filters on a substring of the URL."""
    c = sql.ENTRIES.c
    where = [c.team_id == team_id]
    if q:
        # A substring match: a scan of the team's rows on SQLite; served by the trigram
        # index on PostgreSQL (migration 0002) when the text is selective.
        where.append(c.url.like(sql.like_pattern(q), escape="\\"))
        total = db.session.execute(
            select(func.count()).select_from(sql.ENTRIES).where(*where)
        ).scalar_one()
    else:
        total = count_entries(team_id)
    stmt = sql.SELECT_ENTRY.where(*where)
    if cursor:
        stmt = stmt.where(c.seq < decode_cursor(cursor))
    elif offset:
        stmt = stmt.offset(offset)
    rows = db.session.connection().execute(stmt.order_by(c.seq.desc()).limit(limit + 1)).all()
    entries = [Entry(*row) for row in rows[:limit]]
    next_cursor = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
    return EntryPage(entries, total, next_cursor)
