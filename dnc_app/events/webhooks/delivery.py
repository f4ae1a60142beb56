"""Delivering the outbox: claim due events fairly, POST them signed, schedule retries.

Who delivers: a loop in each server process (started with the first request, or by
gunicorn's post_worker_init), unless WEBHOOK_DELIVERY=off; or `flask webhooks worker`.
Any number of loops, processes or machines may run at once. docs/webhook-delivery.md
explains the design; in short:

- A slot per endpoint. A loop runs at most WEBHOOK_CONCURRENCY jobs at once, and an
  endpoint has at most WEBHOOK_ENDPOINT_CONCURRENCY attempts in flight across all loops,
  so endpoints that hang or trickle hold their own slots only. Each attempt has one
  total deadline (sender). A finished job frees its slot at once and wakes the loop.
- Fair claims: endpoints are served in order of their longest-waiting due event, each
  at most its own slots per round.
- Order: an endpoint's new events form a stream taken in queue order (`seq` order), a
  batch at a time, sent one after another on a kept-alive connection. A failed event
  leaves the stream for its retry schedule; the stream goes on after a pause that grows
  while the endpoint keeps failing. Retries run beside the stream, within the slots.
- Leases: a claim sets `locked_until` to now + WEBHOOK_LEASE_SECONDS; the value is the
  claim's token. The loop renews the leases of the events it holds while it works, so an
  event whose loop died is free again within one lease and taken by any live loop.
- Results are recorded in batches: one transaction per batch of attempts.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, insert, select, update

from dnc_app import metrics
from dnc_app.domain.timeutil import utcnow
from dnc_app.events.notifications import delivery as notifications
from dnc_app.events.webhooks import endpoints, outbox, sender, signing
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write
from dnc_app.storage.models import WebhookAttempt, WebhookEndpoint, WebhookMessage

log = logging.getLogger(__name__)
M = WebhookMessage

# New events taken for one endpoint at once: sent one after another on one connection.
STREAM_BATCH = 250
# Results recorded together: at most this many, or after this long.
RECORD_BATCH = 100
RECORD_EVERY = 0.5
# After a failed attempt an endpoint's stream of new events pauses for as long as the
# endpoint has been failing, within these bounds (seconds): a dead endpoint is tried
# ever less often, one that failed once goes on soon.
STREAM_PAUSE_MIN = 1.0
STREAM_PAUSE_MAX = 60.0


@dataclass(frozen=True)
class Settings:
    schedule: tuple[float, ...]  # seconds before attempt 1, 2, …
    timeout: float
    allow_private: bool
    disable_after: float  # seconds of failing before an endpoint is disabled
    retry_after_max: float
    poll_interval: float
    concurrency: int  # jobs in flight per loop
    endpoint_concurrency: int  # attempts in flight per endpoint, all loops together
    lease_seconds: float

    @classmethod
    def of(cls, app: Flask) -> Settings:
        c = app.config
        return cls(
            tuple(c["WEBHOOK_RETRY_SCHEDULE"]),
            c["WEBHOOK_TIMEOUT"],
            bool(c["WEBHOOK_ALLOW_PRIVATE"]),
            c["WEBHOOK_DISABLE_AFTER"],
            c["WEBHOOK_RETRY_AFTER_MAX"],
            c["WEBHOOK_POLL_INTERVAL"],
            c["WEBHOOK_CONCURRENCY"],
            c["WEBHOOK_ENDPOINT_CONCURRENCY"],
            c["WEBHOOK_LEASE_SECONDS"],
        )

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.lease_seconds)


@dataclass
class Job:
    """Claimed events of one endpoint, attempted in this order: a stream of new events,
    or one retry."""

    endpoint_id: str
    ids: list[int]
    token: datetime  # the lease's `locked_until`, as claimed
    stream: bool


# --------------------------------------------------------------------------- claiming


def _unleased(now: datetime):
    return notifications.unleased(M, now)


# Endpoints looked at per claim, at most (those with due events, longest waiting first).
CLAIM_SCAN = 1000


def claim(settings: Settings, slots: int, full: frozenset[str] = frozenset()) -> list[Job]:
    """Take up to `slots` jobs for this loop, fairly: endpoints whose due events waited
    longest first, each within its free slots; `full`: endpoints whose slots this loop
    holds all of (passed over without a query). Returns the jobs leased."""
    if slots <= 0:
        return []
    now = utcnow()
    token = now + settings.lease
    begin_write()
    waiting = db.session.execute(
        select(M.endpoint_id, func.min(M.next_attempt_at).label("since"))
        .where(M.status == "pending", M.next_attempt_at <= now, _unleased(now))
        .group_by(M.endpoint_id)
        .order_by("since")
        .limit(CLAIM_SCAN)
    ).all()
    jobs: list[Job] = []
    for endpoint_id, _since in waiting:
        if slots <= 0:
            break
        if endpoint_id in full:
            continue
        for job in _claim_endpoint(endpoint_id, now, token, slots, settings):
            jobs.append(job)
            slots -= 1
    db.session.commit()
    return jobs


def _claim_endpoint(
    endpoint_id: str, now: datetime, token: datetime, slots: int, settings: Settings
) -> list[Job]:
    # PostgreSQL: one claimer per endpoint at a time (another loop skips it this round),
    # so two loops never take two parts of one stream. SQLite: the write lock does that.
    enabled = db.session.scalar(
        select(WebhookEndpoint.enabled)
        .where(WebhookEndpoint.id == endpoint_id)
        .with_for_update(skip_locked=True, key_share=True)
    )
    if not enabled:
        return []
    mine = (M.endpoint_id == endpoint_id, M.status == "pending")
    head = db.session.execute(
        select(M.id, M.locked_until).where(*mine, M.attempts == 0).order_by(M.id).limit(1)
    ).first()
    stream_busy = head is not None and head.locked_until is not None and (head.locked_until >= now)
    retrying = (
        db.session.scalar(
            select(func.count()).select_from(M).where(*mine, M.attempts > 0, M.locked_until >= now)
        )
        or 0
    )
    room = min(slots, settings.endpoint_concurrency - retrying - (1 if stream_busy else 0))
    jobs = []
    if head is not None and not stream_busy and room > 0:
        batch = []
        for message_id, due, leased in db.session.execute(
            select(M.id, M.next_attempt_at, M.locked_until)
            .where(*mine, M.attempts == 0)
            .order_by(M.id)
            .limit(STREAM_BATCH)
        ):
            if due > now or (leased is not None and leased >= now):
                # Paused from here, or in flight from here (an event queued again ahead
                # of a running batch goes alone): order is kept.
                break
            batch.append(message_id)
        if batch:
            jobs.append(Job(endpoint_id, batch, token, stream=True))
            room -= 1
    if room > 0:
        jobs.extend(
            Job(endpoint_id, [message_id], token, stream=False)
            for message_id in db.session.scalars(
                select(M.id)
                .where(*mine, M.attempts > 0, M.next_attempt_at <= now, _unleased(now))
                .order_by(M.id)
                .limit(room)
            )
        )
    ids = [i for job in jobs for i in job.ids]
    if not ids:
        return []
    taken = set(
        db.session.scalars(
            update(M)
            .where(M.id.in_(ids), M.status == "pending", _unleased(now))
            .values(locked_until=token)
            .returning(M.id)
        )
    )
    for job in jobs:
        job.ids = [i for i in job.ids if i in taken]
    return [job for job in jobs if job.ids]


def renew(ids_by_token: dict[datetime, list[int]], settings: Settings) -> datetime:
    """Extend the leases this loop still holds (those with the token it set); returns
    the new token."""
    new = utcnow() + settings.lease
    begin_write()
    for token, ids in ids_by_token.items():
        db.session.execute(
            update(M)
            .where(M.id.in_(ids), M.locked_until == token, M.status == "pending")
            .values(locked_until=new)
        )
    db.session.commit()
    return new


# --------------------------------------------------------------------------- attempting


def deliver(
    job: Job,
    settings: Settings,
    connections: sender.Connections | None = None,
    stopping: threading.Event | None = None,
    on_recorded: Callable[[list[int]], None] | None = None,
) -> int:
    """Attempt a claimed job's events in order and record them; returns how many were
    delivered. The stream stops at the first failure (the rest are released)."""
    endpoint = db.session.get(WebhookEndpoint, job.endpoint_id)
    rows = db.session.execute(
        select(M.id, M.msg_id, M.payload).where(M.id.in_(job.ids), M.status == "pending")
    ).all()
    by_id = {row.id: row for row in rows}
    messages = [by_id[i] for i in job.ids if i in by_id]
    if endpoint is None or not messages:  # deleted, or done meanwhile
        db.session.rollback()
        _release(job.ids)
        return 0
    if not endpoint.enabled:
        db.session.rollback()
        _release(job.ids, cancel=True)
        return 0
    url = endpoint.url
    try:
        secrets = endpoints.signing_secrets(endpoint)
    except signing.SecretUnreadable:
        secrets = None
    db.session.rollback()  # no transaction open across the network calls
    keep = max(1, settings.endpoint_concurrency)
    results: list[tuple[int, datetime, sender.Outcome]] = []
    delivered = 0
    attempted: set[int] = set()
    flushed = time.monotonic()
    for message in messages:
        if attempted and stopping is not None and stopping.is_set():
            break  # stopping: the rest go back
        attempted.add(message.id)
        now = utcnow()
        if secrets is None:
            outcome = sender.Outcome(None, 0, sender.SECRET_UNREADABLE)
        else:
            headers = signing.headers(message.msg_id, now, message.payload, secrets)
            outcome = sender.post(
                url,
                message.payload,
                headers,
                timeout=settings.timeout,
                allow_private=settings.allow_private,
                connections=connections,
                keep=keep,
            )
        results.append((message.id, now, outcome))
        delivered += outcome.ok
        if not outcome.ok:
            break
        if len(results) >= RECORD_BATCH or time.monotonic() - flushed >= RECORD_EVERY:
            _record(job, results, settings, on_recorded)
            results, flushed = [], time.monotonic()
    rest = [i for i in job.ids if i not in attempted]
    _record(job, results, settings, on_recorded, release=rest)
    return delivered


def _release(ids: list[int], cancel: bool = False) -> None:
    begin_write()
    values = {"locked_until": None, **({"status": "cancelled"} if cancel else {})}
    db.session.execute(update(M).where(M.id.in_(ids), M.status == "pending").values(**values))
    db.session.commit()


def _next_delay(attempts: int, outcome: sender.Outcome, settings: Settings) -> float:
    delay = settings.schedule[attempts]
    if outcome.status in (429, 503) and outcome.retry_after is not None:
        delay = max(delay, min(outcome.retry_after, settings.retry_after_max))
    return delay


def _record(
    job: Job,
    results: list[tuple[int, datetime, sender.Outcome]],
    settings: Settings,
    on_recorded: Callable[[list[int]], None] | None = None,
    release: Sequence[int] = (),
) -> None:
    """The attempts in the log, each event's next step, the endpoint's health, in one
    transaction; `release` are claimed events not attempted (they go back, in order)."""
    if not results and not release:
        return
    begin_write()
    # The endpoint row first, as claims lock it first: the same order, no deadlock.
    endpoint = db.session.scalars(
        select(WebhookEndpoint)
        .where(WebhookEndpoint.id == job.endpoint_id)
        .with_for_update(key_share=True)
    ).first()
    if endpoint is None:  # deleted during the attempts: nothing left to record
        db.session.rollback()
        return
    ids = [r[0] for r in results]
    attempts_of = dict(db.session.execute(select(M.id, M.attempts).where(M.id.in_(ids))).all())
    results = [r for r in results if r[0] in attempts_of]
    if results:
        db.session.execute(
            insert(WebhookAttempt),
            [
                {
                    "message_id": message_id,
                    "endpoint_id": job.endpoint_id,
                    "attempted_at": at,
                    "status_code": o.status,
                    "duration_ms": o.duration_ms,
                    "error": o.error,
                    "response_excerpt": o.excerpt,
                }
                for message_id, at, o in results
            ],
        )
    now = utcnow()
    was_failing = endpoint.failing_since is not None
    delivered = [message_id for message_id, _at, o in results if o.ok]
    if delivered:
        db.session.execute(
            update(M)
            .where(M.id.in_(delivered))
            .values(
                status="delivered", delivered_at=now, locked_until=None, attempts=M.attempts + 1
            )
        )
    for message_id, at, outcome in results:
        if outcome.ok:
            endpoint.failing_since = None
            continue
        failing_since = endpoint.failing_since = endpoint.failing_since or at
        attempts = attempts_of[message_id] + 1
        values: dict[str, Any] = {"attempts": attempts, "locked_until": None}
        if attempts >= len(settings.schedule):
            values["status"] = "failed"
        else:
            values["next_attempt_at"] = now + timedelta(
                seconds=_next_delay(attempts, outcome, settings)
            )
        db.session.execute(update(M).where(M.id == message_id).values(**values))
        if not endpoint.enabled:
            continue
        if outcome.status == 410:
            endpoints.disable(endpoint, "The endpoint answered 410 Gone")
        elif (now - failing_since).total_seconds() >= settings.disable_after:
            endpoints.disable(
                endpoint, f"Every delivery failed for {_duration(settings.disable_after)}"
            )
    if release:
        db.session.execute(
            update(M).where(M.id.in_(release), M.status == "pending").values(locked_until=None)
        )
    mine = (M.endpoint_id == job.endpoint_id, M.status == "pending", M.attempts == 0)
    if endpoint.enabled and job.stream and results and not results[-1][2].ok:
        # The stream pauses: its next event waits, the ones after it wait behind it. A
        # receiver that asked for time (429/503 with Retry-After) gets it for all of them.
        pause = min(
            max((now - (endpoint.failing_since or now)).total_seconds(), STREAM_PAUSE_MIN),
            STREAM_PAUSE_MAX,
        )
        last = results[-1][2]
        if last.status in (429, 503) and last.retry_after is not None:
            pause = max(pause, min(last.retry_after, settings.retry_after_max))
        head = select(func.min(M.id)).where(*mine).scalar_subquery()
        db.session.execute(
            update(M).where(M.id == head).values(next_attempt_at=now + timedelta(seconds=pause))
        )
    elif was_failing and endpoint.failing_since is None:
        # Healthy again: a paused stream goes on at once.
        db.session.execute(
            update(M).where(*mine, M.next_attempt_at > now).values(next_attempt_at=now)
        )
    db.session.commit()
    for _message_id, _at, outcome in results:
        metrics.record_webhook_attempt(outcome.status, outcome.error)
    if on_recorded is not None:
        on_recorded(ids + list(release))


def _duration(seconds: float) -> str:
    days = seconds / 86400
    return f"{days:g} days" if days >= 1 else f"{seconds:g} seconds"


# --------------------------------------------------------------------------- the loop


@dataclass
class _Held:
    """The events this loop holds, by lease token (renewed together)."""

    by_id: dict[int, datetime] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, job: Job) -> None:
        with self.lock:
            self.by_id.update(dict.fromkeys(job.ids, job.token))

    def drop(self, ids: list[int]) -> None:
        with self.lock:
            for i in ids:
                self.by_id.pop(i, None)

    def by_token(self) -> dict[datetime, list[int]]:
        with self.lock:
            groups: dict[datetime, list[int]] = {}
            for i, token in self.by_id.items():
                groups.setdefault(token, []).append(i)
            return groups

    def renewed(self, groups: dict[datetime, list[int]], new: datetime) -> None:
        with self.lock:
            for ids in groups.values():
                for i in ids:
                    if i in self.by_id:
                        self.by_id[i] = new


class Dispatcher:
    """Claims jobs and runs them, at most `concurrency` at once, until stopped. Woken at
    once by a finished job and by a commit in this process that wrote events; polls
    otherwise (for events written by other processes, and retries coming due)."""

    def __init__(self, app: Flask):
        self.app = app
        self.settings = Settings.of(app)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(
            self.settings.concurrency, thread_name_prefix="webhook-delivery"
        )
        self._in_flight = 0
        self._per_endpoint: dict[str, int] = {}
        self._count_lock = threading.Lock()
        self._held = _Held()
        self.connections = sender.Connections()
        self._renewed_at = time.monotonic()
        # Team notifications go out from this loop too, on a thread of their own: a mail
        # server that hangs holds that thread, never a webhook slot nor a request.
        self._notify_pool = ThreadPoolExecutor(1, thread_name_prefix="notify")
        self._notifying: Future | None = None
        self._notified_at = 0.0

    # -- claiming and running jobs

    def _free(self) -> int:
        with self._count_lock:
            return self.settings.concurrency - self._in_flight

    def _claim(self) -> list[tuple[Job, Future]]:
        free = self._free()
        if free <= 0:
            return []
        with self._count_lock:
            full = frozenset(
                e for e, n in self._per_endpoint.items() if n >= self.settings.endpoint_concurrency
            )
        with self.app.app_context():
            try:
                jobs = claim(self.settings, free, full)
            finally:
                db.session.remove()
        futures = []
        for job in jobs:
            self._held.add(job)
            with self._count_lock:
                self._in_flight += 1
                self._per_endpoint[job.endpoint_id] = self._per_endpoint.get(job.endpoint_id, 0) + 1
            future = self._pool.submit(self._run_job, job)

            def done(_future: Future[int], endpoint_id: str = job.endpoint_id) -> None:
                self._finished(endpoint_id)

            future.add_done_callback(done)
            futures.append((job, future))
        return futures

    def _run_job(self, job: Job) -> int:
        with self.app.app_context():
            try:
                return deliver(
                    job, self.settings, self.connections, self._stopping, self._held.drop
                )
            except Exception:  # its lease expires and it is tried again
                log.exception("webhook delivery failed")
                return 0
            finally:
                self._held.drop(job.ids)
                db.session.remove()

    def _finished(self, endpoint_id: str) -> None:
        with self._count_lock:
            self._in_flight -= 1
            left = self._per_endpoint.pop(endpoint_id) - 1
            if left:
                self._per_endpoint[endpoint_id] = left
        outbox.WAKE.set()  # a slot is free: claim again now

    def run_once(self) -> int:
        """One claim and its jobs, to their end; returns how many events were claimed."""
        claimed = self._claim()
        wait([future for _job, future in claimed])
        return sum(len(job.ids) for job, _future in claimed)

    # -- leases

    def _renew_if_due(self) -> None:
        if time.monotonic() - self._renewed_at < self.settings.lease_seconds / 3:
            return
        self._renewed_at = time.monotonic()
        groups = self._held.by_token()
        if groups:
            with self.app.app_context():
                try:
                    new = renew(groups, self.settings)
                finally:
                    db.session.remove()
            self._held.renewed(groups, new)
        self.connections.prune()

    # -- notifications

    def _notify_round(self) -> None:
        try:
            notifications.run_round(self.app, self._stopping)
        except Exception:  # the messages stay queued; the next round tries again
            log.exception("notification round failed")

    def _notify_if_idle(self) -> None:
        # At most one round at a time, and one per poll interval: a loop woken often by
        # webhook work does not query for notifications as often.
        if self._notifying is not None and not self._notifying.done():
            return
        if time.monotonic() - self._notified_at < self.settings.poll_interval:
            return
        self._notified_at = time.monotonic()
        self._notifying = self._notify_pool.submit(self._notify_round)

    # -- the loop

    def run(self) -> None:
        """Deliver until stop(): the attempts in flight finish, no more are claimed."""
        while not self._stopping.is_set():
            outbox.WAKE.clear()
            claimed = []
            try:
                self._renew_if_due()
                self._notify_if_idle()
                claimed = self._claim()
            except Exception:
                log.exception("webhook claim failed")
            if claimed and self._free() > 0:
                continue  # there may be more due: claim again
            renew_in = self.settings.lease_seconds / 3 - (time.monotonic() - self._renewed_at)
            outbox.WAKE.wait(max(0.01, min(self.settings.poll_interval, renew_in)))
        self.close()

    def close(self) -> None:
        """Release the delivery threads and connections (also after run_once)."""
        self._stopping.set()
        self._pool.shutdown(wait=True)
        self._notify_pool.shutdown(wait=True)
        self.connections.close()

    def start(self) -> Dispatcher:
        self._thread = threading.Thread(target=self.run, name="webhook-dispatcher", daemon=True)
        self._thread.start()
        return self

    def begin_stop(self) -> None:
        """Claim nothing more; the attempts in flight go on (stop() waits for them)."""
        self._stopping.set()
        outbox.WAKE.set()

    def stop(self, timeout: float | None = None) -> None:
        self.begin_stop()
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


def begin_stop_in_process() -> None:
    """The process is shutting down: its loops claim no new attempt from now on, so
    that every attempt left is one already in flight when stop_in_process() waits."""
    for dispatcher in list(_started.values()):
        dispatcher.begin_stop()


def stop_in_process(timeout: float = 15) -> None:
    with _start_lock:
        for dispatcher in _started.values():
            dispatcher.stop(timeout)
        _started.clear()


def init_app(app: Flask) -> None:
    """Serving: the loop starts with the first request (never in CLI commands)."""
    if not app.config["WEBHOOK_DELIVERY"]:
        return

    app.before_request(functools.partial(start_delivery, app))


def start_delivery(app: Flask) -> None:
    """Before every request: the delivery loop runs (the API pipeline's first step too)."""
    ensure_delivery(app)


def ensure_delivery(app: Flask) -> None:
    if app.config["WEBHOOK_DELIVERY"] and id(app) not in _started:
        start_in_process(app)
