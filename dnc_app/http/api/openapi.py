"""The OpenAPI 3.1 document of the /v1 API, generated from the contract's models.

Every schema under `components/schemas` is a pydantic model of api/schemas (the same
models that read the requests: a limit stated here is the limit enforced); each operation
is a row of a small route table (api/routes.py: method, path, summary, request, query and
response models, error codes). What is written by hand here is the prose and the parts
every operation shares: the envelope, the 401/429/5xx answers, the rate-limit headers.

One document serves three readers: API clients (`GET /v1/openapi.json`), the reference
page (`/docs`, rendered from it server-side) and the property-based tests (schemathesis
checks every response against it and follows its `links`). The configured rate limits are
written into it, so the document always states the limits this server enforces.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from dnc_app.http.api.routes import ERROR_CODES, ROUTES, Route
from dnc_app.http.api.schemas import Error, RateLimitError

__all__ = ["ERROR_CODES", "LIMIT_SETTINGS", "build_document", "document_for"]

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
AUTH_ERRORS = ["missing_api_key", "invalid_api_key_format", "invalid_api_key"]
REF = "#/components/schemas/{model}"
LIMIT_SETTINGS = (
    "DNC_WRITE_LIMIT",
    "DNC_BATCH_LIMIT",
    "DNC_CHECK_LIMIT",
    "DNC_LIST_LIMIT",
    "DNC_SCREEN_LIMIT",
    "DNC_CHANGES_LIMIT",
)


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": REF.format(model=model.__name__)}


def _header_ref(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def _json(schema: dict, example=None) -> dict:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _envelope(error: dict, data: dict) -> dict:
    """The envelope `{"error", "data", "message"}` (the Error model's fields)."""
    fields = list(Error.model_fields)
    return {
        "type": "object",
        "required": fields,
        "properties": dict(zip(fields, (error, data, {"type": "string"}), strict=True)),
    }


def _error_schema(codes: list[str], data: dict | None = None) -> dict:
    return _envelope({"type": "string", "enum": codes}, data or {"type": "null"})


def _rate_limit_headers() -> dict:
    names = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
    return {name: _header_ref(name) for name in names}


def _error_response(description: str, codes: list[str], *, limited: bool, data=None) -> dict:
    response = {"description": description, "content": _json(_error_schema(codes, data))}
    if limited:
        response["headers"] = _rate_limit_headers()
    return response


def _headers() -> dict:
    return {
        "X-RateLimit-Limit": {
            "description": "Requests allowed in the window for this operation.",
            "schema": {"type": "integer", "minimum": 0},
        },
        "X-RateLimit-Remaining": {
            "description": "Requests left in the current window.",
            "schema": {"type": "integer", "minimum": 0},
        },
        "X-RateLimit-Reset": {
            "description": "Unix time (seconds) when the window next frees a request.",
            "schema": {"type": "integer", "minimum": 0},
        },
        "X-Request-ID": {
            "description": "The request's id in the service's logs (the client's own "
            "X-Request-ID when it sent a sane one); quote it in support requests.",
            "schema": {"type": "string"},
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        },
    }


def _common_responses(*, limited: bool, body: bool) -> dict:
    responses: dict[str, Any] = {
        "401": {
            "description": "Missing, malformed, unknown or revoked API key.",
            "headers": {
                "WWW-Authenticate": {
                    "description": 'Always `Bearer realm="dnc"`.',
                    "required": True,
                    "schema": {"type": "string"},
                }
            },
            "content": _json(_error_schema(AUTH_ERRORS)),
        },
        "500": _error_response("Unexpected server error.", ["internal_error"], limited=False),
        "503": {
            "description": "The database or the rate-limit store is unreachable.",
            "headers": {"Retry-After": _header_ref("Retry-After")},
            "content": _json(_error_schema(["service_unavailable"])),
        },
    }
    if body:
        responses["413"] = _error_response(
            "Request body too large.", ["payload_too_large"], limited=False
        )
        responses["415"] = _error_response(
            "The body is not sent as JSON: its Content-Type must be `application/json` (or "
            "a `+json` type).",
            ["unsupported_media_type"],
            limited=False,
        )
    # Every authenticated operation: failed authentications are limited per client.
    responses["429"] = {
        "description": (
            "Rate limit exceeded: the team's budget for this operation, or too "
            "many failed authentications from this client address."
            if limited
            else "Too many failed authentications from this client address."
        ),
        "headers": {**_rate_limit_headers(), "Retry-After": _header_ref("Retry-After")},
        "content": _json(_ref(RateLimitError)),
    }
    return responses


# --------------------------------------------------------------------------- links


def _links(kind: str, at: str) -> dict:
    """Where the id in the answer leads: the operations a fuzzer (or a client) may chain."""
    if kind == "entry":
        targets = {
            "deleteEntry": "Remove it",
            "getEntryEvidence": "Its evidence",
            "eraseEntry": "Erase the person's data",
            "addAliases": "Add the person's other identifiers",
        }
        parameter, pointer = "entryId", f"{at}/$id"
    elif kind == "company":
        targets = {"deleteCompanyBlock": "Remove it"}
        parameter, pointer = "companyId", f"{at}/id"
    else:
        targets = {
            "getWebhook": "Read it",
            "updateWebhook": "Change or re-enable it",
            "deleteWebhook": "Delete it",
            "testWebhook": "Send it a test event",
            "rotateWebhookSecret": "Rotate its secret",
            "listWebhookAttempts": "Its delivery log",
            "recoverWebhook": "Queue changes again",
        }
        parameter, pointer = "webhookId", f"{at}/id"
    return {
        name: {
            "operationId": name,
            "description": text,
            "parameters": {parameter: f"$response.body#{pointer}"},
        }
        for name, text in targets.items()
    }


# --------------------------------------------------------------------------- operations


def _parameters(route: Route, query_schemas: dict[str, dict]) -> list[dict]:
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": {key: value for key, value in schema.items() if key != "example"},
            **({"example": schema["example"]} if "example" in schema else {}),
        }
        for name, description, schema in route.path_params
    ]
    if route.query is not None:
        schema = query_schemas[route.query.__name__]
        required = set(schema.get("required", []))
        for name, prop in schema["properties"].items():
            prop = dict(prop)
            description = prop.pop("description", "")
            example = prop.pop("example", None)
            parameter = {
                "name": name,
                "in": "query",
                "required": name in required,
                "description": description,
                "schema": prop,
            }
            if example is not None:
                parameter["example"] = example
            parameters.append(parameter)
    return parameters


