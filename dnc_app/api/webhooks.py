"""Webhook endpoints of the key's team: register, list, delete, test."""

from __future__ import annotations

from flask import g

from ..errors import envelope
from ..webhooks import endpoints
from . import bp
from .auth import require_api_key
from .entries import json_object
from .errors import ApiError
from .limits import LIST, WRITE, team_limits


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
        g.team_id, body["url"], body.get("events"), body.get("description"))
    # The secret is in this response only.
    return envelope(None, {**endpoints.to_dict(endpoint), "secret": secret},
                    "Webhook endpoint created: store the secret now, it is not shown again",
                    201)


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
    return envelope(None, {"id": msg_id, "type": "webhook.test"},
                    "Test event queued for delivery", 202)
