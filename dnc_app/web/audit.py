"""The audit trail: every change to the team's list and keys, newest first.

Read directly from AuditEvent (writes only ever happen in the service layer), keyset
paginated by id so that the thousandth page is as fast as the first.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import abort, request
from flask_login import login_required
from sqlalchemy import select

from ..extensions import db
from ..models import ApiKey, AuditEvent
from ..params import MAX_BIGINT, bounded_int
from . import bp
from .pages import render, search_term, team_id

PAGE_SIZE = 50
ACTIONS = {
    "add": "Added",
    "add_duplicate": "Asked again (already listed)",
    "remove": "Removed",
    "key_create": "API key created",
    "key_revoke": "API key revoked",
}
KNOWN_SOURCES = ["web", "web_bulk", "api", "optout", "cli"]


@dataclass
class AuditFilters:
    action: str = ""
    source: str = ""
    q: str = ""

    @classmethod
    def from_args(cls) -> AuditFilters:
        action = request.args.get("action", "")
        return cls(
            action=action if action in ACTIONS else "",
            source=request.args.get("source", "").strip().lower()[:20],
            q=request.args.get("q", "").strip()[:200],
        )

    def as_args(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v}


@dataclass
class AuditPage:
    events: list[AuditEvent]
    next_before: int | None
    key_prefixes: dict[str, str]


def audit_page(filters: AuditFilters, before: int | None) -> AuditPage:
    stmt = select(AuditEvent).where(AuditEvent.team_id == team_id())
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.source:
        stmt = stmt.where(AuditEvent.source == filters.source)
    if filters.q:
        escaped = (search_term(filters.q).lower()
                   .replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_"))
        stmt = stmt.where(AuditEvent.url.like(f"%{escaped}%", escape="\\"))
    if before is not None:
        stmt = stmt.where(AuditEvent.id < before)
    rows = list(db.session.execute(
        stmt.order_by(AuditEvent.id.desc()).limit(PAGE_SIZE + 1)
    ).scalars())
    events = rows[:PAGE_SIZE]
    key_ids = {e.entry_id for e in events if e.action.startswith("key_") and e.entry_id}
    prefixes = dict(db.session.execute(
        select(ApiKey.id, ApiKey.prefix).where(ApiKey.team_id == team_id(),
                                               ApiKey.id.in_(key_ids))
    ).all()) if key_ids else {}
    return AuditPage(events, events[-1].id if len(rows) > PAGE_SIZE else None, prefixes)


@bp.get("/audit")
@login_required
def audit():
    raw_before = request.args.get("before", "")
    before = bounded_int(raw_before, MAX_BIGINT) if raw_before else None
    if raw_before and before is None:
        abort(400, description="This page link is not valid.")
    filters = AuditFilters.from_args()
    page = audit_page(filters, before)
    return render("web/audit.html", "web/_audit_results.html", filters=filters, page=page,
                  actions=ACTIONS, known_sources=KNOWN_SOURCES, before=raw_before)
