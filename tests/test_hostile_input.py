"""Hostile strings in every parameter of every route never give a 5xx.

The routes come from `app.url_map`, so a new route is covered without touching this file.
The parameters of the pages are the ones each view reads: a first, ordinary request
records every name looked up in `request.args` / `request.form`. The parameters of the
JSON API are the documented ones (OpenAPI: query parameters, and every string of the
request body's example). Each parameter gets each hostile value while the others keep
an ordinary value, as a signed-in member, with CSRF off and no rate limits so that the
value reaches the code that uses it. Runs on SQLite and, with DNC_TEST_DATABASE_URL, on
PostgreSQL (where a NUL in a query was a 500).
"""

from __future__ import annotations

import copy
import json
import re
from urllib.parse import quote

import pytest
from werkzeug.datastructures import ImmutableMultiDict

from dnc_app.domain import companies, entries, members
from dnc_app.domain.accounts.apikeys import create_api_key
from dnc_app.events.webhooks import endpoints as webhook_endpoints
from dnc_app.http.api.openapi import ERROR_CODES, document_for
from dnc_app.http.optout import links
from dnc_app.http.optout.forms import issue_started
from tests.web_support import PASSWORD, TEST_ACTOR, add_entries, make_member, sign_in

MEMBER = "member@example.com"

# As sent on the wire (already percent-encoded where that is the point).
HOSTILE_WIRE = {
    "nul": "%00",
    "nul-inside": "a%00b",
    "lone-surrogate": "%ED%A0%80",  # invalid UTF-8: werkzeug keeps or replaces it
    "superscript-digit": "%C2%B2",
    "arabic-indic-digit": "%D9%A3",
    "huge-number": "9" * 23,
    # Past Python's 4,300-digit limit: int() raises ValueError on it.
    "thousands-of-digits": "9" * 5000,
    "negative": "-1",
    "long": "a" * 10_000,
    "literal-percent-00": "%2500",
    "invalid-percent": "%zz%",
    "control": "%01%1F%7F",
    "emoji": "%F0%9F%98%80",
}

# JSON bodies can carry what a URL or a form cannot: lone surrogates, NUL, other types.
HOSTILE_JSON = {
    "nul": "\x00",
    "nul-inside": "in/a\x00b",
    "lone-surrogate": "\ud800",
    "lone-low-surrogate": "in/a\udfffb",
    "superscript-digit": "²",
    "huge-string-number": "9" * 23,
    "thousands-of-digits": "9" * 5000,
    "huge-number": 10**23,
    "float": 1e308,
    "long": "a" * 10_000,
    "literal-percent-00": "%00",
    "invalid-percent": "%zz%",
    "null": None,
    "list": ["\x00"],
    "object": {"\ud800": "\x00"},
    "bool": True,
}

# Ordinary values for the names the pages read, so that only one value is hostile.
ORDINARY = {
    "url": "linkedin.com/in/ordinary-person",
    "reason": "an ordinary reason",
    "email": MEMBER,
    "password": PASSWORD,
    "name": "ordinary key",
    "urls": "linkedin.com/in/ordinary-bulk",
    "profile_url": "linkedin.com/in/ordinary-link",
    "display_name": "Acme",
}

# Names that every route gets besides those it reads (a view may read some only in a
# branch the first request does not reach).
ALWAYS = ("q", "cursor", "before", "url", "token")


class RecordingDict(ImmutableMultiDict):
    """Remembers every key a view looks up."""

    seen: set[str] | None = None

    def _record(self, key):
        if RecordingDict.seen is not None and isinstance(key, str):
            RecordingDict.seen.add(key)

    def __getitem__(self, key):
        self._record(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._record(key)
        return super().__contains__(key)

    def getlist(self, key, type=None):  # noqa: A002 - werkzeug's signature
        self._record(key)
        return super().getlist(key, type)


def recording(request_class):
    return type("RecordingRequest", (request_class,), {"parameter_storage_class": RecordingDict})


@pytest.fixture
def world(make_app, make_team):
    """A team with entries, a member, a spare API key and a personal link."""
    app = make_app(
        WTF_CSRF_ENABLED=False,
        RATELIMIT_ENABLED=False,
        OPTOUT_MIN_SECONDS=0,
        WEBHOOK_ALLOW_PRIVATE=True,
    )
    app.request_class = recording(app.request_class)
    team = make_team("Acme")
    member_id = make_member(app, team.id, MEMBER)
    entries = add_entries(app, team.id, [f"linkedin.com/in/listed-{i}" for i in range(3)])
    with app.app_context():
        spare_key, _ = create_api_key(team.id, name="spare", actor=TEST_ACTOR)
        invite, _ = members.create_invite(
            team.id, "invited@example.com", "member", actor=TEST_ACTOR
        )
        webhook, _ = webhook_endpoints.create_endpoint(team.id, "http://127.0.0.1:9/hook")
        block = companies.add_block(team.id, "company/acme", source="cli", actor=TEST_ACTOR)
        path_values = {
            "block_id": block.id,
            "company_id": block.id,
            "webhook_id": webhook.id,
            "msg_id": "msg_" + "a" * 24,
            "user_id": str(member_id),
            "invite_id": invite.id,
            "slug": team.slug,
            "entry_id": entries[0].id,
            "key_id": spare_key.id,
            "token": links.make_token(team.slug, "linkedin.com/in/linked-person"),
        }
        started = issue_started(team.slug)
    return {"app": app, "team": team, "path_values": path_values, "started": started}


def _page_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static" and not rule.rule.startswith("/v1")
    ]


