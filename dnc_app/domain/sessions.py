"""Member sessions kept on the server, so that they can be ended.

The session cookie (signed by Flask) carries a random token; the table keeps only its
SHA-256. Every page request loads the session and its member in one primary-key query;
a revoked, expired or disabled one signs the browser out at its next request.
These are the table's primitives: the caller (accounts.py) owns the transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update

from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write, rows_matched
from dnc_app.storage.models import MemberSession, User

# last_seen_at is coarse: one UPDATE per session per interval, not one per request.
LAST_SEEN_GRANULARITY = timedelta(minutes=5)
TOKEN_BYTES = 32
MAX_USER_AGENT_LENGTH = 255

_SESSIONS = MemberSession.__table__
_MARK_SEEN = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("session_id"))
    .where(_SESSIONS.c.last_seen_at < bindparam("stale"))  # concurrent requests write once
    .values(last_seen_at=bindparam("now"))
)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def create(user_id: int, *, max_age: int, user_agent: str | None) -> str:
    """Add a session of the member; return its token (for the cookie; never stored)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = utcnow()
    db.session.add(
        MemberSession(
            id=hash_token(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + timedelta(seconds=max_age),
            user_agent=(user_agent or "")[:MAX_USER_AGENT_LENGTH] or None,
        )
    )
    return token


def delete_expired() -> None:
    """Forget sessions past their end (an index range scan; run on sign-in)."""
    db.session.execute(delete(MemberSession).where(MemberSession.expires_at <= utcnow()))


def revoke(token: str) -> bool:
    """End one session; True when it was still open."""
    result = db.session.execute(
        update(MemberSession)
        .where(MemberSession.id == hash_token(token), MemberSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return rows_matched(result) > 0


def revoke_all(user_id: int, *, keep_token: str | None = None) -> int:
    """End the member's open sessions (but the one of `keep_token`); return how many."""
    stmt = update(MemberSession).where(
        MemberSession.user_id == user_id,
        MemberSession.revoked_at.is_(None),
        MemberSession.expires_at > utcnow(),
    )
    if keep_token is not None:
        stmt = stmt.where(MemberSession.id != hash_token(keep_token))
    return rows_matched(db.session.execute(stmt.values(revoked_at=utcnow())))


def member_of(token: str) -> User | None:
    """The enabled member whose open session has this token, else None."""
    session_id = hash_token(token)
    now = utcnow()
    row = db.session.execute(
        select(User, MemberSession.last_seen_at)
        .join(MemberSession, MemberSession.user_id == User.id)
        .where(
            MemberSession.id == session_id,
            MemberSession.revoked_at.is_(None),
            MemberSession.expires_at > now,
            User.disabled_at.is_(None),
        )
    ).first()
    if row is None:
        return None
    user, last_seen_at = row
    if now - last_seen_at > LAST_SEEN_GRANULARITY:
        _mark_seen(session_id, now)
    return user


def _mark_seen(session_id: str, now: datetime) -> None:
    begin_write()
    db.session.execute(
        _MARK_SEEN, {"session_id": session_id, "now": now, "stale": now - LAST_SEEN_GRANULARITY}
    )
    db.session.commit()
