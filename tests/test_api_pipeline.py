"""One pipeline (api/pipeline.py) for the API's check and add, whichever entry point serves
them: the WSGI shortcut (api/hotpath.py) or Flask's dispatch.

- The same request through each entry point gets the same answer: status, body and every
  header in order, over http and over https (wsgi.url_scheme, and X-Forwarded-Proto when
  the app trusts it), for answers of every kind.
- Those answers carry what the Flask hooks give every other /v1 answer (security headers,
  HSTS over https, Cache-Control, X-Request-ID): a step dropped from the chain fails here
  even though both entry points share it.
- Flask's hooks do not run for a pipeline route: every hook create_app registers is named
  here by identity with the step that stands for it or why it has no work there, and a
  hook added later makes the pipeline's routes answer a 500 instead of skipping it.
"""

from __future__ import annotations

import functools
import inspect
import io
import json
import time

import pytest
from flask import request_finished
from sqlalchemy import delete
from werkzeug.test import Client

from dnc_app import logging
from dnc_app.domain.entries import statements as sql
from dnc_app.events.webhooks import delivery
from dnc_app.extensions import csrf, db, limiter, login_manager
from dnc_app.http import errors, request_guard, security
from dnc_app.http.api import bp as api_bp
from dnc_app.http.api import cap_request_size, pipeline, refuse_non_json_body
from dnc_app.http.api.hotpath import HotPath
from dnc_app.http.api.limits import add_rate_limit_headers
from dnc_app.http.security import HEADERS, HSTS
from tests.support import flask_dispatch

REQUEST_ID = "parity-1"
FROZEN = 1_900_000_000.0  # every window and Retry-After is computed from one clock


def entry_points(app) -> tuple[Client, Client]:
    """(through the shortcut, through Flask's dispatch) for the same app, inside the same
    ProxyFix when the app has one."""
    return Client(app.wsgi_app), Client(flask_dispatch(app))


class Served:
    """The requests each WSGI app was given (to show which entry point answered)."""

    def __init__(self, hot: HotPath):
        self.flask_wsgi, self.calls = hot.flask_wsgi, 0
        hot.flask_wsgi = self

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.flask_wsgi(environ, start_response)


def _answer(resp, entry_fields: bool) -> tuple[int, object, list]:
    body = json.loads(resp.data)
    if entry_fields:  # a new entry's own id and time differ between two adds
        for name in ("$id", "$createdAt", "$updatedAt"):
            assert body["data"][name]
            body["data"][name] = "…"
    return resp.status_code, body, list(resp.headers)


def same_answer(app, method, path, *, prepare=None, new_entry=False, **kwargs):
    """The answer through the shortcut and through Flask, each from the same state: limits
    empty (then `prepare()`), a new entry removed again."""
    shortcut, flask = entry_points(app)
    kwargs["headers"] = {"X-Request-ID": REQUEST_ID, **kwargs.get("headers", {})}
    answers = []
    for client in (shortcut, flask):
        limiter.reset()
        if prepare is not None:
            prepare()
        if "input_stream" in kwargs:  # a body read once: the same again for each
            kwargs["input_stream"] = io.BytesIO(kwargs["input_stream"].getvalue())
        resp = client.open(path, method=method, **kwargs)
        answers.append(_answer(resp, new_entry))
        if new_entry:
            with app.app_context():
                db.session.execute(delete(sql.ENTRIES).where(sql.ENTRIES.c.url.like("%/fresh")))
                db.session.commit()
    assert answers[0] == answers[1]
    return answers[0]


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: FROZEN)


