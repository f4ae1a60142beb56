"""A team's members: invitations, roles, removal. Every change is in the change log.

- An invitation is a single-use link that expires; the table keeps only the SHA-256 of
  its token. Accepting it creates the member (with the invited email and role) and uses
  the link up in one transaction: two tabs cannot both use it.
- A team always keeps an enabled owner: the last one can be neither demoted nor removed
  (checked under the team row's lock, so two owners demoting each other at once cannot
  both succeed).
- Changing a member's role or removing them ends their sessions at once.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select, update

from dnc_app.domain import ids, sessions
from dnc_app.domain.accounts import AccountError
from dnc_app.domain.accounts.users import check_email, check_new_password, record_member_event
from dnc_app.domain.changelog import Action, Actor, Change, Source, record
from dnc_app.domain.passwords import hash_password
from dnc_app.domain.roles import Role, role_of
from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.http.params import bounded_int
from dnc_app.storage.database import begin_write, rows_matched
from dnc_app.storage.models import MemberInvite, Team, User

INVITE_TOKEN_BYTES = 32
MAX_MEMBER_ID = 2**31 - 1  # user_account.id is an INTEGER
DEFAULT_INVITE_MAX_AGE = timedelta(days=7)


class InviteNotValid(AccountError):
    """Unknown, used, withdrawn or expired: one answer for all, so nothing is told."""

    def __init__(self):
        super().__init__("This invitation link is not valid or has expired.")


class LastOwner(AccountError):
    def __init__(self):
        super().__init__("A team needs an owner: make another member an owner first.")


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _lock_team(team_id: str) -> None:
    begin_write()
    found = db.session.execute(select(Team.id).where(Team.id == team_id).with_for_update()).scalar()
    if found is None:
        db.session.rollback()
        raise AccountError("Team not found")


# --------------------------------------------------------------------------- reading


def list_members(team_id: str) -> list[User]:
    return list(
        db.session.execute(
            select(User).where(User.team_id == team_id).order_by(User.created_at, User.id)
        ).scalars()
    )


def get_member(team_id: str, user_id: object) -> User | None:
    """The team's member with this id; another team's member is None, like an unknown."""
    member_id = bounded_int(str(user_id), MAX_MEMBER_ID)
    if member_id is None:  # not an id (or beyond the column): no query
        return None
    return db.session.execute(
        select(User).where(User.id == member_id, User.team_id == team_id)
    ).scalar_one_or_none()


def pending_invites(team_id: str) -> list[MemberInvite]:
    return list(
        db.session.execute(
            select(MemberInvite)
            .where(
                MemberInvite.team_id == team_id,
                MemberInvite.used_at.is_(None),
                MemberInvite.expires_at > utcnow(),
            )
            .order_by(MemberInvite.created_at.desc())
        ).scalars()
    )


def find_invite(token: str) -> MemberInvite | None:
    """The open invitation of this link's token, else None."""
    if not isinstance(token, str) or not token or len(token) > 100:
        return None
    return db.session.execute(
        select(MemberInvite).where(
            MemberInvite.token_hash == _token_hash(token),
            MemberInvite.used_at.is_(None),
            MemberInvite.expires_at > utcnow(),
        )
    ).scalar_one_or_none()


# --------------------------------------------------------------------------- invitations


def _checked_role(role: object) -> Role:
    checked = role_of(role)
    if checked is None:
        raise AccountError("Role must be owner, member or viewer")
    return checked


