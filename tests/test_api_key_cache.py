"""The authenticated-key cache keeps the revocation guarantee: a revoked key is refused on
the next request of the process that revoked it, and within a second in every other
process (two apps on one database stand for two server processes)."""

from __future__ import annotations

import time

from dnc_app.domain.accounts.apikeys import KEY_CACHE_SECONDS, list_api_keys, revoke_api_key
from tests.support import TEST_ACTOR


def _key_id(app, team) -> str:
    with app.app_context():
        (key,) = list_api_keys(team.id)
        return key.id


def test_a_revoked_key_is_refused_at_once_here_and_within_a_second_elsewhere(make_app, team):
    here = make_app()
    elsewhere = make_app()
    here_client, elsewhere_client = here.test_client(), elsewhere.test_client()
    # Both processes have authenticated (and cached) the key.
    assert here_client.get("/v1/verify", headers=team.headers).status_code == 200
    assert elsewhere_client.get("/v1/verify", headers=team.headers).status_code == 200
    with here.app_context():
        revoke_api_key(team.id, _key_id(here, team), actor=TEST_ACTOR)
    revoked_at = time.monotonic()
    assert here_client.get("/v1/dnc/check?url=in/x", headers=team.headers).status_code == 401
    # The other process keeps its cached answer for at most KEY_CACHE_SECONDS.
    assert KEY_CACHE_SECONDS <= 1.0
    time.sleep(max(0.0, revoked_at + KEY_CACHE_SECONDS + 0.01 - time.monotonic()))
    refused = elsewhere_client.post("/v1/dnc", json={"url": "in/x"}, headers=team.headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "invalid_api_key"


def test_a_cached_key_still_answers_for_its_own_team(make_app, make_team):
    app = make_app()
    client = app.test_client()
    acme, globex = make_team("Acme"), make_team("Globex")
    statuses = []
    for _ in range(2):  # the second round is answered from the cache
        added = client.post("/v1/dnc", json={"url": "in/same-person"}, headers=acme.headers)
        statuses.append(added.status_code)
        other = client.get("/v1/dnc/check?url=in/same-person", headers=globex.headers)
        assert other.get_json()["data"]["onList"] is False
        mine = client.get("/v1/dnc/check?url=in/same-person", headers=acme.headers)
        assert mine.get_json()["data"]["entry"]["teamId"] == acme.id
    assert statuses == [201, 409]