def _operation(route: Route, notes: Mapping[str, str], query_schemas: dict[str, dict]) -> dict:
    operation: dict[str, Any] = {
        "operationId": route.operation_id,
        "tags": [route.tag],
        "summary": route.summary,
        "description": route.description.format(**notes),
    }
    if route.public:
        operation["security"] = []
    parameters = _parameters(route, query_schemas)
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {
            "required": route.body_required,
            "content": _json(_ref(route.body)),
        }
    if route.data is None:
        success = {"description": "The OpenAPI document.", "content": _json({"type": "object"})}
    else:
        data = _ref(route.data)
        schema = _envelope({"type": "null"}, data) if route.envelope else data
        success = {"description": "Success.", "content": _json(schema, route.example)}
        if route.limited:
            success["headers"] = _rate_limit_headers()
        if route.links:
            success["links"] = _links(route.links, route.links_at)
    responses: dict[str, Any] = {str(route.status): success}
    for refusal in route.errors:
        data_schema = _ref(refusal.data) if refusal.data is not None else None
        response = _error_response(
            refusal.description, list(refusal.codes), limited=route.limited, data=data_schema
        )
        if refusal.data is not None and route.links:
            response["links"] = _links(route.links, "/data")
        responses[str(refusal.status)] = response
    if not route.public:
        responses.update(_common_responses(limited=route.limited, body=route.body is not None))
    # Every response names its request in the logs.
    for response in responses.values():
        response.setdefault("headers", {})["X-Request-ID"] = _header_ref("X-Request-ID")
    operation["responses"] = responses
    return operation


# --------------------------------------------------------------------------- schemas


Mode = Literal["validation", "serialization"]


def _models() -> Iterator[tuple[type[BaseModel], Mode]]:
    """Each model of the contract once, with the mode it is read in."""
    seen: set[type[BaseModel]] = set()
    for route in ROUTES:
        pairs: list[tuple[type[BaseModel] | None, Mode]] = [
            (route.body, "validation"),
            (route.data, "serialization"),
            *((refusal.data, "serialization") for refusal in route.errors),
        ]
        for model, mode in pairs:
            if model is not None and model not in seen:
                seen.add(model)
                yield model, mode
    yield Error, "serialization"
    yield RateLimitError, "serialization"


def _tidy(node: Any, *, in_properties: bool = False) -> Any:
    """pydantic's JSON Schema without what a reader does not need: titles (the property
    names say it) and the default of a field that may be absent but not null."""
    if isinstance(node, list):
        return [_tidy(item) for item in node]
    if not isinstance(node, dict):
        return node
    tidy = {
        key: _tidy(value, in_properties=key == "properties" and not in_properties)
        for key, value in node.items()
        if in_properties or key != "title"
    }
    if not in_properties and tidy.get("default", ...) is None and not _nullable(tidy):
        tidy.pop("default")
    options = tidy.get("anyOf")
    if not in_properties and isinstance(options, list) and len(options) == 2:
        # `T | None` of a plain type reads better as "type": [T, "null"].
        plain = [o for o in options if o != {"type": "null"}]
        if len(plain) == 1 and isinstance(plain[0].get("type"), str) and set(plain[0]) <= _MERGE:
            tidy.pop("anyOf")
            tidy = {**plain[0], **tidy, "type": [plain[0]["type"], "null"]}
    return tidy