def _methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


_ARGUMENT = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _path(rule, path_values: dict, hostile: tuple[str, str] | None = None) -> str:
    """The rule's path with ordinary values, or one argument's value on the wire."""

    def value(match):
        name = match.group(1)
        if hostile and hostile[0] == name:
            return hostile[1]
        return quote(path_values[name], safe="")

    return _ARGUMENT.sub(value, rule.rule)


def _wire(params: dict[str, str]) -> str:
    return "&".join(f"{quote(name, safe='')}={value}" for name, value in params.items())


def _ordinary(name: str, world) -> str:
    if name == "started":
        return world["started"]
    return quote(ORDINARY.get(name, "x"), safe="")


def _signed_in(app):
    client = app.test_client()
    assert sign_in(client).status_code == 303
    return client


def _send(client, method: str, path: str, query: dict, form: dict):
    kwargs = {"method": method, "query_string": _wire(query)}
    if method != "GET":
        kwargs.update(data=_wire(form), content_type="application/x-www-form-urlencoded")
    response = client.open(path, **kwargs)
    response.get_data()  # a streamed answer (the CSV export) runs to its end
    response.close()
    return response


def _parameters_read(client, method: str, path: str) -> tuple[set[str], set[str]]:
    """(query names, form names) that the view looks up on an ordinary request."""
    RecordingDict.seen = set()
    try:
        # A non-empty form: Flask-WTF only reads a form from a request that has one.
        _send(client, method, path, {}, {"probe": "1"})
        seen = RecordingDict.seen - {"probe"}
    finally:
        RecordingDict.seen = None
    if method == "GET":
        return seen | set(ALWAYS), set()
    return set(ALWAYS), seen | set(ALWAYS)


def test_every_page_parameter_survives_hostile_strings(world):
    app, failures, sent = world["app"], [], 0
    for rule in _page_rules(app):
        for method in _methods(rule):
            client = _signed_in(app)
            path = _path(rule, world["path_values"])
            query_names, form_names = _parameters_read(client, method, path)
            cases = [("path", name) for name in rule.arguments]
            cases += [("query", name) for name in sorted(query_names)]
            cases += [("form", name) for name in sorted(form_names)]
            for where, name in cases:
                for label, wire in HOSTILE_WIRE.items():
                    query = {n: _ordinary(n, world) for n in query_names}
                    form = {n: _ordinary(n, world) for n in form_names}
                    target_path = path
                    if where == "path":
                        target_path = _path(rule, world["path_values"], (name, wire))
                    else:
                        (query if where == "query" else form)[name] = wire
                    response = _send(client, method, target_path, query, form)
                    sent += 1
                    if response.status_code >= 500:
                        failures.append(
                            f"{method} {rule.rule} {where} {name}={label}: {response.status_code}"
                        )
    assert sent > 1000  # the enumeration really reached the routes
    assert not failures, "\n".join(failures)


def test_a_query_string_that_is_not_utf8_is_a_400_everywhere(world):
    app = world["app"]
    client = _signed_in(app)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = _path(rule, world["path_values"])
        for method in _methods(rule):
            response = client.open(
                path, method=method, environ_overrides={"QUERY_STRING": "q=\xff\xfe"}
            )
            assert response.status_code < 500, (method, rule.rule, response.status_code)
            assert response.status_code in (400, 401), (method, rule.rule)


@pytest.mark.parametrize(
    "path",
    [
        "/audit?before=%C2%B2",
        "/audit?before=" + "9" * 23,
        "/audit?before=-1",
        "/audit?before=9223372036854775808",
    ],
)
def test_a_bad_audit_page_link_is_the_400_page(world, path):
    response = _signed_in(world["app"]).get(path)
    assert response.status_code == 400
    assert "This page link is not valid." in response.get_data(as_text=True)


