"""The WSGI shortcut (api/hotpath.py) answers check and add exactly as Flask's dispatch
does (both run api/pipeline.py; tests/test_api_pipeline.py compares every header), with
the same limit budgets as the Flask routes. The raw read of the check (database.read_one) returns
what SQLAlchemy Core returns and falls back to it when the driver fails. One storage call
per limit counts and reads the window as limits' two calls do (memory and Redis)."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from werkzeug.test import Client

from dnc_app.domain.entries import statements as sql
from dnc_app.domain.entries import url_digest
from dnc_app.extensions import db, limiter
from dnc_app.http.api.hotpath import HotPath
from dnc_app.http.api.limits import limit_items
from dnc_app.storage.database import read_one
from dnc_app.storage.limitstore import hit_with_window
from tests.services import RedisServer

REQUEST_ID = {"X-Request-ID": "req-1"}


class Counting:
    """A WSGI app counting the requests it is given."""

    def __init__(self, wsgi):
        self.wsgi, self.calls = wsgi, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.wsgi(environ, start_response)


def _hot_and_flask(app) -> tuple[HotPath, Client, Client, Counting]:
    hot = app.wsgi_app
    assert isinstance(hot, HotPath)
    flask_only = Counting(hot.flask_wsgi)
    hot.flask_wsgi = flask_only
    return hot, Client(hot), Client(flask_only), flask_only


def _answer(resp) -> tuple[int, dict, dict]:
    headers = dict(resp.headers)
    # The window's count and end move between two requests; both must be there.
    for name in ("X-RateLimit-Remaining", "X-RateLimit-Reset"):
        if name in headers:
            assert headers.pop(name).isdigit()
    return resp.status_code, json.loads(resp.data), headers


def _same(hot_client, flask_client, method, path, **kwargs):
    hot = _answer(hot_client.open(path, method=method, **kwargs))
    flask = _answer(flask_client.open(path, method=method, **kwargs))
    assert hot == flask
    return hot


def test_check_answers_as_the_flask_view(make_app, team):
    app = make_app()
    _hot, hot, flask, flask_only = _hot_and_flask(app)
    headers = {**team.headers, **REQUEST_ID}
    hot.post("/v1/dnc", json={"url": "linkedin.com/in/listed", "reason": "asked"}, headers=headers)
    cases = [
        "/v1/dnc/check?url=https%3A%2F%2Fwww.linkedin.com%2Fin%2Flisted%2F",
        "/v1/dnc/check?url=linkedin.com/in/nobody",
        "/v1/dnc/check",
        "/v1/dnc/check?url=",
        "/v1/dnc/check?url=https://example.com/x",
        "/v1/dnc/check?url=%FF%00linkedin.com/in/%E2%82%AC",
    ]
    statuses = [_same(hot, flask, "GET", path, headers=headers)[0] for path in cases]
    assert statuses == [200, 200, 400, 400, 400, 400]
    assert flask_only.calls == len(cases)  # only the Flask client's requests
    status, body, answer_headers = _same(hot, flask, "GET", cases[0], headers=headers)
    assert body["data"]["onList"] is True and body["data"]["entry"]["reason"] == "asked"
    assert answer_headers["X-Request-ID"] == "req-1"
    assert answer_headers["Cache-Control"] == "no-store"
    assert answer_headers["X-Frame-Options"] == "DENY"
    assert answer_headers["X-RateLimit-Limit"]


@pytest.mark.parametrize(
    "authorization", [None, "Bearer nope", "Basic x", "Bearer dnc_sk_" + "a" * 40]
)
def test_refused_keys_answer_as_the_flask_view(make_app, team, authorization):
    app = make_app()
    _hot, hot, flask, _ = _hot_and_flask(app)
    headers = {**REQUEST_ID, **({"Authorization": authorization} if authorization else {})}
    status, body, answer_headers = _same(
        hot, flask, "GET", "/v1/dnc/check?url=in/x", headers=headers
    )
    assert status == 401 and answer_headers["WWW-Authenticate"] == 'Bearer realm="dnc"'
    assert "X-RateLimit-Limit" not in answer_headers


def test_add_answers_as_the_flask_view(make_app, team):
    app = make_app()
    _hot, hot, flask, _ = _hot_and_flask(app)
    headers = {**team.headers, **REQUEST_ID}
    for path_client, name in ((hot, "one"), (flask, "two")):
        added = path_client.post("/v1/dnc", json={"url": f"in/{name}"}, headers=headers)
        assert added.status_code == 201
    status, body, _headers = _same(
        hot, flask, "POST", "/v1/dnc", json={"url": "in/one"}, headers=headers
    )
    assert status == 409 and body["data"]["url"] == "https://linkedin.com/in/one"
    for payload in (
        b"{not json",
        b"[1]",
        b"{}",
        b'{"url": "https://example.com"}',
        b'{"url": "in/x", "reason": 5}',
    ):
        _same(
            hot,
            flask,
            "POST",
            "/v1/dnc",
            data=payload,
            headers={**headers, "Content-Type": "application/json"},
        )
    with app.app_context():
        urls = db.session.execute(select(sql.ENTRIES.c.url)).scalars().all()
    assert sorted(urls) == ["https://linkedin.com/in/one", "https://linkedin.com/in/two"]


def test_the_hot_path_and_the_views_share_one_budget(make_app, team):
    app = make_app(DNC_CHECK_LIMIT="3/minute", DNC_WRITE_LIMIT="2/minute")
    _hot, hot, flask, _ = _hot_and_flask(app)
    checks = [
        client.get("/v1/dnc/check?url=in/x", headers=team.headers)
        for client in (hot, flask, hot, flask)
    ]
    assert [c.status_code for c in checks] == [200, 200, 200, 429]
    refused = hot.get("/v1/dnc/check?url=in/x", headers={**team.headers, **REQUEST_ID})
    assert refused.status_code == 429
    assert refused.headers["Retry-After"].isdigit()
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert _answer(refused)[1]["error"] == "rate_limit_exceeded"
    # Writes: the shared budget of add, batch and delete.
    assert (
        flask.post(
            "/v1/dnc/batch", json={"entries": [{"url": "in/a"}]}, headers=team.headers
        ).status_code
        == 201
    )
    assert hot.post("/v1/dnc", json={"url": "in/b"}, headers=team.headers).status_code == 201
    third = hot.post("/v1/dnc", json={"url": "in/c"}, headers=team.headers)
    assert third.status_code == 429 and "Retry-After" in third.headers


def test_the_raw_read_returns_what_core_returns(make_app, team):
    app = make_app()
    app.test_client().post("/v1/dnc", json={"url": "in/raw"}, headers=team.headers)
    params = {"team_id": team.id, "sha256": url_digest("https://linkedin.com/in/raw")}
    with app.app_context():
        raw = read_one(sql.FIND_BY_DIGEST, params)
        with db.engine.connect() as connection:
            core = connection.execute(sql.FIND_BY_DIGEST, params).first()
        assert tuple(raw) == tuple(core)
        assert raw.created_at.tzinfo is not None and raw.url == core.url
        assert read_one(sql.FIND_BY_DIGEST, {**params, "sha256": "0" * 64}) is None


def test_the_raw_read_falls_back_to_core_when_the_driver_fails(make_app, team):
    app = make_app()
    params = {"team_id": team.id, "sha256": "0" * 64}
    with app.app_context():
        engine = db.engine
        # Every pooled connection is broken under the pool's feet (as by a restart).
        fairies = [engine.raw_connection() for _ in range(2)]
        for fairy in fairies:
            fairy.dbapi_connection.close()
        for fairy in fairies:
            fairy.close()
        assert read_one(sql.FIND_BY_DIGEST, params) is None
    assert (
        app.test_client().get("/v1/dnc/check?url=in/nobody", headers=team.headers).status_code
        == 200
    )


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_one_storage_call_counts_and_reads_the_window_as_limits_does(make_app, store):
    """limitstore.hit_with_window on the limiter's own store: the same refusals and the same
    window as limits' hit + get_window_stats, on one shared budget."""
    redis = RedisServer().start() if store == "redis" else None
    try:
        app = make_app(**({"RATELIMIT_STORAGE_URI": redis.url} if redis else {}))
        with app.app_context():
            strategy = limiter.limiter
            (item,) = limit_items("3/minute")
            ids = ("team:t1", "scope")
            first = hit_with_window(strategy, item, *ids)
            assert first.counted and first.remaining == 2
            assert strategy.hit(item, *ids)  # limits' own call on the same budget
            stats = strategy.get_window_stats(item, *ids)
            third = hit_with_window(strategy, item, *ids)
            assert third.counted and third.remaining == 0
            assert abs(third.reset - stats.reset_time) < 0.01  # the same oldest entry
            refused = hit_with_window(strategy, item, *ids)
            assert not refused.counted and refused.remaining == 0
            assert not strategy.test(item, *ids)
            # Another key is another budget.
            assert hit_with_window(strategy, item, "team:t2", "scope").remaining == 2
    finally:
        if redis is not None:
            redis.destroy()


