"""The OpenAPI document and the /docs page: valid, complete, and true to the API.

The property-based test (schemathesis) generates requests for every documented
operation, valid and invalid ones, sends them to the app with a real API key and checks
that no response is a 5xx and that every status code, content type, body and header
conforms to the document.
"""

from __future__ import annotations

import itertools
import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from dnc_app.domain import entries
from dnc_app.http.api.openapi import ERROR_CODES, build_document
from dnc_app.http.errors import API_ERRORS
from tests.support import TEST_ACTOR, flask_dispatch

# Generous limits: the fuzzer sends a few hundred requests within a minute.
FUZZ_LIMITS = {
    name: "100000/minute"
    for name in (
        "DNC_WRITE_LIMIT",
        "DNC_BATCH_LIMIT",
        "DNC_CHECK_LIMIT",
        "DNC_LIST_LIMIT",
        "DNC_SCREEN_LIMIT",
        "DNC_CHANGES_LIMIT",
        "API_AUTH_FAILURE_LIMIT",
    )
}
# Bounded so the test takes seconds; deterministic so CI cannot fail by chance. To explore
# further: DNC_FUZZ_EXAMPLES=500 DNC_FUZZ_RANDOM=1 pytest tests/test_openapi.py
EXAMPLES_PER_OPERATION = int(os.environ.get("DNC_FUZZ_EXAMPLES", "30"))
DERANDOMIZE = os.environ.get("DNC_FUZZ_RANDOM", "") != "1"


def documented_operations(document: dict) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item}


def test_the_document_is_valid_openapi_3_1(client):
    resp = client.get("/v1/openapi.json")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "application/json"
    document = resp.get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_is_documented_and_nothing_else(app, client):
    document = client.get("/v1/openapi.json").get_json()
    routes = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/v1/"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?entry_id>", "{entryId}", rule.rule)
        path = re.sub(r"<(?:[a-z]+:)?webhook_id>", "{webhookId}", path)
        path = re.sub(r"<(?:[a-z]+:)?msg_id>", "{msgId}", path)
        path = re.sub(r"<(?:[a-z]+:)?company_id>", "{companyId}", path)
        routes |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert routes == documented_operations(document)


def test_the_document_states_the_configured_limits(make_app):
    app = make_app(DNC_WRITE_LIMIT="7/minute", DNC_CHECK_LIMIT="11/minute")
    document = app.test_client().get("/v1/openapi.json").get_json()
    assert "(7/minute)" in document["info"]["description"]
    assert "11/minute" in document["paths"]["/v1/dnc/check"]["get"]["description"]


def test_every_operation_documents_its_errors_and_headers(client):
    document = client.get("/v1/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if operation.get("security") == []:
                continue
            label = f"{method.upper()} {path}"
            assert {"401", "500", "503"} <= set(responses), label
            codes = responses["401"]["content"]["application/json"]["schema"]["properties"]
            assert codes["error"]["enum"] == [
                "missing_api_key",
                "invalid_api_key_format",
                "invalid_api_key",
            ], label
            if path != "/v1/verify":
                assert "429" in responses, label
                assert "Retry-After" in responses["429"]["headers"], label
                success = next(s for s in responses if s.startswith("2"))
                assert "X-RateLimit-Remaining" in responses[success]["headers"], label
    # Every code used in a response is explained in the error table.
    used = set()
    for item in document["paths"].values():
        for operation in item.values():
            for response in operation["responses"].values():
                schema = response.get("content", {}).get("application/json", {}).get("schema", {})
                used |= set(schema.get("properties", {}).get("error", {}).get("enum", []))
    assert used <= set(ERROR_CODES)
    # So is every code the app-wide error handlers answer with (404, 405, 413, ...).
    assert {code for code, _ in API_ERRORS.values()} <= set(ERROR_CODES)
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        **document["components"]["securitySchemes"]["bearerAuth"],
        "type": "http",
        "scheme": "bearer",
    }


def test_the_docs_page_renders_the_reference_without_inline_scripts_or_styles(client):
    resp = client.get("/docs")
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    document = client.get("/v1/openapi.json").get_json()
    for method, path in documented_operations(document):
        assert f">{method}</span> <code>{path}</code>" in html
    for code in ERROR_CODES:
        assert f'id="error-{code}"' in html
    for header in (
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "Retry-After",
    ):
        assert header in html
    assert "curl" in html and "Authorization: Bearer $DNC_API_KEY" in html
    # Content-Security-Policy `default-src 'self'`: no inline scripts (the one script, the
    # copy buttons' enhancement, is a static file), no inline styles, no CDN.
    assert re.findall(r"<script[^>]*>", html) == ['<script src="/static/js/docs.js" defer>']
    assert "</script>" in html and html.count("<script") == 1
    assert "style=" not in html and "<style" not in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)
    stylesheet = re.search(r'<link rel="stylesheet" href="([^"]+)"', html).group(1)
    css = client.get(stylesheet)
    assert css.status_code == 200 and b".operation" in css.data
    css.close()