def _cases(team, cap: int):
    key = {"Authorization": f"Bearer {team.api_key}"}
    json_type = {**key, "Content-Type": "application/json"}
    return [
        # (what, expected status, method, path, keyword arguments of the request)
        ("listed", 200, "GET", "/v1/dnc/check?url=linkedin.com/in/listed", {"headers": key}),
        ("not listed", 200, "GET", "/v1/dnc/check?url=in/nobody", {"headers": key}),
        ("no url", 400, "GET", "/v1/dnc/check", {"headers": key}),
        ("not a profile", 400, "GET", "/v1/dnc/check?url=https://example.com/x", {"headers": key}),
        ("not UTF-8", 400, "GET", "/v1/dnc/check", {
            "headers": key, "environ_overrides": {"QUERY_STRING": "url=\xff"}}),
        ("no key", 401, "GET", "/v1/dnc/check?url=in/x", {}),
        ("unknown key", 401, "POST", "/v1/dnc", {
            "headers": {"Authorization": "Bearer dnc_sk_" + "a" * 40}, "json": {"url": "in/x"}}),
        ("not a route", 404, "GET", "/v1/dnc/check/?url=in/x", {"headers": key}),
        ("listed already", 409, "POST", "/v1/dnc", {"headers": key, "json": {"url": "in/listed"}}),
        ("bad JSON", 400, "POST", "/v1/dnc", {"headers": json_type, "data": b"{not json"}),
        ("not an object", 400, "POST", "/v1/dnc", {"headers": json_type, "data": b"[1]"}),
        ("too large", 413, "POST", "/v1/dnc", {"headers": json_type, "data": b" " * (cap + 1)}),
        ("too large, chunked", 413, "POST", "/v1/dnc", {
            "headers": {**json_type, "Transfer-Encoding": "chunked"},
            "input_stream": io.BytesIO(b" " * (cap + 1)),
            "environ_overrides": {"wsgi.input_terminated": True}}),
        ("not JSON", 415, "POST", "/v1/dnc", {
            "headers": {**key, "Content-Type": "text/plain"}, "data": b"url=in/x"}),
        ("a check with a body", 415, "GET", "/v1/dnc/check?url=in/x", {
            "headers": {**key, "Content-Type": "text/plain"}, "data": b"x"}),
        ("wrong method", 405, "PUT", "/v1/dnc/check", {"headers": key}),
    ]  # fmt: skip


def _schemes(app_trusts_proxy: bool):
    yield "http", {}, False
    yield "https", {"base_url": "https://localhost"}, True
    if app_trusts_proxy:
        yield "forwarded https", {"headers": {"X-Forwarded-Proto": "https"}}, True
    else:  # not trusted: the scheme stays http
        yield "forwarded, untrusted", {"headers": {"X-Forwarded-Proto": "https"}}, False


@pytest.mark.parametrize("behind_proxy", [False, True], ids=["direct", "proxy"])
def test_both_entry_points_answer_alike(make_app, team, frozen, behind_proxy):
    limits = {
        "DNC_CHECK_LIMIT": "3/minute",
        "API_AUTH_FAILURE_LIMIT": "3/minute",
        "API_MAX_CONTENT_LENGTH": 300,
    }
    app = make_app(**limits, **({"PROXY_FIX_X_PROTO": 1} if behind_proxy else {}))
    entry_points(app)[0].post("/v1/dnc", json={"url": "in/listed"}, headers=team.headers)
    cap = app.config["API_MAX_CONTENT_LENGTH"]
    for scheme, scheme_kwargs, secure in _schemes(behind_proxy):
        for what, status, method, path, kwargs in _cases(team, cap):
            merged = {**kwargs, **{k: v for k, v in scheme_kwargs.items() if k != "headers"}}
            merged["headers"] = {**kwargs.get("headers", {}), **scheme_kwargs.get("headers", {})}

            got_status, _body, headers = same_answer(app, method, path, **merged)
            assert got_status == status, (scheme, what)
            _assert_api_headers(dict(headers), secure, f"{scheme}: {what}")

        # 201, and 429 by the team's limit and by failed authentications.
        key = {"Authorization": f"Bearer {team.api_key}", **scheme_kwargs.get("headers", {})}
        extra = {k: v for k, v in scheme_kwargs.items() if k != "headers"}
        status, body, headers = same_answer(
            app, "POST", "/v1/dnc", json={"url": "in/fresh"}, headers=key, new_entry=True, **extra
        )
        assert status == 201 and dict(headers)["X-RateLimit-Limit"]
        _assert_api_headers(dict(headers), secure, f"{scheme}: added")
        _refused_by_limits(app, team, key, extra, secure, scheme)


