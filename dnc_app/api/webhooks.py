"""Webhook endpoints of the key's team: register, list, read, change, delete, test,
rotate the secret, the delivery log, redeliver an event, recover from the change log.
Another team's endpoint or event is a 404, like an unknown one."""

from __future__ import annotations

from flask import g, request

from ..errors import envelope
from ..timeutil import isoformat
from ..webhooks import endpoints
from . import bp, cursors
from .auth import require_api_key
from .entries import json_object
from .errors import ApiError, InvalidParameter
from .limits import LIST, WRITE, team_limits
from .params import int_arg

_PATCHABLE = ("url", "events", "description", "enabled")
_ATTEMPTS_KIND = "a1"
BAD_CURSOR = "cursor is not valid: pass the nextCursor of an earlier page"


@bp.errorhandler(endpoints.WebhookError)
def webhook_error(exc: endpoints.WebhookError):
    return envelope(exc.code, None, exc.message, exc.status)


@bp.post("/webhooks")
@require_api_key
@team_limits(WRITE)
def create_webhook():
    body = json_object()
    if body.get("url") in (None, ""):
        raise ApiError("missing_url", "url is required")
    endpoint, secret = endpoints.create_endpoint(
        g.team_id, body["url"], body.get("events"), body.get("description")
    )
    # The secret is in this response only.
    return envelope(
        None,
        {**endpoints.to_dict(endpoint), "secret": secret},
        "Webhook endpoint created: store the secret now, it is not shown again",
        201,
    )


@bp.get("/webhooks")
@require_api_key
@team_limits(LIST)
def list_webhooks():
    # `data` is an object, as in every envelope, holding the list.
    webhooks = [endpoints.to_dict(e) for e in endpoints.list_endpoints(g.team_id)]
    return envelope(None, {"webhooks": webhooks}, "Webhook endpoints", 200)


@bp.delete("/webhooks/<webhook_id>")
@require_api_key
@team_limits(WRITE)
def delete_webhook(webhook_id: str):
    endpoint = endpoints.delete_endpoint(g.team_id, webhook_id)
    return envelope(None, endpoints.to_dict(endpoint), "Webhook endpoint deleted", 200)


@bp.post("/webhooks/<webhook_id>/test")
@require_api_key
@team_limits(WRITE)
def test_webhook(webhook_id: str):
    msg_id = endpoints.send_test(g.team_id, webhook_id)
    return envelope(
        None, {"id": msg_id, "type": "webhook.test"}, "Test event queued for delivery", 202
    )


@bp.get("/webhooks/<webhook_id>")
@require_api_key
@team_limits(LIST)
def get_webhook(webhook_id: str):
    endpoint = endpoints.get_endpoint(g.team_id, webhook_id)
    return envelope(None, endpoints.to_dict(endpoint), "Webhook endpoint", 200)


@bp.patch("/webhooks/<webhook_id>")
@require_api_key
@team_limits(WRITE)
def update_webhook(webhook_id: str):
    body = json_object()
    unknown = [name for name in body if name not in _PATCHABLE][:1]
    if unknown or not body:
        raise InvalidParameter(
            (f"unknown field {unknown[0][:40]!r}: " if unknown else "")
            + "send any of "
            + ", ".join(_PATCHABLE)
        )
    if "url" in body and body["url"] in (None, ""):
        raise ApiError("missing_url", "url must not be empty")
    endpoint = endpoints.update_endpoint(
        g.team_id, webhook_id, **{name: body[name] for name in _PATCHABLE if name in body}
    )
    return envelope(None, endpoints.to_dict(endpoint), "Webhook endpoint updated", 200)


@bp.post("/webhooks/<webhook_id>/rotate-secret")
@require_api_key
@team_limits(WRITE)
def rotate_webhook_secret(webhook_id: str):
    secret = endpoints.rotate_secret(g.team_id, webhook_id)
    # The new secret is in this response only.
    return envelope(
        None,
        {"secret": secret},
        "Secret rotated: the previous one also signs deliveries until the overlap ends",
        200,
    )


def _attempt(row) -> dict:
    attempt, msg_id, event_type, _status, seq = row
    delivered = (
        attempt.error is None
        and attempt.status_code is not None
        and 200 <= attempt.status_code < 300
    )
    return {
        "id": str(attempt.id),
        "msgId": msg_id,
        "eventType": event_type,
        "seq": seq,
        "at": isoformat(attempt.attempted_at),
        "result": "delivered" if delivered else "failed",
        "statusCode": attempt.status_code,
        "durationMs": attempt.duration_ms,
        "error": attempt.error,
    }


@bp.get("/webhooks/<webhook_id>/attempts")
@require_api_key
@team_limits(LIST)
def list_attempts(webhook_id: str):
    limit = int_arg(
        "limit",
        endpoints.LOG_PAGE_SIZE,
        1,
        endpoints.MAX_LOG_PAGE,
        f"limit must be an integer between 1 and {endpoints.MAX_LOG_PAGE}",
    )
    endpoint = endpoints.get_endpoint(g.team_id, webhook_id)
    cursor = request.args.get("cursor") or ""
    before = None
    if cursor:
        before = cursors.decode(_ATTEMPTS_KIND, endpoint.id, cursor)
        if before is None:
            raise InvalidParameter(BAD_CURSOR)
    rows = endpoints.delivery_log(g.team_id, endpoint.id, limit + 1, before)
    page = rows[:limit]
    more = len(rows) > limit
    data = {
        "attempts": [_attempt(row) for row in page],
        "nextCursor": cursors.encode(_ATTEMPTS_KIND, endpoint.id, page[-1][0].id) if more else None,
        "hasMore": more,
    }
    return envelope(None, data, f"{len(page)} attempts", 200)


@bp.post("/webhooks/<webhook_id>/messages/<msg_id>/redeliver")
@require_api_key
@team_limits(WRITE)
def redeliver_message(webhook_id: str, msg_id: str):
    endpoints.redeliver(g.team_id, webhook_id, msg_id)
    return envelope(
        None,
        {"msgId": msg_id},
        "The event is queued to be delivered again, with the same webhook-id",
        202,
    )


@bp.post("/webhooks/<webhook_id>/recover")
@require_api_key
@team_limits(WRITE)
def recover_webhook(webhook_id: str):
    body = json_object()
    if "since" not in body:
        raise InvalidParameter("since is required: the time to recover from (ISO 8601)")
    since = endpoints.parse_since(body["since"])
    count = endpoints.recover(g.team_id, webhook_id, since)
    return envelope(None, {"count": count}, f"{count} events queued again for the endpoint", 202)
