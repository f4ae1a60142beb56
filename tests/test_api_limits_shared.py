"""Per-team limits across endpoints: add, batch and delete share one write budget; batch
has its own limit too; check and list each have their own and never consume writes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Api:
    """The writes and reads of one team, each returning the response."""

    def __init__(self, client, team):
        self.client, self.team, self.n = client, team, 0

    def _url(self) -> str:
        self.n += 1
        return f"in/person-{self.team.slug}-{self.n}"

    def add(self):
        return self.client.post("/v1/dnc", json={"url": self._url()}, headers=self.team.headers)

    def batch(self):
        return self.client.post(
            "/v1/dnc/batch", json={"entries": [{"url": self._url()}]}, headers=self.team.headers
        )

    def delete(self, entry_id="dnc_missing0000000000"):
        # A 404 is still a write request: it is charged like any other.
        return self.client.delete(f"/v1/dnc/{entry_id}", headers=self.team.headers)

    def check(self):
        return self.client.get("/v1/dnc/check?url=in/someone", headers=self.team.headers)

    def list(self):
        return self.client.get("/v1/dnc?limit=1", headers=self.team.headers)


def assert_429(resp):
    assert resp.status_code == 429
    body = resp.get_json()
    assert body["error"] == "rate_limit_exceeded"
    assert body["data"] is None
    assert ISO_MS.match(body["resetTime"])
    reset = datetime.strptime(body["resetTime"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert 0 < (reset - datetime.now(UTC)).total_seconds() <= 61
    assert 1 <= int(resp.headers["Retry-After"]) <= 61
    assert resp.headers["X-RateLimit-Remaining"] == "0"


def test_add_batch_and_delete_share_one_budget(make_app, make_team):
    app = make_app(DNC_WRITE_LIMIT="5/minute")
    team = make_team("Acme")
    api = Api(app.test_client(), team)
    entry_id = api.add().get_json()["data"]["$id"]
    responses = [api.batch(), api.delete(entry_id), api.add(), api.batch()]
    assert [r.status_code for r in responses] == [201, 200, 201, 201]
    # The budget shows in the headers of the single-limit writes.
    assert responses[1].headers["X-RateLimit-Limit"] == "5"
    assert responses[1].headers["X-RateLimit-Remaining"] == "2"
    assert responses[2].headers["X-RateLimit-Remaining"] == "1"
    for attempt in (api.add, api.batch, api.delete):
        assert_429(attempt())


def test_reads_do_not_consume_the_write_budget_and_stay_available(make_app, make_team):
    app = make_app(DNC_WRITE_LIMIT="3/minute")
    api = Api(app.test_client(), make_team("Acme"))
    for _ in range(10):
        assert api.check().status_code == 200
        assert api.list().status_code == 200
    assert [api.add().status_code for _ in range(3)] == [201, 201, 201]
    assert_429(api.add())
    assert api.check().status_code == 200
    assert api.list().status_code == 200


def test_batch_has_its_own_limit_and_a_refused_batch_is_not_a_write(make_app, make_team):
    app = make_app(DNC_WRITE_LIMIT="5/minute", DNC_BATCH_LIMIT="2/minute")
    api = Api(app.test_client(), make_team("Acme"))
    first = api.batch()
    assert first.status_code == 201
    # The batch limit is the tighter one, so it is the one the headers describe.
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert api.batch().status_code == 201
    for _ in range(3):
        assert_429(api.batch())
    # Two writes used by the accepted batches; the refused ones cost nothing.
    assert [api.add().status_code for _ in range(3)] == [201, 201, 201]
    assert_429(api.add())


def test_check_and_list_have_separate_budgets(make_app, make_team):
    app = make_app(DNC_CHECK_LIMIT="3/minute", DNC_LIST_LIMIT="2/minute")
    api = Api(app.test_client(), make_team("Acme"))
    assert [api.check().status_code for _ in range(3)] == [200, 200, 200]
    assert_429(api.check())
    assert [api.list().status_code for _ in range(2)] == [200, 200]
    assert_429(api.list())
    assert api.add().status_code == 201


def test_at_the_default_the_31st_mixed_write_is_a_429_and_other_teams_are_unaffected(
    make_app, make_team
):
    app = make_app()
    assert app.config["DNC_WRITE_LIMIT"] == "30/minute"
    assert app.config["DNC_BATCH_LIMIT"] == "10/minute"
    client = app.test_client()
    acme, globex = Api(client, make_team("Acme")), Api(client, make_team("Globex"))
    statuses = []
    for _ in range(10):
        added = acme.add()
        statuses += [
            added.status_code,
            acme.batch().status_code,
            acme.delete(added.get_json()["data"]["$id"]).status_code,
        ]
    assert statuses == [201, 201, 200] * 10
    for attempt in (acme.add, acme.batch, acme.delete):
        assert_429(attempt())
    assert acme.check().status_code == 200
    assert globex.add().status_code == 201
    assert globex.batch().status_code == 201


@pytest.mark.parametrize("endpoint", ["add", "batch", "delete", "check", "list"])
def test_limited_responses_carry_the_rate_limit_headers(make_app, make_team, endpoint):
    app = make_app()
    api = Api(app.test_client(), make_team("Acme"))
    resp = getattr(api, endpoint)()
    assert resp.status_code < 500
    limit = int(resp.headers["X-RateLimit-Limit"])
    assert limit in (10, 30, 60)
    assert int(resp.headers["X-RateLimit-Remaining"]) == limit - 1
    assert int(resp.headers["X-RateLimit-Reset"]) > datetime.now(UTC).timestamp()
