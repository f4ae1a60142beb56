"""Prometheus metrics at GET /metrics (off unless METRICS_ENABLED=1).

Under gunicorn each worker is a process of its own, so counters and histograms are kept
in prometheus_client's multiprocess mode: every process writes its values to files under
PROMETHEUS_MULTIPROC_DIR (gunicorn.conf.py creates and empties it when the master
starts), and a scrape, whichever worker answers it, adds up the files of all of them.
Without that variable (one process: `flask run`, tests) the values stay in memory.

Labels stay few: a route by its rule ("/v1/dnc/<entry_id>"), never its URL; no team,
key or endpoint id. The webhook backlog is read from the database when scraped, so it is
right whichever process (or machine) wrote or delivers the events.
"""

from __future__ import annotations

import hmac
import logging
from datetime import datetime

from flask import Blueprint, Flask, Response, current_app, request
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db, limiter
from dnc_app.storage.models import WebhookMessage

logger = logging.getLogger(__name__)

# Methods outside this set share one label value: a client cannot add series.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# The route label of a request that matched no route (a 404, whatever its URL).
UNMATCHED = "<unmatched>"
# The classic text format, which every Prometheus version reads (the metric names are
# plain, so nothing needs the newer one).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Latency buckets in seconds, from a check answered from cache to a large screen.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# Outside prometheus_client's default registry (registry=None): the endpoint builds the
# registry of each scrape.
REQUESTS = Counter(
    "dnc_http_requests",
    "HTTP requests answered, by route rule and status.",
    ["method", "route", "status"],
    registry=None,
)
LATENCY = Histogram(
    "dnc_http_request_duration_seconds",
    "Time from the request's arrival to its answer, by route rule.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=None,
)
WEBHOOK_ATTEMPTS = Counter(
    "dnc_webhook_attempts",
    "Webhook delivery attempts, by result: "
    "delivered (a 2xx), rejected (another HTTP status), error (no "
    "HTTP answer: timeout, connection, refused destination).",
    ["result"],
    registry=None,
)
PUBLIC_OPTOUTS = Counter(
    "dnc_public_optouts",
    "Accepted public opt-out submissions: listed (a new entry) or repeated (already listed).",
    ["result"],
    registry=None,
)
OWN_METRICS = (REQUESTS, LATENCY, WEBHOOK_ATTEMPTS, PUBLIC_OPTOUTS)

# `_created` samples would double the series for a timestamp Prometheus does not need.
disable_created_metrics()

bp = Blueprint("metrics", __name__)


# --------------------------------------------------------------------------- recording


def enabled(app: Flask) -> bool:
    return bool(app.config.get("METRICS_ENABLED"))


def observe_request(method: str, route: str, status: int, seconds: float | None) -> None:
    """One answered request (called with the request's log line, on both request paths)."""
    if method not in METHODS:
        method = "other"
    try:
        REQUESTS.labels(method, route, str(status)).inc()
        if seconds is not None:
            LATENCY.labels(method, route).observe(seconds)
    except Exception as exc:  # noqa: BLE001 - counting never fails a request (e.g. a full disk)
        logger.warning("metrics: request not counted: %s", type(exc).__name__)


def record_webhook_attempt(status_code: int | None, error: str | None) -> None:
    """One delivery attempt's result; the delivery loop calls it once per attempt."""
    if error is None and status_code is not None and 200 <= status_code < 300:
        result = "delivered"
    elif error is None and status_code is not None:
        result = "rejected"
    else:
        result = "error"
    WEBHOOK_ATTEMPTS.labels(result).inc()


def record_public_optout(repeated: bool) -> None:
    PUBLIC_OPTOUTS.labels("repeated" if repeated else "listed").inc()


# --------------------------------------------------------------------------- scraping


class WebhookBacklog:
    """Pending webhook events, read from the outbox when scraped (by the pending index)."""

    def __init__(self, now: datetime):
        self.now = now

    def collect(self):
        try:
            pending, oldest, earliest_due, due = self._read()
        except Exception as exc:  # noqa: BLE001 - a scrape still answers the other metrics
            logger.warning("metrics: webhook backlog not read: %s", type(exc).__name__)
            return
        yield _gauge(
            "dnc_webhook_backlog_events",
            "Webhook events not yet delivered (pending, due or waiting for a retry).",
            pending,
        )
        yield _gauge(
            "dnc_webhook_backlog_due_events",
            "Pending webhook events whose next attempt is due now.",
            due,
        )
        yield _gauge(
            "dnc_webhook_backlog_oldest_age_seconds",
            "Age of the oldest pending webhook event (0 without any).",
            _seconds_since(oldest, self.now),
        )
        yield _gauge(
            "dnc_webhook_backlog_overdue_seconds",
            "How long the most overdue pending attempt has been waiting for a loop "
            "(0 when none is due): grows when no delivery loop is running.",
            _seconds_since(earliest_due, self.now),
        )

    def _read(self):
        M = WebhookMessage
        query = select(
            func.count(),
            func.min(M.created_at),
            func.min(M.next_attempt_at),
            func.count().filter(M.next_attempt_at <= self.now),
        ).where(M.status == "pending")
        for attempt in (1, 2):
            try:
                return db.session.execute(query).one()
            except DBAPIError as exc:
                db.session.rollback()
                # A pooled connection that outlived a database restart is discarded (with
                # the pool's other old ones): read again on a new one.
                if attempt == 2 or not exc.connection_invalidated:
                    raise
            finally:
                db.session.close()  # no transaction left open by a scrape
        raise AssertionError("unreachable")


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _seconds_since(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0


def exposition(now: datetime) -> bytes:
    """Every metric in the text format: all processes' files, or this process's registry."""
    registry = CollectorRegistry()
    # The variable prometheus_client itself read when the metrics were made (the
    # process's environment, which the app's settings were read from).
    path = current_app.config["PROMETHEUS_MULTIPROC_DIR"]
    if path:
        multiprocess.MultiProcessCollector(registry, path=path)
    else:
        for collector in OWN_METRICS:
            registry.register(collector)
    registry.register(WebhookBacklog(now))
    return generate_latest(registry)


def _authorized() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return True
    header = request.headers.get("Authorization", "")
    scheme, _, given = header.partition(" ")
    # Constant time: the comparison does not tell how much of a guess was right.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


@bp.get("/metrics")
@limiter.exempt
def metrics():
    if not _authorized():
        return Response(
            "Unauthorized\n",
            401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"', "Cache-Control": "no-store"},
        )
    return Response(
        exposition(utcnow()),
        200,
        headers={"Content-Type": CONTENT_TYPE, "Cache-Control": "no-store"},
    )


def init_app(app: Flask) -> None:
    """The route exists only when enabled: otherwise /metrics is a plain 404."""
    if enabled(app):
        app.register_blueprint(bp)
