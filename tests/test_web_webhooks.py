"""The Webhooks pages: create (secret shown once), list, test event and the delivery log,
disable/enable, rotate, redeliver, delete, why an endpoint was disabled; team isolation."""

from __future__ import annotations

import re

import pytest

from dnc_app.events.webhooks import endpoints
from tests.test_webhooks import attempts, deliver
from tests.web_support import make_member, sign_in, token_for
from tests.webhook_support import Answer


@pytest.fixture
def app(make_app):
    return make_app(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SCHEDULE=[0])


def post(client, path, **data):
    return client.post(path, data={**data, "csrf_token": token_for(client, "/webhooks")})


def text(response) -> str:
    return response.get_data(as_text=True)


def create(client, url: str) -> tuple[str, str]:
    page = text(post(client, "/webhooks", url=url, description="CRM", added="y", removed="y"))
    secret = re.search(r'data-copy="(whsec_[^"]+)"', page).group(1)
    endpoint_id = re.search(r"/webhooks/(whk_\w+)", page).group(1)
    return endpoint_id, secret


def test_create_shows_the_secret_once_and_lists_the_endpoint(app, signed_in, team, receiver):
    endpoint_id, secret = create(signed_in, receiver.url)
    page = text(signed_in.get("/webhooks"))
    assert receiver.url in page and "CRM" in page and endpoint_id in page
    assert secret not in page  # shown once
    assert secret not in text(signed_in.get(f"/webhooks/{endpoint_id}"))


def test_a_refused_url_is_a_field_error(make_app, team):
    app = make_app()  # private destinations refused
    make_member(app, team.id)
    client = app.test_client()
    sign_in(client)
    response = post(client, "/webhooks", url="http://127.0.0.1:8000/", added="y")
    assert response.status_code == 422 and "private" in text(response)
    response = post(client, "/webhooks", url="https://example.com/")
    assert response.status_code == 422 and "at least one event" in text(response)
    with app.app_context():
        assert endpoints.list_endpoints(team.id) == []


def test_csrf_is_required(signed_in, receiver):
    response = signed_in.post("/webhooks", data={"url": receiver.url, "added": "y"})
    assert response.status_code == 400


def test_test_event_appears_in_the_delivery_log_and_can_be_redelivered(
    app, signed_in, team, receiver
):
    endpoint_id, secret = create(signed_in, receiver.url)
    receiver.script = [Answer(500, body=b"upstream busy")]
    done = post(signed_in, f"/webhooks/{endpoint_id}/test")
    assert done.status_code == 303
    deliver(app)
    page = text(signed_in.get(f"/webhooks/{endpoint_id}"))
    assert "webhook.test" in page and ">500<" in page and "upstream busy" in page
    msg_id = receiver.received[0].headers["webhook-id"]
    assert post(signed_in, f"/webhooks/{endpoint_id}/redeliver", event=msg_id).status_code == 303
    deliver(app)
    assert [r.headers["webhook-id"] for r in receiver.wait_for(2)] == [msg_id, msg_id]
    receiver.received[1].verified(secret)
    assert [a.status_code for a in attempts(app, endpoint_id)] == [500, 200]


def test_disable_enable_rotate_delete(app, signed_in, team, receiver):
    endpoint_id, old = create(signed_in, receiver.url)
    post(signed_in, f"/webhooks/{endpoint_id}/disable")
    page = text(signed_in.get(f"/webhooks/{endpoint_id}"))
    assert "Disabled" in page and "Send a test event" not in page
    post(signed_in, f"/webhooks/{endpoint_id}/enable")
    assert "Send a test event" in text(signed_in.get(f"/webhooks/{endpoint_id}"))
    rotated = text(post(signed_in, f"/webhooks/{endpoint_id}/rotate"))
    new = re.search(r'data-copy="(whsec_[^"]+)"', rotated).group(1)
    assert new != old
    post(signed_in, f"/webhooks/{endpoint_id}/test")
    deliver(app)
    received = receiver.wait_for(1)[0]
    received.verified(old), received.verified(new)
    assert post(signed_in, f"/webhooks/{endpoint_id}/delete").status_code == 303
    assert f"webhook-{endpoint_id}" not in text(signed_in.get("/webhooks"))


