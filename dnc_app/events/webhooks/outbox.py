"""The outbox: webhook events written in the transaction of the change they announce.

The change log's writer calls `enqueue_entry_changes` for every entry added or removed,
whatever the path, so an event exists exactly when its change committed. After a commit
that wrote events, the delivery loop of this process is woken (others poll).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Container, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, event, insert, select

from dnc_app.domain.ids import random_token
from dnc_app.domain.timeutil import isoformat, utcnow
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, DncEntry, Team, WebhookEndpoint, WebhookMessage

ENTRY_ADDED = "dnc.entry.added"
ENTRY_REMOVED = "dnc.entry.removed"
# A person's data was erased (they stay on the list): the receiver forgets them too.
ENTRY_ERASED = "dnc.entry.erased"
# Another identifier (an alias) was linked to a person: `data` is the entry with them all.
ENTRY_UPDATED = "dnc.entry.updated"
TEST_EVENT = "webhook.test"
EVENT_TYPES = (ENTRY_ADDED, ENTRY_REMOVED, ENTRY_ERASED, ENTRY_UPDATED)

# Set after a commit that wrote events; the process's delivery loop waits on it.
WAKE = threading.Event()
_WROTE_EVENTS = "dnc_webhook_events"

_ENDPOINTS = WebhookEndpoint.__table__
_MESSAGES = WebhookMessage.__table__
_SUBSCRIBED = select(_ENDPOINTS.c.id, _ENDPOINTS.c.events).where(
    _ENDPOINTS.c.team_id == bindparam("team_id"), _ENDPOINTS.c.enabled
)


def new_msg_id() -> str:
    return "msg_" + random_token(24)


def body(event_type: str, timestamp: datetime, data: dict) -> str:
    return json.dumps(
        {"type": event_type, "timestamp": isoformat(timestamp), "data": data},
        separators=(",", ":"),
        ensure_ascii=False,
    )


def entry_fields(
    entry_id: str | None,
    team_id: str,
    url: str | None,
    created: datetime,
    updated: datetime,
    reason: str | None,
    source: str,
    protected: bool,
    sha256: str | None,
) -> dict:
    """An entry as the API represents it (Entry.to_dict's fields, in its order), from its
    parts: the entry a change has just made, or one rebuilt from the change log."""
    return {
        "$id": entry_id,
        "teamId": team_id,
        "url": url,
        "$createdAt": isoformat(created),
        "$updatedAt": isoformat(updated),
        "reason": reason,
        "source": source,
        "protected": protected,
        # An erased person's entry keeps only its digest and dates.
        "erased": url is None,
        "sha256": sha256,
        # A new entry has none yet (each alias added later is a `dnc.entry.updated`
        # event); the change log does not keep them for a rebuilt one.
        "aliases": [],
    }


def url_sha256(url: str | None) -> str | None:
    return None if url is None else hashlib.sha256(url.encode("utf-8")).hexdigest()


def event_data(entry: dict, source: str, reason: str | None, seq: int | None) -> dict:
    """An entry event's `data`: the entry, plus the change's `source`, `reason` and `seq`
    (the team's change number, as in the changes feed: a receiver lines events up with
    it and reads the feed when it sees a gap). Live and recovered events alike."""
    return {**entry, "source": source, "reason": reason, "seq": seq}


def entry_data(
    team_id: str,
    change,
    source: str,
    now: datetime,
    removed: bool,
    seq: int | None = None,
    protected: bool = False,
) -> dict:
    """A live event's `data`: the entry removed as it was, or the entry made now from
    this change (`protected`: the person's own opt-out, from the source that added it)."""
    if removed and change.entry is not None:
        entry = change.entry.to_dict()
    else:
        entry = entry_fields(
            change.subject_id,
            team_id,
            change.url,
            now,
            now,
            change.reason,
            source,
            protected,
            url_sha256(change.url),
        )
    return event_data(entry, source, change.reason, seq)


def add_messages(rows: list[dict]) -> None:
    """Insert outbox rows in the caller's transaction; wake the loop after its commit."""
    if rows:
        db.session.execute(insert(_MESSAGES), rows)
        wake_after_commit()


def wake_after_commit() -> None:
    """Wake this process's delivery loop when the current transaction commits."""
    db.session.info[_WROTE_EVENTS] = True


def message_row(
    endpoint_id: str, event_type: str, payload: str, now: datetime, seq: int | None = None
) -> dict:
    return {
        "msg_id": new_msg_id(),
        "endpoint_id": endpoint_id,
        "event_type": event_type,
        "payload": payload,
        "created_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "seq": seq,
    }


def enqueue_entry_changes(
    team_id: str,
    removed: bool,
    changes: Sequence,
    source: str,
    now: datetime,
    first_seq: int | None = None,
    protected: bool = False,
) -> None:
    """One event per change for each enabled endpoint of the team that takes its type;
    the changes are numbered `first_seq`, `first_seq + 1`, … in the team's change log."""
    event_type = ENTRY_REMOVED if removed else ENTRY_ADDED
    endpoints = _subscribed(team_id, event_type)
    if not endpoints:
        return
    rows: list[dict[str, Any]] = []
    for n, change in enumerate(changes):
        seq = None if first_seq is None else first_seq + n
        payload = body(
            event_type, now, entry_data(team_id, change, source, now, removed, seq, protected)
        )
        rows.extend(message_row(e, event_type, payload, now, seq) for e in endpoints)
    add_messages(rows)


def _subscribed(team_id: str, event_type: str) -> list[str]:
    return [
        endpoint_id
        for endpoint_id, events in db.session.execute(_SUBSCRIBED, {"team_id": team_id})
        if event_type in events.split()
    ]


def enqueue_erasures(team_id: str, changes: Sequence, now: datetime, first_seq: int) -> None:
    """`dnc.entry.erased` for each change (its `entry` the erased Entry): only the id,
    the digest a receiver can match its own records by, and the change's number."""
    endpoints = _subscribed(team_id, ENTRY_ERASED)
    rows: list[dict[str, Any]] = []
    for n, change in enumerate(changes):
        seq = first_seq + n
        payload = body(
            ENTRY_ERASED,
            now,
            {"$id": change.subject_id, "sha256": change.entry.url_sha256, "seq": seq},
        )
        rows.extend(message_row(e, ENTRY_ERASED, payload, now, seq) for e in endpoints)
    add_messages(rows)


def enqueue_updates(team_id: str, changes: Sequence, now: datetime, first_seq: int) -> None:
    """`dnc.entry.updated` for each change (an alias added; its `entry` the entry as it
    is after the change): the entry as the API returns it, with the change's `seq`."""
    endpoints = _subscribed(team_id, ENTRY_UPDATED)
    rows: list[dict[str, Any]] = []
    for n, change in enumerate(changes):
        seq = first_seq + n
        payload = body(ENTRY_UPDATED, now, {**change.entry.to_dict(), "seq": seq})
        rows.extend(message_row(e, ENTRY_UPDATED, payload, now, seq) for e in endpoints)
    add_messages(rows)


@event.listens_for(db.session, "after_commit")
def _wake_after_commit(session) -> None:
    if session.info.pop(_WROTE_EVENTS, False):
        WAKE.set()


@event.listens_for(db.session, "after_rollback")
def _forget_after_rollback(session) -> None:
    session.info.pop(_WROTE_EVENTS, None)


# --------------------------------------------------------------------------- recovery


def _first_seq_since(team_id: str, since: datetime) -> int | None:
    """The `seq` of the team's first change at or after `since`, found by bisection on
    the (team_id, seq) index: the log has no index by time, and its times follow `seq`."""
    log = AuditEvent.__table__.c
    at_or_after = (
        select(log.seq, log.created_at).where(log.team_id == team_id).order_by(log.seq).limit(1)
    )
    low, high = 1, db.session.scalar(select(Team.change_seq).where(Team.id == team_id)) or 0
    found = None
    while low <= high:
        middle = (low + high) // 2
        row = db.session.execute(at_or_after.where(log.seq >= middle)).first()
        if row is None or row.seq > high:
            high = middle - 1
        elif row.created_at >= since:
            found, high = row.seq, middle - 1
        else:
            low = row.seq + 1
    return found


def enqueue_recovered(
    team_id: str,
    endpoint_id: str,
    event_types: Sequence[str],
    since: datetime,
    cap: int,
    protected_sources: Container[str],
) -> int | None:
    """Queue for one endpoint, in the caller's write transaction, an event for each entry
    change of the team from `since` on that `event_types` select, built from the change
    log as the live events were (new events: new webhook-ids; the change's own `seq`,
    time, source and reason). `protected_sources`: the sources whose entries are the
    person's own opt-out (changelog.PROTECTED_SOURCES). Returns how many, or None
    (nothing queued) if more than `cap` would be."""
    actions = [action for event_type, action in _LOGGED_AS.items() if event_type in event_types]
    first = _first_seq_since(team_id, since)
    if first is None or not actions:
        return 0
    log = AuditEvent.__table__.c
    # One range of the (team_id, seq) index, bounded by the cap.
    changes = db.session.execute(
        select(log.seq, log.action, log.subject_id, log.url, log.reason, log.source, log.created_at)
        .where(log.team_id == team_id, log.seq >= first, log.action.in_(actions))
        .order_by(log.seq)
        .limit(cap + 1)
    ).all()
    if len(changes) > cap:
        return None
    removed = [c.url for c in changes if c.action == "remove" and c.url is not None]
    history = _history(team_id, removed, protected_sources)
    # An erased person's changes kept no URL: their digest is the entry's.
    erased = _erased_digests(team_id, [c.subject_id for c in changes if c.url is None])
    now, rows = utcnow(), []
    for change in changes:
        is_removal = change.action == "remove"
        event_type = ENTRY_REMOVED if is_removal else ENTRY_ADDED
        # A removal carries the entry as it was: when it was added, last changed (made
        # the person's own opt-out), and whether it was theirs.
        created, updated, protected = (
            history.get((change.url, change.subject_id)) if is_removal else None
        ) or (change.created_at, change.created_at, change.source in protected_sources)
        entry = entry_fields(
            change.subject_id,
            team_id,
            change.url,
            created,
            updated,
            change.reason,
            change.source,
            protected,
            url_sha256(change.url) or erased.get(change.subject_id),
        )
        data = event_data(entry, change.source, change.reason, change.seq)
        rows.append(
            message_row(
                endpoint_id, event_type, body(event_type, change.created_at, data), now, change.seq
            )
        )
    add_messages(rows)
    return len(rows)


# The change log's action of each entry event type.
_LOGGED_AS = {ENTRY_ADDED: "add", ENTRY_REMOVED: "remove"}


def _history(
    team_id: str, urls: list[str], protected_sources: Container[str]
) -> dict[tuple[str, str], tuple[datetime, datetime, bool]]:
    """For each removed entry, by (url, entry id): when it was added, when last changed
    and whether it was the person's own opt-out (added by them, or asked for later), from
    the change log's adds and opt-outs on the (team_id, url) index, in bounded IN lists."""
    log = AuditEvent.__table__.c
    found: dict[tuple[str, str], tuple[datetime, datetime, bool]] = {}
    for start in range(0, len(urls), 500):
        rows = db.session.execute(
            select(log.url, log.subject_id, log.action, log.source, log.created_at)
            .where(
                log.team_id == team_id,
                log.url.in_(urls[start : start + 500]),
                log.action.in_(("add", "opted_out")),
            )
            .order_by(log.seq)
        )
        for url, entry_id, action, source, at in rows:
            key = (url, entry_id)
            if action == "add":
                found[key] = (at, at, source in protected_sources)
            elif key in found:  # the person asked themselves: their own opt-out since then
                found[key] = (found[key][0], at, True)
    return found


def _erased_digests(team_id: str, entry_ids: list[str | None]) -> dict[str, str | None]:
    """The digests of erased entries still listed, by id."""
    entries = DncEntry.__table__.c
    ids = sorted({i for i in entry_ids if i is not None})
    found: dict[str, str | None] = {}
    for start in range(0, len(ids), 500):
        for entry_id, digest in db.session.execute(
            select(entries.id, entries.url_sha256).where(
                entries.team_id == team_id, entries.id.in_(ids[start : start + 500])
            )
        ):
            found[entry_id] = digest
    return found
