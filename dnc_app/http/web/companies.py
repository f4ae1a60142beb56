"""The Companies page: a team's company blocks. Members and owners add (one, or many by
paste, with a preview of what is valid) and remove them; viewers read the list.

Every change goes through dnc_app.domain.companies (which writes the audit record)."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from dnc_app.domain import companies
from dnc_app.domain.changelog import Source
from dnc_app.domain.roles import Role
from dnc_app.http.params import bounded_int
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.htmx import fragment_only, is_htmx, render
from dnc_app.http.web.limits import write_limit
from dnc_app.http.web.signed_in import actor, team_id

PAGE_SIZE = 50
MAX_PAGE = 100_000
NAME_FOR_ONE = "A name is for one company: leave it empty when you paste several."
NOTHING = "Paste a LinkedIn company URL (linkedin.com/company/…), one per line."


class _Fields:
    """The add form's fields as typed (shown again when something is refused)."""

    def __init__(self, form=None):
        form = form or {}
        self.urls = form.get("urls", "")
        self.name = form.get("name", "")
        self.reason = form.get("reason", "")
        self.until = form.get("until", "")


def _page() -> int:
    raw = request.args.get("page", "")
    page = bounded_int(raw, MAX_PAGE, 1) if raw else 1
    if page is None:
        abort(400, description="This page link is not valid.")
    return page


def _context(fields: _Fields | None = None, **extra) -> dict:
    page = _page()
    blocks, total = companies.list_blocks(team_id(), limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    return {
        "fields": fields or _Fields(),
        "blocks": blocks,
        "total": total,
        "page": page,
        "has_next": page * PAGE_SIZE < total,
        "today": companies.today(),
        "max_lines": companies.MAX_PASTE_LINES,
        "max_name": companies.MAX_NAME_LENGTH,
        **extra,
    }


def _main(status: int = 200, **context):
    """The whole page, or (htmx) its main part: the form, the preview and the list."""
    return render("web/companies.html", "web/_companies_main.html", status, **context)


@bp.get("/companies")
@requires_role(Role.VIEWER)
def company_blocks():
    return _main(**_context())


def _preview(fields: _Fields) -> list[companies.PasteLine]:
    """The paste's lines, or InvalidCompanyParameter for a paste that cannot be read."""
    lines = companies.preview_lines(fields.urls)
    if not lines:
        raise companies.InvalidCompanyParameter(NOTHING)
    if fields.name.strip() and len(lines) > 1:
        raise companies.InvalidCompanyParameter(NAME_FOR_ONE)
    return lines


@bp.post("/companies/preview")
@requires_role(Role.MEMBER)
def preview_companies():
    fields = _Fields(request.form)
    try:
        companies.check_fields(fields.name, fields.reason, fields.until or None)
        lines = _preview(fields)
    except companies.InvalidCompanyParameter as exc:
        return _main(422, **_context(fields, error=exc.message))
    return _main(**_context(fields, preview=lines))


@bp.post("/companies")
@requires_role(Role.MEMBER)
@write_limit
def add_companies():
    fields = _Fields(request.form)
    try:
        lines = _preview(fields)
        done = companies.add_blocks(
            team_id(),
            lines,
            name=fields.name or None,
            reason=fields.reason or None,
            until=fields.until or None,
            source=Source.WEB,
            actor=actor(),
        )
    except companies.InvalidCompanyParameter as exc:
        return _main(422, **_context(fields, error=exc.message))
    added = [line for line in done if line.status == "added"]
    refused = [line for line in done if line.status != "added"]
    # The lines that were not added stay in the form, to fix; the rest are done.
    kept = _Fields({**request.form, "urls": "\n".join(line.input for line in refused)})
    if refused:
        kept.name = ""
    return _main(201 if added else 422, **_context(kept, done=done, added=len(added)))


def _block_or_404(block_id: str) -> companies.Block:
    block = companies.get_block(team_id(), block_id) if len(block_id) <= 40 else None
    if block is None:  # another team's block is unknown here, like a made-up id
        abort(404, description="No such company block in your team.")
    return block


@bp.get("/companies/<block_id>/remove")
@requires_role(Role.MEMBER)
def company_remove_confirm(block_id: str):
    return render(
        "web/company_remove.html",
        "web/_company_remove_row.html",
        block=_block_or_404(block_id),
        today=companies.today(),
    )


@bp.post("/companies/<block_id>/remove")
@requires_role(Role.MEMBER)
@write_limit
def remove_company(block_id: str):
    block = _block_or_404(block_id)
    companies.remove_block(team_id(), block.id, source=Source.WEB, actor=actor())
    if is_htmx():
        return render_template("web/_company_removed_row.html", block=block)
    flash(f"Unblocked {block.url.removeprefix('https://')}.", "success")
    return redirect(url_for("web.company_blocks"), 303)


@bp.get("/companies/<block_id>/row")
@requires_role(Role.VIEWER)
def company_row(block_id: str):
    return fragment_only(
        "web/_company_row.html",
        url_for("web.company_blocks"),
        block=_block_or_404(block_id),
        today=companies.today(),
    )
