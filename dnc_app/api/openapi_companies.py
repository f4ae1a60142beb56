"""The company-block operations of the OpenAPI document, and what they add to the screen.

Self-contained (its schemas, its paths, and `extend_screen` for the `prospects` form of
POST /v1/dnc/screen), so that it moves as one piece when the document is generated from
request models."""

from __future__ import annotations

from typing import Any

from ..companies import MAX_NAME_LENGTH
from ..company_url import MAX_SLUG_LENGTH

BLOCK_EXAMPLE = {
    "id": "cmp_4nQ8sLm2Zx0VbT7wRk1Y",
    "url": "https://linkedin.com/company/acme",
    "name": "Acme Inc.",
    "reason": "Existing customer",
    "until": "2027-06-30",
    "$createdAt": "2026-11-26T10:15:30.123Z",
}

_URL_TEXT = (
    "A LinkedIn company page in any accepted form (`linkedin.com/company/<name or number>`, "
    "with or without scheme, `www.`, a country or mobile subdomain, a trailing path, query "
    "or fragment); normalized to `https://linkedin.com/company/<slug>` (lowercased; a "
    f"numeric id kept), the slug at most {MAX_SLUG_LENGTH} characters. A person's profile, "
    "another host, user info, a non-default port, control characters or bad "
    "percent-encoding are refused with `invalid_url`."
)
_UNTIL_TEXT = (
    "The block's last day (UTC), `YYYY-MM-DD`, today or later; null or absent: no end. From "
    "the next day on, the block no longer matches (compared when screening: no job)."
)


def schemas(timestamp: dict) -> dict:
    block: dict[str, Any] = {
        "type": "object",
        "description": "A blocked company of the team.",
        "required": ["id", "url", "name", "reason", "until", "$createdAt"],
        "properties": {
            "id": {"type": "string", "pattern": "^cmp_[A-Za-z0-9]+$"},
            "url": {"type": "string", "description": "The company page, normalized."},
            "name": {"type": ["string", "null"]},
            "reason": {"type": ["string", "null"]},
            "until": {"type": ["string", "null"], "format": "date", "description": _UNTIL_TEXT},
            "$createdAt": timestamp,
        },
        "example": BLOCK_EXAMPLE,
    }
    return {
        "CompanyBlock": block,
        "CompanyBlockRequest": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "minLength": 1, "description": _URL_TEXT},
                "name": {
                    "type": ["string", "null"],
                    "maxLength": MAX_NAME_LENGTH,
                    "description": f"Optional, at most {MAX_NAME_LENGTH} characters, no "
                    "control characters; trimmed.",
                },
                "reason": {"$ref": "#/components/schemas/Reason"},
                "until": {"type": ["string", "null"], "format": "date", "description": _UNTIL_TEXT},
            },
            "example": {
                "url": "https://www.linkedin.com/company/acme/",
                "name": "Acme Inc.",
                "reason": "Existing customer",
                "until": "2027-06-30",
            },
        },
        "CompanyBlockPage": {
            "type": "object",
            "required": ["companies", "total", "limit", "offset"],
            "properties": {
                "companies": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/CompanyBlock"},
                    "description": "Newest first.",
                },
                "total": {"type": "integer", "minimum": 0},
                "limit": {"type": "integer", "minimum": 1},
                "offset": {"type": "integer", "minimum": 0},
            },
        },
        "Prospect": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {
                    "type": "string",
                    "description": "The person's LinkedIn URL in any accepted form.",
                },
                "companyUrl": {
                    "type": ["string", "null"],
                    "description": "The company page the person works at (optional). One that "
                    "is not a company page is answered in the item "
                    '(`companyError: "invalid_company_url"`); the person is still screened.',
                },
            },
        },
        "BlockedBy": {
            "type": ["object", "null"],
            "required": ["companyId", "until"],
            "properties": {
                "companyId": {"type": "string"},
                "until": {"type": ["string", "null"], "format": "date"},
            },
            "description": "The company block that applies to the prospect today, else null.",
        },
    }


