"""Screen a prospect list: upload a CSV in any layout, see the counts, download it back
with `dnc_status` and `dnc_url` columns (or only the rows that may be contacted).

The upload is staged to a file of the member's own (screen_csv.stage); the counts and
the downloads each stream that file a chunk of rows at a time. A download is a GET of
the member's own staged file, named by an unguessable token: it changes nothing.
"""

from __future__ import annotations

from flask import Response, abort, current_app, make_response, request, stream_with_context
from flask_login import current_user

from ..extensions import csrf
from ..htmx import render
from ..roles import Role
from ..timeutil import utcnow
from . import bp, screen_csv
from .access import requires_role
from .bulk_input import BulkInputError
from .forms import ScreenForm
from .limits import bulk_limit
from .member import team_id

NO_COLUMN = ("No column with LinkedIn profile URLs was found. Choose the column that "
             "holds them.")


def _directory():
    return screen_csv.member_dir(current_app.config["BULK_UPLOAD_DIR"], team_id(),
                                 current_user.id)


def _form_error(status: int, message: str):
    return render("web/screen.html", "web/_screen_form.html", status,
                  form=ScreenForm(formdata=None), error=message)


def _chosen_column(layout: screen_csv.Layout) -> int | None:
    raw = request.values.get("column", "")
    if raw.isascii() and raw.isdigit() and int(raw) < layout.width:
        return int(raw)
    return layout.column


def _result(token: str, path, layout: screen_csv.Layout):
    column = _chosen_column(layout)
    if column is None:
        return render("web/screen.html", "web/_screen_result.html", 422, token=token,
                      layout=layout, column=None, counts=None, error=NO_COLUMN)
    counts = screen_csv.count(team_id(), path, layout, column)
    return render("web/screen.html", "web/_screen_result.html", token=token, layout=layout,
                  column=column, counts=counts)


@bp.get("/screen")
@requires_role(Role.MEMBER)
def screen():
    return render("web/screen.html", form=ScreenForm(formdata=None))


@bp.post("/screen")
@csrf.exempt  # checked below, once the larger size limit of a prospect file is set
@requires_role(Role.MEMBER)
@bulk_limit
def screen_upload():
    # The upload is spooled to disk by werkzeug and copied to the staged file a block at
    # a time, so a file larger than other forms accept costs no memory.
    request.max_content_length = current_app.config["SCREEN_MAX_CONTENT_LENGTH"]
    if current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
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
