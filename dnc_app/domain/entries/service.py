"""The service layer: the one way entries enter and leave a team's list.

Every path that changes a list (API, pages, public form, CSV import, CLI) calls these
functions. Each normalizes the URL, lets the unique constraint decide duplicates (no
check-then-insert race), records the change in the change log (which keeps the team's
entry count too) in the same transaction, and returns the entry or raises a typed error.

Concurrency: a write transaction first locks the team row (PostgreSQL `SELECT … FOR
UPDATE`; SQLite takes the database write lock with `BEGIN IMMEDIATE`), so writes to one
team are serialized (they are rate-limited to a few per second anyway) and two batches
with the same URLs in different orders cannot deadlock. A single add on SQLite (the API's
hot path) runs its statements on a connection outside the session (database.run), in the
same BEGIN IMMEDIATE transaction, unless the session is mid-transaction or the team has
webhooks.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from dnc_app.domain import ids
from dnc_app.domain.changelog import Action, Actor, Change, Source, record
from dnc_app.domain.entries import erasure
from dnc_app.domain.entries import statements as sql
from dnc_app.domain.entries.bulk import BulkResult, classify
from dnc_app.domain.entries.errors import (
    AlreadyListed,
    EntryNotFound,
    InvalidReason,
    InvalidURL,
    ProtectedEntry,
    TeamNotFound,
)
from dnc_app.domain.entries.validation import clean_reason, normalize, url_digest
from dnc_app.domain.entries.values import PROTECTED_SOURCES, Entry
from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.storage.database import (
    begin_write,
    read_one,
    run,
    session_in_transaction,
    write_outside_session,
)

__all__ = [
    "RemovalItem",
    "RemovalResult",
    "add_entries",
    "add_entry",
    "erase_entry",
    "find_by_url",
    "get_entry",
    "preview_entries",
    "preview_removal",
    "remove_entries",
    "remove_entry",
]


# --------------------------------------------------------------------------- writes


def begin_team_write(team_id: str) -> None:
    """Start a fresh write transaction holding the team's write lock."""
    begin_write()
    _lock_team(team_id)


def _insert_one(team_id: str, row: dict) -> dict[str, tuple[int, str]]:
    """Begin a write holding the team's lock and insert the row unless its URL is listed;
    {url: (seq, id)} of the row stored. Raises TeamNotFound."""
    if sql.dialect_name() != "postgresql":
        begin_team_write(team_id)
        return sql.insert_ignoring_duplicates([row])
    begin_write()
    stored = sql.insert_one_locking_team_pg(row)  # lock and insert: one round trip
    if not stored:
        _lock_team(team_id)  # listed already, or no such team
    return stored


def _lock_team(team_id: str) -> None:
    if not run(sql.LOCK_TEAM, {"team_id": team_id}):
        db.session.rollback()
        raise TeamNotFound()


def entry_row(
    team_id: str,
    url: str,
    reason: str | None,
    source: Source,
    actor: Actor,
    now: datetime,
    entry_id: str | None = None,
) -> dict:
    return {
        "id": entry_id or ids.entry_id(),
        "team_id": team_id,
        "url": url,
        "url_sha256": url_digest(url),
        "reason": reason,
        "source": source,
        "added_by": actor.label,
        "created_at": now,
        "updated_at": now,
        "needs_review": False,
        "protected": source in PROTECTED_SOURCES,
    }


def _entry_from_row(row) -> Entry | None:
    return None if row is None else Entry(*row)


