"""The evidence of one person's entry: what a team hands to a regulator.

The entry as it is, the whole history of the profile (every change and audit event whose
URL is the entry's or one of its aliases, oldest first: also those of an earlier entry of
the same person that was removed), the receipt the person was given, and each webhook
event about the profile with when it was delivered. One statement per part, whatever the
history's length: the entry by its id, the history on the audit index (team_id, url), and
the deliveries joined to that history inside the database (no list of numbers sent back
and forth).
"""

from __future__ import annotations

from sqlalchemy import and_, bindparam, or_, select

from dnc_app.domain.changelog import Action, SubjectType
from dnc_app.domain.entries.service import get_entry
from dnc_app.domain.timeutil import isoformat
from dnc_app.extensions import db
from dnc_app.storage.models import AuditEvent, WebhookEndpoint, WebhookMessage

_LOG = AuditEvent.__table__
_MESSAGES = WebhookMessage.__table__
_ENDPOINTS = WebhookEndpoint.__table__

_OF_PROFILE = (
    _LOG.c.team_id == bindparam("team_id"),
    # The person's URL and aliases: the history of each of their identifiers.
    _LOG.c.url.in_(bindparam("urls", expanding=True)),
    _LOG.c.subject_type == SubjectType.ENTRY.value,
)
_HISTORY = (
    select(
        _LOG.c.action,
        _LOG.c.created_at,
        _LOG.c.source,
        _LOG.c.actor_label,
        _LOG.c.reason,
        _LOG.c.reference,
        _LOG.c.subject_id,
    )
    .where(*_OF_PROFILE)
    .order_by(_LOG.c.seq)
)
# The changes that send webhook events (additions and removals) carry their `seq` in the
# outbox: the events about this profile are those with one of these numbers.
_EVENT_SEQS = select(_LOG.c.seq).where(
    *_OF_PROFILE, _LOG.c.action.in_([Action.ADD.value, Action.REMOVE.value])
)
# An event written without its number (before webhook_message.seq was filled in) is
# found by the entry's id in its stored body.
_DELIVERIES = (
    select(
        _MESSAGES.c.endpoint_id,
        _MESSAGES.c.msg_id,
        _MESSAGES.c.event_type,
        _MESSAGES.c.seq,
        _MESSAGES.c.delivered_at,
        _MESSAGES.c.attempts,
    )
    .join(_ENDPOINTS, _ENDPOINTS.c.id == _MESSAGES.c.endpoint_id)
    .where(
        _ENDPOINTS.c.team_id == bindparam("team_id"),
        or_(
            _MESSAGES.c.seq.in_(_EVENT_SEQS.scalar_subquery()),
            and_(
                _MESSAGES.c.seq.is_(None),
                _MESSAGES.c.payload.like(bindparam("id_in_body"), escape="/"),
            ),
        ),
    )
    .order_by(_MESSAGES.c.created_at, _MESSAGES.c.id)
)


def evidence_of(team_id: str, entry_id: str) -> dict | None:
    """{"entry", "history", "receipt", "deliveries"} of the team's entry; None when the
    team has no such entry (another team's id too)."""
    entry = get_entry(team_id, entry_id)
    if entry is None:
        return None
    urls = [url for url in (entry.url, *entry.alias_list) if url is not None]
    params = {"team_id": team_id, "urls": urls}
    connection = db.session.connection()
    rows = connection.execute(_HISTORY, params).all()
    # The receipt of this entry's objection: the first reference given for it.
    receipt = next(
        (
            {"reference": row.reference, "at": isoformat(row.created_at)}
            for row in rows
            if row.reference and row.subject_id == entry.id
        ),
        None,
    )
    # The id is letters, digits and "_" (LIKE's one-character wildcard, escaped).
    id_in_body = '%"$id":"' + entry.id.replace("_", "/_") + '"%'
    deliveries = connection.execute(_DELIVERIES, {**params, "id_in_body": id_in_body}).all()
    return {
        "entry": entry.to_dict(),
        "history": [
            {
                "type": row.action,
                "at": isoformat(row.created_at),
                "source": row.source,
                "actor": row.actor_label,
                "reason": row.reason,
            }
            for row in rows
        ],
        "receipt": receipt,
        "deliveries": [
            {
                "endpointId": row.endpoint_id,
                "msgId": row.msg_id,
                "eventType": row.event_type,
                "seq": row.seq,
                "deliveredAt": isoformat(row.delivered_at) if row.delivered_at else None,
                "attempts": row.attempts,
            }
            for row in deliveries
        ],
    }
