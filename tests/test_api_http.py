"""HTTP conformance under /v1: a 405 says which methods are allowed, OPTIONS answers 204
with `Allow` and no body, and a body that is not JSON is a 415 in the envelope, on the
Flask views and on the hot path alike (one rule: api/mediatype.py)."""

from __future__ import annotations

import json
import re

import pytest
from werkzeug.test import Client

from dnc_app.http.api.hotpath import HotPath
from dnc_app.http.api.mediatype import refuses_body
from dnc_app.http.api.openapi import document_for

ADD = {"url": "linkedin.com/in/jane-doe", "reason": "asked"}


class Counting:
    """A WSGI app counting the requests it is given."""

    def __init__(self, wsgi):
        self.wsgi, self.calls = wsgi, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.wsgi(environ, start_response)


@pytest.mark.parametrize(
    "method, path, allowed",
    [
        ("PUT", "/v1/dnc", {"GET", "POST", "HEAD", "OPTIONS"}),
        ("PUT", "/v1/webhooks", {"GET", "POST", "HEAD", "OPTIONS"}),
        ("POST", "/v1/dnc/check", None),  # a hot path route, another method
        ("PATCH", "/v1/webhooks", None),
    ],
)
def test_a_405_carries_allow(client, team, method, path, allowed):
    resp = client.open(path, method=method, headers=team.headers)
    assert resp.status_code == 405
    assert resp.json == {
        "error": "method_not_allowed",
        "data": None,
        "message": "Method not allowed for this endpoint",
    }
    methods = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert method not in methods and "OPTIONS" in methods
    if allowed is not None:
        assert methods == allowed


@pytest.mark.parametrize("path", ["/v1/dnc", "/v1/dnc/check", "/v1/dnc/batch", "/v1/webhooks"])
def test_options_answers_204_with_allow_and_no_body(client, path):
    resp = client.options(path)
    assert resp.status_code == 204 and resp.data == b""
    assert "Content-Type" not in resp.headers
    methods = {m.strip() for m in resp.headers["Allow"].split(",")}
    assert "OPTIONS" in methods and len(methods) > 1
    # Still a /v1 answer: the security headers and the request id.
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_options_outside_the_api_is_unchanged(client):
    assert client.options("/login").status_code == 200


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "json",
        "application/jsonp",
    ],
)
@pytest.mark.parametrize("path", ["/v1/dnc", "/v1/dnc/batch", "/v1/dnc/screen", "/v1/webhooks"])
def test_a_body_that_is_not_json_is_a_415(client, team, path, content_type):
    headers = dict(team.headers)
    if content_type:
        headers["Content-Type"] = content_type
    resp = client.post(path, data=json.dumps(ADD), headers=headers)
    assert resp.status_code == 415
    assert resp.json == {
        "error": "unsupported_media_type",
        "data": None,
        "message": "Request body must be JSON",
    }


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/merge-patch+json",
    ],
)
def test_json_in_its_spellings_is_accepted(client, team, content_type):
    resp = client.post(
        "/v1/dnc", data=json.dumps(ADD), headers={**team.headers, "Content-Type": content_type}
    )
    assert resp.status_code == 201, resp.json


def test_the_hot_path_and_flask_refuse_the_same_bodies(make_app, team):
    app = make_app()
    hot = app.wsgi_app
    assert isinstance(hot, HotPath)
    flask_only = Counting(hot.flask_wsgi)
    hot.flask_wsgi = flask_only
    through_hot, through_flask = Client(hot), Client(flask_only)
    for client in (through_hot, through_flask):
        resp = client.post(
            "/v1/dnc", data=json.dumps(ADD), headers={**team.headers, "Content-Type": "text/plain"}
        )
        assert resp.status_code == 415 and resp.json["error"] == "unsupported_media_type"
        # A check that carries a body is held to the same rule.
        resp = client.get(
            "/v1/dnc/check?url=linkedin.com/in/x",
            data="url=x",
            headers={**team.headers, "Content-Type": "text/plain"},
        )
        assert resp.status_code == 415
    # A JSON add is still the hot path's own (Flask saw only its refusals and the
    # Flask client's requests).
    calls = flask_only.calls
    resp = through_hot.post("/v1/dnc", json=ADD, headers=team.headers)
    assert resp.status_code == 201 and flask_only.calls == calls


@pytest.mark.parametrize(
    "environ, refused",
    [
        ({}, False),
        ({"CONTENT_LENGTH": "0", "CONTENT_TYPE": "text/plain"}, False),
        ({"CONTENT_LENGTH": "2"}, True),
        ({"CONTENT_LENGTH": "2", "CONTENT_TYPE": "application/json"}, False),
        ({"CONTENT_LENGTH": "2", "CONTENT_TYPE": "application/vnd.api+json"}, False),
        ({"CONTENT_LENGTH": "2", "CONTENT_TYPE": "text/json+plain"}, True),
        ({"HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_TYPE": "text/csv"}, True),
        ({"HTTP_TRANSFER_ENCODING": "chunked", "CONTENT_TYPE": "application/json"}, False),
    ],
)
def test_the_rule(environ, refused):
    assert refuses_body(environ) is refused


def test_the_document_states_the_415_wherever_a_body_is_accepted(app):
    document = document_for(app.config)
    operations = [
        op
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "responses" in op
    ]
    with_body = [op for op in operations if "requestBody" in op]
    assert len(with_body) >= 4
    for operation in with_body:
        codes = operation["responses"]["415"]["content"]["application/json"]["schema"]
        assert "unsupported_media_type" in json.dumps(codes), operation["operationId"]


API_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _api_paths(app) -> list[str]:
    """Every /v1 route, its variables filled in (a path per rule, once)."""
    paths = {
        re.sub(r"<[^>]+>", "id-1", rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/v1/")
    }
    return sorted(paths)


REFUSED_415 = (415, "unsupported_media_type", "Request body must be JSON")
REFUSED_405 = (405, "method_not_allowed", "Method not allowed for this endpoint")


def _refusal(resp) -> tuple[int, str, str] | None:
    """(status, error, message) of an answer in the JSON envelope with no data."""
    body = resp.json
    if not isinstance(body, dict) or set(body) != {"error", "data", "message"}:
        return None
    if body["data"] is not None:
        return None
    return resp.status_code, body["error"], body["message"]


def _allow(resp) -> set[str]:
    return {m.strip() for m in resp.headers["Allow"].split(",")}


def test_every_api_route_and_method_answers_405_options_and_415_alike(app, client, team):
    """Walks the URL map: a route added later is held to the same three rules."""
    adapter = app.url_map.bind("localhost")
    paths = _api_paths(app)
    assert len(paths) >= 15
    seen = set()
    for path in paths:
        allowed = set(adapter.allowed_methods(path))
        assert "OPTIONS" in allowed, path

        resp = client.options(path, headers=team.headers)
        assert (resp.status_code, resp.data) == (204, b""), path
        assert _allow(resp) == allowed, path

        for method in API_METHODS:
            if method in allowed:
                # A body that is not JSON, whatever the method: refused before anything else.
                resp = client.open(
                    path,
                    method=method,
                    data="url=x",
                    headers={**team.headers, "Content-Type": "text/plain"},
                )
                assert _refusal(resp) == REFUSED_415, (method, path)
                seen.add("415")
                continue
            for headers in (team.headers, {}):  # signed in or not: the method is wrong
                resp = client.open(path, method=method, headers=headers)
                assert _refusal(resp) == REFUSED_405, (method, path)
                assert _allow(resp) == allowed, (method, path)
                seen.add("405")
    assert seen == {"405", "415"}
