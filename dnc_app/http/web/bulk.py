"""Bulk add: paste or upload, preview, then one click adds them all.

The parsed list waits server-side between the two steps (see pending_uploads); the
confirmation form carries only its token.
"""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from flask import Response, abort, current_app, request
from flask_login import current_user

from dnc_app.domain import entries, pending_uploads
from dnc_app.domain.changelog import Source
from dnc_app.domain.roles import Role
from dnc_app.http.params import bounded_int
from dnc_app.http.web import bp, bulk_input, screen_csv
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.bulk_input import (
    MAX_ITEMS,
    BulkInputError,
    Item,
    items_from_csv,
    items_from_text,
)
from dnc_app.http.web.export import safe_cell
from dnc_app.http.web.forms import BulkConfirmForm, BulkForm
from dnc_app.http.web.htmx import render
from dnc_app.http.web.limits import bulk_limit, check_limit, large_form
from dnc_app.http.web.signed_in import actor, team_id

# Rows of each kind shown in the preview and the summary; the counts cover all of them.
SAMPLE_ROWS = 20
AGAIN = "Upload the list again to see a new preview."
EXPIRED = f"This preview has expired or was already added. {AGAIN}"


@dataclass
class Tally:
    """Counts per kind, and the first SAMPLE_ROWS rows of each kind."""

    total: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[tuple[Item, entries.ItemResult]]] = field(default_factory=dict)

    def count(self, kind: str) -> int:
        return self.counts.get(kind, 0)


def kinds(
    items: Sequence[Item], results: Sequence[entries.ItemResult], new_kind: str = "new"
) -> Iterator[tuple[Item, entries.ItemResult, str]]:
    """(item, result, kind) of each line, kinds as in `tally`."""
    seen: set[str] = set()
    for item, result in zip(items, results, strict=True):
        if result.status == "error" or result.url is None:
            yield item, result, "invalid"
        elif result.url in seen:
            yield item, result, "repeated"
        else:
            seen.add(result.url)
            yield item, result, "listed" if result.status == "duplicate" else new_kind


def tally(items: Sequence[Item], results: Sequence[entries.ItemResult], new_kind: str) -> Tally:
    """Kinds: `new_kind` ("new" in a preview, "added" after adding), "listed" (already on
    the list), "repeated" (an earlier line has the same profile) and "invalid"."""
    summary = Tally(total=len(items))
    for item, result, kind in kinds(items, results, new_kind):
        summary.counts[kind] = summary.counts.get(kind, 0) + 1
        rows = summary.samples.setdefault(kind, [])
        if len(rows) < SAMPLE_ROWS:
            rows.append((item, result))
    return summary


def _items(form: BulkForm) -> list[Item]:
    items: list[Item] = []
    upload = request.files.get(form.file.name)
    if upload is not None and upload.filename:
        items.extend(items_from_csv(upload.read()))
        if not items:
            raise BulkInputError(f"No LinkedIn profile URLs found in {upload.filename}.")
    if (form.urls.data or "").strip():
        items.extend(items_from_text(form.urls.data))
    if not items:
        raise BulkInputError("Paste LinkedIn profile URLs (one per line) or choose a CSV file.")
    if len(items) > MAX_ITEMS:
        raise BulkInputError(
            f"One upload takes at most {MAX_ITEMS:,} URLs (this one has {len(items):,})."
        )
    return items


@bp.get("/bulk")
@requires_role(Role.MEMBER)
def bulk():
    return render("web/bulk.html", form=BulkForm(formdata=None))


@bp.post("/bulk/preview")
@requires_role(Role.MEMBER)
@bulk_limit
# Flask keeps a form field under 500 kB by default: a 100,000-line paste may take the
# whole request's MAX_CONTENT_LENGTH.
@large_form(max_form_memory_size="MAX_CONTENT_LENGTH")
def bulk_preview():
    form = BulkForm()
    try:
        reason = batch_reason(form.reason.data)
        items = _items(form)
    except BulkInputError as exc:
        return render("web/bulk.html", "web/_bulk_form.html", 422, form=form, error=str(exc))
    result = entries.preview_entries(team_id(), [item.raw for item in items])
    try:
        token = _stage(items)
    except pending_uploads.StagingLimitError as exc:
        return render(
            "web/bulk.html", "web/_bulk_form.html", 422, form=form, error=_over_cap_message(exc)
        )
    return render(
        "web/bulk.html",
        "web/_bulk_preview.html",
        preview=tally(items, result.items, "new"),
        reason=reason,
        confirm_form=BulkConfirmForm(formdata=None, token=token, reason=reason),
    )


