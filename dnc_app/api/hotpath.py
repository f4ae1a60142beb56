"""The hottest API routes (check, add) answered at the WSGI level, before Flask's dispatch.

Every connected tool checks before every message, so Flask's own request handling (the
request and response objects, URL matching, hooks, signals) cost more than the answer.
This middleware serves `GET /v1/dnc/check` and `POST /v1/dnc` with the same pieces the
Flask views use: the same key check and cache (api/auth.py), the same limits on the same
storage keys (api/limits.py), the same answers (api/entries.py: the service layer and the
change log), the same error handlers (found by Flask for any exception), the same
security headers and the same request log line. Anything it does not reproduce goes to
Flask untouched: another route or method, a query that is not UTF-8, a body without a
Content-Length or over the cap, a host outside TRUSTED_HOSTS, app-wide limits, debug
mode, or a hook it does not know (checked once, when the first request comes).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from urllib.parse import parse_qsl

from flask import Flask
from werkzeug.exceptions import SecurityError
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_host

from ..clientaddr import client_key
from ..errors import api_rate_limited, seconds_until
from ..extensions import limiter
from ..logging import _SANE_REQUEST_ID, REQUEST_ID_HEADER, log_request_line
from ..security import HEADERS, HSTS
from .auth import actor_of, auth_failures_exceeded, key_of
from .entries import add_answer, check_answer, parse_json_object
from .limits import CHECK, WRITE, Counted, count_team_request
from .mediatype import refuses_body

# The hooks the hot path reproduces or that have no work on these routes (by qualname).
# Any other before/after/teardown hook or signal receiver sends every request to Flask.
KNOWN_HOOKS = frozenset(
    {
        "refuse_untrusted_host",
        "refuse_undecodable_query",
        "cap_request_size",  # reproduced
        "refuse_non_json_body",  # asked in _serves: Flask answers the 415
        "CSRFProtect.init_app.<locals>.csrf_protect",  # the API blueprint is exempt
        "Limiter._check_request_limit",
        "Limiter._inject_headers",  # skipped on /v1 (fastpath)
        "LoginManager._update_remember_cookie",  # skipped on /v1 (fastpath)
        "_not_on_api.<locals>.run_for_pages",  # a hook of the two above, skipped on /v1
        "settle_retry_after",
        "add_security_headers",
        "settle_rate_limit_headers",
        "add_rate_limit_headers",
        "_start_request",
        "_log_request",  # reproduced
        "Limiter.__release_context",
        "SQLAlchemy._teardown_session",  # app context: still run
        "end_session_despite_outage",
        "init_app.<locals>._start_delivery",
    }
)

_JSON = ("Content-Type", "application/json")
_SECURITY_HEADERS = list(HEADERS.items())
_STATUS_LINES = {code: f"{code} {name.upper()}" for code, name in HTTP_STATUS_CODES.items()}


class _Answer:
    """What a request is answered with: status, JSON body, headers."""

    __slots__ = ("status", "body", "headers", "rate", "retry_after", "team_id")

    def __init__(self):
        self.status, self.body, self.headers = 500, b"", []
        self.rate: tuple[str, str, str] | None = None  # X-RateLimit-* values
        self.retry_after: int | None = None  # a 429's Retry-After
        self.team_id: str | None = None  # for the log line


class HotPath:
    def __init__(self, app: Flask, flask_wsgi: Callable, api_limited_by_app: Callable[[], bool]):
        self.app = app
        self.flask_wsgi = flask_wsgi  # what serves every other request
        self.api_limited_by_app = api_limited_by_app
        self.routes = {("GET", "/v1/dnc/check"): self._check, ("POST", "/v1/dnc"): self._add}
        # The limits' scope of a route's own limit: Flask's endpoint name for its view.
        self.endpoints = {self._check: "api.check_entry", self._add: "api.post_entry"}
        self._hooks_known: bool | None = None
        self._start_delivery: Callable | None = None

    # ------------------------------------------------------------------ dispatch

    def __call__(self, environ: dict, start_response) -> Iterable[bytes]:
        route = self.routes.get((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
        if route is None or not self._serves(environ):
            return self.flask_wsgi(environ, start_response)
        return self._serve(route, environ, start_response)

    def _serves(self, environ: dict) -> bool:
        """Whether this request is answered here exactly as Flask would answer it."""
        if self._hooks_known is None:
            self._hooks_known = self._only_known_hooks()
        config = self.app.config
        compact = getattr(self.app.json, "compact", None)  # DefaultJSONProvider's
        if not self._hooks_known or self.app.debug or compact is False or config["SERVER_NAME"]:
            return False
        if limiter.enabled and self.api_limited_by_app():
            return False
        try:
            environ.get("QUERY_STRING", "").encode("latin-1").decode()
        except UnicodeError:
            return False  # refused by request_guard
        if config["TRUSTED_HOSTS"] and not self._trusted_host(environ):
            return False
        if refuses_body(environ):
            return False  # refuse_non_json_body's 415, answered by Flask
        if environ["REQUEST_METHOD"] == "POST":
            length = environ.get("CONTENT_LENGTH", "")
            if not (
                length.isascii()
                and length.isdigit()
                and int(length) <= config["API_MAX_CONTENT_LENGTH"]
            ):
                return False  # chunked, malformed or too large: cap_request_size's
        return True

    def _trusted_host(self, environ: dict) -> bool:
        try:  # werkzeug's own check, as Flask's request makes it
            get_host(environ, self.app.config["TRUSTED_HOSTS"])
        except SecurityError:
            return False
        return True

    def _only_known_hooks(self) -> bool:
        app = self.app
        hooks = [
            *app.before_request_funcs.get(None, ()),
            *app.before_request_funcs.get("api", ()),
            *app.after_request_funcs.get(None, ()),
            *app.after_request_funcs.get("api", ()),
            *app.teardown_request_funcs.get(None, ()),
            *app.teardown_request_funcs.get("api", ()),
            *app.teardown_appcontext_funcs,
            *app.url_value_preprocessors.get(None, ()),
            *app.url_value_preprocessors.get("api", ()),
        ]
        from flask import request_finished, request_started

        hooks += [*request_started.receivers_for(app), *request_finished.receivers_for(app)]
        names = {getattr(hook, "__qualname__", repr(hook)) for hook in hooks}
        for hook in app.before_request_funcs.get(None, ()):
            if hook.__qualname__ == "init_app.<locals>._start_delivery":
                self._start_delivery = hook
        return names <= KNOWN_HOOKS

    # ------------------------------------------------------------------ one request

    def _serve(self, route: Callable, environ: dict, start_response) -> Iterable[bytes]:
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        answer = _Answer()
        with self.app.app_context():
            if self._start_delivery is not None:
                self._start_delivery()
            try:
                self._authenticated(route, environ, answer)
            except Exception as exc:  # noqa: BLE001 - answered by the app's own handlers
                self._answer_error(exc, environ, answer)
        headers = self._headers(answer, environ, request_id)
        start_response(_STATUS_LINES[answer.status], headers)
        self._log(environ, answer, started, request_id)
        return [answer.body]

    def _authenticated(self, route: Callable, environ: dict, answer: _Answer) -> None:
        """require_api_key, then the route's limits, then the route."""
        client = client_key(environ.get("REMOTE_ADDR"))
        refused = auth_failures_exceeded(client)
        if refused is not None:
            self._rate_limited(answer, *refused)
            return
        key = key_of(environ.get("HTTP_AUTHORIZATION", ""), client)
        answer.team_id = key.team_id
        limits = (CHECK,) if route == self._check else (WRITE,)
        counted: Counted = count_team_request(key.team_id, self.endpoints[route], limits)
        answer.rate = counted.headers
        if counted.refused is not None:
            self._rate_limited(answer, *counted.refused)
            return
        self._json(answer, *route(key, environ))

    def _check(self, key, environ: dict):
        query = environ.get("QUERY_STRING", "").encode("latin-1").decode()
        url = next(
            (
                value
                for name, value in parse_qsl(
                    query, keep_blank_values=True, errors="werkzeug.url_quote"
                )
                if name == "url"
            ),
            "",
        )
        return check_answer(key.team_id, url)

    def _add(self, key, environ: dict):
        length = int(environ["CONTENT_LENGTH"])
        raw = environ["wsgi.input"].read(length) if length else b""
        return add_answer(key.team_id, actor_of(key), parse_json_object(raw))

    # ------------------------------------------------------------------ answers

    def _json(self, answer: _Answer, body: dict, status: int) -> None:
        answer.status = status
        # As Flask's JSON provider writes it (compact, its key order, a final newline).
        text = self.app.json.dumps(body, separators=(",", ":"))
        answer.body = (text + "\n").encode()

    def _rate_limited(self, answer: _Answer, description: str, reset: float) -> None:
        answer.retry_after = seconds_until(reset)
        self._json(answer, *api_rate_limited(description, reset, answer.retry_after))

    def _answer_error(self, exc: Exception, environ: dict, answer: _Answer) -> None:
        """The answer of the handler Flask would pick (the API blueprint's, then the app's),
        run in a request context as Flask runs it."""
        app = self.app
        with app.request_context(environ):
            try:
                answered = app.handle_user_exception(exc)
            except Exception as unhandled:  # noqa: BLE001 - as Flask's wsgi_app: a 500
                answered = app.handle_exception(unhandled)
            response = app.make_response(answered)
        answer.status = response.status_code
        answer.body = response.get_data()
        answer.headers = [
            (name, value)
            for name, value in response.headers.items()
            if name not in ("Content-Type", "Content-Length")
        ]

    def _headers(self, answer: _Answer, environ: dict, request_id: str) -> list:
        """Content headers, the handler's, X-RateLimit-*, Retry-After only on a 429 or
        503, the security headers, Cache-Control and the request id (as the hooks)."""
        status = answer.status
        headers = [_JSON, ("Content-Length", str(len(answer.body)))]
        headers += [
            (name, value)
            for name, value in answer.headers
            if name != "Retry-After" or status == 503
        ]
        if answer.rate is not None and status != 503:
            limit, remaining, reset = answer.rate
            headers += [
                ("X-RateLimit-Limit", limit),
                ("X-RateLimit-Remaining", remaining),
                ("X-RateLimit-Reset", reset),
            ]
        if status == 429 and answer.retry_after is not None:
            headers.append(("Retry-After", str(answer.retry_after)))
        headers += _SECURITY_HEADERS
        if environ["wsgi.url_scheme"] == "https":
            headers.append(("Strict-Transport-Security", HSTS))
        headers += [("Cache-Control", "no-store"), (REQUEST_ID_HEADER, request_id)]
        return headers

    def _log(self, environ: dict, answer: _Answer, started: float, request_id: str) -> None:
        # The routes served here are fixed paths: the path is the rule.
        path = environ["PATH_INFO"]
        log_request_line(
            self.app,
            environ["REQUEST_METHOD"],
            path,
            path,
            answer.status,
            started,
            answer.team_id,
            request_id,
        )


def install(app: Flask, api_limited_by_app: Callable[[], bool]) -> None:
    """Put the hot path in front of Flask (inside ProxyFix, which it relies on for the
    client address and scheme)."""
    outer = app.wsgi_app
    if hasattr(outer, "app") and not hasattr(outer, "__self__"):  # a middleware (ProxyFix)
        outer.app = HotPath(app, outer.app, api_limited_by_app)
    else:
        # Flask's documented way to add WSGI middleware (mypy reads it as replacing a method).
        app.wsgi_app = HotPath(app, outer, api_limited_by_app)  # type: ignore[method-assign]
