"""A team's webhook endpoints: create, list, change, enable/disable, delete, rotate,
test, the delivery log, redelivery and recovery from the change log. The one way in for
the API, the pages and the CLI; knows nothing of Flask's request."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from dnc_app.domain.changelog import PROTECTED_SOURCES
from dnc_app.domain.ids import random_token
from dnc_app.domain.timeutil import isoformat, utcnow
from dnc_app.events.notifications import outbox as notifications
from dnc_app.events.webhooks import destinations, outbox, signing
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write, rows_matched
from dnc_app.storage.models import Team, WebhookAttempt, WebhookEndpoint, WebhookMessage

ENDPOINT_ID_LENGTH = 20
_ENDPOINT_ID = re.compile(rf"whk_[A-Za-z0-9]{{{ENDPOINT_ID_LENGTH}}}")
MAX_DESCRIPTION_LENGTH = 500
LOG_PAGE_SIZE = 50
MAX_LOG_PAGE = 200
# The reason the team's own "disable" leaves: not the service's doing, so no alert.
DISABLED_BY_TEAM = "Disabled by the team"


class WebhookError(Exception):
    code = "invalid_parameter"
    status = 400
    field: str | None = None  # the form field the message belongs to, if one

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidWebhookURL(WebhookError):
    code = "invalid_url"
    field = "url"


class InvalidDescription(WebhookError):
    field = "description"


class TooManyEndpoints(WebhookError):
    code = "too_many_endpoints"

    def __init__(self, limit: int):
        super().__init__(
            f"A team may have at most {limit} webhook endpoints: delete one "
            "it no longer needs first"
        )


class TooManyChanges(WebhookError):
    code = "too_many_changes"

    def __init__(self, limit: int):
        super().__init__(
            f"More than {limit} changes since then: recover from a later time, "
            "or read the changes feed (GET /v1/dnc/changes) for the rest"
        )


class EventNotFound(WebhookError):
    code = "not_found"
    status = 404

    def __init__(self):
        super().__init__("No such event for this webhook endpoint")


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
    """The API's representation of an endpoint (every route that returns one)."""
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events.split(),
        "description": endpoint.description,
        "enabled": endpoint.enabled,
        "$createdAt": isoformat(endpoint.created_at),
        "disabledReason": None if endpoint.enabled else endpoint.disabled_reason,
    }


def _allow_private() -> bool:
    return bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"])


def clean_events(events: object) -> list[str]:
    if events is None:
        return list(outbox.EVENT_TYPES)
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise WebhookError("events must be a non-empty array of event types")
    unknown = [e for e in events if e not in outbox.EVENT_TYPES][:1]
    if unknown:
        raise WebhookError(
            f"unknown event type {unknown[0][:60]!r}: use " + " or ".join(outbox.EVENT_TYPES)
        )
    return list(dict.fromkeys(events))


def _unprintable(text: str) -> bool:
    """NUL and other control characters, and lone surrogates (which cannot be encoded,
    stored or compared): refused in what is stored, one pass over the text."""
    return any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or 0xD800 <= ord(c) < 0xE000 for c in text)


def clean_description(description: object) -> str | None:
    if description is None or description == "":
        return None
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidDescription(
            f"description must be text of at most {MAX_DESCRIPTION_LENGTH} characters"
        )
    if _unprintable(description):
        raise InvalidDescription(
            "description must not contain control characters or invalid characters"
        )
    return description.strip() or None


def _clean_url(url: object) -> str:
    if isinstance(url, str) and _unprintable(url):
        raise InvalidWebhookURL(
            "url must not contain spaces, control characters or invalid characters"
        )
    try:
        return destinations.check(url, _allow_private())
    except destinations.DestinationError as exc:
        raise InvalidWebhookURL(exc.message) from None


def max_endpoints() -> int:
    return int(current_app.config["WEBHOOK_MAX_ENDPOINTS"])


def create_endpoint(
    team_id: str, url: object, events: object = None, description: object = None
) -> tuple[WebhookEndpoint, str]:
    """A new enabled endpoint and its secret (shown once). Raises WebhookError; at most
    WEBHOOK_MAX_ENDPOINTS per team, also when many are created at once."""
    # The URL last: its check resolves the name, not worth it for a refused request.
    events, description = " ".join(clean_events(events)), clean_description(description)
    url = _clean_url(url)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        id="whk_" + random_token(ENDPOINT_ID_LENGTH),
        team_id=team_id,
        url=url,
        events=events,
        description=description,
        enabled=True,
        secret=signing.encrypt(secret),
        created_at=utcnow(),
    )
    begin_write()
    _lock_team(team_id)
    limit = max_endpoints()
    if (
        db.session.scalar(
            select(func.count())
            .select_from(WebhookEndpoint)
            .where(WebhookEndpoint.team_id == team_id)
        )
        or 0
    ) >= limit:
        db.session.rollback()
        raise TooManyEndpoints(limit)
    db.session.add(endpoint)
    _note_team_webhooks(team_id)
    db.session.commit()
    return endpoint, secret


