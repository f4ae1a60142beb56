"""Password reset by email, offered on /login only when SMTP is configured and links can
be addressed (PUBLIC_BASE_URL, or a vouched-for host); otherwise `flask set-password`.

The request's answer is the same for any address, and it only writes to the queue: the
email is sent by the delivery loop. Requests are limited per client address and per
email address asked for.
"""

from __future__ import annotations

import hashlib

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from dnc_app.domain.accounts import AccountError
from dnc_app.domain.accounts.users import MIN_PASSWORD_LENGTH
from dnc_app.events.notifications import mail, resets
from dnc_app.extensions import limiter
from dnc_app.http.clientaddr import client_key
from dnc_app.http.optout.links import public_url
from dnc_app.http.web import bp
from dnc_app.http.web.forms import ResetPasswordForm, ResetRequestForm

SENT = (
    "If an account uses that address, we have sent it a link to choose a new password. "
    "It works once, within the hour. Nothing arrived? Check the spam folder, or ask "
    "your team's owner."
)
INVALID_LINK = (
    "This link cannot be used: it was used already, or it is more than an hour "
    "old. Ask for a new one."
)


def reset_available() -> bool:
    return mail.enabled() and public_url("web.reset_request") is not None


def _client_key() -> str:
    return "reset-addr:" + client_key(request.remote_addr)


def _account_key() -> str:
    email = request.form.get("email", "").strip().lower()
    return "reset-account:" + hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]


@bp.route("/login/reset", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["PASSWORD_RESET_RATE_LIMIT"], key_func=_client_key, methods=["POST"]
)
@limiter.limit(
    lambda: current_app.config["PASSWORD_RESET_ACCOUNT_RATE_LIMIT"],
    key_func=_account_key,
    methods=["POST"],
)
def reset_request():
    if not reset_available():
        abort(404)
    form = ResetRequestForm()
    if form.validate_on_submit():
        resets.request_reset(
            form.email.data, lambda token: public_url("web.reset_password", token=token)
        )
        return render_template("web/reset_request.html", form=None, sent=SENT)
    status = 200 if request.method == "GET" else 422
    return render_template("web/reset_request.html", form=form, sent=None), status


@bp.route("/login/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    if not mail.enabled():
        abort(404)
    form = ResetPasswordForm()
    try:
        resets.member_for(token)
        if form.validate_on_submit():
            resets.reset_password(token, form.new_password.data)
            flash("Your password is changed. Sign in with it now.", "success")
            return redirect(url_for("web.login"), 303)
    except resets.InvalidLink:
        return render_template(
            "web/reset_password.html",
            form=None,
            invalid=INVALID_LINK,
            min_password_length=MIN_PASSWORD_LENGTH,
        ), 410
    except AccountError as exc:
        form.new_password.errors.append(str(exc))
    status = 200 if request.method == "GET" else 422
    return render_template(
        "web/reset_password.html",
        form=form,
        invalid=None,
        min_password_length=MIN_PASSWORD_LENGTH,
    ), status
