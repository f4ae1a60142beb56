"""The audit trail: every change to the team's list, keys, settings and members, newest
first, read from the change log and paged by its sequence number."""

from __future__ import annotations

from flask import abort, request

from .. import changelog, entries
from ..htmx import render
from ..params import MAX_BIGINT, bounded_int
from ..roles import Role
from . import bp
from .access import requires_role
from .member import team_id

PAGE_SIZE = changelog.PAGE_SIZE


def filters_from_args() -> changelog.Filters:
    return changelog.Filters.checked(
        action=request.args.get("action", ""),
        source=request.args.get("source", "").strip().lower(),
        q=request.args.get("q", "").strip()[:entries.MAX_QUERY_LENGTH],
    )


def filter_args(filters: changelog.Filters) -> dict[str, str]:
    """The filters as query arguments (for the pager's links)."""
    return {k: v for k, v in vars(filters).items() if v}


@bp.get("/audit")
@requires_role(Role.MEMBER)
def audit():
    raw_before = request.args.get("before", "")
    before = bounded_int(raw_before, MAX_BIGINT) if raw_before else None
    if raw_before and before is None:
        abort(400, description="This page link is not valid.")
    filters = filters_from_args()
    search = changelog.Filters(filters.action, filters.source, entries.search_term(filters.q))
    page = changelog.read_page(team_id(), search, before, limit=PAGE_SIZE)
    return render("web/audit.html", "web/_audit_results.html", filters=filters,
                  filter_args=filter_args(filters), page=page, actions=changelog.Action,
                  sources=changelog.Source, before=raw_before)

