"""A team's webhook endpoints: create, list, enable/disable, delete, rotate, test,
the delivery log and redelivery. Knows nothing of Flask's request."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ..database import begin_write
from ..extensions import db
from ..ids import random_token
from ..models import Team, WebhookAttempt, WebhookEndpoint, WebhookMessage
from ..notifications import outbox as notifications
from ..timeutil import isoformat, utcnow
from . import destinations, outbox, signing

ROTATION_OVERLAP = timedelta(hours=24)
BY_TEAM = "Disabled by the team"
ENDPOINT_ID_LENGTH = 20
_ENDPOINT_ID = re.compile(rf"whk_[A-Za-z0-9]{{{ENDPOINT_ID_LENGTH}}}")
MAX_DESCRIPTION_LENGTH = 500
LOG_PAGE_SIZE = 50


class WebhookError(Exception):
    code = "invalid_parameter"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidWebhookURL(WebhookError):
    code = "invalid_url"


class EndpointNotFound(WebhookError):
    code = "not_found"
    status = 404

    def __init__(self):
        super().__init__("Webhook endpoint not found")


class EndpointDisabled(WebhookError):
    code = "endpoint_disabled"
    status = 409

    def __init__(self):
        super().__init__("The webhook endpoint is disabled: enable it first")


def to_dict(endpoint: WebhookEndpoint) -> dict:
    """The API's representation (SPEC §4)."""
    return {"id": endpoint.id, "url": endpoint.url, "events": endpoint.events.split(),
            "description": endpoint.description, "enabled": endpoint.enabled,
            "$createdAt": isoformat(endpoint.created_at)}


def _allow_private() -> bool:
    return bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])


def _clean_events(events: object) -> list[str]:
    if events is None:
        return list(outbox.EVENT_TYPES)
    if not isinstance(events, list) or not events or not all(
            isinstance(e, str) for e in events):
        raise WebhookError("events must be a non-empty array of event types")
    unknown = [e for e in events if e not in outbox.EVENT_TYPES][:1]
    if unknown:
        raise WebhookError(f"unknown event type {unknown[0][:60]!r}: use "
                           + " or ".join(outbox.EVENT_TYPES))
    return list(dict.fromkeys(events))


def _clean_description(description: object) -> str | None:
    if description is None or description == "":
        return None
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        raise WebhookError(f"description must be text of at most "
                           f"{MAX_DESCRIPTION_LENGTH} characters")
    return description.strip() or None


def create_endpoint(team_id: str, url: object, events: object = None,
                    description: object = None) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its secret (shown once). Raises WebhookError."""
    try:
        url = destinations.check(url, _allow_private())
    except destinations.DestinationError as exc:
        raise InvalidWebhookURL(exc.message) from None
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        id="whk_" + random_token(ENDPOINT_ID_LENGTH), team_id=team_id, url=url,
        events=" ".join(_clean_events(events)), description=_clean_description(description),
        enabled=True, secret=signing.encrypt(secret), created_at=utcnow())
    begin_write()
    db.session.add(endpoint)
    _note_team_webhooks(team_id)
    db.session.commit()
    return endpoint, secret


def _note_team_webhooks(team_id: str) -> None:
    """Keep Team.has_webhooks true exactly when an endpoint of the team is enabled, in the
    caller's transaction. The UPDATE takes the team row's lock, which every change of the
    team's list holds while it reads the flag: a change committed after this one sees
    the endpoint, one committed before it was not meant for it."""
    db.session.flush()
    enabled = select(WebhookEndpoint.id).where(WebhookEndpoint.team_id == team_id,
                                               WebhookEndpoint.enabled).exists()
    db.session.execute(update(Team).where(Team.id == team_id).values(has_webhooks=enabled))


def list_endpoints(team_id: str) -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).where(
        WebhookEndpoint.team_id == team_id).order_by(WebhookEndpoint.created_at)))


def get_endpoint(team_id: str, endpoint_id: str) -> WebhookEndpoint:
    """Another team's endpoint is not found, like an unknown id."""
    if not _ENDPOINT_ID.fullmatch(endpoint_id):  # never sent to the database (NUL, …)
        raise EndpointNotFound()
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.team_id != team_id:
        raise EndpointNotFound()
    return endpoint


