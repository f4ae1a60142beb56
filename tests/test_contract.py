"""The /v1 contract as models: the entry model is the entry the API writes, requests are
refused by the models' markers with the documented codes, the committed OpenAPI copy is
current, and every documented code is one the service can answer with."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dnc_app.domain import companies, entries
from dnc_app.domain.changelog import Source
from dnc_app.http.api import routes
from dnc_app.http.api.errors import ApiError
from dnc_app.http.api.openapi import COMMITTED, committed_text
from dnc_app.http.api.schemas import Error, RateLimitError, parse
from dnc_app.http.api.schemas.companies import CompanyBlock, CompanyBlockRequest, CompanyListQuery
from dnc_app.http.api.schemas.entries import (
    AddRequest,
    BatchRequest,
    DncEntry,
    ListQuery,
    ScreenItemResult,
    ScreenRequest,
)
from tests.support import TEST_ACTOR

REPO = Path(__file__).resolve().parent.parent


def _serialized(app, team_id: str) -> list[dict]:
    """Real entries as Entry.to_dict writes them: plain, the person's own (protected),
    erased, and one with a reason."""
    with app.app_context():
        plain = entries.add_entry(team_id, "in/plain-person", source=Source.API, actor=TEST_ACTOR)
        own = entries.add_entry(
            team_id, "in/own-person", source=Source.PUBLIC_FORM, actor=TEST_ACTOR
        )
        gone = entries.add_entry(
            team_id, "in/gone-person", reason="asked", source=Source.WEB, actor=TEST_ACTOR
        )
        erased = entries.erase_entry(team_id, gone.id, source=Source.API, actor=TEST_ACTOR)
        reasoned = entries.add_entry(
            team_id, "in/why-person", reason="Unsubscribed", source=Source.CLI, actor=TEST_ACTOR
        )
        found = [entries.get_entry(team_id, entry.id) for entry in (plain, own, reasoned)]
        return [entry.to_dict() for entry in (plain, own, erased, reasoned, *found) if entry]


def test_the_entry_model_and_the_serializer_agree_on_every_field(app, team):
    serialized = _serialized(app, team.id)
    assert {d["protected"] for d in serialized} == {True, False}
    assert {d["erased"] for d in serialized} == {True, False}
    aliases = [field.alias or name for name, field in DncEntry.model_fields.items()]
    for data in serialized:
        # The same fields, in the documented order, each valid for the model...
        assert list(data) == aliases
        model = DncEntry.model_validate(data)
        # ...and written back unchanged.
        assert model.model_dump(by_alias=True) == data


def test_the_served_entry_schema_is_the_models(client):
    document = client.get("/v1/openapi.json").get_json()
    schema = document["components"]["schemas"]["DncEntry"]
    assert list(schema["properties"]) == [
        field.alias or name for name, field in DncEntry.model_fields.items()
    ]
    assert set(schema["required"]) == set(schema["properties"])


def test_the_company_block_model_and_the_serializer_agree_on_every_field(app, team):
    with app.app_context():
        open_ended = companies.add_block(
            team.id, "company/acme", source=Source.API, actor=TEST_ACTOR
        )
        ending = companies.add_block(
            team.id,
            "company/globex",
            name="Globex",
            reason="customer",
            until=companies.today().isoformat(),
            source=Source.API,
            actor=TEST_ACTOR,
        )
        found = companies.blocking(team.id, [ending.url])[ending.url]
    fields = [field.alias or name for name, field in CompanyBlock.model_fields.items()]
    for block in (open_ended, ending):
        data = block.to_dict()
        assert list(data) == fields
        assert CompanyBlock.model_validate(data).model_dump(by_alias=True) == data
    # The screen's `blockedBy` is the BlockedBy model.
    item = ScreenItemResult.model_validate(
        {"input": "x", "url": None, "onList": False, "entryId": None, "error": None}
        | {"blockedBy": found.to_dict()}
    )
    assert item.blockedBy is not None and item.blockedBy.companyId == ending.id


@pytest.mark.parametrize(
    ("model", "body", "code", "message"),
    [
        (
            ScreenRequest,
            {},
            "missing_urls",
            "urls (or sha256 or prospects) is required",
        ),
        (
            ScreenRequest,
            {"sha256": ["0" * 64], "prospects": [{"url": "in/a"}]},
            "invalid_parameter",
            "Send one of urls, sha256 or prospects, not several",
        ),
        (
            ScreenRequest,
            {"prospects": [{"url": "in/a"}, {"url": "in/b", "companyUrl": 7}]},
            "invalid_parameter",
            "prospects[1] must be an object with a url string (and a companyUrl string or null)",
        ),
        (
            ScreenRequest,
            {"prospects": [{"url": "in/a"}] * 1001},
            "too_many_urls",
            "prospects must contain at most 1,000 items (got 1,001)",
        ),
        (CompanyBlockRequest, {"url": None}, "missing_url", "url is required"),
        (
            CompanyBlockRequest,
            {"url": ["company/a"]},
            "invalid_url",
            "Invalid LinkedIn company URL: url must be a string",
        ),
        (
            CompanyBlockRequest,
            {"url": "company/a", "until": "2030-1-1"},
            "invalid_parameter",
            "until must be a date written YYYY-MM-DD",
        ),
        (
            CompanyListQuery,
            {"offset": "-1"},
            "invalid_parameter",
            "offset must be an integer between 0 and 2147483647",
        ),
        (AddRequest, {}, "missing_url", "URL is required"),
        (AddRequest, {"url": None}, "missing_url", "URL is required"),
        (AddRequest, {"url": ""}, "missing_url", "URL is required"),
        (AddRequest, {"url": 7}, "invalid_url", "Invalid LinkedIn URL: URL must be a string"),
        (AddRequest, {"url": "in/x", "reason": 1}, "invalid_parameter", "reason must be a string"),
        (BatchRequest, {}, "missing_entries", "entries is required"),
        (BatchRequest, {"entries": {}}, "invalid_parameter", "entries must be an array"),
        (BatchRequest, {"entries": []}, "empty_entries", "entries must contain at least one entry"),
        (
            BatchRequest,
            # Too many items that are also of the wrong type: the count is the answer.
            {"entries": [0] * 1001},
            "too_many_entries",
            "entries must contain at most 1,000 entries (got 1,001)",
        ),
        (
            BatchRequest,
            {"entries": [{"url": "in/a"}, "in/b"]},
            "invalid_parameter",
            "entries[1] must be an object with a url",
        ),
        (
            ListQuery,
            {"limit": "0"},
            "invalid_parameter",
            "limit must be an integer between 1 and 1000",
        ),
        (
            ListQuery,
            {"limit": "9" * 5000},
            "invalid_parameter",
            "limit must be an integer between 1 and 1000",
        ),
        (
            ListQuery,
            {"cursor": "abc", "offset": "1"},
            "invalid_parameter",
            "cursor and offset cannot be used together",
        ),
        (ListQuery, {"q": "a\x00b"}, "invalid_parameter", "q must not contain control characters"),
    ],
)
def test_a_refused_field_answers_with_its_markers_code(model, body, code, message):
    with pytest.raises(ApiError) as refused:
        parse(model, body)
    assert (refused.value.code, refused.value.message, refused.value.status) == (code, message, 400)


def test_lone_surrogates_and_nul_reach_the_rules_that_name_them():
    # The model does not call a lone surrogate "not a string": the service says what it is.
    assert parse(AddRequest, {"url": "in/a\ud800"}).url == "in/a\ud800"
    with pytest.raises(ApiError) as refused:
        parse(AddRequest, {"url": "in/a", "reason": "x\ud800"})
    assert refused.value.message == "reason must not contain lone surrogates"


def test_the_committed_openapi_document_is_current():
    assert COMMITTED.read_text(encoding="utf-8") == committed_text(), "run scripts/openapi-json"
    assert json.loads(COMMITTED.read_text(encoding="utf-8"))["openapi"].startswith("3.1")


def test_every_route_of_the_table_is_served_and_every_served_route_is_in_the_table(app):
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/v1/"):
            path = re.sub(
                r"<(?:[a-z]+:)?(\w+)>", lambda m: "{" + _camel(m.group(1)) + "}", rule.rule
            )
            served |= {(method.lower(), path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert served == {(route.method, route.path) for route in routes.ROUTES}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def test_every_documented_error_code_is_one_the_code_answers_with():
    # Each code appears where it is raised or mapped, outside the tables that document it.
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (REPO / "dnc_app").rglob("*.py")
        if path.name not in ("routes.py", "openapi.py")
    )
    for code in routes.ERROR_CODES:
        assert f'"{code}"' in sources, code
    for route in routes.ROUTES:
        for refusal in route.errors:
            assert set(refusal.codes) <= set(routes.ERROR_CODES), route.operation_id


def _section(text: str, title: str) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_api_page_names_every_route_and_every_error_code():
    """docs/api.md's endpoint list and error table are written by hand: a route or code
    added later fails here until the page has it."""
    page = (REPO / "docs" / "api.md").read_text(encoding="utf-8")
    listed = _section(page, "The endpoints")
    # A group may be named by its prefix: `/v1/webhooks/{webhookId}/…`.
    prefixes = [p.removesuffix("/…") for p in re.findall(r"`([^`]+/…)`", listed)]
    unlisted = [
        f"{route.method.upper()} {route.path}"
        for route in routes.ROUTES
        if f"`{route.method.upper()} {route.path}`" not in listed
        and f"`{route.path}`" not in listed
        and not any((route.path + "/").startswith(prefix + "/") for prefix in prefixes)
    ]
    assert unlisted == []
    table = _section(page, "Error codes")
    assert [code for code in routes.ERROR_CODES if f"`{code}`" not in table] == []


def test_the_429_and_error_bodies_are_the_models(make_app, make_team):
    app = make_app(DNC_CHECK_LIMIT="1/minute")
    client = app.test_client()
    team = make_team("Limited")
    headers = {"Authorization": f"Bearer {team.api_key}"}
    assert client.get("/v1/dnc/check?url=in/someone", headers=headers).status_code == 200
    limited = client.get("/v1/dnc/check?url=in/someone", headers=headers)
    assert limited.status_code == 429
    body = RateLimitError.model_validate(limited.get_json())
    assert body.model_dump() == limited.get_json()
    refused = client.get("/v1/nowhere", headers=headers)
    assert Error.model_validate(refused.get_json()).error == "not_found"
