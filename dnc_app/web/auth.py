"""Sign-in and sign-out of team members (Flask-Login on the signed cookie session).

- One generic error whichever field was wrong, and the same work either way: an unknown
  email still costs one password hash check.
- Sign-in attempts are limited per client IP and per email address.
- A new session on sign-in (the old one is cleared); a session ends after
  SESSION_MAX_AGE, or when the member's password changes.
- After sign-in we only redirect to a relative path on this site.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from functools import cache
from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from .. import accounts
from ..extensions import db, limiter, login_manager
from ..htmx import is_htmx
from ..models import User
from . import bp
from .forms import LoginForm

LOGIN_ERROR = "Email or password is incorrect."

login_manager.login_view = "web.login"


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _email_key() -> str:
    # Separate from the IP keys: a distributed guesser of one account is limited too.
    return "login-email:" + request.form.get("email", "").strip().lower()[:254]


# --------------------------------------------------------------------------- redirects


def safe_next(target: object) -> str | None:
    """`target` when it is a path on this site, else None.

    Refused: absolute and scheme-relative URLs (`https://evil.com`, `//evil.com`),
    backslashes (browsers read `/\\evil.com` as `//evil.com`), and control characters or
    spaces (browsers drop tabs and newlines, so `/\\t/evil.com` would become `//evil.com`).
    """
    if not isinstance(target, str) or not target or len(target) > 2048:
        return None
    if not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(c) <= 32 or ord(c) == 127 for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def _current_page_path() -> str | None:
    """For an htmx request: the path of the page the member was on."""
    parts = urlsplit(request.headers.get("HX-Current-URL", ""))
    if parts.netloc != request.host:
        return None
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""))


@login_manager.unauthorized_handler
def unauthorized():
    if is_htmx():
        # A redirect would swap the sign-in page into a fragment: tell htmx to navigate.
        login = url_for("web.login", next=_current_page_path())
        return "", 401, {"HX-Redirect": login}
    next_path = request.full_path.rstrip("?") if request.method == "GET" else None
    flash("Please sign in to continue.", "info")
    return redirect(url_for("web.login", next=safe_next(next_path)))


# --------------------------------------------------------------------------- sessions


def _password_fingerprint(user: User) -> str:
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    try:
        user = db.session.get(User, int(user_id))
    except (TypeError, ValueError):
        return None
    if user is None or session.get("pwfp") != _password_fingerprint(user):
        return None
    signed_in_at = session.get("signed_in_at")
    max_age = current_app.config["SESSION_MAX_AGE"]
    if not isinstance(signed_in_at, int | float) or time.time() - signed_in_at > max_age:
        return None
    return user


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def authenticate(email: str, password: str) -> User | None:
    user = db.session.execute(
        select(User).where(User.email == email.strip().lower())
    ).scalar_one_or_none()
    if user is None:
        # Same cost as a real check, so response time does not tell which emails exist.
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def _start_session(user: User) -> None:
    session.clear()  # nothing from before sign-in survives into the member's session
    login_user(user)
    session["pwfp"] = _password_fingerprint(user)
    session["signed_in_at"] = time.time()
    accounts.record_sign_in(user)


# --------------------------------------------------------------------------- views


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("web.entries"))
    return redirect(url_for("web.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_login_limit, methods=["POST"], key_func=_email_key)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data) or url_for("web.entries"))
    error = None
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data)
        if user is not None:
            target = safe_next(form.next.data) or url_for("web.entries")
            _start_session(user)
            return redirect(target, 303)
        error = LOGIN_ERROR
    status = 200 if request.method == "GET" else 422
    return render_template("web/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    # CSRF-checked like every POST, so another site cannot sign a member out.
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("web.login"), 303)