def add_entry(
    team_id: str,
    raw_url: object,
    *,
    reason: object = None,
    source: Source,
    actor: Actor,
    reference: str | None = None,
    record_duplicate: bool = False,
    needs_review: bool = False,
) -> Entry:
    """Add one URL. Raises InvalidURL, InvalidReason or AlreadyListed.

    `needs_review` stores a new entry flagged for the team to look at (the caller
    decides: the public form above the team's threshold).

    `reference` is kept in the audit record (a receipt the person can quote). With
    `record_duplicate`, a request for a URL already listed is recorded too (action
    "add_duplicate"), so every public opt-out request leaves a trace and takes the
    same path as a new one.

    The person's own request (source public_form) for a URL listed by anything else
    makes that entry theirs: it becomes protected (see remove_entry) and the log
    records "opted out themselves" (action "opted_out") instead of "add_duplicate";
    AlreadyListed then carries the entry as it is now.
    """
    url = normalize(raw_url)
    reason = clean_reason(reason)
    source = Source(source)
    for _attempt in range(3):
        row = entry_row(team_id, url, reason, source, actor, utcnow())
        row["needs_review"] = needs_review
        outcome = _add_outside_session(team_id, row, actor, reference, record_duplicate)
        if outcome is None:
            outcome = _add_in_session(team_id, row, actor, reference, record_duplicate)
        added, existing, _committed = outcome
        if added is not None:
            return added
        if existing is not None:
            raise AlreadyListed(existing)
        # The conflicting row was removed between our insert and our read: try again.
    raise RuntimeError("could not add the entry after 3 attempts")  # pragma: no cover


# (the entry added, the entry already listed, whether the transaction is to be committed)
_Outcome = tuple[Entry | None, Entry | None, bool]


def _add_row(
    team_id: str,
    row: dict,
    actor: Actor,
    reference: str | None,
    record_duplicate: bool,
    insert: Callable[[dict], dict],
) -> _Outcome:
    """In a write transaction: `insert` (INSERT … ON CONFLICT DO NOTHING, holding the
    team's lock), then the change log, or the entry already listed."""
    url, reason, source, now = row["url"], row["reason"], row["source"], row["created_at"]
    stored = insert(row)
    if url in stored:
        entry = Entry(seq=stored[url][0], **row)
        record(
            team_id,
            Action.ADD,
            [Change(entry.id, url, reason)],
            source=source,
            actor=actor,
            reference=reference,
            now=now,
        )
        return entry, None, True
    found = run(sql.FIND_BY_DIGEST, {"team_id": team_id, "sha256": row["url_sha256"]})
    existing = _entry_from_row(found[0] if found else None)
    if existing is not None and row["protected"] and not existing.protected:
        return None, _protect(team_id, existing, reason, source, actor, reference, now), True
    if existing is not None and record_duplicate:
        record(
            team_id,
            Action.ADD_DUPLICATE,
            [_request_of(existing, reason)],
            source=source,
            actor=actor,
            reference=reference,
            now=now,
        )
        return None, existing, True
    return None, existing, False


def _protect(
    team_id: str,
    entry: Entry,
    reason: str | None,
    source: Source,
    actor: Actor,
    reference: str | None,
    now: datetime,
) -> Entry:
    """The person asked themselves for an entry listed otherwise: it becomes their own
    opt-out, recorded with their receipt's reference, in the caller's transaction."""
    run(sql.PROTECT_ENTRY, {"entry_seq": entry.seq, "at": now})
    record(
        team_id,
        Action.OPTED_OUT,
        [_request_of(entry, reason)],
        source=source,
        actor=actor,
        reference=reference,
        now=now,
    )
    return replace(entry, protected=True, updated_at=now)


def _request_of(entry: Entry, reason: str | None) -> Change:
    """The change a request for a listed person records: the entry, its URL and the
    request's reason (else the entry's); for an erased person, the entry alone (their
    request is recorded, their data is not again)."""
    if entry.erased:
        return Change(entry.id)
    return Change(entry.id, entry.url, reason if reason is not None else entry.reason)


def _add_in_session(
    team_id: str, row: dict, actor: Actor, reference: str | None, record_duplicate: bool
) -> _Outcome:
    outcome = _add_row(
        team_id, row, actor, reference, record_duplicate, lambda r: _insert_one(team_id, r)
    )
    if outcome[2]:
        db.session.commit()
    else:
        db.session.rollback()
    return outcome


def _add_outside_session(
    team_id: str, row: dict, actor: Actor, reference: str | None, record_duplicate: bool
) -> _Outcome | None:
    """SQLite: the add on a connection of its own, outside the session (≈ 15% of an add's
    CPU was the session's transaction machinery). None where it does not apply:
    PostgreSQL, a session transaction in progress, or a team with webhooks (the outbox
    wakes its delivery loop from the session's commit)."""
    if sql.dialect_name() != "sqlite" or session_in_transaction():
        return None
    with write_outside_session() as transaction:
        # BEGIN IMMEDIATE holds the write lock: this read stands for the team's lock.
        team = run(sql.TEAM_HAS_WEBHOOKS, {"team_id": team_id})
        if not team:
            raise TeamNotFound()  # rolled back on the way out
        if team[0].has_webhooks:
            transaction.rollback()
            return None
        outcome = _add_row(
            team_id,
            row,
            actor,
            reference,
            record_duplicate,
            lambda r: sql.insert_ignoring_duplicates([r]),
        )
        if not outcome[2]:
            transaction.rollback()
    return outcome


