"""The member's own account: change the password (the member's other sessions end), and
the member's email notifications."""

from __future__ import annotations

from flask import current_app, flash, g, redirect, request, url_for
from flask_login import current_user

from dnc_app.domain.accounts import AccountError, WrongPassword
from dnc_app.domain.accounts.users import MIN_PASSWORD_LENGTH, change_own_password
from dnc_app.domain.roles import Role
from dnc_app.events.notifications import mail
from dnc_app.extensions import db
from dnc_app.http.clientaddr import client_key
from dnc_app.http.web import bp
from dnc_app.http.web.access import requires_role
from dnc_app.http.web.auth import (
    limit_failures,
    remember_password,
    session_token,
    signed_in_user,
)
from dnc_app.http.web.forms import NotificationsForm, PasswordForm
from dnc_app.http.web.htmx import is_htmx, render
from dnc_app.storage.database import begin_write

# Status of an answer with a field to correct (swapped in place by htmx).
INVALID = 422


def _password_check_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _password_check_key() -> str:
    # Guessing the current password from a borrowed session is limited like sign-in.
    if current_user.is_authenticated:
        return f"password-check:{current_user.id}"
    return "password-check-anonymous:" + client_key(request.remote_addr)


def _ended_message(ended: int) -> str:
    if not ended:
        return "Password changed."
    sessions_word = "session" if ended == 1 else "sessions"
    return f"Password changed. {ended} other {sessions_word} signed out."


def _wants(switch: bool | None) -> bool:
    """A member's switch; unset: on for owners, off for the others."""
    return switch if switch is not None else current_user.role == Role.OWNER


def _notifications_form() -> NotificationsForm:
    return NotificationsForm(
        formdata=None,
        data={
            "optouts": _wants(current_user.notify_optouts),
            "endpoints": _wants(current_user.notify_endpoints),
        },
    )


def _render(
    form: PasswordForm,
    status: int = 200,
    changed: str | None = None,
    notifications: NotificationsForm | None = None,
    saved: str | None = None,
):
    return render(
        "web/account.html",
        "web/_password_form.html",
        status,
        form=form,
        changed=changed,
        min_password_length=MIN_PASSWORD_LENGTH,
        notifications=notifications or _notifications_form(),
        notifications_saved=saved,
        smtp=mail.enabled(),
    )


@bp.get("/account")
@requires_role(Role.VIEWER)
def account():
    return _render(PasswordForm(formdata=None))


@bp.post("/account/notifications")
@requires_role(Role.VIEWER)
def notifications():
    form = NotificationsForm()
    if form.validate():  # CSRF: the switches have no other way to be wrong
        user = signed_in_user()
        begin_write()
        user.notify_optouts, user.notify_endpoints = form.optouts.data, form.endpoints.data
        db.session.commit()
        if is_htmx():
            return render(
                "web/_notifications_form.html",
                "web/_notifications_form.html",
                notifications=_notifications_form(),
                notifications_saved="Saved.",
                smtp=mail.enabled(),
            )
        flash("Notifications saved.", "success")
    return redirect(url_for("web.account"), 303)


@bp.post("/account/password")
@requires_role(Role.VIEWER)
@limit_failures(_password_check_limit, _password_check_key)
def change_password():
    form = PasswordForm()
    if form.validate():
        try:
            ended = change_own_password(
                signed_in_user(),
                form.current_password.data,
                form.new_password.data,
                session_token=session_token(),
            )
        except WrongPassword as exc:
            g.password_check_failed = True
            form.current_password.errors.append(str(exc))
        except AccountError as exc:
            form.new_password.errors.append(str(exc))
        else:
            remember_password(current_user)  # this session stays open
            if is_htmx():
                return _render(PasswordForm(formdata=None), changed=_ended_message(ended))
            flash(_ended_message(ended), "success")
            return redirect(url_for("web.account"), 303)  # a reload does not post again
    return _render(form, INVALID)
