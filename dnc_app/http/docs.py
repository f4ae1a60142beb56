"""The API reference: `/v1/openapi.json`, the `/docs` page rendered from it, and the
guide `/docs/connect` (how an outreach tool uses webhooks, screening and the feed).

All are public (no key, no rate limit). The page is plain server-rendered HTML with
its own stylesheet: no scripts, no inline styles, nothing from a CDN.
"""

from __future__ import annotations

import hashlib
import json
import re

from flask import Blueprint, abort, current_app, render_template, request
from markupsafe import Markup, escape

from dnc_app.extensions import limiter
from dnc_app.http.api.mediatype import refuses_body
from dnc_app.http.api.openapi import ERROR_CODES, document_for
from dnc_app.http.api.schemas.entries import MAX_SCREEN_ITEMS

bp = Blueprint("docs", __name__)

METHOD_ORDER = ("get", "post", "put", "patch", "delete")


@bp.get("/v1/openapi.json")
@limiter.exempt
def openapi_document():
    # Under /v1, so held to the API's rule on bodies (the api blueprint's own check does
    # not run for this blueprint).
    if refuses_body(request.environ):
        abort(415)
    return document_for(current_app.config)


@bp.get("/docs")
@limiter.exempt
def reference():
    document = document_for(current_app.config)
    return render_template(
        "docs/reference.html",
        info=document["info"],
        operations=_operations(document),
        schemas=_schemas(document),
        headers=document["components"]["headers"],
        error_codes=ERROR_CODES,
        security=document["components"]["securitySchemes"]["bearerAuth"],
    )


@bp.get("/docs/connect")
@limiter.exempt
def connect():
    config = current_app.config
    return render_template(
        "docs/connect.html",
        info=document_for(config)["info"],
        base_url=request.host_url.rstrip("/"),
        max_screen=f"{MAX_SCREEN_ITEMS:,}",
        screen_limit=config["DNC_SCREEN_LIMIT"],
        changes_limit=config["DNC_CHANGES_LIMIT"],
        max_endpoints=config["WEBHOOK_MAX_ENDPOINTS"],
        recover_max=f"{config['WEBHOOK_RECOVER_MAX']:,}",
        example_digest=hashlib.sha256(b"https://linkedin.com/in/john-doe").hexdigest(),
    )


# ----------------------------------------------------------------------------- view model

_CODE = re.compile(r"`([^`]+)`")


def inline_code(text: str) -> Markup:
    """Escape text and show `backticked` parts as <code>."""
    return Markup(_CODE.sub(lambda m: f"<code>{m.group(1)}</code>", str(escape(text))))


@bp.app_template_filter("inline_code")
def _inline_code_filter(text: str) -> Markup:
    return inline_code(text)


def _resolve(document: dict, node: dict) -> dict:
    """Follow local `$ref`s ("#/components/schemas/X") to the schema they name."""
    while "$ref" in node:
        target = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def type_label(document: dict, schema: dict) -> str:
    """A short human label for a schema: "string", "integer (1–1000)", "DncEntry | null"."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    for union in ("oneOf", "anyOf"):  # pydantic writes `T | None` as anyOf
        if union in schema:
            return " | ".join(type_label(document, s) for s in schema[union])
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        label = " | ".join(kind)
    elif kind == "array":
        label = f"array of {type_label(document, schema.get('items', {}))}"
    else:
        label = kind
    bounds = [
        (schema.get("minimum"), schema.get("maximum")),
        (schema.get("minItems"), schema.get("maxItems")),
        (schema.get("minLength"), schema.get("maxLength")),
    ]
    for low, high in bounds:
        if low is not None and high is not None:
            label += f" ({low:,}–{high:,})"
        elif high is not None:
            label += f" (max {high:,})"
        elif low:
            label += f" (min {low:,})"
    return label


def _fields(document: dict, schema: dict) -> list[dict]:
    schema = _resolve(document, schema)
    required = set(schema.get("required", []))
    fields = []
    for name, prop in schema.get("properties", {}).items():
        resolved = _resolve(document, prop)
        fields.append(
            {
                "name": name,
                "type": type_label(document, prop),
                "required": name in required,
                "description": resolved.get("description", ""),
            }
        )
    return fields


def _example_json(value) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def _response_view(document: dict, status: str, response: dict) -> dict:
    media = response.get("content", {}).get("application/json", {})
    schema = _resolve(document, media.get("schema", {}))
    codes = schema.get("properties", {}).get("error", {})
    error_codes = codes.get("enum") or ([codes["const"]] if "const" in codes else [])
    data = schema.get("properties", {}).get("data")
    return {
        "status": status,
        "description": response["description"],
        "error_codes": error_codes,
        "data_type": type_label(document, data) if data and int(status) < 400 else None,
        # X-Request-ID is on every response: the Headers section says so once.
        "headers": [h for h in response.get("headers", {}) if h != "X-Request-ID"],
        "example": _example_json(media["example"]) if "example" in media else None,
    }


def _curl(document: dict, path: str, method: str, operation: dict) -> str:
    """A copy-paste example; $DNC_URL and $DNC_API_KEY come from the reader's shell."""
    url = "$DNC_URL" + path.replace("{entryId}", "dnc_4fJx9QpLm2ZrT8wKc1Ya")
    parts = ["curl"]
    if method != "get":
        parts.append(f"-X {method.upper()}")
    query = [p for p in operation.get("parameters", []) if p["in"] == "query" and p.get("required")]
    if query:
        url += "?" + "&".join(f"{p['name']}={p['example']}" for p in query)
    parts.append(f'"{url}"')
    if operation.get("security") != []:
        parts.append('-H "Authorization: Bearer $DNC_API_KEY"')
    body = operation.get("requestBody")
    if body and body.get("required"):
        schema = _resolve(document, body["content"]["application/json"]["schema"])
        parts.append('-H "Content-Type: application/json"')
        parts.append(f"-d '{json.dumps(schema.get('example', {}), ensure_ascii=False)}'")
    return " \\\n  ".join(parts)


def _operations(document: dict) -> list[dict]:
    views = []
    for path, item in document["paths"].items():
        for method in METHOD_ORDER:
            operation = item.get(method)
            if operation is None:
                continue
            body = operation.get("requestBody")
            body_schema = body["content"]["application/json"]["schema"] if body else None
            views.append(
                {
                    "id": operation["operationId"],
                    "method": method.upper(),
                    "path": path,
                    "summary": operation["summary"],
                    "description": operation.get("description", ""),
                    "public": operation.get("security") == [],
                    "parameters": [
                        {
                            "name": p["name"],
                            "in": p["in"],
                            "required": p.get("required", False),
                            "type": type_label(document, p["schema"]),
                            "default": p["schema"].get("default"),
                            "description": p.get("description", ""),
                        }
                        for p in operation.get("parameters", [])
                    ],
                    "body_required": bool(body and body.get("required")),
                    "body_fields": _fields(document, body_schema) if body_schema else [],
                    "responses": [
                        _response_view(document, status, response)
                        for status, response in sorted(operation["responses"].items())
                    ],
                    "curl": _curl(document, path, method, operation),
                }
            )
    return views


def _schemas(document: dict) -> list[dict]:
    return [
        {
            "name": name,
            "description": schema.get("description", ""),
            "fields": _fields(document, schema),
            "type": type_label(document, schema),
        }
        for name, schema in document["components"]["schemas"].items()
    ]
