"""Error responses: the JSON envelope under /v1, friendly HTML pages elsewhere."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from flask import Flask, current_app, g, render_template, request
from flask_limiter import RateLimitExceeded
from limits.errors import StorageError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException

from dnc_app.domain.timeutil import isoformat
from dnc_app.extensions import db, limiter
from dnc_app.logging import loggable_path
from dnc_app.storage.limitstore import forget_current_limit

API_PREFIX = "/v1"

# Codes and messages for HTTP errors raised outside the views' own validation.
API_ERRORS = {
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
    return render_template("errors/error.html", status=status, title=title, message=message), status


def rate_limit_reset(reset: float | None = None) -> tuple[float, int]:
    """(epoch seconds when a request will next be accepted, whole seconds to wait).

    Computed once per request from the limit that was hit (or `reset`, for a limit
    counted outside Flask-Limiter's decorators) and kept: the message, `resetTime` and
    the `Retry-After` header (written by settle_retry_after) all use these two numbers.
    """
    if "rate_limit_reset" not in g:
        if reset is None:
            limit = limiter.current_limit
            try:
                reset = float(limit.reset_at) if limit else time.time() + 60
            except LIMIT_STORE_ERRORS:
                reset = time.time() + 60
        g.rate_limit_reset = (reset, seconds_until(reset))
    return g.rate_limit_reset


def seconds_until(reset: float) -> int:
    """Whole seconds to wait for `reset` (epoch seconds): the Retry-After value."""
    return max(1, math.ceil(reset - time.time()))


def api_rate_limited(description: str, reset: float, retry_after: int):
    """The API's 429 envelope (the Retry-After header carries `retry_after`)."""
    return envelope(
        "rate_limit_exceeded",
        None,
        f"Rate limit exceeded ({description}). Try again in {retry_after} seconds.",
        429,
        resetTime=isoformat(datetime.fromtimestamp(reset, UTC)),
    )


def rate_limited(description: str, reset: float | None = None):
    """The 429 answer: the envelope under /v1, the page elsewhere."""
    reset, retry_after = rate_limit_reset(reset)
    if is_api_request():
        return api_rate_limited(description, reset, retry_after)
    return _html(429, "Too many requests", f"Please wait {retry_after} seconds and try again.")


def handle_rate_limit(exc: RateLimitExceeded):
    return rate_limited(exc.description)


def settle_retry_after(response):
    """`Retry-After` only on a 429 (the value its message gives) and a 503.

    Flask-Limiter writes it on every response of a limited route, a 201 included, and
    rounds it its own way; this hook runs after Flask-Limiter's and has the last word.
    """
    if response.status_code == 429 and "rate_limit_reset" in g:
        response.headers["Retry-After"] = str(g.rate_limit_reset[1])
    elif response.status_code not in (429, 503):
        response.headers.pop("Retry-After", None)
    return response


def handle_http_error(exc: HTTPException):
    status = exc.code or 500
    # The exception's own headers (a 405's Allow), not its HTML Content-Type.
    headers = [(name, value) for name, value in exc.get_headers() if name.lower() != "content-type"]
    if is_api_request():
        code, message = API_ERRORS.get(status, ("error", exc.name))
        body, status = envelope(code, None, message, status)
        return body, status, headers
    return *_html(status, exc.name, exc.description or ""), headers


# ------------------------------------------------------------------ outages: 503, never 500

# The rate-limit store (Redis) is unreachable. Storage errors are wrapped in StorageError
# (config: wrap_exceptions); the redis errors are listed in case a storage is not wrapped.
LIMIT_STORE_ERRORS = (StorageError, RedisConnectionError, RedisTimeoutError)
RETRY_AFTER_SECONDS = 5


def is_database_outage(exc: BaseException) -> bool:
    """The database cannot be reached (down, restarting, connection lost, pool exhausted),
    as opposed to an error in a statement (e.g. IntegrityError), which stays a 500."""
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeoutError)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def _unavailable(message: str):
    if is_api_request():
        body, status = envelope("service_unavailable", None, message, 503)
    else:
        body, status = _html(
            503,
            "Temporarily unavailable",
            "The service is temporarily unavailable. Please try again in a few seconds.",
        )
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def handle_limit_store_outage(exc: Exception):
    # Fail closed: without the shared counters no limit can be enforced, and a compliance
    # list must not take unmetered writes (see docs/production.md).
    current_app.logger.warning(
        "rate-limit storage unavailable on %s %s: %s",
        request.method,
        loggable_path(),
        _first_line(exc),
    )
    return _unavailable(
        "The rate-limit store is unavailable, so the request was "
        f"not processed. Try again in {RETRY_AFTER_SECONDS} seconds."
    )