# ----------------------------------------------------------------------------- fuzzing


@pytest.fixture
def fuzz_app(make_app):
    return make_app(**FUZZ_LIMITS)


# Cases are generated (some at collection time) with this well-formed stand-in key;
# the test swaps in its team's real key just before sending.
STAND_IN_KEY = "dnc_sk_" + "0" * 40


@pytest.fixture
def fuzz_team(fuzz_app, make_team):
    team = make_team("Fuzz")
    # Something to find, list and page through.
    with fuzz_app.app_context():
        entries.add_entries(
            team.id, [f"in/seed-{i}" for i in range(5)], source="cli", actor=TEST_ACTOR
        )
    return team


# The document for the fuzzing limits, loaded at import time so that every operation is
# its own test; test_the_app_serves_the_fuzzed_document ties it to what the app serves.
schema = schemathesis.openapi.from_dict(build_document(FUZZ_LIMITS))


@schema.auth(refresh_interval=None)
class BearerApiKey:
    """A valid key on every request, except where a case tests a missing one (schemathesis
    then leaves the header out and expects the documented 401)."""

    def get(self, case, context):
        return STAND_IN_KEY

    def set(self, case, data, context):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


def test_the_app_serves_the_fuzzed_document(fuzz_app):
    served = fuzz_app.test_client().get("/v1/openapi.json").get_json()
    assert served == build_document(FUZZ_LIMITS)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.parametrize("entry_point", ["shortcut", "flask"])
def test_every_operation_conforms_to_the_document(case, fuzz_app, fuzz_team, entry_point):
    # This test's app (and database) receives the requests, also the checks' own probes:
    # through the WSGI shortcut in front of Flask (as served), or straight to Flask's
    # dispatch, so that the API pipeline's routes are fuzzed through both entry points.
    wsgi = fuzz_app if entry_point == "shortcut" else flask_dispatch(fuzz_app)
    case.operation.schema.app = wsgi
    if (case.headers or {}).get("Authorization") == f"Bearer {STAND_IN_KEY}":
        case.headers["Authorization"] = f"Bearer {fuzz_team.api_key}"
    case.call_and_validate(
        app=wsgi,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            response_headers_conformance,
            negative_data_rejection,
            ignored_auth,
        ],
    )


# ----------------------------------------------------------------------------- stateful

STATEFUL_EXAMPLES = int(os.environ.get("DNC_FUZZ_STATEFUL", "15"))


def test_chained_calls_along_the_documents_links_conform(fuzz_app, make_team):
    """Schemathesis follows the document's links: an added entry's `$id` into its delete,
    evidence and erase; a webhook's `id` into its routes; a company block's `id` into its
    delete. Every step's answer conforms
    (also a 404 after a delete: a removed entry is gone)."""
    document = fuzz_app.test_client().get("/v1/openapi.json").get_json()
    links = {
        name
        for item in document["paths"].values()
        for operation in item.values()
        for response in operation["responses"].values()
        for name in response.get("links", {})
    }
    assert {
        "deleteEntry",
        "getEntryEvidence",
        "eraseEntry",
        "getWebhook",
        "deleteCompanyBlock",
    } <= links
    schema.app = fuzz_app
    answered: set[tuple[str, int]] = set()
    teams = itertools.count()

    class Linked(schema.as_state_machine()):  # type: ignore[misc]
        # Each example starts from a team of its own: the same steps then get the same
        # answers when Hypothesis replays them (an add that was a 201 stays a 201), which
        # it requires of the rules the answers enable.
        def setup(self):
            self.key = make_team(f"Fuzz {next(teams)}").api_key
            self.adds = {"in": 0, "company": 0}

        def before_call(self, case):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {self.key}"}
            # Random text is rarely a LinkedIn profile: every other add names a new one,
            # so that the links from its `$id` are followed in every run.
            # Likewise every other company block names a new company page.
            operation = case.operation.definition.raw["operationId"]
            path = {"addEntry": "in", "addCompanyBlock": "company"}.get(operation)
            if path is not None:
                self.adds[path] += 1
                count = self.adds[path]
                if isinstance(case.body, dict) and count % 2 == 1:
                    case.body = {**case.body, "url": f"{path}/linked-{count}"}

        def call(self, case, **kwargs):
            response = case.call(app=fuzz_app, **kwargs)
            answered.add((case.operation.definition.raw["operationId"], response.status_code))
            return response

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

    Linked.run(
        settings=settings(
            max_examples=STATEFUL_EXAMPLES,
            stateful_step_count=5,
            deadline=None,
            derandomize=DERANDOMIZE,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
    # A linked call found what the earlier call created (an id a fuzzer could not guess).
    assert answered & {("deleteEntry", 200), ("getEntryEvidence", 200), ("eraseEntry", 200)}