def create_invite(
    team_id: str,
    email: str,
    role: object,
    *,
    actor: Actor,
    max_age: timedelta = DEFAULT_INVITE_MAX_AGE,
    source: Source = Source.WEB,
) -> tuple[MemberInvite, str]:
    """Invite someone; return the invitation and its token (for the link; never stored).
    An earlier open invitation of the same email to the team is withdrawn."""
    email, role = check_email(email), _checked_role(role)
    _lock_team(team_id)
    if db.session.execute(
        select(User.id).where(User.team_id == team_id, User.email == email)
    ).first():
        db.session.rollback()
        raise AccountError("This person is already a member of the team.")
    now = utcnow()
    db.session.execute(
        update(MemberInvite)
        .where(
            MemberInvite.team_id == team_id,
            MemberInvite.email == email,
            MemberInvite.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(INVITE_TOKEN_BYTES)
    invite = MemberInvite(
        id="inv_" + ids.random_token(16),
        team_id=team_id,
        email=email,
        role=role.value,
        token_hash=_token_hash(token),
        created_by=actor.label,
        created_at=now,
        expires_at=now + max_age,
    )
    db.session.add(invite)
    record(
        team_id,
        Action.MEMBER_INVITED,
        [Change(invite.id, None, f"{email} as {role}")],
        source=source,
        actor=actor,
        subject_label=email,
    )
    db.session.commit()
    return invite, token


def withdraw_invite(
    team_id: str, invite_id: str, *, actor: Actor, source: Source = Source.WEB
) -> None:
    _lock_team(team_id)
    invite = db.session.execute(
        select(MemberInvite).where(
            MemberInvite.id == invite_id,
            MemberInvite.team_id == team_id,
            MemberInvite.used_at.is_(None),
        )
    ).scalar_one_or_none()
    if invite is None:
        db.session.rollback()
        raise AccountError("No such open invitation in your team.")
    invite.used_at = utcnow()
    record(
        team_id,
        Action.INVITE_WITHDRAWN,
        [Change(invite.id, None, invite.email)],
        source=source,
        actor=actor,
        subject_label=invite.email,
    )
    db.session.commit()


def accept_invite(token: str, password: str) -> User:
    """Use the invitation: the person becomes a member with the invited email and role.
    Raises InviteNotValid, or AccountError for a refused password."""
    invite = find_invite(token)
    if invite is None:
        raise InviteNotValid()
    check_new_password(password)
    password_hash = hash_password(password)  # before the write transaction: it is slow
    _lock_team(invite.team_id)
    # Conditional: of two requests with one link, only one finds it still open.
    used = rows_matched(
        db.session.execute(
            update(MemberInvite)
            .where(
                MemberInvite.id == invite.id,
                MemberInvite.used_at.is_(None),
                MemberInvite.expires_at > utcnow(),
            )
            .values(used_at=utcnow())
        )
    )
    if not used:
        db.session.rollback()
        raise InviteNotValid()
    if db.session.execute(select(User.id).where(User.email == invite.email)).first():
        db.session.rollback()
        raise AccountError(
            "This email already has an account here. Ask the person who "
            "invited you to invite another address."
        )
    user = User(
        team_id=invite.team_id, email=invite.email, password_hash=password_hash, role=invite.role
    )
    db.session.add(user)
    db.session.flush()
    record_member_event(
        user,
        Action.INVITE_ACCEPTED,
        Actor.member(user.id, user.email),
        Source.WEB,
        detail=f"as {invite.role}, invited by {invite.created_by}",
    )
    db.session.commit()
    return user


# --------------------------------------------------------------------------- roles, removal


def _other_owners(team_id: str, user_id: int) -> int:
    return db.session.execute(
        select(func.count())
        .select_from(User)
        .where(
            User.team_id == team_id,
            User.id != user_id,
            User.role == Role.OWNER.value,
            User.disabled_at.is_(None),
        )
    ).scalar_one()


def _locked_member(team_id: str, user_id: object) -> User:
    _lock_team(team_id)
    user = get_member(team_id, user_id)
    if user is None:
        db.session.rollback()
        raise AccountError("No such member in your team.")
    return user


def _end_sessions(user: User, actor: Actor, source: Source, why: str) -> int:
    ended = sessions.revoke_all(user.id)
    if ended:
        word = "session" if ended == 1 else "sessions"
        record_member_event(
            user, Action.SESSIONS_REVOKED, actor, source, detail=f"{ended} {word} ended, {why}"
        )
    return ended


def change_role(
    team_id: str, user_id: object, role: object, *, actor: Actor, source: Source = Source.WEB
) -> User:
    """Give a member another role; their sessions end (they sign in again with it)."""
    role = _checked_role(role)
    user = _locked_member(team_id, user_id)
    if user.role == role.value:
        db.session.rollback()
        return user
    if user.role == Role.OWNER.value and not _other_owners(team_id, user.id):
        db.session.rollback()
        raise LastOwner()
    old = user.role
    user.role = role.value
    record_member_event(user, Action.ROLE_CHANGED, actor, source, detail=f"{old} → {role}")
    _end_sessions(user, actor, source, "role changed")
    db.session.commit()
    return user


def remove_member(
    team_id: str, user_id: object, *, actor: Actor, source: Source = Source.WEB
) -> str:
    """Remove a member from the team: their sessions end and their account is deleted
    (the change log keeps what they did). Returns their email."""
    user = _locked_member(team_id, user_id)
    if user.role == Role.OWNER.value and not _other_owners(team_id, user.id):
        db.session.rollback()
        raise LastOwner()
    _end_sessions(user, actor, source, "member removed")
    record_member_event(user, Action.MEMBER_REMOVED, actor, source, detail=f"was {user.role}")
    email = user.email
    db.session.delete(user)
    db.session.commit()
    return email