def handle_database_error(exc: DBAPIError | PoolTimeoutError):
    if not is_database_outage(exc):
        return handle_unexpected(exc)
    current_app.logger.warning(
        "database unavailable on %s %s: %s", request.method, loggable_path(), _first_line(exc)
    )
    return _unavailable(f"The database is unavailable. Try again in {RETRY_AFTER_SECONDS} seconds.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def handle_internal_error(exc: HTTPException):
    """A 500 raised outside the view (e.g. in an after-request hook) that is an outage."""
    original = getattr(exc, "original_exception", None)
    if isinstance(original, LIMIT_STORE_ERRORS):
        return handle_limit_store_outage(original)
    if original is not None and is_database_outage(original):
        return handle_database_error(original)
    return handle_http_error(exc)


def settle_rate_limit_headers(response):
    """Decide about the X-RateLimit headers before Flask-Limiter writes them.

    A 503 gets none: it carries its own short Retry-After, which Flask-Limiter would
    otherwise raise to the end of the rate-limit window. Otherwise the window is read
    now: when the store fails after the view ran (Redis stopped mid-request), the
    response keeps its status without those headers instead of turning into a 500 -
    a 201 here has been committed and must reach the client as a 201.
    """
    current = limiter.current_limit
    if current is None:
        return response
    drop = response.status_code == 503
    if not drop:
        try:
            current.window  # noqa: B018 - fetches and caches the window stats
        except LIMIT_STORE_ERRORS:
            drop = True
    if drop:
        forget_current_limit(limiter)
    return response


def end_session_despite_outage(_exc: BaseException | None) -> None:
    """End the request's database session, also when the connection has just been lost.

    Flask-SQLAlchemy ends it with a ROLLBACK after the response has been made; when
    PostgreSQL drops the connection at that moment (a restart), that ROLLBACK raises and
    gunicorn would answer a bare 500 instead of the response. Runs before Flask-SQLAlchemy's
    own teardown, which then has nothing left to do.
    """
    try:
        db.session.remove()
    except DBAPIError as exc:
        if not is_database_outage(exc):
            raise
        current_app.logger.warning(
            "database connection lost while ending the session: %s", _first_line(exc)
        )
        session = db.session.registry()
        try:
            session.invalidate()  # discards the connection without talking to the server
        except DBAPIError:
            pass
        db.session.registry.clear()


def handle_unexpected(exc: Exception):
    # Logged with the traceback for operators; the client gets no internals.
    current_app.logger.exception("Unhandled exception on %s %s", request.method, loggable_path())
    if is_api_request():
        return envelope("internal_error", None, "An unexpected error occurred", 500)
    return _html(500, "Something went wrong", "An unexpected error occurred. Please try again.")


def init_app(app: Flask) -> None:
    app.register_error_handler(RateLimitExceeded, handle_rate_limit)
    app.register_error_handler(500, handle_internal_error)
    app.register_error_handler(HTTPException, handle_http_error)
    for error in LIMIT_STORE_ERRORS:
        app.register_error_handler(error, handle_limit_store_outage)
    app.register_error_handler(DBAPIError, handle_database_error)
    app.register_error_handler(PoolTimeoutError, handle_database_error)
    app.register_error_handler(Exception, handle_unexpected)
    # Registered after the limiter's own hook, so it runs before it (Flask runs
    # after-request hooks in reverse order).
    app.after_request(settle_rate_limit_headers)
    # First in the list, so it runs after every other after-request hook (Flask runs
    # them last-registered first), Flask-Limiter's included.
    app.after_request_funcs.setdefault(None, []).insert(0, settle_retry_after)
    # Registered after Flask-SQLAlchemy's teardown, so it runs before it.
    app.teardown_appcontext(end_session_despite_outage)
