"""Writing notifications in the caller's transaction (the outbox pattern): an event
exists exactly when what it announces committed, and nothing is sent inside a request."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import insert

from dnc_app.events.webhooks import signing
from dnc_app.events.webhooks.outbox import wake_after_commit
from dnc_app.extensions import db
from dnc_app.storage.database import run
from dnc_app.storage.models import NotificationEvent, NotificationMessage

OPTOUT = "optout"
ENDPOINT_DISABLED = "endpoint_disabled"

_INSERT_EVENT = insert(NotificationEvent.__table__)
_INSERT_MESSAGE = insert(NotificationMessage.__table__)


def _event(
    team_id: str,
    kind: str,
    now: datetime,
    seq: int | None = None,
    endpoint_id: str | None = None,
    detail: str | None = None,
) -> dict:
    return {
        "team_id": team_id,
        "kind": kind,
        "seq": seq,
        "endpoint_id": endpoint_id,
        "detail": detail,
        "created_at": now,
        "digested_at": None,
    }


def optouts(team_id: str, first_seq: int, count: int, now: datetime) -> None:
    """Public opt-outs numbered `first_seq`… in the team's change log (called by its
    writer, also on the connection of a write outside the session)."""
    run(
        _INSERT_EVENT,
        [_event(team_id, OPTOUT, now, seq) for seq in range(first_seq, first_seq + count)],
    )
    wake_after_commit()


def endpoint_disabled(team_id: str, endpoint_id: str, reason: str, now: datetime) -> None:
    db.session.execute(
        _INSERT_EVENT,
        _event(team_id, ENDPOINT_DISABLED, now, endpoint_id=endpoint_id, detail=reason[:500]),
    )
    wake_after_commit()


def message(
    team_id: str | None,
    channel: str,
    kind: str,
    recipient: str | None,
    subject: str,
    body: str,
    now: datetime,
    expires_at: datetime | None = None,
) -> dict:
    """A message row; its body encrypted (a reset link must not sit readable in a table)."""
    return {
        "team_id": team_id,
        "channel": channel,
        "kind": kind,
        "recipient": recipient,
        "subject": " ".join(subject.split())[:200],  # one line: a header
        "body": signing.encrypt(body),
        "created_at": now,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "locked_until": None,
        "expires_at": expires_at,
    }


def add_messages(rows: list[dict]) -> None:
    if rows:
        db.session.execute(_INSERT_MESSAGE, rows)
        wake_after_commit()