def preview_entries(team_id: str, raw_urls: Sequence[object]) -> BulkResult:
    """What `add_entries` would do, without writing: statuses are "new", "duplicate"
    (already listed or repeated within the input) or "error"."""
    result, pending = classify(raw_urls)
    listed = sql.listed_urls(team_id, list(pending))
    for url, item in pending.items():
        item.status = "duplicate" if url in listed else "new"
    return result


def _stored_as(change: Change) -> tuple[str, str]:
    """(id, URL) of a change about an entry (both always set there)."""
    assert change.subject_id is not None and change.url is not None
    return change.subject_id, change.url


def _store_new_entries(
    team_id: str, new: list[Change], source: Source, actor: Actor, now: datetime
) -> dict[str, tuple[int, str]]:
    """Insert the entries (in order; a URL listed meanwhile is skipped) and record them
    in the change log; return {url: (seq, id)} of those stored."""
    keys = [_stored_as(e) for e in new]
    if sql.dialect_name() == "postgresql":
        stored = sql.insert_entries_pg(
            team_id,
            [entry_id for entry_id, _ in keys],
            [url for _, url in keys],
            [e.reason for e in new],
            source=source,
            added_by=actor.label,
            now=now,
        )
    else:
        stored = sql.insert_ignoring_duplicates(
            [
                entry_row(team_id, url, e.reason, source, actor, now, entry_id)
                for (entry_id, url), e in zip(keys, new, strict=True)
            ]
        )
    record(
        team_id,
        Action.ADD,
        [e for e in new if e.url in stored],
        source=source,
        actor=actor,
        now=now,
    )
    return stored


def add_entries(
    team_id: str,
    raw_urls: Sequence[object],
    *,
    reasons: Sequence[object] | None = None,
    source: Source,
    actor: Actor,
) -> BulkResult:
    """Add many URLs in one transaction with a constant number of statements per
    chunk of rows (no query per item). Results are in input order; entries are stored
    in input order, so the later line is the newer entry."""
    result, pending = classify(raw_urls, reasons)
    source = Source(source)
    if not pending:
        return result
    now = utcnow()
    begin_team_write(team_id)
    listed = sql.listed_urls(team_id, list(pending))
    new = [
        Change(entry_id, url, pending[url].reason)
        for url, entry_id in zip(
            (url for url in pending if url not in listed),
            ids.entry_ids(len(pending) - len(listed)),
            strict=True,
        )
    ]
    stored = _store_new_entries(team_id, new, source, actor, now) if new else {}
    db.session.commit()
    for url, item in pending.items():
        if url in stored:
            item.status, item.entry_id = "added", stored[url][1]
        else:
            item.status, item.error = "duplicate", "Already on the Do Not Contact list"
    return result


def remove_entry(
    team_id: str,
    entry_id: str,
    *,
    reason: object = None,
    source: Source,
    actor: Actor,
    may_remove_optouts: bool = False,
) -> Entry:
    """Remove one entry of this team. Another team's id is EntryNotFound, like an
    unknown one. The audit record of the removal stays.

    A person's own opt-out (Entry.protected) is removed only when `may_remove_optouts`
    (an owner, or a key an owner allowed), and only with a reason; a refused attempt
    is recorded (REMOVE_REFUSED) and raises ProtectedEntry."""
    reason = clean_reason(reason)
    begin_team_write(team_id)
    entry = _entry_from_row(
        db.session.execute(sql.GET_ENTRY, {"team_id": team_id, "entry_id": entry_id}).first()
    )
    if entry is None:
        db.session.rollback()
        raise EntryNotFound()
    if entry.protected or entry.erased:
        # An erased entry is a person's data erased on request: it stays suppressed
        # unless the same right that removes an opt-out removes it.
        _check_optout_removal(team_id, entry, reason, source, actor, may_remove_optouts)
    sql.delete_entries([entry.seq])
    record(
        team_id,
        Action.REMOVE,
        [Change(entry.id, entry.url, reason if reason is not None else entry.reason, entry)],
        source=source,
        actor=actor,
    )
    db.session.commit()
    return entry