def batch_reason(raw: str | None) -> str | None:
    """The batch's one reason, checked as every entry's reason is."""
    try:
        return entries.clean_reason(raw)
    except entries.InvalidReason as exc:
        raise BulkInputError(f"Reason: {exc.message}") from exc


def _stage(items: list[Item]) -> str:
    return pending_uploads.stage(
        current_app.config["BULK_UPLOAD_DIR"],
        [i.line for i in items],
        [i.raw for i in items],
        reasons=[i.reason for i in items],
        team_id=team_id(),
        user_id=current_user.id,
        ttl=bulk_input.PENDING_TTL,
        max_team_bytes=current_app.config["BULK_STAGED_BYTES_PER_TEAM"],
    )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _over_cap_message(exc: pending_uploads.StagingLimitError) -> str:
    return (
        f"Your team's previews that wait for confirmation already take "
        f"{_megabytes(exc.used)} of the {_megabytes(exc.cap)} allowed, and this one "
        f"needs {_megabytes(exc.needed)}. Add or start over on a waiting preview (they "
        f"expire after an hour), or upload a smaller list. Nothing was kept."
    )


def _form_error(status: int, message: str):
    return render(
        "web/bulk.html", "web/_bulk_form.html", status, form=BulkForm(formdata=None), error=message
    )


@bp.post("/bulk/confirm")
@requires_role(Role.MEMBER)
@bulk_limit
def bulk_confirm():
    form = BulkConfirmForm()
    token = form.token.data
    if not form.validate_on_submit() or not pending_uploads.valid_token(token):
        return _form_error(400, f"This confirmation is not valid. {AGAIN}")
    taken = pending_uploads.take(
        current_app.config["BULK_UPLOAD_DIR"],
        token,
        team_id=team_id(),
        user_id=current_user.id,
        ttl=bulk_input.PENDING_TTL,
    )
    if taken is None:
        return _form_error(409, EXPIRED)
    items = [Item(*row) for row in zip(*taken, strict=True)]
    try:
        reason = batch_reason(form.reason.data)
    except BulkInputError as exc:
        return _form_error(400, f"{exc} {AGAIN}")
    # A row's own reason (CSV `reason` column) comes first, then the batch's.
    result = entries.add_entries(
        team_id(),
        [item.raw for item in items],
        reasons=[item.reason or reason for item in items],
        source=Source.WEB_BULK,
        actor=actor(),
    )
    return render(
        "web/bulk.html",
        "web/_bulk_summary.html",
        summary=tally(items, result.items, "added"),
        not_added=_keep_not_added(items, result.items),
    )


# --------------------------------------------------------------------------- the preview's
# lines that will not be added (CSV) and its whole "new" list (paged), read from the
# waiting upload; the Done page's lines that were not added.

NEW_PAGE_SIZE = 100


def _waiting_preview() -> tuple[list[Item], list[entries.ItemResult]]:
    token = request.args.get("token", "")
    taken = pending_uploads.peek(
        current_app.config["BULK_UPLOAD_DIR"],
        token,
        team_id=team_id(),
        user_id=current_user.id,
        ttl=bulk_input.PENDING_TTL,
    )
    if taken is None:
        abort(404, description=EXPIRED)
    items = [Item(*row) for row in zip(*taken, strict=True)]
    return items, entries.preview_entries(team_id(), [i.raw for i in items]).items


