"""The webhook operations of the OpenAPI document, and the event they send."""

from __future__ import annotations

from typing import Any

from ..webhooks.endpoints import LOG_PAGE_SIZE, MAX_DESCRIPTION_LENGTH, MAX_LOG_PAGE
from ..webhooks.outbox import EVENT_TYPES

WEBHOOK_ERRORS = {
    "endpoint_disabled": "The webhook endpoint is disabled (by the team, or after 410 Gone "
    "or days of failed deliveries).",
    "too_many_endpoints": "The team has as many webhook endpoints as it may "
    "(`WEBHOOK_MAX_ENDPOINTS`, 10 by default): delete one first.",
    "too_many_changes": "More changes since `since` than one recover call queues "
    "(`WEBHOOK_RECOVER_MAX`): recover from a later time, or read the "
    "changes feed.",
}

# Text that the service refuses in a URL or description (a 400, nothing stored).
_NO_CONTROL = "Control characters (NUL included) and unpaired surrogates are refused with a 400."

ENDPOINT_EXAMPLE = {
    "id": "whk_8sKq2LmZx0VbN4tRw7Yc",
    "url": "https://crm.example.com/hooks/dnc",
    "events": list(EVENT_TYPES),
    "description": "Pause campaigns in the CRM",
    "enabled": True,
    "$createdAt": "2026-11-26T10:15:30.123Z",
    "disabledReason": None,
}

SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

SIGNING = (
    'Each delivery is a POST with the JSON body `{"type", "timestamp", "data"}` (for '
    "`dnc.entry.added` / `dnc.entry.removed`, `data` is the entry as the API returns it, "
    "plus the change's `source` and `reason`; for `dnc.entry.erased`, a person's data was "
    'erased on request and the receiver should forget it too: `data` is `{"$id", '
    '"sha256", "seq"}`, the digest of the normalized URL, nothing else; events '
    "of that person not yet delivered go out with `url` and `reason` null; for "
    "`dnc.entry.updated`, an alias was added to the entry: `data` is the entry with its "
    "`aliases`, plus `seq`) "
    "and the Standard Webhooks headers "
    "`webhook-id` (the same on every retry of one event), `webhook-timestamp` (Unix "
    'seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.'
    '{body}">` keyed by the base64-decoded part of the secret after `whsec_`; for '
    "`WEBHOOK_SECRET_OVERLAP` seconds (a day by default) after a secret rotation, two "
    "space-separated signatures, the new secret's first). `data.seq` is the team's change "
    "number, the changes feed's `seq`: a receiver that sees a gap reads the feed. "
    "Delivery is at least once (de-duplicate by `webhook-id`); retried on any non-2xx "
    "answer or time-out (`WEBHOOK_RETRY_SCHEDULE`); `410 Gone` disables the endpoint; "
    "redirects are not followed."
)