def erase_entry(team_id: str, entry_id: str, *, source: Source, actor: Actor) -> Entry:
    """Erase a person's data and keep them suppressed: the entry keeps its id, the digest
    of its URL and its dates; its URL and reason go from every table and stored payload
    (erasure.scrub), in one transaction with the `erase` change (feed `erased`, webhook
    `dnc.entry.erased`). Another team's id is EntryNotFound. Erasing an erased entry
    changes nothing and returns it. The caller checks the right to erase."""
    begin_team_write(team_id)
    entry = _entry_from_row(
        db.session.execute(sql.GET_ENTRY, {"team_id": team_id, "entry_id": entry_id}).first()
    )
    if entry is None:
        db.session.rollback()
        raise EntryNotFound()
    if entry.erased:
        db.session.rollback()
        return entry
    now = utcnow()
    done = erasure.scrub(team_id, entry, now)
    erased = dataclasses.replace(entry, url=None, reason=None, aliases=None, updated_at=now)
    record(
        team_id,
        Action.ERASE,
        [Change(entry.id, None, None, erased)],
        source=source,
        actor=actor,
        now=now,
    )
    db.session.commit()
    for url in (entry.url, *entry.alias_list):  # the person's aliases too
        if url is not None:
            erasure.drop_staged_files(team_id, url)
    erasure.after_commit(done["fts_indexed"])
    return erased


# Entry ids are "dnc_" + letters and digits; anything else cannot exist (and must not
# reach the database, where e.g. a NUL character is an error on PostgreSQL).
ENTRY_ID = re.compile(r"dnc_[A-Za-z0-9]{1,36}")
REMOVAL_STATUSES = ("removed", "not_found", "protected_entry", "invalid_url")


@dataclass
class RemovalItem:
    """One input of a removal of many, and what became of it."""

    input: object
    entry_id: str | None = None
    status: str = "not_found"
    url: str | None = None  # the entry's URL (or, by URL, the normalized input)
    error: str | None = None  # why an input is not a URL (status invalid_url)
    entry: Entry | None = None  # the entry it names (removed or protected)
    repeat: bool = False  # names an entry an earlier item of the same request named


@dataclass
class RemovalResult:
    items: list[RemovalItem] = field(default_factory=list)
    operation: int | None = None  # the change-log seq of the removal (its first change)

    def count(self, status: str) -> int:
        return sum(1 for item in self.items if item.status == status)


def remove_entries(
    team_id: str,
    *,
    ids: Sequence[str] | None = None,
    urls: Sequence[object] | None = None,
    reason: object = None,
    source: Source,
    actor: Actor,
    may_remove_optouts: bool = False,
) -> RemovalResult:
    """Remove many entries of this team, named by id or by URL, in one transaction: one
    read of them, one DELETE, one change-log operation (webhook events per entry).

    Items are answered in input order and applied in order: an unknown id, another team's
    entry, or a repeat of an entry removed by an earlier item is `not_found`; a URL the
    normalizer refuses is `invalid_url`. A person's own opt-out is `protected_entry`
    unless `may_remove_optouts` (the refused attempts are recorded, as one operation);
    removing one needs a reason: without one, InvalidReason and nothing is written."""
    reason = clean_reason(reason)
    result, keys, wanted = _removal_keys(ids, urls)
    if not wanted:
        return result
    begin_team_write(team_id)
    removed, refused = _classify_removal(
        team_id, result, keys, wanted, ids is None, may_remove_optouts
    )
    if not reason and any(entry.is_optout for entry in removed.values()):
        db.session.rollback()
        raise InvalidReason("A reason is required to remove a person's own opt-out")
    now = utcnow()
    if removed:
        sql.delete_entries([entry.seq for entry in removed.values()])
        changes = [
            Change(e.id, e.url, reason if reason is not None else e.reason, e)
            for e in removed.values()
        ]
        last = record(team_id, Action.REMOVE, changes, source=source, actor=actor, now=now)
        result.operation = last - len(changes) + 1
    if refused:
        # The attempts are kept: someone tried to take people's objections off the list.
        record(
            team_id,
            Action.REMOVE_REFUSED,
            [Change(e.id, e.url, reason) for e in refused.values()],
            source=source,
            actor=actor,
            now=now,
        )
    db.session.commit()
    return result