# Keywords that hold for the non-null branch alone (a const or enum would refuse null).
_MERGE = frozenset({"type", "pattern", "format", "minLength", "maxLength", "minimum", "maximum"})


def _nullable(schema: dict) -> bool:
    kinds = schema.get("type")
    return (
        kinds == "null"
        or (isinstance(kinds, list) and "null" in kinds)
        or any(option.get("type") == "null" for option in schema.get("anyOf", ()))
    )


def _schemas() -> dict[str, dict]:
    _, top = models_json_schema(list(_models()), ref_template=REF)
    return {name: _tidy(schema) for name, schema in top["$defs"].items()}


def _query_schemas() -> dict[str, dict]:
    return {
        route.query.__name__: _tidy(route.query.model_json_schema(ref_template=REF))
        for route in ROUTES
        if route.query is not None
    }


DESCRIPTION = """\
The JSON API of a team's Do Not Contact list of LinkedIn profiles.

Every response is JSON with the envelope `{{"error", "data", "message"}}`: `error` is null on \
success and an error code otherwise (see the `Error` schema for all codes). Timestamps are \
ISO 8601 UTC with milliseconds. URLs are normalized to `https://linkedin.com/in/<username>` \
before they are stored, compared or returned (the username lowercased, except a member token \
`ACoAA…`, which keeps its case); Sales Navigator lead, people and profile URLs to \
`https://linkedin.com/sales/lead/<token>` (case kept).

Authenticate with `Authorization: Bearer <API key>`. A key sees and changes only its own \
team's list; another team's entry answers 404.

Rate limits are per team over a rolling 60-second window: add, batch and delete share one \
write budget ({write}); batch is also limited to {batch}; check and list have {check} and \
{listing}; screen {screen}; the changes feed \
{changes}. Limited responses carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and \
`X-RateLimit-Reset`; a 429 also carries `Retry-After` and a `resetTime`. Failed \
authentications (a missing, malformed, unknown or revoked key) are limited per client address \
(`API_AUTH_FAILURE_LIMIT`, 30 per minute by default); beyond it every request from that \
address answers 429 until the window frees. Responses carry `Cache-Control: no-store`.
"""


def build_document(limits: Mapping[str, str]) -> dict:
    """The OpenAPI document for the given limit settings (the DNC_*_LIMIT config)."""
    notes = {
        "write": limits["DNC_WRITE_LIMIT"],
        "batch": limits["DNC_BATCH_LIMIT"],
        "check": limits["DNC_CHECK_LIMIT"],
        "listing": limits["DNC_LIST_LIMIT"],
        "screen": limits["DNC_SCREEN_LIMIT"],
        "changes": limits["DNC_CHANGES_LIMIT"],
    }
    notes["write_note"] = (
        f"Counts against the team's shared write budget ({notes['write']}, shared by add, "
        "batch, delete and batch-delete)."
    )
    query_schemas = _query_schemas()
    paths: dict[str, dict] = {}
    for route in ROUTES:
        paths.setdefault(route.path, {})[route.method] = _operation(route, notes, query_schemas)
    schemas = _schemas()
    # The codes are the route table's vocabulary, not a type of the model.
    schemas["Error"]["properties"]["error"]["enum"] = sorted(ERROR_CODES)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Do Not Contact API",
            "version": API_VERSION,
            "description": DESCRIPTION.format(**notes),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "Entries", "description": "The team's Do Not Contact list."},
            {"name": "Keys", "description": "API key checks."},
            {
                "name": "Webhooks",
                "description": "Signed events for every entry added or removed (Standard "
                "Webhooks).",
            },
            {
                "name": "Companies",
                "description": "Company blocks: whole companies screened out by their "
                "LinkedIn page.",
            },
            {"name": "Meta", "description": "About the API itself."},
        ],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "dnc_sk_ followed by 40 letters and digits",
                    "description": "An API key created by a team member (shown once).",
                },
            },
            "schemas": schemas,
            "headers": _headers(),
        },
    }


_cache: dict[tuple, dict] = {}


def document_for(config: Mapping) -> dict:
    """The document for this app's limits, built once per distinct setting."""
    key = tuple(str(config[name]) for name in LIMIT_SETTINGS)
    if key not in _cache:
        _cache[key] = build_document(dict(zip(LIMIT_SETTINGS, key, strict=True)))
    return _cache[key]


# The committed copy (docs/openapi.json), at the default limits; a test keeps it current.
COMMITTED = Path(__file__).resolve().parents[3] / "docs" / "openapi.json"


def committed_text() -> str:
    """docs/openapi.json as scripts/openapi-json writes it."""
    from dnc_app.config import Settings

    defaults = {name: str(Settings.model_fields[name].default) for name in LIMIT_SETTINGS}
    return json.dumps(build_document(defaults), indent=2, ensure_ascii=False) + "\n"


def write_committed_document() -> None:
    COMMITTED.write_text(committed_text(), encoding="utf-8")