def extend_screen(schemas: dict, max_items: int) -> None:
    """The `prospects` form of the screen request and what its results add."""
    request = schemas["ScreenRequest"]
    request["description"] = "Exactly one of `urls`, `sha256` or `prospects`."
    request["properties"]["prospects"] = {
        "type": "array",
        "minItems": 1,
        "maxItems": max_items,
        "items": {"$ref": "#/components/schemas/Prospect"},
        "description": "People with their company: each result also says whether a company "
        "block applies (`blockedBy`). The blocks of all the items' companies are read in one "
        "query.",
    }
    request["oneOf"] = [*request["oneOf"], {"required": ["prospects"]}]
    item = schemas["ScreenItemResult"]["properties"]
    item["companyUrl"] = {
        "type": ["string", "null"],
        "description": "By `prospects`: the normalized company page, else null.",
    }
    item["blockedBy"] = {"$ref": "#/components/schemas/BlockedBy"}
    item["companyError"] = {
        "type": ["string", "null"],
        "enum": [None, "invalid_company_url"],
        "description": "By `prospects`: `invalid_company_url` when `companyUrl` is not a "
        "LinkedIn company page.",
    }
    result = schemas["ScreenResult"]["properties"]
    result["blocked"] = {
        "type": "integer",
        "minimum": 0,
        "description": "By `prospects`: items whose company is blocked.",
    }
    result["invalidCompanies"] = {
        "type": "integer",
        "minimum": 0,
        "description": "By `prospects`: items whose `companyUrl` is not a company page.",
    }


def _links() -> dict:
    """A block's `id` (in `data.id`) leads to its removal (fuzzers chain calls on it)."""
    return {
        "deleteCompanyBlock": {
            "operationId": "deleteCompanyBlock",
            "description": "Remove it",
            "parameters": {"companyId": "$response.body#/data/id"},
        }
    }


def operations(h, write: str, listing: str, body_errors: list[str]) -> dict:
    """`h`: the openapi module (its response helpers)."""
    note = f"Counts against the team's shared write budget ({write})."
    created = h._ok(
        "Blocked.",
        h._ref("CompanyBlock"),
        {"error": None, "data": BLOCK_EXAMPLE, "message": "Company blocked"},
    )
    created["links"] = _links()
    add = {
        "operationId": "addCompanyBlock",
        "tags": ["Companies"],
        "summary": "Block a company",
        "description": (
            "Blocks a whole company by its LinkedIn page: screening by `prospects` answers "
            "`blockedBy` for every person whose `companyUrl` is this page, until `until` has "
            "passed. The block and its audit record are written in one transaction. " + note
        ),
        "requestBody": {"required": True, "content": h._json(h._ref("CompanyBlockRequest"))},
        "responses": {
            "201": created,
            "400": h._error_response(
                "Invalid request: no `url` (`missing_url`), not a company page "
                "(`invalid_url`, the message says why), or an invalid `name`, `reason` or "
                "`until` (a date in the past, or not `YYYY-MM-DD`: `invalid_parameter`).",
                [*body_errors, "missing_url", "invalid_url", "invalid_parameter"],
                limited=True,
            ),
            "409": h._error_response(
                "The company is already blocked; `data` is the existing block.",
                ["already_exists"],
                limited=True,
                data=h._ref("CompanyBlock"),
            ),
            **h._common_responses(limited=True, body=True),
        },
    }
    list_op = {
        "operationId": "listCompanyBlocks",
        "tags": ["Companies"],
        "summary": "List the blocked companies",
        "description": (
            "The team's company blocks, newest first, expired ones included (their `until` "
            f"is past). Limited to {listing} per team."
        ),
        "parameters": [
            {
                "name": "limit",
                "in": "query",
                "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
            },
            {
                "name": "offset",
                "in": "query",
                "schema": {"type": "integer", "minimum": 0, "maximum": 2_147_483_647},
            },
        ],
        "responses": {
            "200": h._ok("A page of blocks.", h._ref("CompanyBlockPage")),
            "400": h._error_response(
                "`limit` or `offset` out of range or not an integer.",
                ["invalid_parameter"],
                limited=True,
            ),
            **h._common_responses(limited=True, body=False),
        },
    }
    delete = {
        "operationId": "deleteCompanyBlock",
        "tags": ["Companies"],
        "summary": "Remove a company block",
        "description": "Removes the block (its audit record stays). " + note,
        "parameters": [
            {
                "name": "companyId",
                "in": "path",
                "required": True,
                "description": "The block's `id`.",
                "schema": {"type": "string"},
                "example": BLOCK_EXAMPLE["id"],
            }
        ],
        "responses": {
            "200": h._ok(
                "Removed.",
                {
                    "type": "object",
                    "required": ["message"],
                    "properties": {"message": {"type": "string"}},
                },
                {
                    "error": None,
                    "data": {"message": "Company block deleted successfully"},
                    "message": "Company block deleted successfully",
                },
            ),
            "404": h._error_response(
                "No such block in this team (also another team's: never a 403).",
                ["not_found"],
                limited=True,
            ),
            **h._common_responses(limited=True, body=True),
        },
    }
    return {
        "/v1/companies": {"post": add, "get": list_op},
        "/v1/companies/{companyId}": {"delete": delete},
    }
