"""Team settings for the public opt-out page, its public link and personal links."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from .. import accounts, entries
from ..htmx import is_htmx
from ..optout import links
from ..roles import Role
from . import bp
from .access import requires_role
from .forms import PersonalLinkForm, SettingsForm
from .member import actor

# Status of an answer with a field to correct (swapped in place by the team pages' htmx).
INVALID = 422
NO_BASE_URL = ("Links need the address people reach this service at: ask the administrator "
               "to set PUBLIC_BASE_URL (e.g. https://dnc.example.com).")


def _render(settings_form: SettingsForm, link_form: PersonalLinkForm, *, status: int = 200,
            personal_link: str | None = None, link_error: str | None = None):
    team = accounts.get_team(current_user.team_id)
    context = {
        "team": team,
        "form": settings_form,
        "link_form": link_form,
        "public_url": links.public_url("optout.page", slug=team.slug),
        "personal_link": personal_link,
        "link_error": link_error,
    }
    return render_template("web/settings.html", **context), status


def _settings_form(team) -> SettingsForm:
    return SettingsForm(formdata=None, data={
        "display_name": team.display_name or "",
        "privacy_url": team.privacy_url or "",
        "optout_message": team.optout_message or "",
    })


@bp.get("/settings")
@requires_role(Role.OWNER)
def settings():
    team = accounts.get_team(current_user.team_id)
    return _render(_settings_form(team), PersonalLinkForm(formdata=None))


@bp.post("/settings")
@requires_role(Role.OWNER)
def save_settings():
    form = SettingsForm()
    if form.validate():
        try:
            accounts.update_team_settings(current_user.team_id, form.display_name.data,
                                          form.privacy_url.data, form.optout_message.data,
                                          actor=actor())
        except accounts.AccountError as exc:
            form.form_errors.append(str(exc))
        else:
            flash("Settings saved. The public page shows them now.", "success")
            # Post/redirect/get: a reload does not post the form again.
            return redirect(url_for("web.settings"), code=303)
    return _render(form, PersonalLinkForm(formdata=None), status=INVALID)


@bp.post("/settings/personal-link")
@requires_role(Role.OWNER)
def settings_personal_link():
    """Make a personal opt-out link for one profile URL (nothing is stored)."""
    team = accounts.get_team(current_user.team_id)
    form = PersonalLinkForm()
    link, error = None, None
    if not form.validate():
        error = "; ".join(e for errors in form.errors.values() for e in errors)
    elif not form.profile_url.data:
        error = "Enter a LinkedIn profile URL."
    elif links.public_base_url() is None:
        error = NO_BASE_URL
    else:
        try:
            token = links.make_token(team.slug, form.profile_url.data)
        except entries.InvalidURL as exc:
            error = entries.message_of(exc)
        else:
            link = links.public_url("optout.personal_link", slug=team.slug, token=token)
    status = INVALID if error else 200
    if is_htmx():
        # The result area only (with the reason when no link could be made).
        return render_template("web/_personal_link.html", personal_link=link,
                               link_error=error), status
    return _render(_settings_form(team), form, status=status, personal_link=link,
                   link_error=error)
