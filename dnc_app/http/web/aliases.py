"""Aliases on an entry's page (its evidence page): the person's other identifiers, and a
form to add some (members and owners; the service checks and stores them)."""

from __future__ import annotations

from flask import abort, render_template, url_for

from dnc_app.domain import entries
from dnc_app.domain.changelog import Source
from dnc_app.domain.entries import aliases
from dnc_app.domain.roles import Role
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.evidence import evidence_page
from dnc_app.http.web.forms import AliasForm
from dnc_app.http.web.htmx import is_htmx
from dnc_app.http.web.limits import write_limit
from dnc_app.http.web.signed_in import actor, team_id


@bp.post("/entries/<entry_id>/aliases", endpoint="add_aliases")
@requires_role(Role.MEMBER)
@write_limit
def post_aliases(entry_id: str):
    if len(entry_id) > 40:
        abort(404, description="This entry is not on your list (it may have been removed).")
    form = AliasForm()
    conflict = None
    if form.validate_on_submit():
        try:
            aliases.add_aliases(team_id(), entry_id, form.lines(), source=Source.WEB, actor=actor())
        except entries.EntryNotFound:
            abort(404, description="This entry is not on your list (it may have been removed).")
        except aliases.AliasConflict as exc:
            conflict = exc.entry
            form.urls.errors = [
                f"{exc.url} is already an identifier of another entry on your list."
            ]
        except entries.InvalidURL as exc:
            form.urls.errors = [_line_error(exc.reason)]
        except entries.EntryError as exc:
            form.urls.errors = [exc.message.replace("urls", "line")]
        else:
            form = AliasForm(formdata=None)
            return _answer(entry_id, form, None, 200, added=True)
    return _answer(entry_id, form, conflict, 422)


def _line_error(reason: str) -> str:
    """`urls[2]: why` as people count lines: `Line 3: why`."""
    head, _, why = reason.partition(": ")
    if head.startswith("urls[") and head.endswith("]") and head[5:-1].isdigit():
        return f"Line {int(head[5:-1]) + 1}: {why}"
    return reason


def _answer(entry_id: str, form: AliasForm, conflict, status: int, added: bool = False):
    if is_htmx():
        evidence = entries.evidence_of(team_id(), entry_id)
        if evidence is None:
            abort(404)
        return (
            render_template(
                "web/_aliases.html",
                evidence=evidence,
                entry_id=entry_id,
                alias_form=form,
                conflict=conflict,
                added=added,
            ),
            status,
        )
    if added:
        from flask import redirect

        return redirect(url_for("web.entry_evidence", entry_id=entry_id) + "#aliases", 303)
    return evidence_page(entry_id, alias_form=form, conflict=conflict, status=status)