def schemas(timestamp: dict) -> dict:
    endpoint: dict[str, Any] = {
        "type": "object",
        "description": "A webhook endpoint of the team.",
        "required": [
            "id",
            "url",
            "events",
            "description",
            "enabled",
            "$createdAt",
            "disabledReason",
        ],
        "properties": {
            "id": {"type": "string", "pattern": "^whk_"},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
            "description": {"type": ["string", "null"]},
            "enabled": {"type": "boolean"},
            "$createdAt": timestamp,
            "disabledReason": {
                "type": ["string", "null"],
                "description": "Null while enabled; otherwise why it was "
                "disabled: by the team, a 410 Gone answer, or "
                "every delivery failing for "
                "`WEBHOOK_DISABLE_AFTER`.",
            },
        },
    }
    url = {
        "type": "string",
        "minLength": 1,
        "maxLength": 2048,
        "description": "https:// (or http://) on a public address: private, loopback, "
        "link-local and reserved addresses are refused, also in IPv6 forms "
        "that embed an IPv4 address (mapped, compatible, NAT64 "
        "`64:ff9b::/96`, 6to4 `2002::/16`). " + _NO_CONTROL,
    }
    events = {
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "enum": list(EVENT_TYPES)},
    }
    description = {
        "type": ["string", "null"],
        "maxLength": MAX_DESCRIPTION_LENGTH,
        "description": _NO_CONTROL,
    }
    return {
        "WebhookEndpoint": endpoint,
        "WebhookEndpointCreated": {
            **endpoint,
            "description": "The new endpoint, with its signing secret (shown this once).",
            "required": [*endpoint["required"], "secret"],
            "properties": {
                **endpoint["properties"],
                "secret": {"type": "string", "pattern": "^whsec_"},
            },
        },
        "WebhookRequest": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": url,
                "events": {**events, "description": "Default: every event type."},
                "description": description,
            },
            "example": {"url": ENDPOINT_EXAMPLE["url"], "events": ["dnc.entry.added"]},
        },
        "WebhookUpdate": {
            "type": "object",
            "description": "Any of the fields; others are refused (400 invalid_parameter). "
            "Checked as on create; a refused request changes nothing.",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {
                "url": url,
                "events": events,
                "description": description,
                "enabled": {
                    "type": "boolean",
                    "description": "`true` enables it again and clears "
                    "`disabledReason`; `false` disables it.",
                },
            },
            "example": {"enabled": True},
        },
        "WebhookSecret": {
            "type": "object",
            "required": ["secret"],
            "properties": {"secret": {"type": "string", "pattern": "^whsec_"}},
        },
        "WebhookAttempt": {
            "type": "object",
            "description": "One delivery attempt.",
            "required": [
                "id",
                "msgId",
                "eventType",
                "seq",
                "at",
                "result",
                "statusCode",
                "durationMs",
                "error",
            ],
            "properties": {
                "id": {"type": "string"},
                "msgId": {
                    "type": "string",
                    "pattern": "^msg_",
                    "description": "The event's `webhook-id`.",
                },
                "eventType": {"type": "string"},
                "seq": {
                    "type": ["integer", "null"],
                    "description": "The change number the event announces (null for "
                    "a `webhook.test`).",
                },
                "at": timestamp,
                "result": {"type": "string", "enum": ["delivered", "failed"]},
                "statusCode": {
                    "type": ["integer", "null"],
                    "description": "Null when no answer came.",
                },
                "durationMs": {"type": "integer", "minimum": 0},
                "error": {
                    "type": ["string", "null"],
                    "description": "A short reason such as `timeout`, or null.",
                },
            },
        },
        "WebhookAttemptsPage": {
            "type": "object",
            "required": ["attempts", "nextCursor", "hasMore"],
            "properties": {
                "attempts": {
                    "type": "array",
                    "items": {"$ref": "#/components/schemas/WebhookAttempt"},
                    "description": "Newest first.",
                },
                "nextCursor": {
                    "type": ["string", "null"],
                    "description": "The next (older) page's `cursor`; null on the last page.",
                },
                "hasMore": {"type": "boolean"},
            },
        },
        "WebhookRecover": {
            "type": "object",
            "required": ["since"],
            "properties": {
                "since": {
                    "type": "string",
                    "format": "date-time",
                    "maxLength": 40,
                    "description": "ISO 8601; without an offset, UTC.",
                }
            },
            "example": {"since": "2026-11-26T10:00:00Z"},
        },
        "WebhookRecovered": {
            "type": "object",
            "required": ["count"],
            "properties": {
                "count": {"type": "integer", "minimum": 0, "description": "Events queued."}
            },
        },
        "WebhookRedelivered": {
            "type": "object",
            "required": ["msgId"],
            "properties": {"msgId": {"type": "string"}},
        },
        "WebhookTestResult": {
            "type": "object",
            "required": ["id", "type"],
            "properties": {
                "id": {"type": "string", "description": "Its `webhook-id`."},
                "type": {"type": "string", "const": "webhook.test"},
            },
        },
    }


def _links() -> dict:
    """A webhook's `id` (in `data.id`) leads to its routes (fuzzers chain calls on them)."""
    names = {
        "getWebhook": "Read it",
        "updateWebhook": "Change or re-enable it",
        "deleteWebhook": "Delete it",
        "testWebhook": "Send it a test event",
        "rotateWebhookSecret": "Rotate its secret",
        "listWebhookAttempts": "Its delivery log",
        "recoverWebhook": "Queue changes again",
    }
    return {
        name: {
            "operationId": name,
            "description": text,
            "parameters": {"webhookId": "$response.body#/data/id"},
        }
        for name, text in names.items()
    }


