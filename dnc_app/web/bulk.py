"""Bulk add: paste or upload, preview, then one click adds them all.

The parsed list waits server-side between the two steps (see pending_uploads); the
confirmation form carries only its token.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from flask import current_app, request
from flask_login import current_user

from .. import entries, pending_uploads
from ..changelog import Source
from ..extensions import csrf
from ..htmx import render
from ..roles import Role
from . import bp, bulk_input
from .access import requires_role
from .bulk_input import MAX_ITEMS, BulkInputError, Item, items_from_csv, items_from_text
from .forms import BulkConfirmForm, BulkForm
from .limits import bulk_limit
from .member import actor, team_id

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


def tally(items: Sequence[Item], results: Sequence[entries.ItemResult], new_kind: str) -> Tally:
    """Kinds: `new_kind` ("new" in a preview, "added" after adding), "listed" (already on
    the list), "repeated" (an earlier line has the same profile) and "invalid"."""
    summary = Tally(total=len(items))
    seen: set[str] = set()
    for item, result in zip(items, results, strict=True):
        if result.status == "error":
            kind = "invalid"
        elif result.url in seen:
            kind = "repeated"
        else:
            kind = "listed" if result.status == "duplicate" else new_kind
            seen.add(result.url)
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
        raise BulkInputError(f"One upload takes at most {MAX_ITEMS:,} URLs "
                             f"(this one has {len(items):,}).")
    return items


@bp.get("/bulk")
@requires_role(Role.MEMBER)
def bulk():
    return render("web/bulk.html", form=BulkForm(formdata=None))


@bp.post("/bulk/preview")
@csrf.exempt  # checked below, once the form size limit allows a 100,000-line paste
@requires_role(Role.MEMBER)
@bulk_limit
def bulk_preview():
    # Flask keeps a form field under 500 kB by default; the whole request stays capped
    # by MAX_CONTENT_LENGTH.
    request.max_form_memory_size = current_app.config["MAX_CONTENT_LENGTH"]
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    form = BulkForm()
    try:
        items = _items(form)
    except BulkInputError as exc:
        return render("web/bulk.html", "web/_bulk_form.html", 422, form=form, error=str(exc))
    result = entries.preview_entries(team_id(), [item.raw for item in items])
    try:
        token = _stage(items)
    except pending_uploads.StagingLimitError as exc:
        return render("web/bulk.html", "web/_bulk_form.html", 422, form=form,
                      error=_over_cap_message(exc))
    return render("web/bulk.html", "web/_bulk_preview.html",
                  preview=tally(items, result.items, "new"),
                  confirm_form=BulkConfirmForm(formdata=None, token=token))


def _stage(items: list[Item]) -> str:
    return pending_uploads.stage(
        current_app.config["BULK_UPLOAD_DIR"], [i.line for i in items], [i.raw for i in items],
        team_id=team_id(), user_id=current_user.id, ttl=bulk_input.PENDING_TTL,
        max_team_bytes=current_app.config["BULK_STAGED_BYTES_PER_TEAM"])


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _over_cap_message(exc: pending_uploads.StagingLimitError) -> str:
    return (f"Your team's previews that wait for confirmation already take "
            f"{_megabytes(exc.used)} of the {_megabytes(exc.cap)} allowed, and this one "
            f"needs {_megabytes(exc.needed)}. Add or start over on a waiting preview (they "
            f"expire after an hour), or upload a smaller list. Nothing was kept.")


def _form_error(status: int, message: str):
    return render("web/bulk.html", "web/_bulk_form.html", status, form=BulkForm(formdata=None),
                  error=message)


@bp.post("/bulk/confirm")
@requires_role(Role.MEMBER)
@bulk_limit
def bulk_confirm():
    form = BulkConfirmForm()
    token = form.token.data
    if not form.validate_on_submit() or not pending_uploads.valid_token(token):
        return _form_error(400, f"This confirmation is not valid. {AGAIN}")
    taken = pending_uploads.take(current_app.config["BULK_UPLOAD_DIR"], token,
                                 team_id=team_id(), user_id=current_user.id,
                                 ttl=bulk_input.PENDING_TTL)
    if taken is None:
        return _form_error(409, EXPIRED)
    items = [Item(line, raw) for line, raw in zip(*taken, strict=True)]
    result = entries.add_entries(team_id(), [item.raw for item in items], source=Source.WEB_BULK,
                             actor=actor())
    return render("web/bulk.html", "web/_bulk_summary.html",
                  summary=tally(items, result.items, "added"))
