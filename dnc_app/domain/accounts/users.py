"""Team members' accounts: creating them, passwords, signing in and out, disabling.

Roles, invitations and removal are domain.members'; sessions are kept by http.sessions."""

from __future__ import annotations

import hashlib
import re
from dataclasses import replace

from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash

from dnc_app.domain import sessions
from dnc_app.domain.accounts import AccountError, WrongPassword
from dnc_app.domain.accounts.teams import get_team
from dnc_app.domain.changelog import Action, Actor, ActorType, Change, Source, record
from dnc_app.domain.passwords import dummy_hash, hash_password
from dnc_app.domain.roles import Role, role_of
from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write
from dnc_app.storage.models import User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


MIN_PASSWORD_LENGTH = 10


def create_user(team_id: str, email: str, password: str, role: Role | str | None = None) -> User:
    """Add a member with this role; by default the team's first member is its owner and
    the next ones are members."""
    email = check_email(email)
    if role is not None and role_of(role) is None:
        raise AccountError("Role must be owner, member or viewer")
    _check_new_password(password)
    password_hash = hash_password(password)  # before the write transaction: it is slow
    begin_write()
    if get_team(team_id) is None:
        raise AccountError("Team not found")
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise AccountError("A user with this email already exists")
    if role is None:
        has_members = db.session.execute(
            select(User.id).where(User.team_id == team_id).limit(1)
        ).first()
        role = Role.MEMBER if has_members else Role.OWNER
    user = User(team_id=team_id, email=email, password_hash=password_hash, role=Role(role).value)
    db.session.add(user)
    db.session.commit()
    return user


def check_email(email: str) -> str:
    """The address in its stored form (trimmed, lower case), or AccountError."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254 or not _is_encodable(email):
        raise AccountError("Not a valid email address")
    return email


# Who acts when nobody is signed in yet (a sign-in attempt).
SIGN_IN_FORM = Actor(ActorType.PUBLIC, None, "sign-in form")


def member_actor(user: User) -> Actor:
    return Actor.member(user.id, user.email)


def _check_new_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters")
    if not _is_encodable(password):
        raise AccountError("The password contains characters that cannot be stored")


def _is_encodable(text: str) -> bool:
    # A lone surrogate cannot be encoded (or hashed, or sent to the database).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _password_matches(user: User, password: str) -> bool:
    return _is_encodable(password) and check_password_hash(user.password_hash, password)


def password_fingerprint(user: User) -> str:
    """Changes with the member's password: a session made before the change is refused."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def find_member(email: str) -> User | None:
    email = email.strip().lower()
    # No stored email has a NUL or a lone surrogate (and PostgreSQL refuses to compare one).
    if not email or not email.isprintable() or not _is_encodable(email):
        return None
    return db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()


def _require_member(email: str) -> User:
    user = find_member(email)
    if user is None:
        raise AccountError("No member with this email")
    return user


def authenticate(email: str, password: str, *, ip_hash: str | None = None) -> User | None:
    """The enabled member with this email and password, else None (a failure of a known
    member is recorded). The same work either way: no answer tells which emails exist."""
    user = find_member(email)
    if user is None:
        # Same cost as a real check, so response time does not tell which emails exist.
        check_password_hash(dummy_hash(), password)
        return None
    if _password_matches(user, password) and user.disabled_at is None:
        return user
    begin_write()
    record_member_event(user, Action.SIGN_IN_FAILED, SIGN_IN_FORM, "web", ip_hash=ip_hash)
    db.session.commit()
    return None


def sign_in(
    user: User,
    *,
    max_age: int,
    user_agent: str | None = None,
    ip_hash: str | None = None,
    previous_token: str | None = None,
) -> str:
    """Open a session of the member (ending the browser's previous one); return its
    token for the cookie."""
    now = utcnow()
    begin_write()
    sessions.delete_expired()  # cheap housekeeping, at a moment that writes anyway
    if previous_token is not None:
        sessions.revoke(previous_token)
    token = sessions.create(user.id, max_age=max_age, user_agent=user_agent)
    db.session.execute(update(User).where(User.id == user.id).values(last_login_at=now))
    record_member_event(user, Action.SIGNED_IN, member_actor(user), "web", ip_hash=ip_hash)
    db.session.commit()
    set_committed_value(user, "last_login_at", now)
    return token