def test_the_team_is_told_when_an_endpoint_was_disabled(app, signed_in, team, receiver):
    endpoint_id, _secret = create(signed_in, receiver.url)
    receiver.script = [Answer(410)]
    post(signed_in, f"/webhooks/{endpoint_id}/test")
    deliver(app)
    listing = text(signed_in.get("/webhooks"))
    assert "data-disabled-notice" in listing and "410 Gone" in listing
    assert 'title="An endpoint was disabled"' in text(signed_in.get("/entries"))
    assert "410 Gone" in text(signed_in.get(f"/webhooks/{endpoint_id}"))


def test_another_teams_endpoint_is_not_found(app, signed_in, make_team, receiver):
    other = make_team("Other")
    with app.app_context():
        endpoint, _secret = endpoints.create_endpoint(other.id, receiver.url)
    assert signed_in.get(f"/webhooks/{endpoint.id}").status_code == 404
    assert post(signed_in, f"/webhooks/{endpoint.id}/delete").status_code == 404
    assert post(signed_in, f"/webhooks/{endpoint.id}/test").status_code == 404
    with app.app_context():
        assert len(endpoints.list_endpoints(other.id)) == 1


def test_pages_need_a_signed_in_member(client):
    assert client.get("/webhooks").status_code in (302, 303)


def test_webhooks_are_the_owners(app, signed_in, team, receiver):
    endpoint_id, _secret = create(signed_in, receiver.url)  # the first member owns the team
    with app.app_context():
        from dnc_app.domain.accounts.users import create_user

        create_user(team.id, "plain@example.com", "correct horse battery staple", role="member")
    member = app.test_client()
    sign_in(member, email="plain@example.com")
    assert member.get("/webhooks").status_code == 403
    assert member.get(f"/webhooks/{endpoint_id}").status_code == 403
    assert ">Webhooks" not in text(member.get("/entries"))
    assert (
        member.post(
            f"/webhooks/{endpoint_id}/recover",
            data={"since": "2026-01-01T00:00:00", "csrf_token": token_for(member, "/entries")},
        ).status_code
        == 403
    )


# --------------------------------------------------------------------------- issue 18


def test_the_log_shows_the_change_number_and_pages_back(make_app, team, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SCHEDULE=[0])
    client = app.test_client()
    make_member(app, team.id)
    sign_in(client)
    for name in ("a", "b", "c"):  # before the endpoint: only recovered events
        client.post("/v1/dnc", json={"url": f"in/{name}"}, headers=team.headers)
    endpoint_id, _ = create(client, receiver.url)
    with app.app_context():
        endpoints.recover(team.id, endpoint_id, endpoints.parse_since("2000-01-01"))
    deliver(app)
    page = text(client.get(f"/webhooks/{endpoint_id}"))
    assert page.count("data-attempt") == 3 and page.count("data-seq") == 3
    # A page size of 50: 51 attempts give an older page with the first one.
    with app.app_context():
        for _ in range(16):
            endpoints.recover(team.id, endpoint_id, endpoints.parse_since("2000-01-01"))
    deliver(app)
    page = text(client.get(f"/webhooks/{endpoint_id}"))
    assert page.count("data-attempt") == 50
    older = re.search(r'href="(/webhooks/whk_\w+\?before=[^"]+)"', page).group(1)
    rest = text(client.get(older.replace("&amp;", "&")))
    assert rest.count("data-attempt") == 1 and "Older attempts" not in rest
    # A cursor the server did not write shows the newest page, never an error.
    assert text(client.get(f"/webhooks/{endpoint_id}?before=forged")).count("data-attempt") == 50


