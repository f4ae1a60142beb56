"""Structured logs: one JSON line per request, and the app's own log records as JSON too.

A request line holds the method, the path (never the query string: queries carry
LinkedIn URLs; and a personal opt-out link's token, the signed profile URL, is
replaced by "[redacted]"), the status, the duration, the team id when the request was
authenticated, and a request id. Never keys, never bodies, never headers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import traceback
import uuid

from flask import Flask, Response, g, request, request_finished, request_started
from flask.logging import default_handler

from dnc_app import metrics
from dnc_app.metrics import UNMATCHED

REQUEST_ID_HEADER = "X-Request-ID"
# An id set by a proxy in front is kept (so lines correlate across hops) if it is sane.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")

request_logger = logging.getLogger("dnc_app.request")

# Route arguments that carry a person's data: a personal link's token is the profile
# URL in base64 (signed, not encrypted).
SECRET_PATH_ARGUMENTS = ("token",)
REDACTED = "[redacted]"


class JsonFormatter(logging.Formatter):
    """A log record as one JSON object on one line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        fields = getattr(record, "fields", None)
        if fields:
            line.update(fields)
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["exception"] = "".join(traceback.format_exception(*record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of the record (gunicorn, tests)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def register_logging(app: Flask) -> None:
    """JSON lines on stderr for the app logger (errors) and one per request."""
    logger = logging.getLogger("dnc_app")  # the app logger; dnc_app.request is its child
    logger.removeHandler(default_handler)
    if not any(isinstance(h, StderrHandler) for h in logger.handlers):
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    # The lines are the service's output; a root handler (if any) would repeat them.
    logger.propagate = False
    request_started.connect(_start_request, app)
    request_finished.connect(_log_request, app)


def _start_request(sender: Flask, **_extra) -> None:
    g.request_started_at = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def _log_request(sender: Flask, response: Response, **_extra) -> None:
    started = g.get("request_started_at")
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    rule = request.url_rule
    log_request_line(
        sender,
        request.method,
        loggable_path(),
        rule.rule if rule is not None else UNMATCHED,
        response.status_code,
        started,
        _team_id(),
        request_id,
    )


def log_request_line(
    app: Flask,
    method: str,
    path: str,
    route: str,
    status: int,
    started: float | None,
    team_id: str | None,
    request_id: str,
) -> None:
    """The one line a request leaves in the log, and its count in the metrics (Flask's
    hook and the API's hot path). `route` is the matched rule, for the metrics."""
    seconds = time.perf_counter() - started if started is not None else None
    if metrics.enabled(app):
        metrics.observe_request(method, route, status, seconds)
    if not request_logger.isEnabledFor(logging.INFO):
        return
    request_logger.info(
        "request",
        extra={
            "fields": {
                "event": "request",
                "method": method,
                "path": path,
                "status": status,
                "duration_ms": round(seconds * 1000, 2) if seconds is not None else None,
                "team_id": team_id,
                "request_id": request_id,
                "pid": os.getpid(),  # which gunicorn worker served it
            }
        },
    )


def loggable_path() -> str:
    """The request path with the values of SECRET_PATH_ARGUMENTS replaced."""
    path = request.path
    for name in SECRET_PATH_ARGUMENTS:
        value = (request.view_args or {}).get(name)
        if isinstance(value, str) and value:
            path = path.replace(value, REDACTED)
    return path


def _team_id() -> str | None:
    """The team of the API key or of the signed-in member, without a database query."""
    team_id = g.get("team_id")
    if team_id:
        return team_id
    user = g.get("_login_user")  # set by Flask-Login once the user has been loaded
    return getattr(user, "team_id", None)
