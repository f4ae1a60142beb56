"""The list: browse and search, add one, check one, remove one."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from dnc_app.domain import changelog, entries
from dnc_app.domain.changelog import Source
from dnc_app.domain.entries import review
from dnc_app.domain.roles import Role
from dnc_app.extensions import db
from dnc_app.http.web import bp, chart
from dnc_app.http.web.access import can, requires_role
from dnc_app.http.web.forms import AddEntryForm, CheckForm, ConfirmForm, RemoveForm
from dnc_app.http.web.htmx import fragment_only, is_htmx, render
from dnc_app.http.web.limits import check_limit, write_limit
from dnc_app.http.web.signed_in import actor, team_id
from dnc_app.storage.models import ApiKey

PAGE_SIZE = 50
_DATE = re.compile(r"\d{4}-\d\d-\d\d")
SOURCES = frozenset(source.value for source in Source)


class FilterError(ValueError):
    """A filter of the list that cannot be read: the message says what to fix."""


def _day(raw: str, name: str) -> date | None:
    if not raw:
        return None
    try:
        if not _DATE.fullmatch(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise FilterError(f"The {name} date must be a date like 2026-01-31.") from None


def list_filter(args) -> entries.ListFilter:
    """The list's filters from the query string. Raises FilterError."""
    source = args.get("source", "")
    if source and source not in SOURCES:
        raise FilterError("Choose a source from the list.")
    first, last = _day(args.get("from", ""), "“from”"), _day(args.get("to", ""), "“to”")
    if first and last and first > last:
        raise FilterError("The “from” date is after the “to” date.")
    # Whole days in UTC, both ends included.
    until = None
    if last and last < date.max:
        until = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    since = datetime.combine(first, time(), tzinfo=UTC) if first else None
    return entries.ListFilter(
        q=entries.search_term(args.get("q", "")) or "", source=source, since=since, until=until
    )


def _page_number(raw: str | None) -> int:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 7 else 1


# The page sizes a reader may choose (the default is PAGE_SIZE).
PAGE_SIZES = (25, 50, 100, 200)


def page_size(raw: str | None) -> int:
    return int(raw) if raw in {str(size) for size in PAGE_SIZES} else PAGE_SIZE


def browse_page(
    where: entries.ListFilter, older: str | None, newer: str | None, size: int, oldest: bool = False
) -> entries.BrowsePage:
    try:
        return entries.browse(
            team_id(), where, limit=size, older_than=older, newer_than=newer, oldest=oldest
        )
    except entries.InvalidCursor:
        abort(400, description="This page link is not valid. Start again from the newest entries.")


def removable_or_403(entry: entries.Entry) -> None:
    """A person's own opt-out: only an owner removes it (a member's attempt is recorded)."""
    if entry.is_optout and not can(Role.OWNER):
        abort(
            403,
            description="This entry is the person's own opt-out: only an owner of the "
            "team can remove it.",
        )


def get_entry_or_404(entry_id: str) -> entries.Entry:
    # Another team's entry is a 404, exactly like an unknown one.
    entry = entries.get_entry(team_id(), entry_id)
    if entry is None:
        abort(404, description="This entry is not on your list (it may have been removed).")
    return entry


def team_total() -> int:
    return entries.count_entries(team_id())


def _list_url(params: dict):
    """url_for the list with the current filters, changed by `extra` (None drops one)."""

    def list_url(**extra) -> str:
        merged = {k: v for k, v in {**params, **extra}.items() if v}
        return url_for("web.entries", **merged)

    return list_url