def _refused_by_limits(app, team, key, extra, secure, scheme):
    shortcut, _flask = entry_points(app)
    check = "/v1/dnc/check?url=in/x"
    limit = int(shortcut.get(check, headers=key).headers["X-RateLimit-Limit"])

    def use_up_checks():
        for _ in range(limit):
            assert shortcut.get(check, headers=key, **extra).status_code == 200

    status, body, headers = same_answer(
        app, "GET", check, headers=key, prepare=use_up_checks, **extra
    )
    assert status == 429 and body["error"] == "rate_limit_exceeded", scheme
    assert dict(headers)["Retry-After"] in ("60", "61")  # the window, rounded up
    assert dict(headers)["X-RateLimit-Remaining"] == "0"
    _assert_api_headers(dict(headers), secure, f"{scheme}: 429")

    wrong = {**key, "Authorization": "Bearer dnc_sk_" + "b" * 40}
    failures = 3  # API_AUTH_FAILURE_LIMIT

    def use_up_failures():
        for _ in range(failures):
            assert shortcut.get(check, headers=wrong, **extra).status_code == 401

    status, body, headers = same_answer(
        app, "GET", check, headers=wrong, prepare=use_up_failures, **extra
    )
    assert status == 429 and "failed authentications" in body["message"], scheme
    assert "X-RateLimit-Limit" not in dict(headers)
    _assert_api_headers(dict(headers), secure, f"{scheme}: 429 failures")


def _assert_api_headers(headers: dict, secure: bool, what: str) -> None:
    for name, value in HEADERS.items():
        assert headers[name] == value, what
    assert headers.get("Strict-Transport-Security") == (HSTS if secure else None), what
    assert headers["Cache-Control"] == "no-store", what
    assert headers["X-Request-ID"] == REQUEST_ID, what
    assert headers["Content-Type"] == "application/json", what
    if headers.get("Retry-After"):
        assert headers["Retry-After"].isdigit(), what


@pytest.mark.parametrize("base_url", ["http://localhost", "https://localhost"])
def test_the_pipeline_adds_the_headers_the_flask_hooks_add(make_app, team, base_url):
    """A 401 of a pipeline route and of a route served with Flask's hooks: the same
    headers (but the length), so the chain's header step is the hooks' rule."""
    app = make_app()
    client = app.test_client()
    headers = {"X-Request-ID": REQUEST_ID}
    by_pipeline = client.get("/v1/dnc/check?url=in/x", headers=headers, base_url=base_url)
    by_hooks = client.post("/v1/dnc/batch", json={}, headers=headers, base_url=base_url)
    assert by_pipeline.status_code == by_hooks.status_code == 401
    assert by_pipeline.json == by_hooks.json
    assert by_pipeline.headers.get("Strict-Transport-Security") == (
        HSTS if base_url.startswith("https") else None
    )
    assert list(by_pipeline.headers) == list(by_hooks.headers)


def test_each_entry_point_serves_what_it_routes(make_app, team):
    app = make_app(TRUSTED_HOSTS=["dnc.example"])
    shortcut, _flask = entry_points(app)
    served = Served(app.wsgi_app)
    host = {**team.headers, "Host": "dnc.example"}
    assert shortcut.get("/v1/dnc/check?url=in/x", headers=host).status_code == 200
    assert shortcut.post("/v1/dnc", json={"url": "in/y"}, headers=host).status_code == 201
    assert served.calls == 0
    # What Flask's router would not send to the pipeline is Flask's: another method or
    # path, an untrusted host (its 400 comes from the hook that answers it).
    assert shortcut.open("/v1/dnc/check?url=in/x", method="HEAD", headers=host).status_code == 200
    assert shortcut.get("/v1/dnc/check/?url=in/x", headers=host).status_code == 404
    refused = shortcut.get("/v1/dnc/check?url=in/x", headers={**team.headers, "Host": "evil.x"})
    assert refused.status_code == 400 and refused.json["error"] == "bad_request"
    assert served.calls == 3
    # Refusals the chain answers stay the shortcut's: no fallback to Flask.
    not_json = {**host, "Content-Type": "text/plain"}
    assert shortcut.post("/v1/dnc", data=b"x", headers=not_json).status_code == 415
    big = b" " * (app.config["API_MAX_CONTENT_LENGTH"] + 1)
    too_large = shortcut.post("/v1/dnc", data=big, headers={**host, **_json()})
    assert too_large.status_code == 413
    assert served.calls == 3


def _json():
    return {"Content-Type": "application/json"}