def test_the_largest_audit_page_link_is_a_page(world):
    response = _signed_in(world["app"]).get("/audit?before=9223372036854775807")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/optout/{slug}%00",
        "/optout/{slug}/validate?url=%00",
        "/entries?q=%00",
        "/audit?q=%00",
        "/audit?source=%00",
        "/entries/{entry_id}%00/remove",
        "/entries/{entry_id}%00/row",
        "/keys/{key_id}%00/revoke",
    ],
)
def test_a_nul_in_the_address_is_the_400_page(world, path):
    response = _signed_in(world["app"]).get(path.format(**world["path_values"]))
    assert response.status_code == 400
    assert "<html" in response.get_data(as_text=True)


def test_a_nul_in_a_form_value_is_the_400_page(world):
    response = _signed_in(world["app"]).post("/keys", data={"name": "bad\x00name"})
    assert response.status_code == 400
    assert "The form contains a character that is not allowed." in response.get_data(as_text=True)


def test_werkzeug_cannot_deliver_a_lone_surrogate(world):
    """Why the request guard looks for NUL only: invalid UTF-8 never becomes a lone
    surrogate in the path, the query or a form."""
    app = world["app"]
    with app.test_request_context(
        "/x%ED%A0%80?q=%ED%A0%80",
        method="POST",
        data="f=%ED%A0%80",
        content_type="application/x-www-form-urlencoded",
    ):
        from flask import request

        texts = [request.path, request.args["q"], request.form["f"]]
    assert not any("\ud800" <= c <= "\udfff" for text in texts for c in text)


# --------------------------------------------------------------------------- JSON API

_PATH_PARAMETER = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _openapi_path(rule) -> str:
    def camel(match):
        first, *rest = match.group(1).split("_")
        return "{" + first + "".join(part.title() for part in rest) + "}"

    return _PATH_PARAMETER.sub(camel, rule.rule)


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        node = document["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def _string_slots(value, at=()):
    """Paths (tuples of keys / indexes) to every string in an example body."""
    if isinstance(value, str):
        yield at
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _string_slots(item, (*at, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _string_slots(item, (*at, index))


def _replaced(body, slot, value):
    body = copy.deepcopy(body)
    target = body
    for key in slot[:-1]:
        target = target[key]
    target[slot[-1]] = value
    return body


def _api_cases(app, document):
    """(method, path template, query names, example body) of every /v1 route."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1"):
            continue
        item = document["paths"].get(_openapi_path(rule))
        assert item is not None, f"{rule.rule} is not in the OpenAPI document"
        for method in _methods(rule):
            operation = item[method.lower()]
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            body = operation.get("requestBody")
            example = None
            if body:
                schema = _resolve(document, body["content"]["application/json"]["schema"])
                example = schema.get("example")
            yield rule, method, query, example


def _assert_api_answer(response, label):
    assert response.status_code < 500, (label, response.status_code, response.data[:200])
    body = response.get_json()
    assert isinstance(body, dict), label
    if response.status_code >= 400:
        assert body["error"] in ERROR_CODES, (label, body)


def test_every_api_parameter_survives_hostile_values(world):
    app = world["app"]
    with app.app_context():
        document = document_for(app.config)
    client = app.test_client()
    headers = world["team"].headers
    sent = 0
    for rule, method, query_names, example in _api_cases(app, document):
        path = _path(rule, world["path_values"])
        for label, wire in HOSTILE_WIRE.items():
            for name in query_names:
                response = client.open(
                    path, method=method, headers=headers, query_string=_wire({name: wire})
                )
                _assert_api_answer(response, f"{method} {rule.rule}?{name}={label}")
                sent += 1
            for name in rule.arguments:
                hostile_path = _path(rule, world["path_values"], (name, wire))
                response = client.open(hostile_path, method=method, headers=headers)
                _assert_api_answer(response, f"{method} {hostile_path[:80]}")
                sent += 1
        if example is None:
            continue
        for slot in _string_slots(example):
            for label, value in HOSTILE_JSON.items():
                body = json.dumps(_replaced(example, slot, value))  # "\ud800" stays escaped
                response = client.open(
                    path, method=method, headers=headers, data=body, content_type="application/json"
                )
                _assert_api_answer(response, f"{method} {rule.rule} {slot}={label}")
                sent += 1
    assert sent > 100


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "\x00"}, "invalid_url"),
        ({"url": "\ud800"}, "invalid_url"),
        ({"url": "linkedin.com/in/someone", "reason": "\ud800"}, "invalid_parameter"),
        ({"url": "linkedin.com/in/someone", "reason": "a\x00b"}, "invalid_parameter"),
    ],
)
def test_the_api_answers_hostile_json_with_its_documented_codes(client, team, body, code):
    response = client.post(
        "/v1/dnc", data=json.dumps(body), headers=team.headers, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == code


def test_a_lone_surrogate_reason_is_refused_by_the_service(app, team):
    with app.app_context(), pytest.raises(entries.InvalidReason, match="surrogate"):
        entries.add_entry(team.id, "in/someone", reason="ok \udc80", source="api", actor=TEST_ACTOR)