def test_recover_and_reenable_with_the_reason_shown(app, signed_in, team, receiver):
    endpoint_id, secret = create(signed_in, receiver.url)
    receiver.script = [Answer(410)]
    post(signed_in, f"/webhooks/{endpoint_id}/test")
    deliver(app)
    page = text(signed_in.get(f"/webhooks/{endpoint_id}"))
    assert "data-disabled-reason" in page and "410 Gone" in page
    assert "recover-since" not in page  # enable it first
    signed_in.post("/v1/dnc", json={"url": "in/while-off"}, headers=team.headers)
    done = post(signed_in, f"/webhooks/{endpoint_id}/enable")
    assert done.status_code == 303
    page = text(signed_in.get(done.headers["Location"]))
    assert "data-disabled-reason" not in page and "recover-since" in page
    done = post(signed_in, f"/webhooks/{endpoint_id}/recover", since="2000-01-01T00:00")
    assert done.status_code == 303
    assert "1 change is queued" in text(signed_in.get(done.headers["Location"]))
    deliver(app)
    event = receiver.wait_for(2)[1].verified(secret)
    assert event["type"] == "dnc.entry.added" and event["data"]["url"].endswith("while-off")
    bad = post(signed_in, f"/webhooks/{endpoint_id}/recover", since="not a time")
    assert "ISO 8601" in text(signed_in.get(bad.headers["Location"]))


def test_actions_answer_the_panel_for_htmx(app, signed_in, team, receiver):
    endpoint_id, _ = create(signed_in, receiver.url)
    response = signed_in.post(
        f"/webhooks/{endpoint_id}/disable",
        headers={"HX-Request": "true"},
        data={"csrf_token": token_for(signed_in, "/webhooks")},
    )
    assert response.status_code == 200
    panel = text(response)
    assert 'id="webhook-panel"' in panel
    assert "<html" not in panel and "Disabled:" in panel and ">Enable<" in panel
    rotated = text(
        signed_in.post(
            f"/webhooks/{endpoint_id}/rotate",
            headers={"HX-Request": "true"},
            data={"csrf_token": token_for(signed_in, "/webhooks")},
        )
    )
    assert "<html" not in rotated and 'data-copy="whsec_' in rotated


def test_recover_needs_csrf_and_is_not_for_another_team(app, signed_in, make_team, receiver):
    endpoint_id, _ = create(signed_in, receiver.url)
    assert (
        signed_in.post(f"/webhooks/{endpoint_id}/recover", data={"since": "2000-01-01"}).status_code
        == 400
    )
    other = make_team("Other")
    with app.app_context():
        theirs, _secret = endpoints.create_endpoint(other.id, receiver.url)
    assert post(signed_in, f"/webhooks/{theirs.id}/recover", since="2000-01-01").status_code == 404


def test_the_endpoint_cap_and_the_creation_limit_in_the_pages(make_app, team, receiver):
    app = make_app(
        WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_MAX_ENDPOINTS=2, WEB_WEBHOOK_CREATE_LIMIT="3/minute"
    )
    client = app.test_client()
    make_member(app, team.id)
    sign_in(client)
    create(client, receiver.url)
    create(client, receiver.url)
    refused = post(client, "/webhooks", url=receiver.url, added="y")
    assert refused.status_code == 422 and "at most 2" in text(refused)
    assert post(client, "/webhooks", url=receiver.url, added="y").status_code == 429
    assert len(_endpoints_of(app, team.id)) == 2


def _endpoints_of(app, team_id):
    with app.app_context():
        return endpoints.list_endpoints(team_id)


@pytest.mark.parametrize(
    ("field", "value", "status"),
    [
        ("url", "http://127.0.0.1:9/a\x00b", 400),  # NUL: refused for every form (request_guard)
        ("description", "CRM\x00", 400),
        ("url", "http://127.0.0.1:9/a\x1bb", 422),
        ("description", "CRM\x1b[31m", 422),
    ],
)
def test_hostile_strings_in_the_form_are_refused(app, signed_in, team, field, value, status):
    form = {"url": "http://127.0.0.1:9/hook", "added": "y", field: value}
    refused = post(signed_in, "/webhooks", **form)
    assert refused.status_code == status
    if status == 422:
        assert f'id="webhook-{field}-error"' in text(refused)
    assert _endpoints_of(app, team.id) == []
