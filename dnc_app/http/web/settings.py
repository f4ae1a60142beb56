"""Team settings for the public opt-out page (its text, its look), its public link and
personal links."""

from __future__ import annotations

import io

from flask import current_app, flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

from dnc_app.domain import branding, entries
from dnc_app.domain.accounts import AccountError
from dnc_app.domain.accounts.teams import get_team, update_team_settings
from dnc_app.domain.roles import Role
from dnc_app.events.webhooks import destinations, signing
from dnc_app.extensions import csrf, db
from dnc_app.http.optout import links
from dnc_app.http.optout.strings import LANGUAGE_NAMES, t
from dnc_app.http.security import PREVIEW_IMAGES_POLICY
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.forms import (
    LANGUAGE_CHOICES,
    ChatWebhookForm,
    LookForm,
    PersonalLinkForm,
    SettingsForm,
)
from dnc_app.http.web.htmx import is_htmx
from dnc_app.http.web.signed_in import actor
from dnc_app.storage.database import begin_write

# Status of an answer with a field to correct (swapped in place by the team pages' htmx).
INVALID = 422
NO_BASE_URL = (
    "Links need the address people reach this service at: ask the administrator "
    "to set PUBLIC_BASE_URL (e.g. https://dnc.example.com)."
)


# The logo's form: the file and a few fields; a larger body is refused before it is read.
LOOK_MAX_CONTENT_LENGTH = branding.MAX_LOGO_BYTES + 16 * 1024
LOOK_SAVED = "Saved. The public page shows its new look now."


def _render(
    settings_form: SettingsForm,
    link_form: PersonalLinkForm,
    *,
    status: int = 200,
    personal_link: str | None = None,
    link_error: str | None = None,
    look_form: LookForm | None = None,
    look_errors: dict | None = None,
    accent_hex: str | None = None,
    chat_form: ChatWebhookForm | None = None,
):
    team = get_team(current_user.team_id)
    assert team is not None  # the signed-in member's own team
    look = branding.look_of(team.id)
    accent = (look.accent if look else None) or branding.DEFAULT_ACCENT
    context = {
        "team": team,
        "form": settings_form,
        "link_form": link_form,
        "public_url": links.public_url("optout.page", slug=team.slug),
        "personal_link": personal_link,
        "link_error": link_error,
        "look": look,
        "theme": branding.theme_for(accent),
        "look_form": look_form or LookForm(formdata=None, accent_color=accent),
        "look_errors": look_errors or {},
        "accent_hex": accent_hex,  # a refused hex code, shown as sent
        "max_logo_kib": branding.MAX_LOGO_BYTES // 1024,
        # The preview shows the public page's own words.
        "preview_heading": t("heading", team=team.public_name),
        "preview_link": t("privacy_link", team=team.public_name),
        "preview_button": t("submit"),
        "chat_form": chat_form or ChatWebhookForm(formdata=None),
        "chat_host": _chat_host(team),
        "installation_language": current_app.config["OPTOUT_LANGUAGE"],
        "language_names": LANGUAGE_NAMES,
        "language_choices": LANGUAGE_CHOICES,
    }
    response = make_response(render_template("web/settings.html", **context), status)
    # The live preview shows a chosen logo before it is uploaded (a blob: URL).
    response.headers["Content-Security-Policy"] = PREVIEW_IMAGES_POLICY
    return response


def _settings_form(team) -> SettingsForm:
    return SettingsForm(
        formdata=None,
        data={
            "display_name": team.display_name or "",
            "privacy_url": team.privacy_url or "",
            "optout_message": team.optout_message or "",
            "optout_language": team.optout_language or "",
        },
    )


@bp.get("/settings")
@requires_role(Role.OWNER)
def settings():
    team = get_team(current_user.team_id)
    return _render(_settings_form(team), PersonalLinkForm(formdata=None))


@bp.post("/settings")
@requires_role(Role.OWNER)
def save_settings():
    form = SettingsForm()
    if form.validate():
        try:
            update_team_settings(
                current_user.team_id,
                form.display_name.data,
                form.privacy_url.data,
                form.optout_message.data,
                optout_language=form.optout_language.data,
                actor=actor(),
            )
        except AccountError as exc:
            form.form_errors.append(str(exc))
        else:
            flash("Settings saved. The public page shows them now.", "success")
            # Post/redirect/get: a reload does not post the form again.
            return redirect(url_for("web.settings"), code=303)
    return _render(form, PersonalLinkForm(formdata=None), status=INVALID)


def _chat_host(team) -> str | None:
    """The host of the team's chat webhook (the rest of its URL is its secret)."""
    if not team.chat_webhook_url:
        return None
    try:
        return destinations.parse(signing.decrypt(team.chat_webhook_url)).host
    except (signing.SecretUnreadable, destinations.DestinationError):
        return "(unreadable: set it again)"


