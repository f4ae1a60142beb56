"""Sending notifications: run by the process's webhook delivery loop (its own thread, so
a slow mail server never takes a webhook slot), or by `flask webhooks worker`.

Each round: (1) *prepare*: the teams' waiting events become messages, in one write
transaction per team that marks the events taken (a conditional UPDATE: two loops never
take one event twice). Public opt-outs go out at once when the team's last such email is
older than NOTIFY_DIGEST_INTERVAL, else they wait and the next email holds all of them.
(2) *send*: due messages are claimed one at a time with a lease (`locked_until`, the
claim's token, as webhook events are claimed), sent (SMTP, or a POST through the webhook
sender: same destination rules, no redirects, one total deadline), and the result is
recorded under that token. A failure is tried again later, the delay doubling up to
NOTIFY_RETRY_MAX, for as long as it takes; a loop that dies leaves its claim to expire.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, func, or_, select, update

from dnc_app.domain.roles import Role
from dnc_app.domain.timeutil import utcnow
from dnc_app.events.notifications import mail, outbox
from dnc_app.events.webhooks import sender, signing
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write
from dnc_app.storage.models import (
    AuditEvent,
    NotificationEvent,
    NotificationMessage,
    Team,
    User,
    WebhookEndpoint,
)

log = logging.getLogger(__name__)
E, N = NotificationEvent, NotificationMessage

# Teams prepared per round; opt-outs listed in one email (the rest are counted).
TEAMS_PER_ROUND = 100
LISTED = 200
# A claimed message is another loop's again this long after the claim: longer than one
# SMTP exchange can take (each of its steps is bounded by mail.SMTP_TIMEOUT_SECONDS).
LEASE = timedelta(seconds=120)


@dataclass(frozen=True)
class Settings:
    digest_interval: float
    retry_min: float
    retry_max: float
    timeout: float  # chat posts: the webhook sender's total deadline
    allow_private: bool

    @classmethod
    def of(cls, app: Flask) -> Settings:
        c = app.config
        return cls(
            c["NOTIFY_DIGEST_INTERVAL"],
            c["NOTIFY_RETRY_MIN"],
            c["NOTIFY_RETRY_MAX"],
            c["WEBHOOK_TIMEOUT"],
            bool(c["WEBHOOK_ALLOW_PRIVATE"]),
        )


def unleased(model, now: datetime):
    """Rows no loop holds a live claim on (shared with the webhook claims)."""
    return or_(model.locked_until.is_(None), model.locked_until < now)


# --------------------------------------------------------------------------- preparing


def prepare(settings: Settings) -> int:
    """Turn waiting events into messages; returns how many messages were written."""
    now = utcnow()
    window = now - timedelta(seconds=settings.digest_interval)
    optouts_due = or_(Team.optouts_notified_at.is_(None), Team.optouts_notified_at <= window)
    teams = db.session.scalars(
        select(E.team_id)
        .join(Team, Team.id == E.team_id)
        .where(E.digested_at.is_(None), or_(E.kind != outbox.OPTOUT, optouts_due))
        .distinct()
        .limit(TEAMS_PER_ROUND)
    ).all()
    db.session.rollback()
    written = 0
    for team_id in teams:
        begin_write()
        written += _prepare_team(team_id, now, window)
        db.session.commit()
    return written


def _prepare_team(team_id: str, now: datetime, window: datetime) -> int:
    team = db.session.get(Team, team_id)
    if team is None:
        return 0
    waiting = [E.team_id == team_id, E.digested_at.is_(None)]
    if team.optouts_notified_at is not None and team.optouts_notified_at > window:
        waiting.append(E.kind != outbox.OPTOUT)
    # Only the events still waiting are taken: a loop that raced us takes none of them.
    events = db.session.execute(
        update(E)
        .where(*waiting)
        .values(digested_at=now)
        .returning(E.kind, E.seq, E.endpoint_id, E.detail)
    ).all()
    optout_seqs = sorted(e.seq for e in events if e.kind == outbox.OPTOUT)
    disabled = [e for e in events if e.kind == outbox.ENDPOINT_DISABLED]
    rows = []
    if optout_seqs:
        team.optouts_notified_at = now
        subject, body = _optouts_text(team, optout_seqs)
        rows += _messages(team, "optouts", User.notify_optouts, subject, body, now)
    if disabled:
        subject, body = _endpoints_text(team, disabled)
        rows += _messages(team, "endpoints", User.notify_endpoints, subject, body, now)
    outbox.add_messages(rows)
    return len(rows)


def _messages(team: Team, kind: str, switch, subject: str, body: str, now: datetime) -> list[dict]:
    rows = []
    if mail.enabled():
        # A member's switch; unset: on for owners, off for the others.
        wanted = or_(switch.is_(True), and_(switch.is_(None), User.role == Role.OWNER.value))
        for email in db.session.scalars(
            select(User.email)
            .where(User.team_id == team.id, User.disabled_at.is_(None), wanted)
            .order_by(User.id)
        ):
            rows.append(
                outbox.message(team.id, "email", kind, email, subject, body + _footer(), now)
            )
    if team.chat_webhook_url:
        rows.append(outbox.message(team.id, "chat", kind, None, subject, body, now))
    return rows


def _footer() -> str:
    base = current_app.config.get("PUBLIC_BASE_URL")
    where = f"{base}/account" if base else "your account page"
    return f"\n\n--\nYou get these emails as a member of the team. Turn them off on {where}."


def _optouts_text(team: Team, seqs: list[int]) -> tuple[str, str]:
    count = len(seqs)
    rows = db.session.execute(
        select(AuditEvent.url, AuditEvent.reference, AuditEvent.created_at)
        .where(AuditEvent.team_id == team.id, AuditEvent.seq.in_(seqs[:LISTED]))
        .order_by(AuditEvent.seq)
    ).all()
    people = "person" if count == 1 else "people"
    subject = f"{count} {people} opted out of contact by {team.public_name}"
    lines = [
        f"{count} {people} asked on your public opt-out page not to be contacted. "
        "They are on your Do Not Contact list now, as their own opt-out: "
        "do not contact them again.",
        "",
    ]
    for url, reference, at in rows:
        receipt = f"  (receipt {reference})" if reference else ""
        lines.append(f"- {at:%Y-%m-%d %H:%M} UTC  {url or '(erased)'}{receipt}")
    if count > len(rows):
        lines.append(f"… and {count - len(rows)} more: see the list's audit trail.")
    return subject, "\n".join(lines)


def _endpoints_text(team: Team, events) -> tuple[str, str]:
    urls = dict(
        db.session.execute(
            select(WebhookEndpoint.id, WebhookEndpoint.url).where(
                WebhookEndpoint.id.in_([e.endpoint_id for e in events])
            )
        ).all()
    )
    subject = (
        "A webhook endpoint was disabled"
        if len(events) == 1
        else f"{len(events)} webhook endpoints were disabled"
    ) + f" ({team.public_name})"
    lines = ["No more events are sent to:", ""]
    for e in events:
        lines.append(f"- {urls.get(e.endpoint_id, e.endpoint_id)}: {e.detail}")
    lines += [
        "",
        "Changes made meanwhile are in the changes feed. Enable the endpoint again "
        "on the Webhooks page once its receiver works.",
    ]
    return subject, "\n".join(lines)


# --------------------------------------------------------------------------- sending


def claim_one() -> tuple[int, datetime] | None:
    """Lease the message due longest; (its id, the lease's token) or None."""
    now = utcnow()
    token = now + LEASE
    # Read first: an idle loop takes no write lock (SQLite's is the whole database's).
    due = db.session.scalars(
        select(N.id)
        .where(N.status == "pending", N.next_attempt_at <= now, unleased(N, now))
        .order_by(N.next_attempt_at, N.id)
        .limit(1)
    ).first()
    if due is None:
        db.session.rollback()
        return None
    begin_write()
    # Taken only if still free: a loop that raced us to it leaves us nothing.
    taken = db.session.scalars(
        update(N)
        .where(N.id == due, N.status == "pending", unleased(N, now))
        .values(locked_until=token)
        .returning(N.id)
    ).first()
    db.session.commit()
    return None if taken is None else (taken, token)


def send_one(message_id: int, token: datetime, settings: Settings) -> bool:
    """Send a claimed message and record the result; True when it was sent."""
    message = db.session.get(N, message_id)
    if message is None or message.body is None:  # removed, or done meanwhile
        db.session.rollback()
        return False
    team = db.session.get(Team, message.team_id) if message.team_id else None
    chat_url = team.chat_webhook_url if team is not None else None
    channel, recipient, subject, body = (
        message.channel,
        message.recipient,
        message.subject,
        message.body,
    )
    expired = message.expires_at is not None and message.expires_at <= utcnow()
    attempts = message.attempts
    db.session.rollback()  # no transaction open across the network
    error = None
    if expired:
        return _record(message_id, token, attempts, "dropped", "expired", settings)
    try:
        text = signing.decrypt(body)
    except signing.SecretUnreadable:
        return _record(message_id, token, attempts, "dropped", "unreadable", settings)
    if channel == "email":
        error = (
            mail.try_send(recipient or "", subject or "", text)
            if mail.enabled()
            else "no SMTP_HOST"
        )
    elif chat_url is None:
        return _record(message_id, token, attempts, "dropped", "no chat URL", settings)
    else:
        outcome = sender.post(
            signing.decrypt(chat_url),
            json.dumps({"text": f"*{subject}*\n{text}"}),
            {"Content-Type": "application/json"},
            timeout=settings.timeout,
            allow_private=settings.allow_private,
        )
        error = None if outcome.ok else (outcome.error or f"HTTP {outcome.status}")
    if error is not None:
        log.warning("notification not sent (%s): %s", channel, error)
    return _record(
        message_id, token, attempts, "sent" if error is None else "pending", error, settings
    )


def _record(
    message_id: int,
    token: datetime,
    attempts: int,
    status: str,
    error: str | None,
    settings: Settings,
) -> bool:
    now = utcnow()
    values: dict[str, Any] = {"attempts": attempts + 1, "locked_until": None, "last_error": error}
    if status == "pending":
        delay = min(settings.retry_max, settings.retry_min * 2 ** min(attempts, 30))
        values["next_attempt_at"] = now + timedelta(seconds=delay)
    else:
        values.update(status=status, body=None)  # nothing readable left once done
        if status == "sent":
            values["sent_at"] = now
    begin_write()
    db.session.execute(
        update(N).where(N.id == message_id, N.locked_until == token).values(**values)
    )
    db.session.commit()
    return status == "sent"


def run_round(app: Flask, stopping: threading.Event | None = None) -> int:
    """Prepare, then send every due message; returns how many were sent."""
    settings = Settings.of(app)
    sent = 0
    with app.app_context():
        try:
            prepare(settings)
            while stopping is None or not stopping.is_set():
                claimed = claim_one()
                if claimed is None:
                    break
                sent += send_one(*claimed, settings)
        finally:
            db.session.remove()
    return sent


def waiting_count() -> int:
    """Messages not yet sent (for tests and the operator)."""
    return db.session.scalar(select(func.count()).select_from(N).where(N.status == "pending")) or 0
