"""The API's request pipeline: one chain of plain steps from a WSGI environ to an answer.

    delivery → hooks → query → size cap → media type → app-wide limits → authenticate
    → team limits → parse → service → envelope │ errors → headers → log

A route of the pipeline (`route(...)`) is answered by this chain and nothing else, through
either entry point: Flask (DncFlask.full_dispatch_request hands a matched pipeline route
to `respond`, past Flask's request hooks and signals) or the WSGI shortcut (api/hotpath.py,
which only skips Flask's routing and request objects). Both call `run` with the same
environ, so their answers are one by construction.

Flask's request hooks and request signals do not run for a pipeline route: each hook the
app has when create_app returns is a step here or has no work on these routes, and that
set is fixed by `install` (by identity of the function objects; tests/test_api_pipeline.py
states what each one is). A hook or receiver added later is not silently skipped: every
pipeline request compares the registry and answers a 500 (logged) until the hook is made
a step.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    has_request_context,
    request,
    request_finished,
    request_started,
)
from flask.blueprints import BlueprintSetupState
from werkzeug.exceptions import RequestEntityTooLarge, UnsupportedMediaType
from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.wsgi import get_input_stream

from dnc_app.domain.accounts.apikeys import KeyIdentity
from dnc_app.events.webhooks.delivery import ensure_delivery
from dnc_app.extensions import limiter
from dnc_app.http.api.auth import auth_failures_exceeded, key_of
from dnc_app.http.api.errors import InvalidParameter
from dnc_app.http.api.limits import Counted, TeamLimit, count_team_request
from dnc_app.http.api.mediatype import refuses_body
from dnc_app.http.clientaddr import client_key
from dnc_app.http.errors import api_rate_limited, seconds_until
from dnc_app.http.request_guard import UNDECODABLE_QUERY
from dnc_app.http.security import security_headers
from dnc_app.logging import REQUEST_ID_HEADER, SANE_REQUEST_ID, log_request_line
from dnc_app.storage.limitstore import check_app_wide_limits

STATUS_LINES = {code: f"{code} {name.upper()}" for code, name in HTTP_STATUS_CODES.items()}
_JSON = ("Content-Type", "application/json")


class Call:
    """What the steps read of a request: its environ, decoded once."""

    __slots__ = ("environ", "method", "path", "query", "body", "secure", "request_id", "started")

    def __init__(self, environ: dict):
        self.started = time.perf_counter()
        self.environ = environ
        self.method: str = environ["REQUEST_METHOD"]
        self.path: str = environ.get("PATH_INFO", "")
        self.query = ""  # set by the query step
        self.body = b""  # set by the size-cap step, for a route that reads one
        self.secure = environ.get("wsgi.url_scheme") in ("https", "wss")
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        self.request_id = incoming if SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


class Answer:
    """What a request is answered with, and what the log line needs."""

    __slots__ = ("status", "body", "headers", "rate", "retry_after", "team_id")

    def __init__(self) -> None:
        self.status, self.body = 500, b""
        self.headers: list[tuple[str, str]] = []  # an error handler's own (401, 503)
        self.rate: tuple[str, str, str] | None = None  # X-RateLimit-* values
        self.retry_after: int | None = None  # a 429's Retry-After
        self.team_id: str | None = None


class Route(NamedTuple):
    """A pipeline route: its rule, the team limits it counts, and its two own steps."""

    rule: str  # the full rule, e.g. "/v1/dnc/check" (the log's and the metrics' route)
    endpoint: str  # Flask's endpoint: the scope of the route's own limit
    methods: tuple[str, ...]
    limits: tuple[TeamLimit, ...]
    reads_body: bool
    parse: Callable[[Call], Any]  # the request's values, or ApiError
    serve: Callable[[KeyIdentity, Any], tuple[dict, int]]  # the service call: (body, status)


# ------------------------------------------------------------------ the steps


def query(call: Call) -> None:
    """A query string that is not UTF-8 is a 400 (request_guard's rule for every route)."""
    try:
        call.query = call.environ.get("QUERY_STRING", "").encode("latin-1").decode()
    except UnicodeError:
        raise InvalidParameter(UNDECODABLE_QUERY) from None


def size_cap(call: Call, route: Route, cap: int) -> None:
    """The body, read up to the cap; a larger one is a 413 before anything else is done
    for it. A chunked body has no length to compare: werkzeug's bounded stream (as Flask's
    request reads it) gives one byte more than the cap, to tell a body that fits."""
    if not route.reads_body:
        return
    length = call.environ.get("CONTENT_LENGTH", "")
    if length.isascii() and length.isdigit() and "HTTP_TRANSFER_ENCODING" not in call.environ:
        # The usual case: read what was declared (werkzeug's stream costs an order more).
        if int(length) > cap:
            raise RequestEntityTooLarge()
        call.body = call.environ["wsgi.input"].read(int(length)) if int(length) else b""
        return
    body = get_input_stream(call.environ, max_content_length=cap + 1).read()
    if len(body) > cap:
        raise RequestEntityTooLarge()
    call.body = body


def media_type(call: Call) -> None:
    """A body that is not JSON is a 415 (api/mediatype.py)."""
    if refuses_body(call.environ):
        raise UnsupportedMediaType()


def app_wide_limits(app: Flask, call: Call, configured: bool) -> None:
    """An operator's app-wide limits (Flask-Limiter's defaults), checked by Flask-Limiter
    in a request context; its RateLimitExceeded is answered by the app's handler."""
    if not configured:
        return
    if has_request_context():
        check_app_wide_limits(limiter)
        return
    with app.request_context(call.environ):
        check_app_wide_limits(limiter)


def authenticate(call: Call, answer: Answer) -> KeyIdentity | None:
    """The bearer key (api/auth.py, with its cache); None when the client has used up its
    failed authentications (answered 429)."""
    client = client_key(call.environ.get("REMOTE_ADDR"))
    refused = auth_failures_exceeded(client)
    if refused is not None:
        rate_limited(answer, *refused)
        return None
    key = key_of(call.environ.get("HTTP_AUTHORIZATION", ""), client)
    answer.team_id = key.team_id
    return key


def team_limits(key: KeyIdentity, route: Route, answer: Answer) -> bool:
    """Count the request against the team's limits; False when one refused it (429)."""
    counted: Counted = count_team_request(key.team_id, route.endpoint, route.limits)
    answer.rate = counted.headers
    if counted.refused is not None:
        rate_limited(answer, *counted.refused)
        return False
    return True


def envelope(app: Flask, answer: Answer, body: dict, status: int) -> None:
    """The JSON body as Flask's JSON provider writes it (compact unless in debug, its key
    order, a final newline)."""
    compact = app.json.compact if hasattr(app.json, "compact") else None
    if compact is None:
        compact = not app.debug
    if compact:
        text = app.json.dumps(body, separators=(",", ":"))
    else:
        text = app.json.dumps(body, indent=2)
    answer.status, answer.body = status, (text + "\n").encode()


def rate_limited(answer: Answer, description: str, reset: float) -> None:
    answer.retry_after = seconds_until(reset)
    body, status = api_rate_limited(description, reset, answer.retry_after)
    envelope(current_app, answer, body, status)


def errors(app: Flask, exc: Exception, call: Call, answer: Answer) -> None:
    """The answer of the handler Flask would pick for `exc` (the API blueprint's, then the
    app's), run in a request context as Flask runs it."""
    if has_request_context():
        _handled(app, exc, answer)
        return
    with app.request_context(call.environ):
        _handled(app, exc, answer)


def _handled(app: Flask, exc: Exception, answer: Answer) -> None:
    from flask import g

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
    if "rate_limit_reset" in g:  # an app-wide limit's 429 (errors.rate_limit_reset)
        answer.retry_after = g.rate_limit_reset[1]


def headers(answer: Answer, call: Call) -> list[tuple[str, str]]:
    """Content headers, the handler's, X-RateLimit-* (not on a 503), Retry-After only on a
    429 or a 503, the security headers (HSTS over https), Cache-Control, the request id."""
    status = answer.status
    out = [_JSON, ("Content-Length", str(len(answer.body)))]
    out += [
        (name, value) for name, value in answer.headers if name != "Retry-After" or status == 503
    ]
    if answer.rate is not None and status != 503:
        limit, remaining, reset = answer.rate
        out += [
            ("X-RateLimit-Limit", limit),
            ("X-RateLimit-Remaining", remaining),
            ("X-RateLimit-Reset", reset),
        ]
    if status == 429 and answer.retry_after is not None:
        out.append(("Retry-After", str(answer.retry_after)))
    out += security_headers(call.secure)
    # Every /v1 answer is a team's data or about its key: no cache keeps it.
    out += [("Cache-Control", "no-store"), (REQUEST_ID_HEADER, call.request_id)]
    return out


def log(app: Flask, route: Route, call: Call, answer: Answer) -> None:
    # A pipeline route is a fixed path: the path is the rule, and holds no secret.
    log_request_line(
        app,
        call.method,
        call.path,
        route.rule,
        answer.status,
        call.started,
        answer.team_id,
        call.request_id,
    )


# ------------------------------------------------------------------ the chain


def run(app: Flask, route: Route, environ: dict) -> tuple[Answer, list[tuple[str, str]]]:
    """Answer one request of `route` (in an app or request context of `app`)."""
    call, answer = Call(environ), Answer()
    state: _State = app.extensions["api_pipeline"]
    try:
        ensure_delivery(app)
        state.check_hooks(app)
        query(call)
        size_cap(call, route, app.config["API_MAX_CONTENT_LENGTH"])
        media_type(call)
        app_wide_limits(app, call, state.app_wide_limits)
        key = authenticate(call, answer)
        if key is not None and team_limits(key, route, answer):
            values = route.parse(call)
            envelope(app, answer, *route.serve(key, values))
    except Exception as exc:  # noqa: BLE001 - answered by the app's own handlers
        errors(app, exc, call, answer)
    sent = headers(answer, call)
    log(app, route, call, answer)
    return answer, sent


def respond(app: Flask, route: Route, environ: dict) -> Response:
    """`run` as a Flask response (Flask's entry point, in its request context)."""
    answer, sent = run(app, route, environ)
    return app.response_class(answer.body, status=answer.status, headers=sent)


def serve_wsgi(app: Flask, route: Route, environ: dict, start_response) -> list[bytes]:
    """`run` as a WSGI answer (the shortcut's entry point)."""
    with app.app_context():
        answer, sent = run(app, route, environ)
    start_response(STATUS_LINES[answer.status], sent)
    return [answer.body]


# ------------------------------------------------------------------ routes


def route(
    bp: Blueprint,
    method: str,
    rule: str,
    *,
    endpoint: str,
    limits: tuple[TeamLimit, ...],
    parse: Callable[[Call], Any],
    serve: Callable[[KeyIdentity, Any], tuple[dict, int]],
) -> Route:
    """Register a pipeline route on the blueprint. Its Flask view runs the chain (so
    `url_for`, HEAD, OPTIONS and 405 stay Flask's); DncFlask dispatches it past the hooks."""
    full_rule = (bp.url_prefix or "") + rule
    the_route = Route(
        rule=full_rule,
        endpoint=f"{bp.name}.{endpoint}",
        methods=(method, "HEAD") if method == "GET" else (method,),
        limits=limits,
        reads_body=method in ("POST", "PUT", "PATCH"),
        parse=parse,
        serve=serve,
    )

    def register(state: BlueprintSetupState) -> None:
        app = state.app  # the app itself (current_app is a proxy)
        assert isinstance(app, Flask)  # (typed as Flask's sans-IO base)

        def view() -> Response:
            return respond(app, the_route, request.environ)

        view.__name__ = endpoint
        view.pipeline_route = the_route  # type: ignore[attr-defined]
        state.add_url_rule(rule, endpoint, view, methods=[method])

    bp.record(register)
    return the_route


def route_of(app: Flask) -> Route | None:
    """The pipeline route Flask matched for the current request, if any (and if the
    request's method is one the chain answers: OPTIONS stays Flask's)."""
    rule = request.url_rule
    if rule is None or rule.endpoint is None:
        return None
    the_route = getattr(app.view_functions.get(rule.endpoint), "pipeline_route", None)
    if the_route is None or request.method not in the_route.methods:
        return None
    return the_route


# ------------------------------------------------------------------ the hooks it replaces


_HOOK_SCOPES = (None, "api")  # the app's own hooks and the API blueprint's


def _hook_lists(app: Flask) -> list[dict]:
    return [
        app.before_request_funcs,
        app.after_request_funcs,
        app.teardown_request_funcs,
        app.url_value_preprocessors,
        app.url_default_functions,
    ]


def _receivers(app: Flask) -> tuple:
    return (
        tuple(request_started.receivers_for(app)),
        tuple(request_finished.receivers_for(app)),
    )


def hook_registry(app: Flask) -> tuple:
    """Every request hook and request-signal receiver that could apply to an API request,
    as function objects (compared by identity)."""
    hooks = tuple(tuple(d.get(scope, ())) for d in _hook_lists(app) for scope in _HOOK_SCOPES)
    return hooks + _receivers(app)


class _State:
    def __init__(self, app: Flask, app_wide_limits: Callable[[], bool]):
        self.registry = hook_registry(app)
        # The hooks' lists as create_app left them (a list compares its items by identity
        # first), and the receivers, read again only when a signal's receivers change.
        self._hooks = [
            (d, scope, list(d.get(scope, ()))) for d in _hook_lists(app) for scope in _HOOK_SCOPES
        ]
        self._receivers = _receivers(app)
        self._receiver_count = self._count()
        # Decided by the configuration create_app read (RATELIMIT_DEFAULT and the like).
        self.app_wide_limits = app_wide_limits()

    @staticmethod
    def _count() -> int:
        return len(request_started.receivers) + len(request_finished.receivers)

    def check_hooks(self, app: Flask) -> None:
        changed = any(d.get(scope, _NONE) != hooks for d, scope, hooks in self._hooks)
        if not changed and self._count() != self._receiver_count:
            changed = _receivers(app) != self._receivers
            if not changed:  # another app's receivers
                self._receiver_count = self._count()
        if changed:
            raise RuntimeError(
                "A request hook or signal receiver was added after create_app: the API "
                "pipeline's routes do not run Flask's hooks. Make it a step of "
                "dnc_app/http/api/pipeline.py (or register it in create_app and state in "
                "tests/test_api_pipeline.py why it has no work on those routes)."
            )


_NONE: list = []


def install(app: Flask, app_wide_limits: Callable[[], bool]) -> None:
    """Call last in create_app: fixes the hooks the pipeline stands for (by identity)."""
    app.extensions["api_pipeline"] = _State(app, app_wide_limits)


def hooks_at_install(app: Flask) -> tuple:
    return app.extensions["api_pipeline"].registry


def static_routes(app: Flask) -> Mapping[tuple[str, str], Route]:
    """(method, path) → route for every pipeline route without arguments (the shortcut's)."""
    table: dict[tuple[str, str], Route] = {}
    for rule in app.url_map.iter_rules():
        the_route = getattr(app.view_functions.get(rule.endpoint), "pipeline_route", None)
        if the_route is not None and not rule.arguments:
            for method in the_route.methods:
                if method != "HEAD":  # werkzeug strips a HEAD answer's body: Flask's
                    table[(method, rule.rule)] = the_route
    return table