def delete_endpoint(team_id: str, endpoint_id: str) -> WebhookEndpoint:
    endpoint = get_endpoint(team_id, endpoint_id)
    begin_write()
    db.session.delete(endpoint)  # its outbox rows and log go with it (ON DELETE CASCADE)
    _note_team_webhooks(team_id)
    db.session.commit()
    return endpoint


def set_enabled(team_id: str, endpoint_id: str, enabled: bool) -> WebhookEndpoint:
    endpoint = get_endpoint(team_id, endpoint_id)
    begin_write()
    endpoint.enabled = enabled
    if enabled:
        endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
        _note_team_webhooks(team_id)
    else:
        disable(endpoint, BY_TEAM)
    db.session.commit()
    return endpoint


def disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop delivering to the endpoint (in the caller's transaction): its waiting events
    are cancelled, new changes write none for it. Unless the team did it, the team is
    told (a notification written in this transaction)."""
    now = utcnow()
    if reason != BY_TEAM:
        notifications.endpoint_disabled(endpoint.team_id, endpoint.id, reason, now)
    endpoint.enabled = False
    endpoint.disabled_reason, endpoint.disabled_at = reason, now
    db.session.execute(update(WebhookMessage).where(
        WebhookMessage.endpoint_id == endpoint.id, WebhookMessage.status == "pending",
    ).values(status="cancelled", locked_until=None))
    _note_team_webhooks(endpoint.team_id)


def rotate_secret(team_id: str, endpoint_id: str) -> str:
    """A new secret; the previous one keeps signing (alongside) for 24 hours."""
    endpoint = get_endpoint(team_id, endpoint_id)
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = utcnow() + ROTATION_OVERLAP
    endpoint.secret = signing.encrypt(secret)
    db.session.commit()
    return secret


def signing_secrets(endpoint) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one
    during its overlap."""
    secrets = [signing.decrypt(endpoint.secret)]
    if endpoint.previous_secret and endpoint.previous_secret_until and (
            endpoint.previous_secret_until > utcnow()):
        try:
            secrets.append(signing.decrypt(endpoint.previous_secret))
        except signing.SecretUnreadable:
            pass  # rotated because SECRET_KEY changed: only the new one can sign
    return secrets


def send_test(team_id: str, endpoint_id: str) -> str:
    """Queue a `webhook.test` event for the endpoint; returns its webhook-id."""
    endpoint = get_endpoint(team_id, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled()
    now = utcnow()
    payload = outbox.body(outbox.TEST_EVENT, now, {"endpointId": endpoint.id,
                                                  "teamId": team_id})
    row = outbox.message_row(endpoint.id, outbox.TEST_EVENT, payload, now)
    outbox.add_messages([row])
    db.session.commit()
    return row["msg_id"]


def redeliver(team_id: str, endpoint_id: str, msg_id: str) -> None:
    """Deliver an event again, with a fresh retry schedule and the same webhook-id."""
    endpoint = get_endpoint(team_id, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled()
    done = db.session.execute(update(WebhookMessage).where(
        WebhookMessage.endpoint_id == endpoint.id, WebhookMessage.msg_id == msg_id,
    ).values(status="pending", attempts=0, next_attempt_at=utcnow(), locked_until=None))
    if done.rowcount == 0:
        db.session.rollback()
        raise WebhookError("No such event for this endpoint")
    outbox.wake_after_commit()
    db.session.commit()


def delivery_log(team_id: str, endpoint_id: str, limit: int = LOG_PAGE_SIZE) -> Sequence:
    """The endpoint's latest attempts, newest first, with their event."""
    endpoint = get_endpoint(team_id, endpoint_id)
    return db.session.execute(
        select(WebhookAttempt, WebhookMessage.msg_id, WebhookMessage.event_type,
               WebhookMessage.status)
        .join(WebhookMessage, WebhookMessage.id == WebhookAttempt.message_id)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
        .order_by(WebhookAttempt.id.desc()).limit(limit)).all()


def disabled_endpoints(team_id: str) -> list[WebhookEndpoint]:
    """Endpoints the service disabled (not the team): shown on the team's pages."""
    return [e for e in list_endpoints(team_id)
            if not e.enabled and e.disabled_reason and e.disabled_reason != BY_TEAM]