def _results(flagged_only: bool) -> dict:
    """The context of the results: the page of entries and where it is in the list."""
    args = request.args
    older, newer = args.get("cursor") or None, args.get("newer") or None
    oldest = args.get("last") == "1" and not (older or newer)
    size = page_size(args.get("size"))
    params = {name: args.get(name, "") for name in ("q", "source", "from", "to")}
    params["size"] = str(size) if size != PAGE_SIZE else ""
    context = {
        "filters": params,
        "q": params["q"],
        "list_url": _list_url(params),
        "filter_error": None,
        "flagged_only": flagged_only,
        "cursor": older or newer,
        "oldest": oldest,
        "page_number": 1,
        "first_index": 1,
        "filtered": False,
        "page_sizes": PAGE_SIZES,
        "page_size": size,
        "default_size": PAGE_SIZE,
        "key_names": {},
    }
    if flagged_only:
        try:
            context["page"] = review.list_flagged(team_id(), limit=PAGE_SIZE, cursor=older)
        except entries.InvalidCursor:
            abort(400, description="This page link is not valid.")
        context["q"] = ""
        context["key_names"] = key_names(context["page"].entries)
        return context
    try:
        where = list_filter(args)
    except FilterError as exc:
        context["filter_error"] = str(exc)
        return context
    page = browse_page(where, older, newer, size, oldest)
    if oldest:
        # Its place is known from the count, unless the count stopped at its cap (0: unknown).
        page_number = 0 if page.more else max(1, -(-page.total // size))
        context["oldest"] = page_number != 1  # a single page is the first page
    else:
        page_number = _page_number(args.get("page")) if older or newer else 1
    context.update(
        page=page,
        page_number=page_number,
        key_names=key_names(page.entries),
        first_index=(page_number - 1) * size + 1,
        filtered=where.active,
    )
    return context


def key_names(shown) -> dict[str, str]:
    """ "Added by" of entries an API key added: the label kept with the entry ("API key"
    and the key's first characters) mapped to the key's name, read once for the page."""
    prefixes = {
        label[len("API key ") : -1]
        for label in {e.added_by for e in shown}
        if label and label.startswith("API key ") and label.endswith("…")
    }
    if not prefixes:
        return {}
    named = db.session.execute(
        select(ApiKey.prefix, ApiKey.name).where(
            ApiKey.team_id == team_id(), ApiKey.prefix.in_(prefixes)
        )
    ).all()
    return {f"API key {prefix}…": name for prefix, name in named if name}


def _dashboard_context() -> dict:
    return chart.dashboard_context(team_id())


def _list_page(form: AddEntryForm, status: int = 200, **context):
    # ?review=1: only the entries flagged for review (then without a search).
    flagged_only = request.args.get("review") == "1"
    results = _results(flagged_only)
    if results["filter_error"]:
        status = 422
    if is_htmx():
        # With the message area emptied (out of band): an "Added …" does not stay through
        # later searches and pages.
        return render_template("web/_entries_swap.html", **results), status
    flagged = review.count_flagged(team_id())
    return render_template(
        "web/entries.html",
        form=form,
        team_total=team_total(),
        flagged=flagged,
        **_dashboard_context(),
        source_choices=list(Source),
        review_form=ConfirmForm(formdata=None),
        flagged_through=review.newest_flagged_seq(team_id()) if flagged else None,
        **results,
        **context,
    ), status


def _clean_list_url() -> str | None:
    """The list's URL without its empty parameters (a GET form sends every field), or
    None when it has none: the address bar shows only the filters in use."""
    if all(request.args.values()):
        return None
    values: dict[str, Any] = {k: v for k, v in request.args.items() if v}
    return url_for("web.entries", **values)


@bp.get("/entries", endpoint="entries")
@requires_role(Role.VIEWER)
def show_list():
    clean = _clean_list_url()
    if clean and not is_htmx():
        return redirect(clean)
    body, status = _list_page(AddEntryForm(formdata=None))
    headers = {"HX-Push-Url": clean} if clean else {}
    return body, status, headers


@bp.post("/entries/reviewed")
@requires_role(Role.MEMBER)
@write_limit
def mark_reviewed():
    """Clear the review flag of the flagged entries up to the newest one the member saw."""
    through = request.form.get("through", "")
    if not ConfirmForm().validate_on_submit():
        abort(400, description="The form has expired. Reload the page and try again.")
    if not (through.isascii() and through.isdigit() and len(through) < 19):
        abort(400, description="This form is not valid. Reload the page and try again.")
    cleared = review.mark_reviewed(team_id(), int(through), actor=actor(), source=Source.WEB)
    flash(f"Marked {cleared:,} {'entry' if cleared == 1 else 'entries'} as reviewed.", "success")
    return redirect(url_for("web.entries"), 303)


# --------------------------------------------------------------------------- add


@bp.post("/entries", endpoint="add_entry")
@requires_role(Role.MEMBER)
@write_limit
def post_entry():
    form = AddEntryForm()
    duplicate = None
    if form.validate_on_submit():
        try:
            entry = entries.add_entry(
                team_id(),
                form.url.data,
                reason=form.reason.data or None,
                source=Source.WEB,
                actor=actor(),
            )
        except entries.AlreadyListed as exc:
            duplicate = exc.entry  # shown as information, not as an error
        except entries.InvalidURL as exc:
            form.url.errors.append(f"{exc.reason}.")
        except entries.InvalidReason as exc:
            form.reason.errors.append(exc.message)
        else:
            if is_htmx():
                # A fresh form, plus the new row at the top of the list (out of band).
                return render_template(
                    "web/_add_done.html",
                    form=AddEntryForm(formdata=None),
                    added=entry,
                    team_total=team_total(),
                    **_dashboard_context(),
                )
            flash(f"Added {entry.url} to the list.", "success")
            return redirect(url_for("web.entries"), 303)
    if is_htmx():
        # The panel, and an empty message area: an earlier "Added …" must not stay.
        return render_template("web/_add_refused.html", form=form, duplicate=duplicate), 422
    return _list_page(form, 422, duplicate=duplicate)


@bp.post("/entries/validate")
@requires_role(Role.VIEWER)
@check_limit
def validate_url():
    """Inline validation while typing: the stored form of the URL, or why it is refused."""
    raw = (request.form.get("url") or "").strip()
    context: dict = {"raw": raw}
    if raw:
        try:
            context["normalized"] = entries.normalize(raw)
        except entries.InvalidURL as exc:
            context["invalid"] = exc.reason
        else:
            context["existing"] = entries.find_by_url(team_id(), raw)
    return render_template("web/_url_feedback.html", **context)


# --------------------------------------------------------------------------- check


@bp.route("/check", methods=["GET", "POST"])
@requires_role(Role.VIEWER)
@check_limit
def check():
    form = CheckForm() if request.method == "POST" else CheckForm(formdata=None)
    result = None
    status = 200
    if form.validate_on_submit():
        try:
            entry = entries.find_by_url(team_id(), form.url.data)
            url = entries.normalize(form.url.data)
            # Not listed: it may have been, and removed (by whom, why).
            history = [] if entry else changelog.history_of(team_id(), url)
            result = {"url": url, "entry": entry, "history": history}
        except entries.InvalidURL as exc:
            form.url.errors.append(f"{exc.reason}.")
            status = 422
    elif request.method == "POST":
        status = 422
    return render("web/check.html", "web/_check_panel.html", status, form=form, result=result)


# --------------------------------------------------------------------------- remove


@bp.get("/entries/<entry_id>/remove")
@requires_role(Role.MEMBER)
def remove_confirm(entry_id: str):
    entry = get_entry_or_404(entry_id)
    removable_or_403(entry)
    return render(
        "web/remove.html", "web/_remove_row.html", entry=entry, form=RemoveForm(formdata=None)
    )


@bp.post("/entries/<entry_id>/remove", endpoint="remove_entry")
@requires_role(Role.MEMBER)
@write_limit
def post_removal(entry_id: str):
    entry = get_entry_or_404(entry_id)
    form = RemoveForm()
    owner = can(Role.OWNER)
    # Not an owner: a protected entry's removal goes to the service, which records the
    # refused attempt, whatever the form holds.
    if form.validate_on_submit() or (entry.is_optout and not owner):
        try:
            entries.remove_entry(
                team_id(),
                entry_id,
                reason=form.reason.data,
                source=Source.WEB,
                actor=actor(),
                may_remove_optouts=owner,
            )
        except entries.ProtectedEntry:
            removable_or_403(entry)
        except entries.EntryNotFound:
            abort(
                404,
                description="This entry is not on your list (it may have been removed already).",
            )
        except entries.InvalidReason as exc:
            form.reason.errors.append(exc.message)
        else:
            if is_htmx():
                return render_template(
                    "web/_removed_row.html",
                    entry=entry,
                    team_total=team_total(),
                    **_dashboard_context(),
                )
            flash(
                f"Removed {entry.url}. The audit trail keeps the removal and its reason.", "success"
            )
            return redirect(url_for("web.entries"), 303)
    return render("web/remove.html", "web/_remove_row.html", 422, entry=entry, form=form)


# --------------------------------------------------------------------------- erase


@bp.get("/entries/<entry_id>/erase")
@requires_role(Role.OWNER)
def erase_confirm(entry_id: str):
    entry = get_entry_or_404(entry_id)
    return render_template("web/erase.html", entry=entry, form=ConfirmForm(formdata=None))


@bp.post("/entries/<entry_id>/erase", endpoint="erase_entry")
@requires_role(Role.OWNER)
@write_limit
def post_erasure(entry_id: str):
    """An owner erases a person's data; the person stays on the list (entries.erase_entry)."""
    entry = get_entry_or_404(entry_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        return render_template("web/erase.html", entry=entry, form=form), 422
    try:
        erased = entries.erase_entry(team_id(), entry_id, source=Source.WEB, actor=actor())
    except entries.EntryNotFound:
        abort(404, description="This entry is not on your list (it may have been removed).")
    return render_template("web/erase.html", entry=erased, form=form, done=True)


@bp.get("/entries/<entry_id>/row")
@requires_role(Role.VIEWER)
def entry_row(entry_id: str):
    """One row of the list (htmx puts it back when a removal is cancelled)."""
    entry = get_entry_or_404(entry_id)
    # The row comes back after a Cancel: the focus goes to its actions (app.js).
    return fragment_only(
        "web/_entry_row.html",
        url_for("web.entries", q=entry.url),
        entry=entry,
        focus_actions=True,
        key_names=key_names([entry]),
    )
