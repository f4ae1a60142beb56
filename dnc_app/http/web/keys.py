"""API keys of the team: create (the key is shown once, in the response that made it),
list, revoke."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from dnc_app.domain.accounts.apikeys import (
    create_api_key,
    get_api_key,
    list_api_keys,
    revoke_api_key,
)
from dnc_app.domain.changelog import Source
from dnc_app.domain.roles import Role
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.forms import ApiKeyForm, ConfirmForm
from dnc_app.http.web.htmx import fragment_only, is_htmx, render
from dnc_app.http.web.signed_in import actor, team_id
from dnc_app.storage.models import ApiKey


def team_keys() -> list[ApiKey]:
    return list_api_keys(team_id())


def key_or_404(key_id: str) -> ApiKey:
    key = get_api_key(team_id(), key_id)
    if key is None:  # another team's key is unknown here, like a made-up id
        abort(404, description="No such API key in your team.")
    return key


@bp.get("/keys")
@requires_role(Role.OWNER)
def keys():
    return render("web/keys.html", form=ApiKeyForm(formdata=None), keys=team_keys())


@bp.post("/keys")
@requires_role(Role.OWNER)
def create_key():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return render("web/keys.html", "web/_key_form.html", 422, form=form, keys=team_keys())
    key, secret = create_api_key(
        team_id(),
        name=form.name.data or None,
        actor=actor(),
        source=Source.WEB,
        can_remove_optouts=form.allow_optout_removal.data,
    )
    # Rendered into this response only: never stored, never in a redirect or the session.
    context = {"form": ApiKeyForm(formdata=None), "new_key": key, "secret": secret}
    if is_htmx():
        return render_template("web/_key_created.html", **context)
    return render_template("web/keys.html", keys=team_keys(), **context)


@bp.get("/keys/<key_id>/revoke")
@requires_role(Role.OWNER)
def revoke_confirm(key_id: str):
    return render(
        "web/key_revoke.html",
        "web/_key_revoke_row.html",
        key=key_or_404(key_id),
        form=ConfirmForm(formdata=None),
    )


@bp.post("/keys/<key_id>/revoke")
@requires_role(Role.OWNER)
def revoke_key(key_id: str):
    key = key_or_404(key_id)  # CSRF was checked before the view, as for every POST
    key = revoke_api_key(team_id(), key.id, actor=actor(), source=Source.WEB)
    if is_htmx():
        # The page may still show this key's secret in its "Copy it now" panel: then the
        # answer also puts the plain form back in its place (out of band).
        clear_panel = request.form.get("shown_key") == key.id
        return render_template(
            "web/_key_revoked.html",
            key=key,
            clear_panel=clear_panel,
            form=ApiKeyForm(formdata=None),
        )
    flash(f"Revoked the key {key.prefix}…. Requests with it are refused from now on.", "success")
    return redirect(url_for("web.keys"), 303)


@bp.get("/keys/<key_id>/row")
@requires_role(Role.OWNER)
def key_row(key_id: str):
    return fragment_only("web/_key_row.html", url_for("web.keys"), key=key_or_404(key_id))
