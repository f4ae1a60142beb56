"""Round trips to PostgreSQL per `POST /v1/dnc` (issue 12: at most 5), counted by event
listeners on the app's engine, so that an extra statement, ping or transaction on the hot
path fails here. PostgreSQL only (DNC_TEST_DATABASE_URL): SQLite has no round trips."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from dnc_app.extensions import db

pytestmark = pytest.mark.database("postgresql")

MAX_ROUND_TRIPS_PER_ADD = 5


class RoundTrips:
    """Every message exchange with the server that SQLAlchemy or the pool causes: a
    statement, the BEGIN psycopg sends before a transaction's first statement, COMMIT,
    ROLLBACK, a pre-ping, a new connection."""

    def __init__(self, engine):
        self.engine, self.events = engine, []
        listeners = {
            "before_cursor_execute": lambda *a, **k: self.events.append(a[2].split()[0]),
            "begin": lambda *a: self.events.append("BEGIN"),
            "commit": lambda *a: self.events.append("COMMIT"),
            "rollback": lambda *a: self.events.append("ROLLBACK"),
            "connect": lambda *a: self.events.append("CONNECT"),
        }
        for name, listener in listeners.items():
            event.listen(engine, name, listener)
        dialect = engine.dialect
        ping = dialect.do_ping

        def counted_ping(dbapi_connection):
            self.events.append("PING")
            return ping(dbapi_connection)

        dialect.do_ping = counted_ping

    def during(self, action) -> list[str]:
        self.events.clear()
        action()
        return list(self.events)


@pytest.fixture
def pg_app(make_app, database_url):
    assert database_url.startswith("postgresql")
    return make_app(DNC_WRITE_LIMIT="1000/minute")


def test_an_add_costs_at_most_five_round_trips(pg_app, team):
    client = pg_app.test_client()
    with pg_app.app_context():
        trips = RoundTrips(db.engine)

    def add(n):
        def post():
            response = client.post(
                "/v1/dnc", json={"url": f"in/round-trip-{n}"}, headers=team.headers
            )
            assert response.status_code == 201, response.get_json()

        return post

    add(0)()  # opens the pooled connection and authenticates the key
    for n in range(1, 6):
        seen = trips.during(add(n))
        assert len(seen) <= MAX_ROUND_TRIPS_PER_ADD, seen
        assert "PING" not in seen and "CONNECT" not in seen, seen
    assert seen[0] == "BEGIN" and seen[-1] == "COMMIT", seen


def test_an_add_with_a_key_not_yet_cached_costs_one_more(pg_app, team):
    # The key lookup joins the write's transaction instead of one of its own.
    client = pg_app.test_client()
    with pg_app.app_context():
        trips = RoundTrips(db.engine)
    client.post("/v1/dnc", json={"url": "in/warm-up"}, headers=team.headers)
    pg_app.extensions["dnc_api_key_cache"].clear()
    seen = trips.during(
        lambda: client.post("/v1/dnc", json={"url": "in/uncached"}, headers=team.headers)
    )
    assert len(seen) <= MAX_ROUND_TRIPS_PER_ADD + 1, seen