def operations(h, write: str, listing: str, body_errors: list[str]) -> dict:
    """`h`: the openapi module (its response helpers)."""
    note = f"Counts against the team's shared write budget ({write})."
    read_note = f"Limited to {listing} per team."
    path_id = [
        {
            "name": "webhookId",
            "in": "path",
            "required": True,
            "description": "The endpoint's `id`.",
            "schema": {"type": "string"},
            "example": ENDPOINT_EXAMPLE["id"],
        }
    ]
    not_found = h._error_response(
        "No such webhook endpoint in this team (also another team's: never a 403).",
        ["not_found"],
        limited=True,
    )
    disabled = h._error_response(
        "The endpoint is disabled: enable it first.", ["endpoint_disabled"], limited=True
    )
    endpoint_ok = h._ok(
        "The endpoint.",
        h._ref("WebhookEndpoint"),
        {"error": None, "data": ENDPOINT_EXAMPLE, "message": "Webhook endpoint"},
    )
    endpoint_ok["links"] = _links()
    created = h._ok(
        "Created; `secret` is shown this once.",
        h._ref("WebhookEndpointCreated"),
        {
            "error": None,
            "data": {**ENDPOINT_EXAMPLE, "secret": SECRET_EXAMPLE},
            "message": "Webhook endpoint created: store the secret now, it is not shown again",
        },
    )
    created["links"] = _links()
    create = {
        "operationId": "createWebhook",
        "tags": ["Webhooks"],
        "summary": "Register a webhook endpoint",
        "description": (
            "The URL is checked now and at every delivery: private, loopback "
            "and link-local addresses are refused. At most "
            "`WEBHOOK_MAX_ENDPOINTS` (10 by default) per team. " + SIGNING + " " + note
        ),
        "requestBody": {"required": True, "content": h._json(h._ref("WebhookRequest"))},
        "responses": {
            "201": created,
            "400": h._error_response(
                "Invalid request, or the team has as many endpoints as it may.",
                body_errors
                + ["missing_url", "invalid_url", "invalid_parameter", "too_many_endpoints"],
                limited=True,
            ),
            **h._common_responses(limited=True, body=True),
        },
    }
    listing_op = {
        "operationId": "listWebhooks",
        "tags": ["Webhooks"],
        "summary": "List the team's webhook endpoints",
        "description": f"Oldest first; secrets are never listed. {read_note}",
        "responses": {
            "200": h._ok(
                "The endpoints.",
                {
                    "type": "object",
                    "required": ["webhooks"],
                    "properties": {
                        "webhooks": {"type": "array", "items": h._ref("WebhookEndpoint")}
                    },
                },
            ),
            **h._common_responses(limited=True, body=False),
        },
    }
    get = {
        "operationId": "getWebhook",
        "tags": ["Webhooks"],
        "summary": "Read a webhook endpoint",
        "description": f"With `disabledReason`: why it is disabled, if it is. {read_note}",
        "parameters": path_id,
        "responses": {
            "200": endpoint_ok,
            "404": not_found,
            **h._common_responses(limited=True, body=False),
        },
    }
    update = {
        "operationId": "updateWebhook",
        "tags": ["Webhooks"],
        "summary": "Change a webhook endpoint, or enable it again",
        "description": (
            "Any of `url`, `events`, `description`, `enabled`, checked as on "
            'create. `"enabled": true` re-enables an endpoint disabled by the '
            "team, by a 410 or by failing, and clears `disabledReason`; changes "
            "made while it was disabled are not sent: queue them with "
            "`recover`. " + note
        ),
        "parameters": path_id,
        "requestBody": {"required": True, "content": h._json(h._ref("WebhookUpdate"))},
        "responses": {
            "200": endpoint_ok,
            "400": h._error_response(
                "Invalid request; nothing was changed.",
                body_errors + ["missing_url", "invalid_url", "invalid_parameter"],
                limited=True,
            ),
            "404": not_found,
            **h._common_responses(limited=True, body=True),
        },
    }
    delete = {
        "operationId": "deleteWebhook",
        "tags": ["Webhooks"],
        "summary": "Delete a webhook endpoint",
        "description": "Its undelivered events and delivery log go with it. " + note,
        "parameters": path_id,
        "responses": {
            "200": h._ok("Deleted; `data` is the endpoint.", h._ref("WebhookEndpoint")),
            "404": not_found,
            **h._common_responses(limited=True, body=False),
        },
    }
    test = {
        "operationId": "testWebhook",
        "tags": ["Webhooks"],
        "summary": "Send a webhook.test event",
        "description": "Queues a signed `webhook.test` event for the endpoint. " + note,
        "parameters": path_id,
        "responses": {
            "202": h._ok("Queued for delivery.", h._ref("WebhookTestResult")),
            "404": not_found,
            "409": disabled,
            **h._common_responses(limited=True, body=False),
        },
    }
    rotate = {
        "operationId": "rotateWebhookSecret",
        "tags": ["Webhooks"],
        "summary": "Rotate the signing secret",
        "description": (
            "A new secret, shown this once. For `WEBHOOK_SECRET_OVERLAP` "
            "seconds (a day by default) every delivery carries two "
            "space-separated signatures in `webhook-signature`, the new "
            "secret's first, so a receiver switches without a gap. " + note
        ),
        "parameters": path_id,
        "responses": {
            "200": h._ok(
                "The new secret.",
                h._ref("WebhookSecret"),
                {
                    "error": None,
                    "data": {"secret": SECRET_EXAMPLE},
                    "message": "Secret rotated: the previous one also signs "
                    "deliveries until the overlap ends",
                },
            ),
            "404": not_found,
            **h._common_responses(limited=True, body=False),
        },
    }
    attempts = {
        "operationId": "listWebhookAttempts",
        "tags": ["Webhooks"],
        "summary": "The endpoint's delivery log",
        "description": f"Every attempt, newest first, a page at a time. {read_note}",
        "parameters": [
            *path_id,
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "`nextCursor` of an earlier page of this endpoint; any other "
                "value is refused (400 `invalid_parameter`).",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "maxLength": 80},
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Attempts per page, 1–{MAX_LOG_PAGE}.",
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": MAX_LOG_PAGE,
                    "default": LOG_PAGE_SIZE,
                },
            },
        ],
        "responses": {
            "200": h._ok("A page of attempts.", h._ref("WebhookAttemptsPage")),
            "400": h._error_response(
                "A bad `cursor` or `limit`.", ["invalid_parameter"], limited=True
            ),
            "404": not_found,
            **h._common_responses(limited=True, body=False),
        },
    }
    redeliver = {
        "operationId": "redeliverWebhookMessage",
        "tags": ["Webhooks"],
        "summary": "Deliver an event again",
        "description": (
            "The same event (same body, same `webhook-id`) is attempted again "
            "at once, with a fresh retry schedule. " + note
        ),
        "parameters": [
            *path_id,
            {
                "name": "msgId",
                "in": "path",
                "required": True,
                "description": "The event's `webhook-id` (`msgId` in the delivery log).",
                "schema": {"type": "string", "pattern": "^msg_[A-Za-z0-9]+$"},
            },
        ],
        "responses": {
            "202": h._ok("Queued.", h._ref("WebhookRedelivered")),
            "404": h._error_response(
                "No such endpoint in this team, or no such event of the endpoint.",
                ["not_found"],
                limited=True,
            ),
            "409": disabled,
            **h._common_responses(limited=True, body=False),
        },
    }
    recover = {
        "operationId": "recoverWebhook",
        "tags": ["Webhooks"],
        "summary": "Queue the team's changes since a time again",
        "description": (
            "Every addition and removal of the team since `since` that the "
            "endpoint's event types select is queued again as new events "
            "(from the change log, so also the changes made while the endpoint "
            "was disabled), each with its change's `seq`. At most "
            "`WEBHOOK_RECOVER_MAX` (5,000 by default) per call: beyond, 400 "
            "`too_many_changes` and nothing is queued. " + note
        ),
        "parameters": path_id,
        "requestBody": {"required": True, "content": h._json(h._ref("WebhookRecover"))},
        "responses": {
            "202": h._ok(
                "Queued.",
                h._ref("WebhookRecovered"),
                {
                    "error": None,
                    "data": {"count": 3},
                    "message": "3 events queued again for the endpoint",
                },
            ),
            "400": h._error_response(
                "`since` is missing or not an ISO 8601 time, or too many changes since then.",
                body_errors + ["invalid_parameter", "too_many_changes"],
                limited=True,
            ),
            "404": not_found,
            "409": disabled,
            **h._common_responses(limited=True, body=True),
        },
    }
    return {
        "/v1/webhooks": {"post": create, "get": listing_op},
        "/v1/webhooks/{webhookId}": {"get": get, "patch": update, "delete": delete},
        "/v1/webhooks/{webhookId}/test": {"post": test},
        "/v1/webhooks/{webhookId}/rotate-secret": {"post": rotate},
        "/v1/webhooks/{webhookId}/attempts": {"get": attempts},
        "/v1/webhooks/{webhookId}/messages/{msgId}/redeliver": {"post": redeliver},
        "/v1/webhooks/{webhookId}/recover": {"post": recover},
    }