def preview_removal(
    team_id: str,
    *,
    ids: Sequence[str] | None = None,
    urls: Sequence[object] | None = None,
    may_remove_optouts: bool = False,
) -> RemovalResult:
    """What `remove_entries` would do, without writing (statuses as it would set them)."""
    result, keys, wanted = _removal_keys(ids, urls)
    if wanted:
        _classify_removal(team_id, result, keys, wanted, ids is None, may_remove_optouts)
        db.session.rollback()  # end the read
    return result


def _removal_keys(ids, urls) -> tuple[RemovalResult, list[str | None], list[str]]:
    """The result to fill, each input's key (a normalized URL's digest or a well-formed id; None:
    invalid_url or not_found already), and the distinct keys to read."""
    by_url = ids is None
    result = RemovalResult([RemovalItem(raw) for raw in (urls if by_url else ids) or ()])
    keys: list[str | None] = []
    for item in result.items:
        key = None
        if by_url:
            try:
                item.url = normalize(item.input)
                key = url_digest(item.url)  # the person's identity, kept by an erasure
            except InvalidURL as exc:
                item.status, item.error = "invalid_url", exc.reason
        elif isinstance(item.input, str) and ENTRY_ID.fullmatch(item.input):
            key = item.input
        keys.append(key)
    return result, keys, list(dict.fromkeys(key for key in keys if key is not None))


def _classify_removal(
    team_id: str,
    result: RemovalResult,
    keys: list[str | None],
    wanted: list[str],
    by_url: bool,
    may_remove_optouts: bool,
) -> tuple[dict[str, Entry], dict[str, Entry]]:
    """Read the entries and set each item's status, in input order; returns the entries
    to remove and the protected ones refused, by id."""
    found = dict(sql.entries_among(team_id, wanted, by_url=by_url))
    removed: dict[str, Entry] = {}
    refused: dict[str, Entry] = {}
    for item, key in zip(result.items, keys, strict=True):
        entry = found.get(key) if key is not None else None
        if entry is not None:
            # The same person again (the same id or URL, or another of their identifiers):
            # a page says so rather than "not on the list".
            item.repeat = entry.id in removed or entry.id in refused
        if entry is None or entry.id in removed:
            continue  # not_found (or invalid_url), as set before
        item.entry_id, item.url, item.entry = entry.id, entry.url, entry
        if (entry.is_optout or entry.erased) and not may_remove_optouts:
            # An erased person stays suppressed like an opt-out (see remove_entry).
            item.status = "protected_entry"
            refused[entry.id] = entry
            continue
        item.status = "removed"
        removed[entry.id] = entry
    return removed, refused


def _check_optout_removal(
    team_id: str, entry: Entry, reason: str | None, source: Source, actor: Actor, allowed: bool
) -> None:
    if not allowed:
        # The attempt is kept: someone tried to take a person's objection off the list.
        record(
            team_id,
            Action.REMOVE_REFUSED,
            [Change(entry.id, entry.url, reason)],
            source=source,
            actor=actor,
        )
        db.session.commit()
        raise ProtectedEntry()
    if not reason:
        db.session.rollback()
        raise InvalidReason("A reason is required to remove a person's own opt-out")


# --------------------------------------------------------------------------- reads

# Single-entry reads are the hot path of the API (check): statements built once, run
# with read_one (outside the session when it has no transaction), rows turned into
# frozen Entry values (no ORM machinery).


def find_by_url(team_id: str, raw_url: object) -> Entry | None:
    """The team's entry for this URL, if listed. Raises InvalidURL."""
    digest = url_digest(normalize(raw_url))
    return _entry_from_row(read_one(sql.FIND_BY_DIGEST, {"team_id": team_id, "sha256": digest}))


def get_entry(team_id: str, entry_id: str) -> Entry | None:
    return _entry_from_row(
        db.session.connection()
        .execute(sql.GET_ENTRY, {"team_id": team_id, "entry_id": entry_id})
        .first()
    )
