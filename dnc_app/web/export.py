"""Export the team's list as CSV, streamed in keyset-paginated chunks.

At most one chunk of entries is in memory at a time, so a million entries download
without the server holding them. Each chunk is read in its own short transaction (no
snapshot is held open for the whole download); keyset pagination on the insertion
order means an entry added meanwhile is simply not in the file and none is repeated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Response, stream_with_context
from flask_login import current_user, login_required

from .. import entries
from ..extensions import db
from ..timeutil import isoformat, utcnow
from . import bp

CHUNK_SIZE = 5000
HEADER = ["url", "reason", "source", "added_by", "created_at", "id"]
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
    cursor = None
    while True:
        page = entries.list_entries(team_id, limit=chunk_size, cursor=cursor)
        db.session.commit()  # end this chunk's read transaction
        for entry in page.entries:
            writer.writerow([safe_cell(entry.url), safe_cell(entry.reason),
                             safe_cell(entry.source), safe_cell(entry.added_by),
                             isoformat(entry.created_at), entry.id])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if page.next_cursor is None:
            return
        cursor = page.next_cursor


@bp.get("/export.csv")
@login_required
def export_csv():
    team = current_user.team
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
