"""Password reset by email (only with SMTP configured; otherwise `flask set-password`).

A request writes, in one transaction, the SHA-256 of a random token and the email that
carries the link (sent by the delivery loop, never in the request). The answer and the
work of the request are the same whether the address is a member's or not. A link is
valid PASSWORD_RESET_MAX_AGE and once: using it marks every open link of the member used,
in the transaction that sets the password and ends the member's sessions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from dnc_app.domain import ids
from dnc_app.domain.accounts.users import apply_password, check_new_password, find_member
from dnc_app.domain.changelog import Actor, ActorType
from dnc_app.domain.passwords import hash_password
from dnc_app.domain.timeutil import utcnow
from dnc_app.events.notifications import outbox
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write, rows_matched
from dnc_app.storage.models import PasswordReset, User

TOKEN_LENGTH = 43  # base62: about 256 bits
RESET_ACTOR = Actor(ActorType.MEMBER, None, "Password reset by email")


class InvalidLink(Exception):
    """Unknown, used or expired: one answer for all three."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def request_reset(email: str, link_for: Callable[[str], str]) -> None:
    """Queue a reset email for the member with this address, if any (enabled)."""
    token = ids.random_token(TOKEN_LENGTH)
    digest = token_hash(token)
    link = link_for(token)
    now = utcnow()
    expires = now + timedelta(seconds=current_app.config["PASSWORD_RESET_MAX_AGE"])
    user = find_member(email)
    begin_write()
    if user is not None and user.disabled_at is None:
        db.session.add(
            PasswordReset(token_hash=digest, user_id=user.id, created_at=now, expires_at=expires)
        )
        minutes = current_app.config["PASSWORD_RESET_MAX_AGE"] // 60
        outbox.add_messages(
            [
                outbox.message(
                    user.team_id,
                    "email",
                    "reset",
                    user.email,
                    "Reset your password",
                    "Someone (we hope you) asked to reset the password of your account on the "
                    "Do Not Contact list.\n\nChoose a new password here, within "
                    f"{minutes} minutes; the link works once:\n\n{link}\n\n"
                    "If you did not ask, ignore this email: your password stays as it is.",
                    now,
                    expires_at=expires,
                )
            ]
        )
    db.session.commit()


def member_for(token: str) -> User:
    """The member a valid link is for; raises InvalidLink."""
    reset = db.session.get(PasswordReset, token_hash(token))
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow():
        raise InvalidLink()
    user = db.session.get(User, reset.user_id)
    if user is None or user.disabled_at is not None:
        raise InvalidLink()
    return user


def reset_password(token: str, new: str) -> User:
    """Set the password with a valid link, which is then used up (with the member's other
    links). Raises InvalidLink, or AccountError for a refused password."""
    user = member_for(token)
    check_new_password(new)
    password_hash = hash_password(new)  # slow: before the write transaction
    begin_write()
    now = utcnow()
    # Only one of two requests racing with the same link wins it.
    taken = db.session.execute(
        update(PasswordReset)
        .where(
            PasswordReset.token_hash == token_hash(token),
            PasswordReset.used_at.is_(None),
            PasswordReset.expires_at > now,
        )
        .values(used_at=now)
    )
    if rows_matched(taken) != 1:
        db.session.rollback()
        raise InvalidLink()
    db.session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
    )
    user = db.session.scalars(select(User).where(User.id == user.id)).one()
    apply_password(user, password_hash, RESET_ACTOR, "web")
    db.session.commit()
    return user
