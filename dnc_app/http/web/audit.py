"""The audit trail: every change to the team's list, keys, settings and members, newest
first, read from the change log and paged by its sequence number."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, abort, request, stream_with_context
from flask_login import current_user

from dnc_app.domain import changelog, entries
from dnc_app.domain.changelog import Action, Source
from dnc_app.domain.roles import Role
from dnc_app.domain.timeutil import isoformat, utcnow
from dnc_app.http.params import MAX_BIGINT, bounded_int
from dnc_app.http.templating import actor_text
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.export import safe_cell
from dnc_app.http.web.htmx import render
from dnc_app.http.web.signed_in import actor, team_id

PAGE_SIZE = changelog.PAGE_SIZE


# Sign-ins (and failed ones) come with every working day of every member: the trail
# hides them unless asked (a checkbox, or the action filter set to one of them).
SIGN_INS = frozenset({Action.SIGNED_IN.value, Action.SIGN_IN_FAILED.value})


def filters_from_args() -> changelog.Filters:
    return changelog.Filters.checked(
        action=request.args.get("action", ""),
        source=request.args.get("source", "").strip().lower(),
        q=request.args.get("q", "").strip()[: entries.MAX_QUERY_LENGTH],
    )


def shows_sign_ins() -> bool:
    return request.args.get("signins") == "1"


def search_filters(filters: changelog.Filters) -> changelog.Filters:
    """The filters as the change log reads them: the search term in its search form, the
    sign-ins hidden unless shown."""
    return changelog.Filters(
        filters.action,
        filters.source,
        entries.search_term(filters.q),
        hidden=frozenset() if shows_sign_ins() else SIGN_INS,
    )


def filter_args(filters: changelog.Filters) -> dict[str, str]:
    """The filters as query arguments (for the pager's links)."""
    args = {
        k: v
        for k, v in (("action", filters.action), ("source", filters.source), ("q", filters.q))
        if v
    }
    return args | ({"signins": "1"} if shows_sign_ins() else {})


@bp.get("/audit")
@requires_role(Role.MEMBER)
def audit():
    raw_before = request.args.get("before", "")
    before = bounded_int(raw_before, MAX_BIGINT) if raw_before else None
    if raw_before and before is None:
        abort(400, description="This page link is not valid.")
    raw_operation = request.args.get("operation", "")
    operation = bounded_int(raw_operation, MAX_BIGINT) if raw_operation else None
    if raw_operation and operation is None:
        abort(400, description="This link to an operation is not valid.")
    filters = filters_from_args()
    search = search_filters(filters)
    page = changelog.read_page(team_id(), search, before, limit=PAGE_SIZE, operation=operation)
    args = filter_args(filters) | ({"operation": operation} if operation is not None else {})
    return render(
        "web/audit.html",
        "web/_audit_results.html",
        filters=filters,
        filter_args=args,
        page=page,
        sign_ins=shows_sign_ins(),
        actions=changelog.Action,
        sources=changelog.Source,
        before=raw_before,
        operation=operation,
    )


# --------------------------------------------------------------------------- CSV export

CSV_HEADER = [
    "seq",
    "created_at",
    "action",
    "action_label",
    "subject_type",
    "url_or_subject",
    "reason",
    "reference",
    "source",
    "source_label",
    "who",
    "operation",
]


def audit_csv_rows(team_id: str, search: changelog.Filters) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for chunk in changelog.walk_events(team_id, search):
        for event in chunk:
            subject = event.url or event.subject_label or event.subject_id
            writer.writerow(
                [
                    event.seq,
                    isoformat(event.created_at),
                    event.action,
                    Action.label_of(event.action),
                    event.subject_type,
                    safe_cell(subject),
                    safe_cell(event.reason),
                    safe_cell(event.reference),
                    event.source,
                    Source.label_of(event.source),
                    safe_cell(actor_text(event)),
                    event.operation or "",
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


@bp.get("/audit.csv")
@requires_role(Role.MEMBER)
def audit_csv():
    """The trail (with the page's filters) as CSV, streamed; the export is a change too."""
    team = current_user.team
    filters = filters_from_args()
    search = search_filters(filters)
    changelog.log_event(
        team.id,
        Action.EXPORTED,
        team.id,
        source=Source.WEB,
        actor=actor(),
        reason="Audit trail (CSV)",
    )
    filename = f"dnc-{team.slug}-audit-{utcnow():%Y-%m-%d}.csv"
    return Response(
        stream_with_context(audit_csv_rows(team.id, search)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
