"""Error responses: the JSON envelope under /v1, friendly HTML pages elsewhere."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from flask import Flask, current_app, render_template, request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException

from .extensions import limiter
from .timeutil import isoformat

API_PREFIX = "/v1"

# Codes and messages for HTTP errors raised outside the views' own validation.
_API_ERRORS = {
    400: ("bad_request", "The request could not be understood"),
    401: ("missing_api_key", "API key is required"),
    404: ("not_found", "Resource not found"),
    405: ("method_not_allowed", "Method not allowed for this endpoint"),
    413: ("payload_too_large", "Request body is too large"),
    415: ("unsupported_media_type", "Request body must be JSON"),
}


def envelope(error: str | None, data, message: str, status: int, **extra):
    body = {"error": error, "data": data, "message": message, **extra}
    return body, status


def is_api_request() -> bool:
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def _html(status: int, title: str, message: str):
    return render_template("errors/error.html", status=status, title=title,
                           message=message), status


def rate_limit_reset() -> tuple[float, int]:
    """(epoch seconds when a request will next be accepted, whole seconds to wait)."""
    limit = limiter.current_limit
    reset = float(limit.reset_at) if limit else time.time() + 60
    return reset, max(1, math.ceil(reset - time.time()))


def handle_rate_limit(exc: RateLimitExceeded):
    reset, retry_after = rate_limit_reset()
    if is_api_request():
        body, status = envelope(
            "rate_limit_exceeded",
            None,
            f"Rate limit exceeded ({exc.description}). Try again in {retry_after} seconds.",
            429,
            resetTime=isoformat(datetime.fromtimestamp(reset, UTC)),
        )
    else:
        body, status = _html(429, "Too many requests",
                             f"Please wait {retry_after} seconds and try again.")
    return body, status, {"Retry-After": str(retry_after)}


def handle_http_error(exc: HTTPException):
    status = exc.code or 500
    if is_api_request():
        code, message = _API_ERRORS.get(status, ("error", exc.name))
        return envelope(code, None, message, status)
    return _html(status, exc.name, exc.description or "")


def handle_unexpected(exc: Exception):
    # Logged with the traceback for operators; the client gets no internals.
    current_app.logger.exception("Unhandled exception on %s %s", request.method, request.path)
    if is_api_request():
        return envelope("internal_error", None, "An unexpected error occurred", 500)
    return _html(500, "Something went wrong",
                 "An unexpected error occurred. Please try again.")


def init_app(app: Flask) -> None:
    app.register_error_handler(RateLimitExceeded, handle_rate_limit)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(Exception, handle_unexpected)
