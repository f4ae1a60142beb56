"""The webhook operations of the OpenAPI document (SPEC §4), and the event they send."""

from __future__ import annotations

from ..webhooks.outbox import EVENT_TYPES

WEBHOOK_ERRORS = {
    "endpoint_disabled": "The webhook endpoint is disabled (by the team, or after 410 Gone "
                         "or days of failed deliveries).",
}

ENDPOINT_EXAMPLE = {
    "id": "whk_8sKq2LmZx0VbN4tRw7Yc",
    "url": "https://crm.example.com/hooks/dnc",
    "events": list(EVENT_TYPES),
    "description": "Pause campaigns in the CRM",
    "enabled": True,
    "$createdAt": "2026-11-26T10:15:30.123Z",
}

SECRET_EXAMPLE = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

SIGNING = (
    "Each delivery is a POST with the JSON body `{\"type\", \"timestamp\", \"data\"}` (for "
    "`dnc.entry.added` / `dnc.entry.removed`, `data` is the entry as the API returns it, "
    "plus the change's `source` and `reason`; for `dnc.entry.erased`, a person's data was "
    "erased on request and the receiver should forget it too: `data` is `{\"$id\", "
    "\"sha256\", \"seq\"}`, the digest of the normalized URL, nothing else; events "
    "of that person not yet delivered go out with `url` and `reason` null) "
    "and the Standard Webhooks headers "
    "`webhook-id` (the same on every retry of one event), `webhook-timestamp` (Unix "
    "seconds) and `webhook-signature` (`v1,<base64 HMAC-SHA256 of \"{id}.{timestamp}."
    "{body}\">` keyed by the base64-decoded part of the secret after `whsec_`; during the "
    "24 hours after a secret rotation, two space-separated signatures). Delivery is at "
    "least once; retried on any non-2xx answer or time-out (`WEBHOOK_RETRY_SCHEDULE`); "
    "`410 Gone` disables the endpoint; redirects are not followed."
)


def schemas(timestamp: dict) -> dict:
    endpoint = {
        "type": "object",
        "description": "A webhook endpoint of the team.",
        "required": ["id", "url", "events", "description", "enabled", "$createdAt"],
        "properties": {
            "id": {"type": "string", "pattern": "^whk_"},
            "url": {"type": "string"},
            "events": {"type": "array", "items": {"type": "string", "enum": list(EVENT_TYPES)}},
            "description": {"type": ["string", "null"]},
            "enabled": {"type": "boolean"},
            "$createdAt": timestamp,
        },
    }
    return {
        "WebhookEndpoint": endpoint,
        "WebhookEndpointCreated": {
            **endpoint,
            "description": "The new endpoint, with its signing secret (shown this once).",
            "required": [*endpoint["required"], "secret"],
            "properties": {**endpoint["properties"],
                           "secret": {"type": "string", "pattern": "^whsec_"}},
        },
        "WebhookRequest": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "minLength": 1, "maxLength": 2048,
                        "description": "https:// (or http://) on a public address."},
                "events": {"type": "array", "minItems": 1,
                           "items": {"type": "string", "enum": list(EVENT_TYPES)},
                           "description": "Default: every event type."},
                "description": {"type": ["string", "null"], "maxLength": 500},
            },
            "example": {"url": ENDPOINT_EXAMPLE["url"], "events": ["dnc.entry.added"]},
        },
        "WebhookTestResult": {
            "type": "object",
            "required": ["id", "type"],
            "properties": {"id": {"type": "string", "description": "Its `webhook-id`."},
                           "type": {"type": "string", "const": "webhook.test"}},
        },
    }


def operations(h, write: str, listing: str, body_errors: list[str]) -> dict:
    """`h`: the openapi module (its response helpers)."""
    note = f"Counts against the team's shared write budget ({write})."
    path_id = [{"name": "webhookId", "in": "path", "required": True,
                "description": "The endpoint's `id`.", "schema": {"type": "string"},
                "example": ENDPOINT_EXAMPLE["id"]}]
    not_found = h._error_response("No such webhook endpoint in this team.", ["not_found"],
                                  limited=True)
    create = {
        "operationId": "createWebhook", "tags": ["Webhooks"],
        "summary": "Register a webhook endpoint",
        "description": ("The URL is checked now and at every delivery: private, loopback "
                        "and link-local addresses are refused. " + SIGNING + " " + note),
        "requestBody": {"required": True, "content": h._json(h._ref("WebhookRequest"))},
        "responses": {
            "201": h._ok("Created; `secret` is shown this once.",
                         h._ref("WebhookEndpointCreated"),
                         {"error": None, "data": {**ENDPOINT_EXAMPLE,
                                                  "secret": SECRET_EXAMPLE},
                          "message": "Webhook endpoint created: store the secret now, "
                                     "it is not shown again"}),
            "400": h._error_response("Invalid request.", body_errors + [
                "missing_url", "invalid_url", "invalid_parameter"], limited=True),
            **h._common_responses(limited=True, body=True),
        },
    }
    listing_op = {
        "operationId": "listWebhooks", "tags": ["Webhooks"],
        "summary": "List the team's webhook endpoints",
        "description": f"Oldest first; secrets are never listed. Limited to {listing}.",
        "responses": {
            "200": h._ok("The endpoints.", {
                "type": "object", "required": ["webhooks"],
                "properties": {"webhooks": {"type": "array",
                                            "items": h._ref("WebhookEndpoint")}}}),
            **h._common_responses(limited=True, body=False),
        },
    }
    delete = {
        "operationId": "deleteWebhook", "tags": ["Webhooks"],
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
        "operationId": "testWebhook", "tags": ["Webhooks"],
        "summary": "Send a webhook.test event",
        "description": "Queues a signed `webhook.test` event for the endpoint. " + note,
        "parameters": path_id,
        "responses": {
            "202": h._ok("Queued for delivery.", h._ref("WebhookTestResult")),
            "404": not_found,
            "409": h._error_response("The endpoint is disabled.", ["endpoint_disabled"],
                                     limited=True),
            **h._common_responses(limited=True, body=False),
        },
    }
    return {
        "/v1/webhooks": {"post": create, "get": listing_op},
        "/v1/webhooks/{webhookId}": {"delete": delete},
        "/v1/webhooks/{webhookId}/test": {"post": test},
    }