def member_of_session(token: str) -> User | None:
    """The member signed in with this session token, while it is open and they are enabled."""
    return sessions.member_of(token)


def sign_out(token: str, user: User | None) -> None:
    """End the session of this token (nothing to do when it has ended already)."""
    begin_write()
    if sessions.revoke(token) and user is not None:
        record_member_event(
            user, Action.SESSIONS_REVOKED, member_actor(user), "web", detail="signed out"
        )
    db.session.commit()


def change_own_password(user: User, current: str, new: str, *, session_token: str) -> int:
    """A member changes their password; their other sessions end. Returns how many."""
    if not _password_matches(user, current):
        raise WrongPassword("The current password is not correct.")
    _check_new_password(new)
    return _set_password(user, new, member_actor(user), "web", keep_token=session_token)


def set_password(email: str, new: str, *, actor: Actor, source: str = "cli") -> int:
    """Reset a member's password; all their sessions end. Returns how many."""
    _check_new_password(new)
    return _set_password(_require_member(email), new, actor, source)


def _set_password(
    user: User, new: str, actor: Actor, source: str, keep_token: str | None = None
) -> int:
    password_hash = hash_password(new)  # before the write transaction: it is slow
    begin_write()
    ended = apply_password(user, password_hash, actor, source, keep_token)
    db.session.commit()
    return ended


def check_new_password(password: str) -> None:
    _check_new_password(password)


def apply_password(
    user: User, password_hash: str, actor: Actor, source: str, keep_token: str | None = None
) -> int:
    """In the caller's write transaction: the new password's hash, the member's sessions
    ended (but `keep_token`'s), the audit records. Returns how many sessions ended."""
    user.password_hash = password_hash
    ended = sessions.revoke_all(user.id, keep_token=keep_token)
    record_member_event(user, Action.PASSWORD_CHANGED, actor, source)
    _record_revoked(user, ended, actor, source, "after a password change")
    return ended


def set_disabled(email: str, disabled: bool, *, actor: Actor, source: str = "cli") -> int:
    """Disable (every session ends, sign-in is refused) or enable a member.
    Returns how many sessions ended."""
    user = _require_member(email)
    if (user.disabled_at is not None) == disabled:
        return 0
    begin_write()
    user.disabled_at = utcnow() if disabled else None
    ended = sessions.revoke_all(user.id) if disabled else 0
    record_member_event(
        user, Action.MEMBER_DISABLED if disabled else Action.MEMBER_ENABLED, actor, source
    )
    _record_revoked(user, ended, actor, source, "member disabled")
    db.session.commit()
    return ended


def _record_revoked(user: User, ended: int, actor: Actor, source: str, why: str) -> None:
    if ended:
        sessions_word = "session" if ended == 1 else "sessions"
        record_member_event(
            user,
            Action.SESSIONS_REVOKED,
            actor,
            source,
            detail=f"{ended} {sessions_word} ended, {why}",
        )


def record_member_event(
    user: User,
    action: Action,
    actor: Actor,
    source: Source | str,
    *,
    detail: str | None = None,
    ip_hash: str | None = None,
) -> None:
    """A member event (sign-ins, passwords, disabling, sessions) in the change log, inside
    the caller's write transaction."""
    if Action(action).subject_type != "member":
        raise ValueError(f"{action} is not a member event")
    if ip_hash:
        actor = replace(actor, ip_hash=ip_hash)
    reason = user.email + (f": {detail}" if detail else "")
    record(
        user.team_id,
        action,
        [Change(str(user.id), None, reason)],
        source=source,
        actor=actor,
        subject_label=user.email,
    )
