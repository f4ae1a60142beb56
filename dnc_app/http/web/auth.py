"""Sign-in and sign-out of team members (Flask-Login; sessions kept on the server).

- One generic error whichever field was wrong, or when the member is disabled, and the
  same work either way: an unknown email still costs one password hash check.
- FAILED sign-ins are limited per client address (IPv6: per /64) and per (address,
  email): a flood from one address never stops the member signing in from another,
  and signing in successfully uses no budget.
- The cookie carries a random session token; the server keeps its hash (member_session)
  and ends the session on sign-out, on a password change (the member's other sessions),
  when the member is disabled, and after SESSION_MAX_AGE.
- After sign-in we only redirect to a relative path on this site.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from dnc_app.domain.accounts.users import (
    authenticate,
    member_of_session,
    password_fingerprint,
    sign_in,
    sign_out,
)
from dnc_app.extensions import db, limiter, login_manager
from dnc_app.http.clientaddr import client_key
from dnc_app.http.web import bp
from dnc_app.http.web.forms import LoginForm
from dnc_app.http.web.htmx import is_htmx
from dnc_app.http.web.reset import reset_available
from dnc_app.storage.models import User

LOGIN_ERROR = "Email or password is incorrect."
# Session keys: the session token, and the password it was opened with.
SESSION_TOKEN = "sid"
PASSWORD_FINGERPRINT = "pwfp"

login_manager.login_view = "web.login"


# --------------------------------------------------------------------------- limits


def _address_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _address_key() -> str:
    return "login-addr:" + client_key(request.remote_addr)


def _account_key() -> str:
    # The email hashed: bounded length, and no addresses in the limit store.
    email = request.form.get("email", "").strip().lower()
    digest = hashlib.sha256(email.encode("utf-8", "replace")).hexdigest()[:32]
    return f"login-account:{client_key(request.remote_addr)}:{digest}"


def failed(_response) -> bool:
    """Deduct from a budget only when the request was a failed check of a password."""
    return g.get("password_check_failed", False)


def limit_failures(limit, key_func):
    """The limit on failed attempts: checked before the view, counted only on failure."""
    return limiter.limit(limit, key_func=key_func, methods=["POST"], deduct_when=failed)


def client_ip_hash() -> str:
    """HMAC of the client address keyed with the app secret: the raw IP is never stored."""
    key = current_app.config["SECRET_KEY"].encode()
    message = ("sign-in-ip|" + (request.remote_addr or "")).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    token = session.get(SESSION_TOKEN)
    if not isinstance(token, str):
        return None
    user = member_of_session(token)
    if user is None or str(user.id) != user_id:
        return None
    # Also a password changed outside the services (e.g. in the database) ends sessions.
    if session.get(PASSWORD_FINGERPRINT) != password_fingerprint(user):
        return None
    return user


def signed_in_user() -> User:
    """The signed-in member's row itself, not flask_login's proxy for it (the session's
    identity map already holds it: no query)."""
    user = db.session.get(User, current_user.id)
    assert user is not None  # current_user is authenticated: its loader just read it
    return user


def start_session(user: User) -> None:
    token = sign_in(
        user,
        max_age=current_app.config["SESSION_MAX_AGE"],
        user_agent=request.user_agent.string,
        ip_hash=client_ip_hash(),
        previous_token=session_token(),
    )
    session.clear()  # nothing from before sign-in survives into the member's session
    login_user(user)
    session[SESSION_TOKEN] = token
    remember_password(user)


def remember_password(user: User) -> None:
    """Tie the session to the member's current password (after the member changed it)."""
    session[PASSWORD_FINGERPRINT] = password_fingerprint(user)


def session_token() -> str | None:
    token = session.get(SESSION_TOKEN)
    return token if isinstance(token, str) else None


# --------------------------------------------------------------------------- views


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("web.entries"))
    return redirect(url_for("web.login"))


@bp.route("/login", methods=["GET", "POST"])
@limit_failures(_address_limit, _address_key)
@limit_failures(_account_limit, _account_key)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data) or url_for("web.entries"))
    error = None
    if form.validate_on_submit():
        user = authenticate(form.email.data, form.password.data, ip_hash=client_ip_hash())
        if user is not None:
            target = safe_next(form.next.data) or url_for("web.entries")
            start_session(user)
            return redirect(target, 303)
        g.password_check_failed = True
        error = LOGIN_ERROR
    status = 200 if request.method == "GET" else 422
    return render_template(
        "web/login.html", form=form, error=error, reset=reset_available()
    ), status


@bp.post("/logout")
def logout():
    # CSRF-checked like every POST, so another site cannot sign a member out.
    token = session_token()
    if token is not None:
        user = signed_in_user() if current_user.is_authenticated else None
        sign_out(token, user)
    logout_user()
    session.clear()
    flash("You are signed out.", "info")
    return redirect(url_for("web.login"), 303)
