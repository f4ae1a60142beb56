"""Screen a prospect list: upload a CSV in any layout, see the counts, download it back
with `dnc_status` and `dnc_url` columns (or only the rows that may be contacted).

The upload is staged to a file of the member's own (screen_csv.stage); the counts and
the downloads each stream that file a chunk of rows at a time. A download is a GET of
the member's own staged file, named by an unguessable token: it changes nothing.

Counting a large file takes a while, so with htmx it is made in steps of about
SCREEN_STEP_SECONDS: each answer shows the progress and asks for the next step
(/screen/<token>/progress), which any server process can take (the progress is kept
beside the staged file). Without JavaScript one request counts the whole file.
"""

from __future__ import annotations

from flask import Response, abort, current_app, make_response, request, stream_with_context
from flask_login import current_user

from ..htmx import is_htmx, render
from ..roles import Role
from ..timeutil import utcnow
from . import bp, screen_csv
from .access import requires_role
from .bulk_input import BulkInputError
from .forms import ScreenForm
from .limits import bulk_limit, large_form
from .member import team_id

NO_COLUMN = ("No column with LinkedIn profile URLs was found. Choose the column that "
             "holds them.")
GONE = ("This file is no longer here: it was replaced by a newer upload or has expired. "
        "Choose the file again.")


def _directory():
    return screen_csv.member_dir(current_app.config["BULK_UPLOAD_DIR"], team_id(),
                                 current_user.id)


def _form_error(status: int, message: str):
    return render("web/screen.html", "web/_screen_form.html", status,
                  form=ScreenForm(formdata=None), error=message)


def _chosen_column(layout: screen_csv.Layout) -> int | None:
    raw = request.values.get("column", "")
    if raw.isascii() and raw.isdigit() and len(raw) < 6 and int(raw) < layout.width:
        return int(raw)
    return layout.column


def _count(path, layout: screen_csv.Layout, progress: screen_csv.Progress
           ) -> screen_csv.Progress:
    """One step on (htmx), or to the end (a whole page), kept for the next request."""
    if not progress.done:
        seconds = current_app.config["SCREEN_STEP_SECONDS"] if is_htmx() else None
        try:
            progress = screen_csv.count_step(team_id(), path, layout, progress,
                                             seconds=seconds)
        except FileNotFoundError:  # a newer upload (another tab) took its place meanwhile
            raise BulkInputError(GONE) from None
        screen_csv.save_progress(path, progress)
    return progress


def _result(token: str, path, layout: screen_csv.Layout):
    column = _chosen_column(layout)
    if column is None:
        return render("web/screen.html", "web/_screen_result.html", 422, token=token,
                      layout=layout, column=None, counts=None, error=NO_COLUMN)
    progress = (screen_csv.load_progress(path, column)
                or screen_csv.Progress.start(path, column))
    try:
        progress = _count(path, layout, progress)
    except BulkInputError as exc:
        return _form_error(422, str(exc))
    return _shown(token, layout, progress)


def _shown(token: str, layout: screen_csv.Layout, progress: screen_csv.Progress):
    return render("web/screen.html", "web/_screen_result.html", token=token, layout=layout,
                  column=progress.column, progress=progress,
                  counts=progress.counts if progress.done else None)


@bp.get("/screen")
@requires_role(Role.MEMBER)
def screen():
    return render("web/screen.html", form=ScreenForm(formdata=None))


@bp.post("/screen")
@requires_role(Role.MEMBER)
@bulk_limit
# The upload is spooled to disk by werkzeug and copied to the staged file a block at a
# time, so a file larger than other forms accept costs no memory.
@large_form(max_content_length="SCREEN_MAX_CONTENT_LENGTH")
def screen_upload():
    form = ScreenForm()
    upload = request.files.get(form.file.name)
    if not form.validate_on_submit():
        return _form_error(400, "The form has expired. Please choose the file again.")
    if upload is None or not upload.filename:
        return _form_error(422, "Choose a CSV file of prospects.")
    try:
        token = screen_csv.stage(upload.stream, _directory())
    except BulkInputError as exc:
        return _form_error(422, str(exc))
    finally:
        upload.close()  # the request's temporary file, before the counting pass
    return _result(token, *_staged(token))


def _staged(token: str):
    """(path, layout) of the member's staged file; a 404 when there is none (another
    member's, expired, or made up), the form with the reason when it cannot be read."""
    path = screen_csv.staged_path(_directory(), token)
    if path is None:
        abort(404)
    try:
        return path, screen_csv.read_layout(path)
    except BulkInputError as exc:
        abort(make_response(*_form_error(422, str(exc))))


@bp.get("/screen/<token>")
@requires_role(Role.MEMBER)
@bulk_limit
def screen_column(token: str):
    """The counts for another column (the select of header names)."""
    return _result(token, *_staged(token))


@bp.get("/screen/<token>/progress")
@requires_role(Role.MEMBER)
def screen_progress(token: str):
    """The next step of a count that the upload or a column choice started (only those:
    so its work is bounded by theirs, and it needs no budget of its own). A count that
    is gone (a newer upload, expired, another member's) is refused with the form."""
    path = screen_csv.staged_path(_directory(), token)
    column = request.args.get("column", "")
    progress = (screen_csv.load_progress(path, int(column)) if path is not None
                and column.isascii() and column.isdigit() and len(column) < 6 else None)
    if progress is None or path is None:
        return _panel(_form_error(409, GONE))
    quarter = progress.percent // 25
    try:
        layout = screen_csv.read_layout(path)
        progress = _count(path, layout, progress)
    except BulkInputError as exc:
        return _panel(_form_error(422, str(exc)))
    if progress.done:
        return _panel(_shown(token, layout, progress))
    # Read out at each quarter, not at every step.
    return render("web/_screen_step.html", token=token, progress=progress,
                  announce=progress.percent // 25 > quarter)


def _panel(answer):
    """A step answers in place of the step; the end (or an error) replaces the panel."""
    body, status = answer
    return body, status, {"HX-Retarget": "#screen-panel", "HX-Reswap": "innerHTML"}


@bp.get("/screen/<token>/download")
@requires_role(Role.MEMBER)
@bulk_limit
def screen_download(token: str):
    path, layout = _staged(token)
    column = _chosen_column(layout)
    if column is None:
        return _form_error(422, NO_COLUMN)
    only_contactable = request.args.get("rows") == "contactable"
    suffix = "contactable" if only_contactable else "screened"
    filename = f"prospects-{suffix}-{utcnow():%Y-%m-%d}.csv"
    lines = screen_csv.csv_lines(team_id(), path, layout, column,
                                 only_contactable=only_contactable)
    return Response(stream_with_context(lines), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    })
