"""Screen a prospect list: upload a CSV in any layout, see the counts, download it back
with `dnc_status` and `dnc_url` columns (or only the rows that may be contacted).

The upload is staged to a file of the member's own (screen_csv.stage); the counts and
the downloads each stream that file a chunk of rows at a time. A download is a GET of
the member's own staged file, named by an unguessable token: it changes nothing.

Counting a large file takes a while, so it is made in steps of about
SCREEN_STEP_SECONDS, with or without JavaScript: each answer shows the progress and asks
for the next step (/screen/<token>/progress; htmx at once, a page without JavaScript by
reloading itself), which any server process can take (the progress is kept beside the
staged file). No request does more than a step, so uploads cannot tie up the server.

A member's screening requests take turns (screen_csv.member_lock): a second upload waits
for the first's request to end, then replaces its file. The team's staged files stay
under SCREEN_STAGED_BYTES_PER_TEAM; a refused file is removed at once, a finished one
when its member screens another (or after STAGED_TTL, by each upload's sweep of its
team and by `flask bulk sweep`).
"""

from __future__ import annotations

from functools import wraps

from flask import (
    Response,
    abort,
    current_app,
    make_response,
    redirect,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user

from dnc_app.domain import pending_uploads
from dnc_app.domain.roles import Role
from dnc_app.domain.timeutil import utcnow
from dnc_app.http.web import bp, screen_csv
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.bulk_input import BulkInputError
from dnc_app.http.web.forms import ConfirmForm, ScreenForm
from dnc_app.http.web.htmx import is_htmx, render
from dnc_app.http.web.limits import bulk_limit, large_form
from dnc_app.http.web.signed_in import team_id

NO_COLUMN = "No column with LinkedIn profile URLs was found. Choose the column that holds them."
GONE = (
    "This file is no longer here: it was replaced by a newer upload or has expired. "
    "Choose the file again."
)
BUSY = (
    "Another file of yours is being read in another tab or window. Try again in a "
    "moment; a new upload replaces the older one."
)


def _directory():
    return pending_uploads.member_dir(
        current_app.config["BULK_UPLOAD_DIR"], team_id(), current_user.id
    )


def _locked(view):
    """The view holding the member's screening lock; a clear 409 if their previous
    request is still at work after LOCK_WAIT (each request's work is bounded)."""

    @wraps(view)
    def locked(*args, **kwargs):
        try:
            with screen_csv.member_lock(_directory()):
                return view(*args, **kwargs)
        except screen_csv.Busy:
            return _panel(_form_error(409, BUSY))

    return locked


def _form_error(status: int, message: str):
    return render(
        "web/screen.html",
        "web/_screen_form.html",
        status,
        form=ScreenForm(formdata=None),
        error=message,
    )


def _chosen_column(layout: screen_csv.Layout) -> int | None:
    raw = request.values.get("column", "")
    if raw.isascii() and raw.isdigit() and len(raw) < 6 and int(raw) < layout.width:
        return int(raw)
    return layout.column


def _count(path, layout: screen_csv.Layout, progress: screen_csv.Progress) -> screen_csv.Progress:
    """One step on (SCREEN_STEP_SECONDS, with or without htmx), kept for the next
    request. A file that cannot be read on is removed with the error."""
    if not progress.done:
        try:
            progress = screen_csv.count_step(
                team_id(), path, layout, progress, seconds=current_app.config["SCREEN_STEP_SECONDS"]
            )
        except FileNotFoundError:  # gone meanwhile (expired, or removed by hand)
            raise BulkInputError(GONE) from None
        except BulkInputError:
            screen_csv.remove_staged(path.parent)
            raise
        screen_csv.save_progress(path, progress)
    return progress


def _result(token: str, path, layout: screen_csv.Layout):
    column = _chosen_column(layout)
    if column is None:
        return render(
            "web/screen.html",
            "web/_screen_result.html",
            422,
            token=token,
            layout=layout,
            column=None,
            counts=None,
            error=NO_COLUMN,
        )
    progress = screen_csv.load_progress(path, column) or screen_csv.Progress.start(path, column)
    try:
        progress = _count(path, layout, progress)
    except BulkInputError as exc:
        return _form_error(422, str(exc))
    return _shown(token, layout, progress)


def _shown(token: str, layout: screen_csv.Layout, progress: screen_csv.Progress):
    return render(
        "web/screen.html",
        "web/_screen_result.html",
        token=token,
        layout=layout,
        column=progress.column,
        progress=progress,
        counts=progress.counts if progress.done else None,
    )


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
@_locked
def screen_upload():
    form = ScreenForm()
    upload = request.files.get(form.file.name)
    if not form.validate_on_submit():
        return _form_error(400, "The form has expired. Please choose the file again.")
    if upload is None or not upload.filename:
        return _form_error(422, "Choose a CSV file of prospects.")
    directory = _directory()
    base, team = current_app.config["BULK_UPLOAD_DIR"], team_id()
    members = screen_csv.members_of(team)
    try:
        token = screen_csv.stage(
            upload.stream,
            directory,
            cap=current_app.config["SCREEN_STAGED_BYTES_PER_TEAM"],
            used=lambda: screen_csv.sweep_team(base, team, members, skip=directory.name),
        )
    except screen_csv.StagingLimitError as exc:
        return _form_error(422, _over_cap_message(exc))
    except BulkInputError as exc:
        return _form_error(422, str(exc))
    finally:
        upload.close()  # the request's temporary file, before the counting pass
    path = screen_csv.staged_path(directory, token)
    try:
        layout = screen_csv.read_layout(path)
    except BulkInputError as exc:
        screen_csv.remove_staged(directory)  # nothing is kept of a refused file
        return _form_error(422, str(exc))
    return _result(token, path, layout)


def _over_cap_message(exc: screen_csv.StagingLimitError) -> str:
    return (
        f"Your team's files being screened already take {_megabytes(exc.used)} of the "
        f"{_megabytes(exc.cap)} allowed, and this one needs {_megabytes(exc.needed)}. "
        f"Try again when a teammate is done (a file is removed when they screen "
        f"another one or after an hour), or split the file. Nothing was kept."
    )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


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
@_locked
def screen_column(token: str):
    """The counts for another column (the select of header names)."""
    return _result(token, *_staged(token))


@bp.get("/screen/<token>/progress")
@requires_role(Role.MEMBER)
@_locked
def screen_progress(token: str):
    """The next step of a count that the upload or a column choice started (only those:
    so its work is bounded by theirs, and it needs no budget of its own). A count that
    is gone (a newer upload, expired, another member's) is refused with the form.

    htmx asks for each step from the last one's answer; without JavaScript the progress
    page reloads itself here (or its "Continue" link does), a step a request, and the
    last step's page is the result."""
    path = screen_csv.staged_path(_directory(), token)
    column = request.args.get("column", "")
    progress = (
        screen_csv.load_progress(path, int(column))
        if path is not None and column.isascii() and column.isdigit() and len(column) < 6
        else None
    )
    if progress is None or path is None:
        return _panel(_form_error(409, GONE))
    quarter = progress.percent // 25
    try:
        layout = screen_csv.read_layout(path)
        progress = _count(path, layout, progress)
    except BulkInputError as exc:
        return _panel(_form_error(422, str(exc)))
    if progress.done or not is_htmx():
        return _panel(_shown(token, layout, progress))
    # Read out at each quarter, not at every step.
    return render(
        "web/_screen_step.html",
        token=token,
        progress=progress,
        announce=progress.percent // 25 > quarter,
    )


@bp.post("/screen/<token>/done")
@requires_role(Role.MEMBER)
@_locked
def screen_done(token: str):
    """ "Screen another file": the member's staged file goes now, not after an hour."""
    if not ConfirmForm().validate_on_submit():
        return _form_error(400, "The form has expired. Choose a file to screen.")
    if screen_csv.staged_path(_directory(), token) is not None:
        screen_csv.remove_staged(_directory())
    if is_htmx():
        return render("web/_screen_form.html", form=ScreenForm(formdata=None), focus=True)
    return redirect(url_for("web.screen"), 303)


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
    lines = screen_csv.csv_lines(team_id(), path, layout, column, only_contactable=only_contactable)
    return Response(
        stream_with_context(lines),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
