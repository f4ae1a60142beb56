"""Remove many entries at once: rows selected in the list (or every row of its page), or
a pasted list of URLs, then a confirmation that says how many will go and which are
people's own opt-outs, then one removal with one reason (one operation in the audit
trail). Plain form POSTs, enhanced by htmx (hx-boost)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from dnc_app.domain import entries
from dnc_app.domain.changelog import Source
from dnc_app.domain.roles import Role
from dnc_app.http.web import bp
from dnc_app.http.web.access import can, requires_role
from dnc_app.http.web.forms import ConfirmForm
from dnc_app.http.web.limits import write_limit
from dnc_app.http.web.signed_in import actor, team_id

MAX_ITEMS = 1000  # as the API's batch-delete


def _page(status: int, **context):
    # The whole page, also for htmx (hx-boost swaps the body): the steps are pages.
    return render_template("web/remove_many.html", **context), status


def _expired() -> None:
    abort(400, description="The form has expired. Reload the page and try again.")


def _chosen() -> tuple[str, list[str]]:
    """("ids" or "urls", the items) of the submitted form: the checked rows, every row of
    the page ("Remove all on this page…"), or the pasted lines."""
    if request.form.get("scope") == "page":
        return "ids", request.form.getlist("page_ids")
    if "urls" in request.form:
        return "urls", [line.strip() for line in request.form["urls"].splitlines() if line.strip()]
    return "ids", request.form.getlist("ids")


def _preview(key: str, items: list[str]) -> entries.RemovalResult:
    return entries.preview_removal(team_id(), **{key: items}, may_remove_optouts=can(Role.OWNER))


@bp.get("/entries/remove-many")
@requires_role(Role.MEMBER)
def remove_many_paste():
    return _page(200, form=ConfirmForm(), step="paste", urls="", error=None)


@bp.post("/entries/remove-many")
@requires_role(Role.MEMBER)
def remove_many_confirm():
    """The confirmation: how many, which are protected, the reason asked for."""
    form = ConfirmForm()
    if not form.validate_on_submit():
        _expired()
    key, items = _chosen()
    error = None
    if not items:
        error = (
            "Select at least one entry, or paste at least one URL."
            if key == "ids" or "urls" not in request.form
            else "Paste at least one LinkedIn URL, one a line."
        )
    elif len(items) > MAX_ITEMS:
        error = f"At most {MAX_ITEMS:,} entries can be removed at once ({len(items):,} given)."
    if error:
        step = "paste" if key == "urls" else "none"
        return _page(422, form=form, step=step, urls=request.form.get("urls", ""), error=error)
    preview = _preview(key, items)
    return _page(
        200,
        form=form,
        step="confirm",
        preview=preview,
        owner=can(Role.OWNER),
        reason="",
        error=None,
    )


@bp.post("/entries/remove-many/confirm")
@requires_role(Role.MEMBER)
@write_limit
def remove_many_done():
    form = ConfirmForm()
    if not form.validate_on_submit():
        _expired()
    ids = request.form.getlist("ids")[:MAX_ITEMS]
    reason = request.form.get("reason", "").strip()
    owner = can(Role.OWNER)
    error = None if reason else "Say why they are removed: the audit trail keeps it."
    if error is None:
        try:
            result = entries.remove_entries(
                team_id(),
                ids=ids,
                reason=reason,
                source=Source.WEB,
                actor=actor(),
                may_remove_optouts=owner,
            )
        except entries.InvalidReason as exc:
            error = exc.message
    if error is not None:
        return _page(
            422,
            form=form,
            step="confirm",
            preview=_preview("ids", ids),
            owner=owner,
            reason=reason,
            error=error,
        )
    removed, kept = result.count("removed"), result.count("protected_entry")
    gone = result.count("not_found")
    message = f"Removed {removed:,} {'entry' if removed == 1 else 'entries'}."
    if kept:
        message += (
            f" Kept {kept:,} {'opt-out' if kept == 1 else 'opt-outs'} of the people "
            "themselves (only an owner can remove those)."
        )
    if gone:
        message += f" {gone:,} were no longer on the list."
    flash(message + " The audit trail keeps the removal and its reason.", "success")
    return redirect(url_for("web.entries"), 303)