def _lock_team(team_id: str) -> None:
    """Take the team row's lock for the rest of the transaction, so that two creations
    count the team's endpoints one after the other (SQLite: SQLAlchemy leaves FOR UPDATE
    out; begin_write's lock already serializes the writes)."""
    db.session.execute(select(Team.id).where(Team.id == team_id).with_for_update())


_UNSET = object()


def update_endpoint(
    team_id: str,
    endpoint_id: str,
    *,
    url: object = _UNSET,
    events: object = _UNSET,
    description: object = _UNSET,
    enabled: object = _UNSET,
) -> WebhookEndpoint:
    """Change any of url, events, description and enabled (checked as on create; nothing
    is changed if one is refused). Enabling clears why it was disabled."""
    get_endpoint(team_id, endpoint_id)  # an unknown one is a 404 before any other error
    if enabled is not _UNSET and not isinstance(enabled, bool):
        raise WebhookError("enabled must be true or false")
    changes: dict[str, str | None] = {}
    if events is not _UNSET:
        changes["events"] = " ".join(clean_events(events))
    if description is not _UNSET:
        changes["description"] = clean_description(description)
    if url is not _UNSET:
        changes["url"] = _clean_url(url)
    endpoint = _for_update(team_id, endpoint_id)
    for name, value in changes.items():
        setattr(endpoint, name, value)
    if enabled is True:
        _enable(endpoint)
    elif enabled is False and endpoint.enabled:
        disable(endpoint, DISABLED_BY_TEAM)
    db.session.commit()
    return endpoint


def _note_team_webhooks(team_id: str) -> None:
    """Keep Team.has_webhooks true exactly when an endpoint of the team is enabled, in the
    caller's transaction. The UPDATE takes the team row's lock, which every change of the
    team's list holds while it reads the flag: a change committed after this one sees
    the endpoint, one committed before it was not meant for it."""
    db.session.flush()
    enabled = (
        select(WebhookEndpoint.id)
        .where(WebhookEndpoint.team_id == team_id, WebhookEndpoint.enabled)
        .exists()
    )
    db.session.execute(update(Team).where(Team.id == team_id).values(has_webhooks=enabled))


def list_endpoints(team_id: str) -> list[WebhookEndpoint]:
    return list(
        db.session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.team_id == team_id)
            .order_by(WebhookEndpoint.created_at)
        )
    )


def _for_update(team_id: str, endpoint_id: str) -> WebhookEndpoint:
    """Begin the write and read the endpoint again, locked until the commit: one deleted
    (or changed) meanwhile by another request is not found, never a stale write."""
    begin_write()
    endpoint = db.session.get(
        WebhookEndpoint, endpoint_id, with_for_update=True, populate_existing=True
    )
    if endpoint is None or endpoint.team_id != team_id:
        db.session.rollback()
        raise EndpointNotFound()
    return endpoint


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
    return update_endpoint(team_id, endpoint_id, enabled=enabled)


def _enable(endpoint: WebhookEndpoint) -> None:
    endpoint.enabled = True
    endpoint.disabled_reason = endpoint.disabled_at = endpoint.failing_since = None
    _note_team_webhooks(endpoint.team_id)


def disable(endpoint: WebhookEndpoint, reason: str) -> None:
    """Stop delivering to the endpoint (in the caller's transaction): its waiting events
    are cancelled, new changes write none for it. Unless the team did it, the team is
    told (a notification written in this transaction)."""
    now = utcnow()
    if reason != DISABLED_BY_TEAM:
        notifications.endpoint_disabled(endpoint.team_id, endpoint.id, reason, now)
    endpoint.enabled = False
    endpoint.disabled_reason, endpoint.disabled_at = reason, now
    db.session.execute(
        update(WebhookMessage)
        .where(
            WebhookMessage.endpoint_id == endpoint.id,
            WebhookMessage.status == "pending",
        )
        .values(status="cancelled", locked_until=None)
    )
    _note_team_webhooks(endpoint.team_id)


def rotation_overlap() -> timedelta:
    return timedelta(seconds=float(current_app.config["WEBHOOK_SECRET_OVERLAP"]))


