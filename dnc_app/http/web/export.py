"""Export the team's list as CSV, streamed a chunk of entries at a time.

At most one chunk of entries is in memory at a time, so a million entries download
without the server holding them (see entries.walk_entries). Each export is recorded in
the change log: who took a copy of the list, and when.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, stream_with_context
from flask_login import current_user

from dnc_app.domain import changelog, entries
from dnc_app.domain.changelog import Action, Source
from dnc_app.domain.roles import Role
from dnc_app.domain.timeutil import isoformat, utcnow
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.signed_in import actor

CHUNK_SIZE = 5000
# `aliases`: the person's other identifiers, space-separated (a URL has no space), last so
# that the earlier columns stay where readers of older exports find them.
HEADER = ["url", "reason", "source", "added_by", "created_at", "id", "source_label", "aliases"]
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> str:
    """The cell as text; a leading quote keeps spreadsheets from running it as a formula."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_rows(team_id: str, chunk_size: int = CHUNK_SIZE) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for chunk in entries.walk_entries(team_id, chunk_size):
        for entry in chunk:
            writer.writerow(
                [
                    safe_cell(entry.url),
                    safe_cell(entry.reason),
                    safe_cell(entry.source),
                    safe_cell(entry.added_by),
                    isoformat(entry.created_at),
                    entry.id,
                    Source.label_of(entry.source),
                    safe_cell(" ".join(entry.alias_list)),
                ]
            )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


@bp.get("/export.csv")
@requires_role(Role.MEMBER)
def export_csv():
    team = current_user.team
    changelog.log_event(team.id, Action.EXPORTED, team.id, source=Source.WEB, actor=actor())
    filename = f"dnc-{team.slug}-{utcnow():%Y-%m-%d}.csv"
    return Response(
        stream_with_context(csv_rows(team.id)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
