"""The outbox: webhook events written in the transaction of the change they announce.

The change log's writer calls `enqueue_entry_changes` for every entry added or removed,
whatever the path, so an event exists exactly when its change committed. After a commit
that wrote events, the delivery loop of this process is woken (others poll).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, event, insert, select

from ..extensions import db
from ..ids import random_token
from ..models import WebhookEndpoint, WebhookMessage
from ..timeutil import isoformat

ENTRY_ADDED = "dnc.entry.added"
ENTRY_REMOVED = "dnc.entry.removed"
# A person's data was erased (they stay on the list): the receiver forgets them too.
ENTRY_ERASED = "dnc.entry.erased"
TEST_EVENT = "webhook.test"
EVENT_TYPES = (ENTRY_ADDED, ENTRY_REMOVED, ENTRY_ERASED)

# Set after a commit that wrote events; the process's delivery loop waits on it.
WAKE = threading.Event()
_WROTE_EVENTS = "dnc_webhook_events"

_ENDPOINTS = WebhookEndpoint.__table__
_MESSAGES = WebhookMessage.__table__
_SUBSCRIBED = select(_ENDPOINTS.c.id, _ENDPOINTS.c.events).where(
    _ENDPOINTS.c.team_id == bindparam("team_id"), _ENDPOINTS.c.enabled)


def new_msg_id() -> str:
    return "msg_" + random_token(24)


def body(event_type: str, timestamp: datetime, data: dict) -> str:
    return json.dumps({"type": event_type, "timestamp": isoformat(timestamp), "data": data},
                      separators=(",", ":"), ensure_ascii=False)


def entry_data(team_id: str, change, source: str, now: datetime, removed: bool,
               seq: int | None = None) -> dict:
    """The entry as the API returns it, plus the change's `source`, `reason` and `seq`
    (the team's change number, as in the changes feed: a receiver lines events up with
    it and reads the feed when it sees a gap)."""
    if removed and change.entry is not None:
        entry = change.entry.to_dict()
    else:  # a new entry: made now, from this change
        entry = {"$id": change.subject_id, "teamId": team_id, "url": change.url,
                 "$createdAt": isoformat(now), "$updatedAt": isoformat(now),
                 "erased": False,
                 "sha256": hashlib.sha256(change.url.encode("utf-8")).hexdigest()}
    return {**entry, "source": source, "reason": change.reason, "seq": seq}


def add_messages(rows: list[dict]) -> None:
    """Insert outbox rows in the caller's transaction; wake the loop after its commit."""
    if rows:
        db.session.execute(insert(_MESSAGES), rows)
        wake_after_commit()


def wake_after_commit() -> None:
    """Wake this process's delivery loop when the current transaction commits."""
    db.session.info[_WROTE_EVENTS] = True


def message_row(endpoint_id: str, event_type: str, payload: str, now: datetime,
                seq: int | None = None) -> dict:
    return {"msg_id": new_msg_id(), "endpoint_id": endpoint_id, "event_type": event_type,
            "payload": payload, "created_at": now, "status": "pending", "attempts": 0,
            "next_attempt_at": now, "seq": seq}


def enqueue_entry_changes(team_id: str, removed: bool, changes: Sequence, source: str,
                          now: datetime, first_seq: int | None = None) -> None:
    """One event per change for each enabled endpoint of the team that takes its type;
    the changes are numbered `first_seq`, `first_seq + 1`, … in the team's change log."""
    event_type = ENTRY_REMOVED if removed else ENTRY_ADDED
    endpoints = _subscribed(team_id, event_type)
    if not endpoints:
        return
    rows = []
    for n, change in enumerate(changes):
        seq = None if first_seq is None else first_seq + n
        payload = body(event_type, now, entry_data(team_id, change, source, now, removed,
                                                   seq))
        rows.extend(message_row(e, event_type, payload, now, seq) for e in endpoints)
    add_messages(rows)


def _subscribed(team_id: str, event_type: str) -> list[str]:
    return [endpoint_id for endpoint_id, events
            in db.session.execute(_SUBSCRIBED, {"team_id": team_id})
            if event_type in events.split()]


def enqueue_erasures(team_id: str, changes: Sequence, now: datetime,
                     first_seq: int) -> None:
    """`dnc.entry.erased` for each change (its `entry` the erased Entry): only the id,
    the digest a receiver can match its own records by, and the change's number."""
    endpoints = _subscribed(team_id, ENTRY_ERASED)
    rows = []
    for n, change in enumerate(changes):
        seq = first_seq + n
        payload = body(ENTRY_ERASED, now, {"$id": change.subject_id,
                                           "sha256": change.entry.url_sha256, "seq": seq})
        rows.extend(message_row(e, ENTRY_ERASED, payload, now, seq) for e in endpoints)
    add_messages(rows)


@event.listens_for(db.session, "after_commit")
def _wake_after_commit(session) -> None:
    if session.info.pop(_WROTE_EVENTS, False):
        WAKE.set()


@event.listens_for(db.session, "after_rollback")
def _forget_after_rollback(session) -> None:
    session.info.pop(_WROTE_EVENTS, None)