def rotate_secret(team_id: str, endpoint_id: str) -> str:
    """A new secret; the previous one keeps signing (alongside, second) for
    WEBHOOK_SECRET_OVERLAP, so a receiver can switch without a gap."""
    get_endpoint(team_id, endpoint_id)
    secret = signing.new_secret()
    endpoint = _for_update(team_id, endpoint_id)
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_until = utcnow() + rotation_overlap()
    endpoint.secret = signing.encrypt(secret)
    db.session.commit()
    return secret


def signing_secrets(endpoint) -> list[str]:
    """The secrets that sign a delivery now: the current one, and the previous one
    during its overlap."""
    secrets = [signing.decrypt(endpoint.secret)]
    if (
        endpoint.previous_secret
        and endpoint.previous_secret_until
        and (endpoint.previous_secret_until > utcnow())
    ):
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
    payload = outbox.body(outbox.TEST_EVENT, now, {"endpointId": endpoint.id, "teamId": team_id})
    row = outbox.message_row(endpoint.id, outbox.TEST_EVENT, payload, now)
    outbox.add_messages([row])
    db.session.commit()
    return row["msg_id"]


_MSG_ID = re.compile(r"msg_[A-Za-z0-9]{1,36}")


def redeliver(team_id: str, endpoint_id: str, msg_id: str) -> None:
    """Deliver an event again, with a fresh retry schedule and the same webhook-id.
    Another endpoint's (or team's) event is not found, like an unknown one."""
    endpoint = get_endpoint(team_id, endpoint_id)
    if not isinstance(msg_id, str) or not _MSG_ID.fullmatch(msg_id):
        raise EventNotFound()
    if not endpoint.enabled:
        raise EndpointDisabled()
    begin_write()
    done = db.session.execute(
        update(WebhookMessage)
        .where(
            WebhookMessage.endpoint_id == endpoint.id,
            WebhookMessage.msg_id == msg_id,
        )
        .values(status="pending", attempts=0, next_attempt_at=utcnow(), locked_until=None)
    )
    if rows_matched(done) == 0:
        db.session.rollback()
        raise EventNotFound()
    outbox.wake_after_commit()
    db.session.commit()


def delivery_log(
    team_id: str, endpoint_id: str, limit: int = LOG_PAGE_SIZE, before: int | None = None
) -> Sequence:
    """The endpoint's attempts, newest first, `limit` of them with an id below `before`
    (keyset paging on the (endpoint, id) index), each with its event."""
    endpoint = get_endpoint(team_id, endpoint_id)
    stmt = (
        select(
            WebhookAttempt,
            WebhookMessage.msg_id,
            WebhookMessage.event_type,
            WebhookMessage.status,
            WebhookMessage.seq,
        )
        .join(WebhookMessage, WebhookMessage.id == WebhookAttempt.message_id)
        .where(WebhookAttempt.endpoint_id == endpoint.id)
    )
    if before is not None:
        stmt = stmt.where(WebhookAttempt.id < before)
    return db.session.execute(stmt.order_by(WebhookAttempt.id.desc()).limit(limit)).all()


MAX_SINCE_LENGTH = 40


def parse_since(value: object) -> datetime:
    """An ISO 8601 time (without an offset: UTC), or WebhookError invalid_parameter."""
    message = "since must be an ISO 8601 time, like 2026-11-26T10:15:30Z"
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_SINCE_LENGTH
        or not value.isascii()
    ):
        raise WebhookError(message)
    try:
        since = datetime.fromisoformat(value)
    except ValueError:
        raise WebhookError(message) from None
    return since.replace(tzinfo=UTC) if since.tzinfo is None else since.astimezone(UTC)


def recover_cap() -> int:
    return int(current_app.config["WEBHOOK_RECOVER_MAX"])


def recover(team_id: str, endpoint_id: str, since: datetime) -> int:
    """Queue again, as new events for the endpoint, every entry change of the team since
    `since` that its event types select, from the change log (so also the changes made
    while it was disabled). At most WEBHOOK_RECOVER_MAX changes a call (TooManyChanges
    beyond: nothing is queued). Returns the number of events queued."""
    endpoint = get_endpoint(team_id, endpoint_id)
    if not endpoint.enabled:
        raise EndpointDisabled()
    begin_write()
    count = outbox.enqueue_recovered(
        team_id, endpoint.id, endpoint.events.split(), since, recover_cap(), PROTECTED_SOURCES
    )
    if count is None:
        db.session.rollback()
        raise TooManyChanges(recover_cap())
    db.session.commit()
    return count


def disabled_endpoints(team_id: str) -> list[WebhookEndpoint]:
    """Endpoints the service disabled (not the team): shown on the team's pages."""
    return [
        e
        for e in list_endpoints(team_id)
        if not e.enabled and e.disabled_reason and e.disabled_reason != DISABLED_BY_TEAM
    ]