def test_an_app_wide_limit_applies_to_the_pipeline_through_both_entry_points(make_app, team):
    try:
        app = make_app(RATELIMIT_DEFAULT="2/minute")
        for client in entry_points(app):
            limiter.reset()
            statuses = [
                client.get("/v1/dnc/check?url=in/x", headers=team.headers).status_code
                for _ in range(3)
            ]
            assert statuses == [200, 200, 429]
            refused = client.get("/v1/dnc/check?url=in/x", headers=team.headers)
            assert refused.json["error"] == "rate_limit_exceeded"
            assert refused.headers["Retry-After"].isdigit()
    finally:
        # The limiter is one object for every app of the process: take the default off.
        limiter.limit_manager.set_default_limits([])


# ----------------------------------------------------------------------------- hooks


def _owner(hook):
    """The extension object a hook belongs to: a bound method's, a wrapped one's, or
    the instance a closure was made by (CSRFProtect.init_app's `csrf_protect`)."""
    hook = getattr(hook, "__wrapped__", hook)
    if isinstance(hook, functools.partial):  # partial(method, extension)
        return hook.args[0] if hook.args else None
    bound = getattr(hook, "__self__", None)
    if bound is not None:
        return bound
    return inspect.getclosurevars(hook).nonlocals.get("self")


def test_every_hook_of_the_app_is_a_step_of_the_pipeline_or_has_no_work_there(make_app):
    """What each hook create_app registers becomes on a pipeline route. Compared by
    identity: a new hook fails this test until it is added here with its reason."""
    app = make_app(WEBHOOK_DELIVERY=True)
    accounted = {
        # before the view, for every route
        security.refuse_untrusted_host: "the shortcut routes an untrusted host to Flask",
        request_guard.refuse_undecodable_query: "step: query",
        delivery.start_delivery: "step: delivery",
        # the API blueprint's own
        cap_request_size: "step: size cap",
        refuse_non_json_body: "step: media type",
        add_rate_limit_headers: "step: headers (X-RateLimit-*)",
        # after the view
        security.add_security_headers: "step: headers (security_headers)",
        errors.settle_retry_after: "step: headers (Retry-After on 429 and 503 only)",
        errors.settle_rate_limit_headers: "no work: no Flask-Limiter limit on these routes",
        # request signals
        logging._start_request: "step: log (Call: started, request id)",
        logging._log_request: "step: log",
    }
    by_owner = {
        csrf: "no work: the API blueprint is exempt",
        limiter: "step: app-wide limits; its teardown resets its own request context",
        login_manager: "no work: no cookie under /v1",
    }
    registry = [
        # partial(start_delivery, app): the function
        hook.func if isinstance(hook, functools.partial) and hook.args == (app,) else hook
        for hooks in pipeline.hooks_at_install(app)
        for hook in hooks
    ]
    assert registry, "the registry is read"
    unaccounted = [
        hook for hook in registry if hook not in accounted and _owner(hook) not in by_owner
    ]
    assert unaccounted == []
    assert set(accounted) <= set(registry)  # each reason is about a hook the app has
    assert api_bp.name == "api"  # the registry reads the blueprint's hooks by this name


def _added_later(app, **_extra) -> None:
    return None


@pytest.mark.parametrize("kind", ["before_request", "after_request", "blueprint", "signal"])
def test_a_hook_added_later_is_not_skipped_silently(make_app, team, kind):
    app = make_app()
    check = "/v1/dnc/check?url=in/x"
    assert app.test_client().get(check, headers=team.headers).status_code == 200
    make_app()  # another app's hooks and receivers are not this one's
    assert app.test_client().get(check, headers=team.headers).status_code == 200
    if kind == "before_request":
        app.before_request(lambda: None)
    elif kind == "after_request":
        app.after_request(lambda response: response)
    elif kind == "blueprint":
        app.before_request_funcs.setdefault("api", []).append(lambda: None)
    else:
        request_finished.connect(_added_later, app)
    try:
        for _ in range(2):  # and again: not only once
            for client in entry_points(app):
                resp = client.get(check, headers=team.headers)
                assert resp.status_code == 500 and resp.json["error"] == "internal_error"
        # Routes served with Flask's hooks run it.
        assert app.test_client().get("/v1/verify", headers=team.headers).status_code == 200
    finally:
        request_finished.disconnect(_added_later, app)
