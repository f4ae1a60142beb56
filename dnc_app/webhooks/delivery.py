"""Delivering the outbox: claim due events, POST them signed, schedule retries.

Who delivers: a loop thread in each server process (started with the first request, or
by gunicorn's post_worker_init), unless WEBHOOK_DELIVERY=off; or `flask webhooks worker`.
Several loops, processes or machines may run at once: a claim sets `locked_until` (a
lease) on due rows, taken with `FOR UPDATE SKIP LOCKED` on PostgreSQL (SQLite: under
its database write lock), so each event goes to one loop; a crashed loop's lease
expires and the event is delivered again (at least once).
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import insert, or_, select, update

from ..database import begin_write
from ..extensions import db
from ..models import WebhookAttempt, WebhookEndpoint, WebhookMessage
from ..timeutil import utcnow
from . import endpoints, outbox, sender, signing

log = logging.getLogger(__name__)
M = WebhookMessage


@dataclass(frozen=True)
class Settings:
    schedule: tuple[float, ...]  # seconds before attempt 1, 2, …
    timeout: float
    allow_private: bool
    disable_after: float  # seconds of failing before an endpoint is disabled
    retry_after_max: float
    poll_interval: float
    concurrency: int

    @classmethod
    def of(cls, app: Flask) -> Settings:
        c = app.config
        return cls(tuple(c["WEBHOOK_RETRY_SCHEDULE"]), c["WEBHOOK_TIMEOUT"],
                   bool(c["WEBHOOK_ALLOW_PRIVATE"]), c["WEBHOOK_DISABLE_AFTER"],
                   c["WEBHOOK_RETRY_AFTER_MAX"], c["WEBHOOK_POLL_INTERVAL"],
                   c["WEBHOOK_CONCURRENCY"])

    @property
    def lease(self) -> timedelta:
        # Longer than any attempt: a live loop's claim never expires under it.
        return timedelta(seconds=self.timeout + 60)


# --------------------------------------------------------------------------- one event


def claim(settings: Settings, limit: int) -> list[int]:
    """Take up to `limit` due events for this loop (a lease); returns their row ids."""
    now = utcnow()
    begin_write()
    due = (select(M.id).where(M.status == "pending", M.next_attempt_at <= now,
                              or_(M.locked_until.is_(None), M.locked_until < now))
           .order_by(M.next_attempt_at).limit(limit).with_for_update(skip_locked=True))
    claimed = list(db.session.scalars(
        update(M).where(M.id.in_(due.scalar_subquery()))
        .values(locked_until=now + settings.lease).returning(M.id)))
    db.session.commit()
    return claimed


def attempt(message_id: int, settings: Settings) -> bool:
    """One delivery attempt of a claimed event; records it. True when delivered."""
    message = db.session.get(M, message_id)
    if message is None or message.status != "pending":  # deleted or done meanwhile
        db.session.rollback()
        return False
    endpoint = db.session.get(WebhookEndpoint, message.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        db.session.rollback()
        _finish(message_id, status="cancelled")
        return False
    now = utcnow()
    url, payload, endpoint_id = endpoint.url, message.payload, endpoint.id
    try:
        headers = signing.headers(message.msg_id, now, payload,
                                  endpoints.signing_secrets(endpoint))
    except signing.SecretUnreadable:
        db.session.rollback()
        outcome = sender.Outcome(None, 0, sender.SECRET_UNREADABLE)
    else:
        db.session.rollback()  # no transaction open across the network call
        outcome = sender.post(url, payload, headers, timeout=settings.timeout,
                              allow_private=settings.allow_private)
    _record(message_id, endpoint_id, now, outcome, settings)
    return outcome.ok


def _finish(message_id: int, **values) -> None:
    begin_write()
    db.session.execute(update(M).where(M.id == message_id).values(locked_until=None,
                                                                  **values))
    db.session.commit()


def _next_delay(attempts: int, outcome: sender.Outcome, settings: Settings) -> float:
    delay = settings.schedule[attempts]
    if outcome.status in (429, 503) and outcome.retry_after is not None:
        delay = max(delay, min(outcome.retry_after, settings.retry_after_max))
    return delay


def _record(message_id: int, endpoint_id: str, at: datetime, outcome: sender.Outcome,
            settings: Settings) -> None:
    """The attempt in the log, the event's next step, the endpoint's health."""
    begin_write()
    message = db.session.get(M, message_id)
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if message is None or endpoint is None:  # the endpoint was deleted during the attempt
        db.session.rollback()
        return
    db.session.execute(insert(WebhookAttempt), [{
        "message_id": message_id, "endpoint_id": endpoint_id, "attempted_at": at,
        "status_code": outcome.status, "duration_ms": outcome.duration_ms,
        "error": outcome.error, "response_excerpt": outcome.excerpt}])
    message.attempts += 1
    message.locked_until = None
    now = utcnow()
    if outcome.ok:
        message.status, message.delivered_at = "delivered", now
        endpoint.failing_since = None
    else:
        endpoint.failing_since = endpoint.failing_since or at
        if message.attempts >= len(settings.schedule):
            message.status = "failed"
        else:
            message.next_attempt_at = now + timedelta(
                seconds=_next_delay(message.attempts, outcome, settings))
        if outcome.status == 410:
            endpoints.disable(endpoint, "The endpoint answered 410 Gone")
        elif (now - endpoint.failing_since).total_seconds() >= settings.disable_after:
            endpoints.disable(endpoint, "Every delivery failed for "
                              f"{_duration(settings.disable_after)}")
    db.session.commit()


def _duration(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:g} days" if days >= 1 else f"{seconds:g} seconds"


# --------------------------------------------------------------------------- the loop


class Dispatcher:
    """Claims due events and delivers them, `concurrency` at a time, until stopped.
    Woken at once by a commit in this process that wrote events; polls otherwise."""

    def __init__(self, app: Flask):
        self.app = app
        self.settings = Settings.of(app)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(self.settings.concurrency,
                                        thread_name_prefix="webhook-delivery")

    def run_once(self) -> int:
        """One claim and its deliveries; returns how many were attempted."""
        with self.app.app_context():
            try:
                claimed = claim(self.settings, self.settings.concurrency * 4)
            finally:
                db.session.remove()
        list(self._pool.map(self._deliver, claimed))
        return len(claimed)

    def _deliver(self, message_id: int) -> None:
        with self.app.app_context():
            try:
                attempt(message_id, self.settings)
            except Exception:  # its lease expires and it is tried again
                log.exception("webhook delivery failed")
            finally:
                db.session.remove()

    def run(self) -> None:
        """Deliver until stop(): the attempts in flight finish, no more are claimed."""
        while not self._stopping.is_set():
            try:
                if self.run_once():
                    continue
            except Exception:
                log.exception("webhook claim failed")
            if outbox.WAKE.wait(self.settings.poll_interval):
                outbox.WAKE.clear()
        self.close()

    def close(self) -> None:
        """Release the delivery threads (a dispatcher driven by run_once)."""
        self._pool.shutdown(wait=True)

    def start(self) -> Dispatcher:
        self._thread = threading.Thread(target=self.run, name="webhook-dispatcher",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        self._stopping.set()
        outbox.WAKE.set()
        if self._thread is not None:
            self._thread.join(timeout)


_started: dict[int, Dispatcher] = {}
_start_lock = threading.Lock()


def start_in_process(app: Flask) -> Dispatcher | None:
    """The process's delivery loop for `app`, started once (None when delivery is off)."""
    if not app.config["WEBHOOK_DELIVERY"]:
        return None
    with _start_lock:
        if id(app) not in _started:
            _started[id(app)] = Dispatcher(app).start()
        return _started[id(app)]


def stop_in_process(timeout: float = 15) -> None:
    with _start_lock:
        for dispatcher in _started.values():
            dispatcher.stop(timeout)
        _started.clear()


def init_app(app: Flask) -> None:
    """Serving: the loop starts with the first request (never in CLI commands)."""
    if not app.config["WEBHOOK_DELIVERY"]:
        return

    @app.before_request
    def _start_delivery():
        if id(app) not in _started:
            start_in_process(app)