# The lines not added, by what they are: an invalid line is refused (fix it and upload it
# again), a listed or repeated one is simply not needed.
LINE_STATUS = {"invalid": "invalid", "listed": "already_listed", "repeated": "repeated"}
LINE_WHY = {"listed": "Already on the list", "repeated": "Repeated in this upload"}
DOWNLOADS = {  # ?kind= of the preview's downloads: its kinds, and the file's name
    "invalid": (("invalid",), "invalid-lines.csv"),
    "skipped": (("listed", "repeated"), "already-listed-or-repeated-lines.csv"),
}
CSV_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def lines_csv(rows: Iterable[tuple[Item, entries.ItemResult, str]]) -> str:
    """line, input, status (invalid, already_listed, repeated) and why, formula-safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["line", "input", "status", "why"])
    for item, result, kind in rows:
        writer.writerow(
            [
                item.line,
                safe_cell(item.raw),
                LINE_STATUS[kind],
                safe_cell(result.error if kind == "invalid" else LINE_WHY[kind]),
            ]
        )
    return buffer.getvalue()


@bp.get("/bulk/lines.csv")
@requires_role(Role.MEMBER)
@bulk_limit
def bulk_lines_csv():
    """The preview's invalid lines (kind=invalid), or those already listed or repeated
    (kind=skipped), with why: to fix and upload again."""
    if request.args.get("kind") not in DOWNLOADS:
        abort(404)
    wanted, filename = DOWNLOADS[request.args["kind"]]
    items, results = _waiting_preview()
    body = lines_csv(row for row in kinds(items, results) if row[2] in wanted)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **CSV_HEADERS},
    )


def _not_added_dir() -> Path:
    return pending_uploads.member_dir(
        current_app.config["BULK_UPLOAD_DIR"],
        team_id(),
        current_user.id,
        area=pending_uploads.NOT_ADDED,
    )


def _keep_not_added(items: Sequence[Item], results: Sequence[entries.ItemResult]) -> str | None:
    """The lines a confirmation did not add, with why, kept for the Done page's download
    (the member's one such file, removed after an hour by the sweeps); its token."""
    rows = [row for row in kinds(items, results, "added") if row[2] != "added"]
    directory = _not_added_dir()
    screen_csv.sweep_team(
        current_app.config["BULK_UPLOAD_DIR"],
        team_id(),
        screen_csv.members_of(team_id()),
        area=pending_uploads.NOT_ADDED,
    )
    try:
        with screen_csv.member_lock(directory, wait=1):
            screen_csv.remove_staged(directory)  # the member's older one
            if not rows:
                return None
            token = secrets.token_urlsafe(24)
            (directory / f"{token}.csv").write_text(lines_csv(rows), encoding="utf-8")
    except screen_csv.Busy:  # another confirmation of theirs is writing its own
        return None
    return token


@bp.get("/bulk/not-added/<token>.csv")
@requires_role(Role.MEMBER)
@bulk_limit
def bulk_not_added_csv(token: str):
    """The Done page's download: what was not added, with why."""
    path = screen_csv.staged_path(_not_added_dir(), token)
    if path is None:
        abort(404, description="This download has expired: it is kept for an hour.")
    fh = open(path, "rb")  # noqa: SIM115  (closed by the generator, also on a disconnect)

    def blocks() -> Iterator[bytes]:
        with fh:
            while block := fh.read(screen_csv.BLOCK):
                yield block

    return Response(
        blocks(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="not-added-lines.csv"',
            **CSV_HEADERS,
        },
    )


@bp.get("/bulk/new")
@requires_role(Role.MEMBER)
@check_limit
def bulk_new():
    """Every new profile of the waiting preview, a page at a time, input beside URL."""
    items, results = _waiting_preview()
    new = [(item, result) for item, result, kind in kinds(items, results) if kind == "new"]
    pages = max(1, -(-len(new) // NEW_PAGE_SIZE))
    page = bounded_int(request.args.get("page", "1"), pages, low=1)
    if page is None:
        abort(404, description="There is no such page of this preview.")
    start = (page - 1) * NEW_PAGE_SIZE
    return render(
        "web/bulk_new.html",
        rows=new[start : start + NEW_PAGE_SIZE],
        total=len(new),
        page=page,
        pages=pages,
        first=start + 1,
        token=request.args["token"],
    )