@pytest.mark.database("postgresql")
def test_the_raw_read_leaves_pooled_connections_transactional(make_app, team):
    """PostgreSQL reads in autocommit mode; the connection goes back to the pool without it,
    so the next transaction on it still rolls back."""
    app = make_app()
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"  # SQLite reads in autocommit as before
        params = {"team_id": team.id, "sha256": "0" * 64}
        for _ in range(3):
            assert read_one(sql.FIND_BY_DIGEST, params) is None
        renamed = sql.TEAMS.update().where(sql.TEAMS.c.id == team.id).values(name="Renamed")
        for _ in range(3):  # whichever pooled connection the session gets
            db.session.execute(renamed)
            db.session.rollback()
        names = db.session.execute(select(sql.TEAMS.c.name).where(sql.TEAMS.c.id == team.id))
        assert names.scalar() == "Acme"


def test_a_database_that_cannot_be_reached_is_the_wrapped_error_answered_503(make_app, tmp_path):
    # The pool's connect fails with the driver's own error: the read answers it as Core does
    # (SQLAlchemy's OperationalError, which errors.py turns into a 503), never a 500.
    app = make_app(SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path}/no/such/dir/dnc.sqlite3")
    with app.app_context(), pytest.raises(OperationalError):
        read_one(sql.FIND_BY_DIGEST, {"team_id": "team_x", "sha256": "0" * 64})
