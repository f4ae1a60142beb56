"""The evidence of one entry on the team pages, and its JSON download (the same document
as GET /v1/dnc/<id>/evidence)."""

from __future__ import annotations

import json

from flask import Response, abort, render_template

from dnc_app.domain import entries
from dnc_app.domain.roles import Role
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.forms import AliasForm
from dnc_app.http.web.signed_in import team_id


def _evidence_or_404(entry_id: str) -> dict:
    # Another team's entry is a 404, exactly like an unknown one.
    found = entries.evidence_of(team_id(), entry_id) if len(entry_id) <= 40 else None
    if found is None:
        abort(404, description="This entry is not on your list (it may have been removed).")
    return found


@bp.get("/entries/<entry_id>/evidence")
@requires_role(Role.VIEWER)
def entry_evidence(entry_id: str):
    return evidence_page(entry_id)


def evidence_page(entry_id: str, alias_form=None, conflict=None, status: int = 200):
    """The entry's page: its evidence, its aliases and (members) the form to add some."""
    page = render_template(
        "web/evidence.html",
        evidence=_evidence_or_404(entry_id),
        entry_id=entry_id,
        alias_form=alias_form or AliasForm(formdata=None),
        conflict=conflict,
        added=False,
    )
    return page, status


@bp.get("/entries/<entry_id>/evidence.json")
@requires_role(Role.VIEWER)
def entry_evidence_json(entry_id: str):
    body = json.dumps(_evidence_or_404(entry_id), indent=2, ensure_ascii=False)
    return Response(
        body + "\n",
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="evidence-{entry_id}.json"'},
    )
