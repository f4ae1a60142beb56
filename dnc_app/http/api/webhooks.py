"""Webhook endpoints of the key's team: register, list, read, change, delete, test,
rotate the secret, the delivery log, redeliver an event, recover from the change log.
Another team's endpoint or event is a 404, like an unknown one."""

from __future__ import annotations

from flask import g, request

from dnc_app.domain.timeutil import isoformat
from dnc_app.events.webhooks import endpoints
from dnc_app.http.api import bp, cursors
from dnc_app.http.api.auth import require_api_key
from dnc_app.http.api.entries import json_object
from dnc_app.http.api.errors import InvalidParameter
from dnc_app.http.api.limits import LIST, WRITE, team_limits
from dnc_app.http.api.schemas import parse, query_source
from dnc_app.http.api.schemas.webhooks import (
    AttemptsQuery,
    WebhookRecover,
    WebhookRequest,
    WebhookUpdate,
)
from dnc_app.http.errors import envelope

_ATTEMPTS_KIND = "a1"
BAD_CURSOR = "cursor is not valid: pass the nextCursor of an earlier page"


@bp.errorhandler(endpoints.WebhookError)
def webhook_error(exc: endpoints.WebhookError):
    return envelope(exc.code, None, exc.message, exc.status)


@bp.post("/webhooks")
@require_api_key
@team_limits(WRITE)
def create_webhook():
    body = parse(WebhookRequest, json_object())
    endpoint, secret = endpoints.create_endpoint(g.team_id, body.url, body.events, body.description)
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
    # An unknown endpoint is a 404 before any other error.
    endpoints.get_endpoint(g.team_id, webhook_id)
    body = parse(WebhookUpdate, json_object())
    endpoint = endpoints.update_endpoint(
        g.team_id, webhook_id, **{name: getattr(body, name) for name in body.model_fields_set}
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
    query = parse(AttemptsQuery, query_source(request.args, AttemptsQuery))
    limit, cursor = query.limit, query.cursor
    endpoint = endpoints.get_endpoint(g.team_id, webhook_id)
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
    since = endpoints.parse_since(parse(WebhookRecover, json_object()).since)
    count = endpoints.recover(g.team_id, webhook_id, since)
    return envelope(None, {"count": count}, f"{count} events queued again for the endpoint", 202)
