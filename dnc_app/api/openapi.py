"""The OpenAPI 3.1 document of the /v1 API, built from the app's configuration.

One document serves three readers: API clients (`GET /v1/openapi.json`), the reference
page (`/docs`, rendered from it server-side) and the property-based tests (schemathesis
checks every response against it). The configured rate limits are written into it, so
the document always states the limits this server enforces.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping

from ..changelog import Source
from ..entries import MAX_REASON_LENGTH
from ..entries.listing import COUNT_CAP
from . import openapi_companies, openapi_webhooks
from .changes import DEFAULT_CHANGES_PAGE, MAX_CHANGES_PAGE
from .entries import (
    DEFAULT_PAGE_SIZE,
    MAX_BATCH_DELETE,
    MAX_BATCH_ENTRIES,
    MAX_OFFSET,
    MAX_PAGE_SIZE,
    MAX_QUERY_LENGTH,
    MAX_SCREEN_ITEMS,
)

# The change log's vocabulary of sources, as the API and webhooks report them.
SOURCES = [source.value for source in Source]
SOURCE_TEXT = ", ".join(f"`{source.value}` ({source.label})" for source in Source) + "."

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"

# Every error code the API answers with, by where it comes from.
AUTH_ERRORS = ["missing_api_key", "invalid_api_key_format", "invalid_api_key"]
BODY_ERRORS = ["invalid_json"]
ERROR_CODES = {
    "missing_api_key": "No Authorization header.",
    "invalid_api_key_format": "The header is not 'Bearer dnc_sk_…' with a well-formed key.",
    "invalid_api_key": "The key is unknown or revoked.",
    "invalid_json": "The request body is not a JSON object.",
    "missing_url": "The URL is missing or empty.",
    "invalid_url": "The URL is not a LinkedIn person profile (for a webhook: not an "
    "https/http URL on a public address); the message says why.",
    "invalid_parameter": "A parameter or field has an invalid value; the message names it.",
    "already_exists": "The URL is already on the list; `data` is the existing entry (for "
    "a company: already blocked, `data` is the existing block).",
    "missing_entries": "The batch body has no `entries`.",
    "empty_entries": "The batch `entries` array is empty.",
    "too_many_entries": f"The batch has more than {MAX_BATCH_ENTRIES:,} entries.",
    "missing_urls": "The screen body has none of `urls`, `sha256` and `prospects`, or its "
    "array is empty.",
    "too_many_urls": f"The screen body has more than {MAX_SCREEN_ITEMS:,} items.",
    "missing_ids": "The batch-delete body has neither `ids` nor `urls`, or its array is empty.",
    "too_many_ids": f"The batch-delete body has more than {MAX_BATCH_DELETE:,} items.",
    "not_found": "No such entry in this team's list (also for another team's entry), or "
    "no such webhook endpoint or company block in this team.",
    **openapi_webhooks.WEBHOOK_ERRORS,
    "protected_entry": "The entry is the person's own opt-out (public form or personal "
    "link); only a key an owner allowed to remove opt-outs may delete it.",
    "erasure_not_allowed": "The API key may not erase personal data (only a key an owner "
    "allowed to remove opt-outs may).",
    "bad_request": "The request itself could not be understood (e.g. a Host header this "
    "server does not serve).",
    "method_not_allowed": "The endpoint does not support this HTTP method.",
    "payload_too_large": "The request body is larger than the server accepts.",
    "unsupported_media_type": "The request body is not sent as JSON.",
    "rate_limit_exceeded": "The team's rate limit for this operation is used up; "
    "`resetTime` says when a request will next be accepted.",
    "internal_error": "An unexpected server error (logged for the operator).",
    "service_unavailable": "The database or the rate-limit store is unreachable; nothing "
    "was changed. Retry after `Retry-After` seconds.",
}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _header_ref(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def _json(schema: dict, example=None) -> dict:
    media = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _error_schema(codes: list[str], data: dict | None = None) -> dict:
    return {
        "type": "object",
        "required": ["error", "data", "message"],
        "properties": {
            "error": {"type": "string", "enum": codes},
            "data": data or {"type": "null"},
            "message": {"type": "string"},
        },
    }


def _success_schema(data: dict) -> dict:
    return {
        "type": "object",
        "required": ["error", "data", "message"],
        "properties": {
            "error": {"type": "null"},
            "data": data,
            "message": {"type": "string"},
        },
    }


def _error_response(
    description: str,
    codes: list[str],
    *,
    limited: bool,
    data: dict | None = None,
    example: dict | None = None,
) -> dict:
    response = {"description": description, "content": _json(_error_schema(codes, data), example)}
    if limited:
        response["headers"] = _rate_limit_headers()
    return response


def _rate_limit_headers() -> dict:
    names = ["X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"]
    return {name: _header_ref(name) for name in names}


# ----------------------------------------------------------------------------- schemas

ENTRY_EXAMPLE = {
    "$id": "dnc_4fJx9QpLm2ZrT8wKc1Ya",
    "teamId": "team_Q2n8RkV4sLp0XbTz7HdE",
    "url": "https://linkedin.com/in/john-doe",
    "$createdAt": "2026-11-26T10:15:30.123Z",
    "$updatedAt": "2026-11-26T10:15:30.123Z",
    "reason": "Asked not to be contacted",
    "source": "api",
    "protected": False,
    "erased": False,
    "sha256": "45015760b2bb573f5b8a270210aaf6904d1b1e6fd0a2e0676d467490ccf1b8dc",
}
ERASED_EXAMPLE = {
    **ENTRY_EXAMPLE,
    "url": None,
    "reason": None,
    "erased": True,
    "$updatedAt": "2026-12-01T09:00:00.000Z",
}

CHANGE_EXAMPLE = {
    "type": "added",
    "entryId": ENTRY_EXAMPLE["$id"],
    "url": ENTRY_EXAMPLE["url"],
    "at": ENTRY_EXAMPLE["$createdAt"],
    "source": "api",
    "seq": 42,
}

TIMESTAMP = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$",
    "description": "ISO 8601 UTC with milliseconds.",
}


def _schemas() -> dict:
    schemas = _entry_schemas()
    openapi_companies.extend_screen(schemas, MAX_SCREEN_ITEMS)
    return schemas


def _entry_schemas() -> dict:
    return {
        "DncEntry": {
            "type": "object",
            "description": "One LinkedIn profile on a team's Do Not Contact list.",
            "required": ["$id", "teamId", "url", "$createdAt", "$updatedAt", "protected"],
            "properties": {
                "$id": {
                    "type": "string",
                    "pattern": "^dnc_[A-Za-z0-9]+$",
                    "description": "Opaque entry id.",
                },
                "teamId": {"type": "string", "pattern": "^team_[A-Za-z0-9]+$"},
                "url": {
                    "type": ["string", "null"],
                    "pattern": "^https://linkedin\\.com/(in|sales/lead)/[^/?#]+$",
                    "description": "The normalized profile URL; null once the person's "
                    "data was erased.",
                },
                "$createdAt": TIMESTAMP,
                "$updatedAt": TIMESTAMP,
                "reason": {
                    "type": ["string", "null"],
                    "description": "Why the person is on the list, if given.",
                },
                "source": {
                    "type": "string",
                    "enum": SOURCES,
                    "description": "Where the entry came from: " + SOURCE_TEXT,
                },
                "protected": {
                    "type": "boolean",
                    "description": "The person's own opt-out: they asked on the public page "
                    "or through a personal link (whatever added the entry "
                    "first). DELETE is then a 403 `protected_entry` unless "
                    "the key may remove people's own opt-outs.",
                },
                "erased": {
                    "type": "boolean",
                    "description": "The person's data was erased (POST "
                    "/v1/dnc/{entryId}/erase): `url` and `reason` are "
                    "null, the person stays on the list (check, screen "
                    "and add find them by URL or digest).",
                },
                "sha256": {
                    "type": "string",
                    "pattern": "^[0-9a-f]{64}$",
                    "description": "Hex SHA-256 of the normalized URL (UTF-8): what "
                    "stays of an erased entry.",
                },
            },
            "example": ENTRY_EXAMPLE,
        },
        "Reason": {
            "type": ["string", "null"],
            "maxLength": MAX_REASON_LENGTH,
            "description": f"Optional free text, at most {MAX_REASON_LENGTH:,} characters, "
            "no control characters other than tab and newline; trimmed.",
        },
        "AddRequest": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {
                    "type": "string",
                    "minLength": 1,
                    "description": "A LinkedIn profile URL in any accepted form "
                    "(it is normalized).",
                },
                "reason": _ref("Reason"),
            },
            "example": {
                "url": "https://www.linkedin.com/in/john-doe/",
                "reason": "Asked not to be contacted",
            },
        },
        "BatchRequest": {
            "type": "object",
            "required": ["entries"],
            "properties": {
                "entries": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_BATCH_ENTRIES,
                    # Only the shape of an item is a request error: what is wrong inside
                    # one (no url, an invalid url or reason) is that item's `error`.
                    "items": {
                        "type": "object",
                        "description": "An object with `url` and an optional `reason`. A "
                        "missing, empty or invalid url or an invalid reason "
                        "is reported as that item's error, not as a 400.",
                        "properties": {
                            "url": {"description": "A LinkedIn profile URL (string)."},
                            "reason": {"description": "Optional; as for a single add."},
                        },
                    },
                },
            },
            "example": {
                "entries": [
                    {"url": "linkedin.com/in/jane-roe", "reason": "Unsubscribed"},
                    {"url": "https://www.linkedin.com/in/john-doe/"},
                    {"url": "https://www.linkedin.com/company/acme"},
                ]
            },
        },
        "BatchItemResult": {
            "type": "object",
            "required": ["url", "status", "error"],
            "properties": {
                "url": {
                    "type": ["string", "null"],
                    "description": "The normalized URL when valid, else the input as "
                    "given (null when it was missing or not a string).",
                },
                "status": {
                    "type": "string",
                    "enum": ["added", "duplicate", "error"],
                    "description": "`duplicate`: already listed, or repeats an "
                    "earlier item of the same batch.",
                },
                "error": {
                    "type": ["string", "null"],
                    "description": "Why the item was rejected; null unless status is `error`.",
                },
            },
        },
        "BatchResult": {
            "type": "object",
            "required": ["added", "duplicates", "errors", "details"],
            "properties": {
                "added": {"type": "integer", "minimum": 0},
                "duplicates": {"type": "integer", "minimum": 0},
                "errors": {"type": "integer", "minimum": 0},
                "details": {
                    "type": "array",
                    "items": _ref("BatchItemResult"),
                    "description": "One result per input item, in input order.",
                },
            },
        },
        "CheckResult": {
            "type": "object",
            "required": ["onList", "entry"],
            "properties": {
                "onList": {"type": "boolean"},
                "entry": {"oneOf": [_ref("DncEntry"), {"type": "null"}]},
            },
        },
        **_screen_schemas(),
        **_batch_delete_schemas(),
        "EntryPage": {
            "type": "object",
            "required": ["entries", "total", "limit", "offset", "nextCursor"],
            "properties": {
                "entries": {
                    "type": "array",
                    "items": _ref("DncEntry"),
                    "description": "Newest first.",
                },
                "total": {
                    "type": "integer",
                    "minimum": 0,
                    "description": "Entries matching the query (all pages). With `q`: "
                    f"exact up to {COUNT_CAP:,}; beyond, "
                    f"{COUNT_CAP + 1:,} with `totalExact` false.",
                },
                "totalExact": {
                    "type": "boolean",
                    "description": "Only with `q`: whether `total` is the exact "
                    f"count (false: more than {COUNT_CAP:,} "
                    "entries match).",
                },
                "limit": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE},
                "offset": {
                    "type": ["integer", "null"],
                    "minimum": 0,
                    "description": "The offset of this page; null for a cursor page.",
                },
                "nextCursor": {
                    "type": ["string", "null"],
                    "description": "Pass as `cursor` for the next page; null on the last page.",
                },
            },
        },
        "Change": {
            "type": "object",
            "description": "One change to the list: an entry added, removed, or its "
            "person's data erased (`erased`: the entry stays listed; this "
            "change and the earlier changes of that person have `url` null).",
            "required": ["type", "entryId", "url", "at", "source", "seq"],
            "properties": {
                "type": {"type": "string", "enum": ["added", "removed", "erased"]},
                "entryId": {
                    "type": "string",
                    "pattern": "^dnc_[A-Za-z0-9]+$",
                    "description": "The entry's `$id` (a removal names the entry "
                    "that was removed).",
                },
                "url": {
                    "type": ["string", "null"],
                    "pattern": "^https://linkedin\\.com/(in|sales/lead)/[^/?#]+$",
                    "description": "The normalized profile URL; null once erased.",
                },
                "at": {
                    **TIMESTAMP,
                    "description": "When the change was asked for. The feed's order is "
                    "the commit order: two concurrent changes can have "
                    "their `at` the other way round.",
                },
                "source": {
                    "type": "string",
                    "enum": SOURCES,
                    "description": "Where the change was made: " + SOURCE_TEXT,
                },
                "seq": {
                    "type": "integer",
                    "minimum": 1,
                    "description": "The team's change number: it increases in commit "
                    "order, with gaps where the team's log holds other "
                    "events. Webhook events carry the same number in "
                    "`data.seq`.",
                },
            },
            "example": CHANGE_EXAMPLE,
        },
        "ChangesPage": {
            "type": "object",
            "required": ["changes", "nextCursor", "hasMore"],
            "properties": {
                "changes": {
                    "type": "array",
                    "items": _ref("Change"),
                    "maxItems": MAX_CHANGES_PAGE,
                    "description": "Oldest first, in commit order.",
                },
                "nextCursor": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9_-]+$",
                    "description": "Store it and pass it as `cursor` next time; "
                    "given also when there is nothing new.",
                },
                "hasMore": {
                    "type": "boolean",
                    "description": "More changes are waiting: ask again at once.",
                },
            },
        },
        "Evidence": {
            "type": "object",
            "description": "What a team hands to a regulator about one person.",
            "required": ["entry", "history", "receipt", "deliveries"],
            "properties": {
                "entry": _ref("DncEntry"),
                "history": {
                    "type": "array",
                    "description": "Every change and audit event of this profile (also of "
                    "an earlier entry of the same person), oldest first.",
                    "items": {
                        "type": "object",
                        "required": ["type", "at", "source", "actor", "reason"],
                        "properties": {
                            "type": {
                                "type": "string",
                                "description": "What happened, e.g. "
                                "`add`, `opted_out` (the person asked themselves), "
                                "`add_duplicate`, `remove_refused`, `remove`.",
                            },
                            "at": TIMESTAMP,
                            "source": {"type": "string", "enum": SOURCES},
                            "actor": {"type": ["string", "null"]},
                            "reason": {"type": ["string", "null"]},
                        },
                    },
                },
                "receipt": {
                    "type": ["object", "null"],
                    "description": "The receipt the person was given for this entry (the "
                    "first), or null when they never asked themselves.",
                    "required": ["reference", "at"],
                    "properties": {"reference": {"type": "string"}, "at": TIMESTAMP},
                },
                "deliveries": {
                    "type": "array",
                    "description": "Each webhook event about this profile, per endpoint.",
                    "items": {
                        "type": "object",
                        "required": [
                            "endpointId",
                            "msgId",
                            "eventType",
                            "seq",
                            "deliveredAt",
                            "attempts",
                        ],
                        "properties": {
                            "endpointId": {"type": "string"},
                            "msgId": {
                                "type": "string",
                                "description": "The event's `webhook-id` header.",
                            },
                            "eventType": {"type": "string"},
                            "seq": {
                                "type": ["integer", "null"],
                                "description": "The change's number in the changes "
                                "feed (null for older events).",
                            },
                            "deliveredAt": {"anyOf": [TIMESTAMP, {"type": "null"}]},
                            "attempts": {"type": "integer", "minimum": 0},
                        },
                    },
                },
            },
        },
        "DeleteResult": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "message": {"type": "string", "const": "DNC entry deleted successfully"}
            },
        },
        "VerifyResult": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {
                "status": {"type": "string", "const": "success"},
                "message": {"type": "string", "const": "API key is valid"},
            },
        },
        **openapi_webhooks.schemas(TIMESTAMP),
        **openapi_companies.schemas(TIMESTAMP),
        "Error": {
            **_error_schema(sorted(ERROR_CODES)),
            "description": "The envelope of every error. `data` is null except for "
            "`already_exists`, where it is the existing entry.",
        },
        "RateLimitError": {
            "type": "object",
            "required": ["error", "data", "message", "resetTime"],
            "properties": {
                "error": {"type": "string", "const": "rate_limit_exceeded"},
                "data": {"type": "null"},
                "message": {"type": "string"},
                "resetTime": {**TIMESTAMP, "description": "When a request will next be accepted."},
            },
        },
    }


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
            "X-Request-ID when it sent a sane one); quote it in support "
            "requests.",
            "schema": {"type": "string"},
        },
        "Retry-After": {
            "description": "Seconds to wait before retrying.",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        },
    }


def _batch_delete_schemas() -> dict:
    items = {
        "type": "array",
        "minItems": 1,
        "maxItems": MAX_BATCH_DELETE,
        "items": {"type": "string"},
    }
    return {
        "BatchDeleteRequest": {
            "type": "object",
            "description": "Either `ids` or `urls`, not both; an optional `reason`.",
            "properties": {
                "ids": {**items, "description": "Entry `$id`s."},
                "urls": {**items, "description": "LinkedIn URLs in any accepted form."},
                "reason": _ref("Reason"),
            },
            "oneOf": [{"required": ["ids"]}, {"required": ["urls"]}],
            "example": {
                "ids": ["dnc_8fK2mQpL4xRt7vNw", "dnc_unknown"],
                "reason": "Customer signed",
            },
        },
        "BatchDeleteItem": {
            "type": "object",
            "required": ["input", "entryId", "status"],
            "properties": {
                "input": {"type": "string", "description": "The item as sent."},
                "entryId": {
                    "type": ["string", "null"],
                    "description": "The entry's `$id` (removed or protected), else null.",
                },
                "status": {
                    "type": "string",
                    "enum": ["removed", "not_found", "protected_entry", "invalid_url"],
                },
            },
        },
        "BatchDeleteResult": {
            "type": "object",
            "required": ["removed", "notFound", "protected", "details"],
            "properties": {
                "removed": {"type": "integer", "minimum": 0},
                "notFound": {"type": "integer", "minimum": 0},
                "protected": {"type": "integer", "minimum": 0},
                "details": {
                    "type": "array",
                    "items": _ref("BatchDeleteItem"),
                    "description": "One result per input item, in input order.",
                },
            },
        },
    }


def _batch_delete_operation(write_note: str, batch: str) -> dict:
    return {
        "operationId": "deleteEntriesBatch",
        "tags": ["Entries"],
        "summary": f"Remove up to {MAX_BATCH_DELETE:,} entries",
        "description": (
            "Removes the entries named by `ids` (their `$id`) or by `urls` (any accepted "
            "form) in one transaction and reports each item in input order; items are "
            "applied in order. An unknown id, another team's entry, a URL not listed, or a "
            "repeat of an entry an earlier item removed is `not_found`; a string that is not "
            "a LinkedIn URL is `invalid_url` (by `urls`). A person's own opt-out (source "
            "`public_form`) is `protected_entry` (the attempt is recorded in the audit "
            "trail) unless an owner created the key with permission to remove opt-outs; "
            "then a `reason` is required (400 `invalid_parameter` without one, and nothing "
            "is removed). The removal is one operation in the audit trail; each removed "
            "entry is a `removed` change in the feed and a `dnc.entry.removed` webhook "
            f"event. One request counts as one write. {write_note} Also limited on its "
            f"own ({batch}), like batch add."
        ),
        "requestBody": {"required": True, "content": _json(_ref("BatchDeleteRequest"))},
        "responses": {
            "200": _ok(
                "Processed; see the per-item details.",
                _ref("BatchDeleteResult"),
                {
                    "error": None,
                    "data": {
                        "removed": 1,
                        "notFound": 1,
                        "protected": 0,
                        "details": [
                            {
                                "input": "dnc_8fK2mQpL4xRt7vNw",
                                "entryId": "dnc_8fK2mQpL4xRt7vNw",
                                "status": "removed",
                            },
                            {"input": "dnc_unknown", "entryId": None, "status": "not_found"},
                        ],
                    },
                    "message": "Removed 1: 1 not found, 0 protected, 0 invalid",
                },
            ),
            "400": _error_response(
                "Invalid request: neither `ids` nor `urls` (or an empty array), both, more "
                f"than {MAX_BATCH_DELETE:,} items, an item that is not a string, or an "
                "invalid `reason` (the message says which).",
                BODY_ERRORS + ["missing_ids", "too_many_ids", "invalid_parameter"],
                limited=True,
            ),
            **_common_responses(limited=True, body=True),
        },
    }


def _screen_schemas() -> dict:
    items = {"type": "array", "minItems": 1, "maxItems": MAX_SCREEN_ITEMS}
    return {
        "ScreenRequest": {
            "type": "object",
            "description": "Either `urls` or `sha256`, not both.",
            # What is wrong inside a string (not a profile URL, not a digest) is that
            # item's `error`, not a 400: only the shape of the body is a request error.
            "properties": {
                "urls": {
                    **items,
                    "items": {
                        "type": "string",
                        "description": "A LinkedIn profile URL in any accepted form.",
                    },
                },
                "sha256": {
                    **items,
                    "items": {
                        "type": "string",
                        "description": "The hex SHA-256 (64 digits, any letter case) of a "
                        "normalized URL's UTF-8 bytes, e.g. of "
                        "`https://linkedin.com/in/john-doe`. A string that is "
                        "not 64 hex digits is answered as an invalid item.",
                    },
                },
            },
            "oneOf": [{"required": ["urls"]}, {"required": ["sha256"]}],
            "example": {
                "urls": [
                    "https://www.linkedin.com/in/john-doe/",
                    "in/jane-roe",
                    "https://www.linkedin.com/company/acme",
                ]
            },
        },
        "ScreenItemResult": {
            "type": "object",
            "required": ["input", "url", "onList", "entryId", "error"],
            "properties": {
                "input": {"type": "string", "description": "The item as sent."},
                "url": {
                    "type": ["string", "null"],
                    "description": "The normalized URL (null when invalid). By "
                    "`sha256`: the listed URL, null when not listed.",
                },
                "onList": {"type": "boolean"},
                "entryId": {
                    "type": ["string", "null"],
                    "description": "The listed entry's `$id`, else null.",
                },
                "error": {
                    "type": ["string", "null"],
                    "enum": [None, "invalid_url"],
                    "description": "`invalid_url` for a string that is not a "
                    "LinkedIn profile URL (or not a 64-hex-digit "
                    "digest); such an item is never on the list.",
                },
            },
        },
        "ScreenResult": {
            "type": "object",
            "required": ["results", "listed", "notListed", "invalid"],
            "properties": {
                "results": {
                    "type": "array",
                    "items": _ref("ScreenItemResult"),
                    "description": "One result per input item, in input order.",
                },
                "listed": {"type": "integer", "minimum": 0},
                "notListed": {"type": "integer", "minimum": 0},
                "invalid": {"type": "integer", "minimum": 0},
            },
        },
    }


# ----------------------------------------------------------------------------- operations


def _common_responses(*, limited: bool, body: bool) -> dict:
    responses = {
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
        "content": _json(_ref("RateLimitError")),
    }
    return responses


def _ok(description: str, data_schema: dict, example=None, *, limited: bool = True) -> dict:
    response = {"description": description, "content": _json(_success_schema(data_schema), example)}
    if limited:
        response["headers"] = _rate_limit_headers()
    return response


def _screen_operation(limit: str) -> dict:
    return {
        "operationId": "screenUrls",
        "tags": ["Entries"],
        "summary": f"Screen up to {MAX_SCREEN_ITEMS:,} prospects",
        "description": (
            "Which of these prospects are on the list: by `urls` (each normalized), or by "
            "`sha256` digests of normalized URLs, so that a prospect list need not be sent "
            "in clear. Results are in input order; a string that is not a profile URL (or "
            'not a digest) is answered with `error: "invalid_url"`. Answered with one '
            f"database query. Limited to {limit} per team (`DNC_SCREEN_LIMIT`)."
        ),
        "requestBody": {"required": True, "content": _json(_ref("ScreenRequest"))},
        "responses": {
            "200": _ok(
                "The answer for each item, and the counts.",
                _ref("ScreenResult"),
                {
                    "error": None,
                    "data": {
                        "results": [
                            {
                                "input": "https://www.linkedin.com/in/john-doe/",
                                "url": "https://linkedin.com/in/john-doe",
                                "onList": True,
                                "entryId": ENTRY_EXAMPLE["$id"],
                                "error": None,
                            },
                            {
                                "input": "in/jane-roe",
                                "url": "https://linkedin.com/in/jane-roe",
                                "onList": False,
                                "entryId": None,
                                "error": None,
                            },
                            {
                                "input": "https://www.linkedin.com/company/acme",
                                "url": None,
                                "onList": False,
                                "entryId": None,
                                "error": "invalid_url",
                            },
                        ],
                        "listed": 1,
                        "notListed": 1,
                        "invalid": 1,
                    },
                    "message": "Screened 3: 1 listed, 1 not listed, 1 invalid",
                },
            ),
            "400": _error_response(
                "Invalid request: neither or both of `urls` and `sha256`, an empty array "
                "(`missing_urls`), more than 1,000 items (`too_many_urls`), or an item that "
                "is not a string (`invalid_parameter`, the message names its index).",
                BODY_ERRORS + ["missing_urls", "too_many_urls", "invalid_parameter"],
                limited=True,
            ),
            **_common_responses(limited=True, body=True),
        },
    }


def _operations(limits: Mapping[str, str]) -> dict:
    write, batch = limits["DNC_WRITE_LIMIT"], limits["DNC_BATCH_LIMIT"]
    check, listing = limits["DNC_CHECK_LIMIT"], limits["DNC_LIST_LIMIT"]
    changes = limits["DNC_CHANGES_LIMIT"]
    write_note = (
        f"Counts against the team's shared write budget ({write}, shared by add, "
        "batch, delete and batch-delete)."
    )
    entry_data = _ref("DncEntry")
    add = {
        "operationId": "addEntry",
        "tags": ["Entries"],
        "summary": "Add a URL to the list",
        "description": "Normalizes the URL and adds it to the team's list. " + write_note,
        "requestBody": {"required": True, "content": _json(_ref("AddRequest"))},
        "responses": {
            "201": _ok(
                'Added. `message` is "Added to Do Not Contact list".',
                entry_data,
                {"error": None, "data": ENTRY_EXAMPLE, "message": "Added to Do Not Contact list"},
            ),
            "400": _error_response(
                "Invalid request.",
                BODY_ERRORS + ["missing_url", "invalid_url", "invalid_parameter"],
                limited=True,
                example={
                    "error": "invalid_url",
                    "data": None,
                    "message": "Invalid LinkedIn URL: not a person profile",
                },
            ),
            "409": _error_response(
                "The URL is already listed; `data` is the existing entry.",
                ["already_exists"],
                limited=True,
                data=entry_data,
            ),
            **_common_responses(limited=True, body=True),
        },
    }
    batch_op = {
        "operationId": "addEntriesBatch",
        "tags": ["Entries"],
        "summary": f"Add up to {MAX_BATCH_ENTRIES:,} URLs",
        "description": (
            "Adds every valid, new URL in one transaction and reports each item in input "
            "order. Entries of one batch are stored in input order (the later item is the "
            "newer entry). A repeat inside the batch and an already-listed URL are "
            "`duplicate`; a missing or invalid URL is an item `error`. `message` is "
            '"Bulk import completed: N added, N duplicates, N errors". One request counts '
            f"as one write. {write_note} Batch is also limited on its own ({batch})."
        ),
        "requestBody": {"required": True, "content": _json(_ref("BatchRequest"))},
        "responses": {
            "201": _ok(
                "Processed; see the per-item details.",
                _ref("BatchResult"),
                {
                    "error": None,
                    "data": {
                        "added": 1,
                        "duplicates": 1,
                        "errors": 1,
                        "details": [
                            {
                                "url": "https://linkedin.com/in/jane-roe",
                                "status": "added",
                                "error": None,
                            },
                            {
                                "url": "https://linkedin.com/in/john-doe",
                                "status": "duplicate",
                                "error": None,
                            },
                            {
                                "url": "https://www.linkedin.com/company/acme",
                                "status": "error",
                                "error": "Not a person profile",
                            },
                        ],
                    },
                    "message": "Bulk import completed: 1 added, 1 duplicates, 1 errors",
                },
            ),
            "400": _error_response(
                "Invalid request: `entries` missing, not an array, empty, too long, or an "
                "item that is not an object (the message names its index).",
                BODY_ERRORS
                + ["missing_entries", "empty_entries", "too_many_entries", "invalid_parameter"],
                limited=True,
            ),
            **_common_responses(limited=True, body=True),
        },
    }
    check_op = {
        "operationId": "checkUrl",
        "tags": ["Entries"],
        "summary": "Is a URL on the list?",
        "description": f"Normalizes the URL and looks it up. Limited to {check} per team.",
        "parameters": [
            {
                "name": "url",
                "in": "query",
                "required": True,
                "description": "A LinkedIn profile URL in any accepted form.",
                "schema": {"type": "string", "minLength": 1},
                "example": "https://www.linkedin.com/in/john-doe/",
            }
        ],
        "responses": {
            "200": _ok(
                "The answer; `entry` is the listed entry or null.",
                _ref("CheckResult"),
                {
                    "error": None,
                    "data": {"onList": True, "entry": ENTRY_EXAMPLE},
                    "message": "URL is on the Do Not Contact list",
                },
            ),
            "400": _error_response(
                "Missing or invalid URL.", ["missing_url", "invalid_url"], limited=True
            ),
            **_common_responses(limited=True, body=False),
        },
    }
    list_op = {
        "operationId": "listEntries",
        "tags": ["Entries"],
        "summary": "List the entries, newest first",
        "description": (
            "Offset pagination (`limit`, `offset`) or keyset pagination (`cursor`, from the "
            "previous page's `nextCursor`). A cursor stays fast on the last page of a large "
            "list, where a large offset cannot. `cursor` and `offset` cannot be combined. "
            f"Limited to {listing} per team."
        ),
        "parameters": [
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size, 1–{MAX_PAGE_SIZE:,}.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_PAGE_SIZE,
                    "default": DEFAULT_PAGE_SIZE,
                },
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "description": "Entries to skip. Not with `cursor`.",
                "schema": {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
            },
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "`nextCursor` of the previous page. Not with `offset`.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},
            },
            {
                "name": "q",
                "in": "query",
                "required": False,
                "description": "Only entries whose URL contains this text (case-insensitive). "
                f"The response's `total` then counts up to {COUNT_CAP:,} "
                "(`totalExact` says whether it is exact).",
                "schema": {
                    "type": "string",
                    "maxLength": MAX_QUERY_LENGTH,
                    "pattern": "^[^\\x00-\\x1f\\x7f]*$",
                },
            },
        ],
        "responses": {
            "200": _ok(
                "A page of entries.",
                _ref("EntryPage"),
                {
                    "error": None,
                    "data": {
                        "entries": [ENTRY_EXAMPLE],
                        "total": 1,
                        "limit": 50,
                        "offset": 0,
                        "nextCursor": None,
                    },
                    "message": "1 of 1 entries",
                },
            ),
            "400": _error_response(
                "An invalid parameter; the message names it.",
                ["invalid_parameter"],
                limited=True,
                example={
                    "error": "invalid_parameter",
                    "data": None,
                    "message": f"limit must be an integer between 1 and {MAX_PAGE_SIZE}",
                },
            ),
            **_common_responses(limited=True, body=False),
        },
    }
    changes_op = {
        "operationId": "listChanges",
        "tags": ["Entries"],
        "summary": "The changes feed: additions and removals, oldest first",
        "description": (
            "Keeps a local copy of the list exact. Without `cursor` it starts at the team's "
            "first change; each page gives a `nextCursor` (also when it is empty): store it "
            "and poll with it, and every later change comes exactly once, in commit order, "
            "also when changes are made concurrently. Apply `added` and `removed` in order. "
            "While `hasMore` is true, ask again at once. A cursor is opaque and stays valid. "
            "A cursor this server did not issue to the team (altered, another team's, or "
            "past the team's newest change, e.g. after the database was restored from a "
            "backup) is refused with 400 `invalid_parameter`, never answered with an empty "
            "page: start again without a cursor. "
            f"Limited to {changes} per team."
        ),
        "parameters": [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "`nextCursor` of an earlier page; none (or empty) for the "
                "first change.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "maxLength": 80},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Changes per page, 1–{MAX_CHANGES_PAGE:,}.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_CHANGES_PAGE,
                    "default": DEFAULT_CHANGES_PAGE,
                },
            },
        ],
        "responses": {
            "200": _ok(
                "A page of changes.",
                _ref("ChangesPage"),
                {
                    "error": None,
                    "data": {
                        "changes": [
                            CHANGE_EXAMPLE,
                            {
                                **CHANGE_EXAMPLE,
                                "type": "removed",
                                "at": "2026-11-27T08:01:02.345Z",
                                "source": "web",
                                "seq": 57,
                            },
                        ],
                        "nextCursor": "YzE6NDI",
                        "hasMore": False,
                    },
                    "message": "2 changes",
                },
            ),
            "400": _error_response(
                "A bad `cursor` (not issued to this team, or past its "
                "newest change) or `limit`; the message names it.",
                ["invalid_parameter"],
                limited=True,
                example={
                    "error": "invalid_parameter",
                    "data": None,
                    "message": "cursor is not valid: pass the nextCursor of an earlier page",
                },
            ),
            **_common_responses(limited=True, body=False),
        },
    }
    delete_op = {
        "operationId": "deleteEntry",
        "tags": ["Entries"],
        "summary": "Remove an entry",
        "description": (
            "Removes the entry; its audit record (who, when, optional reason) stays, and the "
            "URL can be added again later. Another team's entry is a 404, like an unknown "
            "id. An entry the person asked for themselves (`protected`: the public opt-out "
            "page or a personal link named it, whatever added it first) is their objection: "
            "deleting it is a 403 "
            "`protected_entry` (the attempt is recorded in the audit trail) unless an owner "
            "created the key with permission to remove opt-outs; then a `reason` is "
            f"required. {write_note}"
        ),
        "parameters": [
            {
                "name": "entryId",
                "in": "path",
                "required": True,
                "description": "The entry's `$id`.",
                "schema": {"type": "string"},
                "example": ENTRY_EXAMPLE["$id"],
            }
        ],
        "requestBody": {
            "required": False,
            "content": _json(
                {
                    "type": "object",
                    "properties": {"reason": _ref("Reason")},
                    "example": {"reason": "Contact asked to be removed from the list"},
                }
            ),
        },
        "responses": {
            "200": _ok(
                "Deleted.",
                _ref("DeleteResult"),
                {
                    "error": None,
                    "data": {"message": "DNC entry deleted successfully"},
                    "message": "DNC entry deleted successfully",
                },
            ),
            "400": _error_response(
                "Invalid request body.", BODY_ERRORS + ["invalid_parameter"], limited=True
            ),
            "403": _error_response(
                "The entry is the person's own opt-out and this key may not remove those.",
                ["protected_entry"],
                limited=True,
                example={
                    "error": "protected_entry",
                    "data": None,
                    "message": "This entry is the person's own opt-out and cannot be removed "
                    "with this API key",
                },
            ),
            "404": _error_response(
                "No such entry in this team's list.", ["not_found"], limited=True
            ),
            **_common_responses(limited=True, body=True),
        },
    }
    erase_op = {
        "operationId": "eraseEntry",
        "tags": ["Entries"],
        "summary": "Erase a person's data, keep them on the list",
        "description": (
            "Erases the person's data (a right-to-erasure request) without forgetting the "
            "objection: the profile URL, reasons and free text leave the entry, the change "
            "log and audit trail, stored webhook payloads and the search indexes; the "
            "SHA-256 of the normalized URL and the dates stay. The person stays on the list: "
            "check and screen by URL or digest answer `onList: true` with the entry "
            "(`url` null, `erased` true), adding them again is a 409 `already_exists`. "
            "Connected tools get `dnc.entry.erased` (`data`: `$id`, `sha256`, `seq`) and the "
            "changes feed an `erased` change. Only a key an owner allowed to remove opt-outs "
            "may erase (else 403 `erasure_not_allowed`, whatever the id). Another team's "
            f"entry is a 404. Erasing an erased entry answers it again. {write_note}"
        ),
        "parameters": delete_op["parameters"],
        "responses": {
            "200": _ok(
                "Erased (or erased already).",
                _ref("DncEntry"),
                {
                    "error": None,
                    "data": ERASED_EXAMPLE,
                    "message": "Personal data erased; the person stays on the Do Not Contact list",
                },
            ),
            "403": _error_response(
                "This key may not erase personal data.", ["erasure_not_allowed"], limited=True
            ),
            "404": _error_response(
                "No such entry in this team's list.", ["not_found"], limited=True
            ),
            **_common_responses(limited=True, body=False),
        },
    }
    evidence_op = {
        "operationId": "getEntryEvidence",
        "tags": ["Entries"],
        "summary": "The evidence of an entry",
        "description": (
            "The entry, the whole history of the person (every change and audit event, "
            "oldest first), the receipt they were given and each connected tool's "
            "delivery with its time. Another team's entry is a 404, like an unknown id. "
            f"Counts against the list budget ({listing} per team)."
        ),
        "parameters": [
            {
                "name": "entryId",
                "in": "path",
                "required": True,
                "description": "The entry's `$id`.",
                "schema": {"type": "string"},
                "example": ENTRY_EXAMPLE["$id"],
            }
        ],
        "responses": {
            "200": _ok("The evidence.", _ref("Evidence")),
            "404": _error_response(
                "No such entry in this team's list.", ["not_found"], limited=True
            ),
            **_common_responses(limited=True, body=False),
        },
    }
    verify = {
        "operationId": "verifyKey",
        "tags": ["Keys"],
        "summary": "Check an API key",
        "description": "Answers 200 for a valid key. Not rate limited (only failed "
        "authentications are). Note: this response "
        "is not wrapped in the envelope.",
        "responses": {
            "200": {
                "description": "The key is valid.",
                "content": _json(
                    _ref("VerifyResult"), {"status": "success", "message": "API key is valid"}
                ),
            },
            **_common_responses(limited=False, body=False),
        },
    }
    document = {
        "operationId": "getOpenApiDocument",
        "tags": ["Meta"],
        "summary": "This document",
        "description": "The OpenAPI 3.1 description of the API. No authentication.",
        "security": [],
        "responses": {
            "200": {"description": "The OpenAPI document.", "content": _json({"type": "object"})}
        },
    }
    paths = {
        "/v1/dnc": {"post": add, "get": list_op},
        "/v1/dnc/screen": {"post": _screen_operation(limits["DNC_SCREEN_LIMIT"])},
        "/v1/dnc/batch": {"post": batch_op},
        "/v1/dnc/batch-delete": {"post": _batch_delete_operation(write_note, batch)},
        "/v1/dnc/check": {"get": check_op},
        "/v1/dnc/changes": {"get": changes_op},
        "/v1/dnc/{entryId}": {"delete": delete_op},
        "/v1/dnc/{entryId}/erase": {"post": erase_op},
        "/v1/dnc/{entryId}/evidence": {"get": evidence_op},
        "/v1/verify": {"get": verify},
        "/v1/openapi.json": {"get": document},
        **_webhook_operations(write, listing),
        **openapi_companies.operations(sys.modules[__name__], write, listing, BODY_ERRORS),
    }
    # Every response names its request in the logs.
    for item in paths.values():
        for operation in item.values():
            for response in operation["responses"].values():
                response.setdefault("headers", {})["X-Request-ID"] = _header_ref("X-Request-ID")
    return paths


def _webhook_operations(write: str, listing: str) -> dict:
    return openapi_webhooks.operations(sys.modules[__name__], write, listing, BODY_ERRORS)


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
    description = DESCRIPTION.format(
        write=limits["DNC_WRITE_LIMIT"],
        batch=limits["DNC_BATCH_LIMIT"],
        check=limits["DNC_CHECK_LIMIT"],
        listing=limits["DNC_LIST_LIMIT"],
        screen=limits["DNC_SCREEN_LIMIT"],
        changes=limits["DNC_CHANGES_LIMIT"],
    )
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Do Not Contact API",
            "version": API_VERSION,
            "description": description,
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "tags": [
            {"name": "Entries", "description": "The team's Do Not Contact list."},
            {"name": "Keys", "description": "API key checks."},
            {
                "name": "Webhooks",
                "description": "Signed events for every entry added or "
                "removed (Standard Webhooks).",
            },
            {
                "name": "Companies",
                "description": "Whole companies blocked by their LinkedIn page.",
            },
            {"name": "Meta", "description": "About the API itself."},
        ],
        "security": [{"bearerAuth": []}],
        "paths": _operations(limits),
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "dnc_sk_ followed by 40 letters and digits",
                    "description": "An API key created by a team member (shown once).",
                },
            },
            "schemas": _schemas(),
            "headers": _headers(),
        },
    }


_cache: dict[tuple, dict] = {}


def document_for(config: Mapping) -> dict:
    """The document for this app's limits, built once per distinct setting."""
    names = (
        "DNC_WRITE_LIMIT",
        "DNC_BATCH_LIMIT",
        "DNC_CHECK_LIMIT",
        "DNC_LIST_LIMIT",
        "DNC_SCREEN_LIMIT",
        "DNC_CHANGES_LIMIT",
    )
    key = tuple(str(config[name]) for name in names)
    if key not in _cache:
        _cache[key] = build_document(dict(zip(names, key, strict=True)))
    return _cache[key]