@bp.post("/settings/chat")
@requires_role(Role.OWNER)
def save_chat_webhook():
    """A Slack-compatible incoming webhook for the team's notifications; empty: none.
    The same destination rules as webhooks (no private addresses, checked again on
    every post)."""
    form = ChatWebhookForm()
    if form.validate():
        url = form.url.data or None
        try:
            if url is not None:
                url = destinations.check(url, bool(current_app.config["WEBHOOK_ALLOW_PRIVATE"]))
        except destinations.DestinationError as exc:
            form.url.errors = [exc.message]
        else:
            begin_write()
            team = get_team(current_user.team_id)
            team.chat_webhook_url = signing.encrypt(url) if url else None
            db.session.commit()
            flash(
                "Chat notifications saved." if url else "Chat notifications turned off.", "success"
            )
            return redirect(url_for("web.settings"), code=303)
    team = get_team(current_user.team_id)
    return _render(
        _settings_form(team), PersonalLinkForm(formdata=None), status=INVALID, chat_form=form
    )


@bp.post("/settings/personal-link")
@requires_role(Role.OWNER)
def settings_personal_link():
    """Make a personal opt-out link for one profile URL (nothing is stored)."""
    team = get_team(current_user.team_id)
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
        return render_template(
            "web/_personal_link.html", personal_link=link, link_error=error
        ), status
    return _render(_settings_form(team), form, status=status, personal_link=link, link_error=error)


@bp.post("/settings/look")
@csrf.exempt  # checked below, once the size limit for the logo applies
@requires_role(Role.OWNER)
def save_look():
    """The public page's logo and accent colour: save, remove the logo, reset the colour."""
    request.max_content_length = LOOK_MAX_CONTENT_LENGTH
    try:
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            csrf.protect()
        form = LookForm()
        action = request.form.get("action", "save")
        upload = request.files.get("logo")
    except RequestEntityTooLarge:
        return _look_refused({"logo": branding.too_large_message()}, status=413)
    if not form.validate():
        return _look_refused({"accent_color": branding.InvalidColour.message}, form=form)
    hex_code = (request.form.get("accent_hex") or "").strip()[:20]
    try:
        _take_hex_code(form, hex_code)
    except branding.InvalidColour:
        return _look_refused({"accent_color": HEX_REFUSED}, form=form, accent_hex=hex_code)
    try:
        if action == "remove_logo":
            branding.remove_logo(current_user.team_id, actor=actor())
        elif action == "reset_accent":
            branding.reset_accent(current_user.team_id, actor=actor())
        else:
            branding.save_look(
                current_user.team_id,
                accent=form.accent_color.data or None,
                logo=_uploaded_logo(upload),
                actor=actor(),
            )
    except branding.InvalidColour as exc:
        return _look_refused({"accent_color": exc.message}, form=form)
    except branding.ImageRefused as exc:
        return _look_refused({"logo": exc.message}, form=form)
    flash(LOOK_SAVED, "success")
    return redirect(url_for("web.settings"), code=303)


HEX_REFUSED = (
    "The hex code must be a # and six digits 0-9 or letters a-f, like #0b57d0 "
    "(or three, like #08f)."
)


def _take_hex_code(form: LookForm, code: str) -> None:
    """The colour of the hex code field, when it is the one changed: the picker and the
    field follow each other with JavaScript; without it, the one changed from the saved
    colour is saved (the code, if both were). `0b57d0` and `#08f` are read as #0b57d0 and
    #0088ff. Raises InvalidColour."""
    if not code:
        return
    digits = code.removeprefix("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    colour = branding.normalize_colour("#" + digits)
    look = branding.look_of(current_user.team_id)
    saved = (look.accent if look else None) or branding.DEFAULT_ACCENT
    if colour != saved or (form.accent_color.data or "").lower() == saved:
        form.accent_color.data = colour


def _uploaded_logo(upload) -> bytes | None:
    """The chosen file's bytes (None: no file chosen); one too large is refused unread."""
    if upload is None or not upload.filename:
        return None
    size = upload.stream.seek(0, io.SEEK_END)
    if size > branding.MAX_LOGO_BYTES:
        raise branding.ImageRefused(branding.too_large_message(size))
    upload.stream.seek(0)
    return upload.stream.read()


def _look_refused(
    errors: dict,
    *,
    form: LookForm | None = None,
    status: int = INVALID,
    accent_hex: str | None = None,
    chat_form: ChatWebhookForm | None = None,
):
    team = get_team(current_user.team_id)
    return _render(
        _settings_form(team),
        PersonalLinkForm(formdata=None),
        status=status,
        look_form=form,
        look_errors=errors,
        accent_hex=accent_hex,
    )
