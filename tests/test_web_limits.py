"""Per-member limits of the team pages (issue 9, item 10): page writes, checks and bulk
operations each have a budget per signed-in member, apart from the API's per-team budgets."""

from __future__ import annotations

import pytest

from dnc_app.http.web import views
from tests.test_web_bulk import confirm, count_entries, pending_token, preview
from tests.web_support import HTMX, make_member, sign_in, token_for

OTHER = "other@example.com"


@pytest.fixture
def limited_app(make_app, tmp_path):
    return make_app(
        BULK_UPLOAD_DIR=str(tmp_path / "uploads"),
        DNC_WRITE_LIMIT="1/minute",
        WEB_WRITE_LIMIT="3/minute",
        WEB_CHECK_LIMIT="3/minute",
        WEB_BULK_LIMIT="2/minute",
    )


@pytest.fixture
def member(limited_app, team):
    make_member(limited_app, team.id)
    client = limited_app.test_client()
    sign_in(client)
    return client


def post(client, path, data, htmx=False):
    token = token_for(client)
    if htmx:
        return client.post(path, data=data, headers={**HTMX, "X-CSRFToken": token})
    return client.post(path, data={**data, "csrf_token": token})


def add(client, name: str, htmx=False):
    return post(client, "/entries", {"url": f"linkedin.com/in/{name}"}, htmx=htmx)


def test_page_writes_have_a_member_budget_apart_from_the_teams_api_budget(
    limited_app, member, team
):
    # The team's API write budget is spent: the pages still take the member's writes.
    api = limited_app.test_client()
    assert (
        api.post(
            "/v1/dnc", json={"url": "linkedin.com/in/by-api"}, headers=team.headers
        ).status_code
        == 201
    )
    assert (
        api.post(
            "/v1/dnc", json={"url": "linkedin.com/in/by-api-2"}, headers=team.headers
        ).status_code
        == 429
    )
    assert add(member, "page-1").status_code == 303
    assert add(member, "page-2", htmx=True).status_code == 200
    with limited_app.app_context():
        page = views.entries.list_entries(team.id, limit=10)
        first = next(e for e in page.entries if e.url.endswith("page-1"))
    # A removal is a write too: the third of three.
    removed = post(member, f"/entries/{first.id}/remove", {"reason": "Mistake"})
    assert removed.status_code == 303

    refused = add(member, "page-3")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many requests" in refused.get_data(as_text=True)
    assert add(member, "page-3", htmx=True).status_code == 429
    assert post(member, f"/entries/{first.id}/remove", {"reason": "x"}).status_code == 429
    with limited_app.app_context():
        urls = [e.url for e in views.entries.list_entries(team.id, limit=10).entries]
    assert "https://linkedin.com/in/page-3" not in urls

    # Another member of the same team has a budget of their own.
    make_member(limited_app, team.id, email=OTHER)
    other = limited_app.test_client()
    sign_in(other, email=OTHER)
    assert add(other, "page-3").status_code == 303


def test_checks_and_inline_validation_share_a_member_budget(member):
    assert post(member, "/check", {"url": "linkedin.com/in/a"}).status_code == 200
    assert (
        post(member, "/entries/validate", {"url": "linkedin.com/in/a"}, htmx=True).status_code
        == 200
    )
    assert post(member, "/check", {"url": "linkedin.com/in/b"}, htmx=True).status_code == 200
    assert post(member, "/check", {"url": "linkedin.com/in/c"}).status_code == 429
    assert (
        post(member, "/entries/validate", {"url": "linkedin.com/in/c"}, htmx=True).status_code
        == 429
    )
    # Opening the check page is not a check.
    assert member.get("/check").status_code == 200
    # Checks do not spend the write budget.
    assert add(member, "still-writable").status_code == 303


def test_a_bulk_add_of_5000_lines_is_one_bulk_operation(limited_app, member):
    lines = "\n".join(f"linkedin.com/in/person-{i}" for i in range(5000))
    previewed = preview(member, urls=lines)
    assert previewed.status_code == 200
    assert confirm(member, pending_token(previewed.get_data(as_text=True))).status_code == 200
    assert count_entries(limited_app) == 5000
    # Preview and confirm were the two bulk operations of the budget.
    again = preview(member, htmx=True, urls="linkedin.com/in/one-more")
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) >= 1
    # 5,000 lines did not spend the member's page writes.
    assert add(member, "after-bulk").status_code == 303


def test_the_page_limits_are_configurable_with_generous_defaults(app_from_environment, monkeypatch):
    defaults = app_from_environment()
    assert defaults.config["WEB_WRITE_LIMIT"] == "120/minute"
    assert defaults.config["WEB_CHECK_LIMIT"] == "120/minute"
    assert defaults.config["WEB_BULK_LIMIT"] == "10/minute"
    monkeypatch.setenv("WEB_WRITE_LIMIT", "7/minute")
    assert app_from_environment().config["WEB_WRITE_LIMIT"] == "7/minute"


def test_a_burst_of_40_page_adds_passes_the_default_budget(app, client, team):
    make_member(app, team.id)
    sign_in(client)
    statuses = {add(client, f"burst-{i}", htmx=True).status_code for i in range(40)}
    assert statuses == {200}
