"""Teams, team members and API keys."""

from __future__ import annotations

import hashlib
import re
import time
import unicodedata
from dataclasses import replace
from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash

from . import ids, sessions
from .changelog import Action, Actor, ActorType, Change, Source, record
from .config import OPTOUT_LANGUAGES
from .database import begin_write
from .entries.values import MAX_URL_LENGTH
from .extensions import db
from .models import ApiKey, Team, User
from .passwords import dummy_hash, hash_password
from .roles import Role, role_of
from .timeutil import utcnow

# last_used_at is coarse: one UPDATE per key per interval, not one per request.
LAST_USED_GRANULARITY = timedelta(minutes=5)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


class WrongPassword(AccountError):
    """The member's current password, asked before a change, was not right."""


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:64].strip("-") or "team"


def create_team(name: str, slug: str | None = None) -> Team:
    name = name.strip()
    if not name or len(name) > 200:
        raise AccountError("Team name must be 1 to 200 characters")
    begin_write()
    if slug is not None:
        slug = slug.strip().lower()
        if not SLUG_RE.match(slug):
            raise AccountError("Slug must be lowercase letters, digits and hyphens")
        if db.session.execute(select(Team.id).where(Team.slug == slug)).first():
            raise AccountError(f"Slug {slug!r} is already taken")
    else:
        base = slugify(name)
        slug, n = base, 1
        while db.session.execute(select(Team.id).where(Team.slug == slug)).first():
            n += 1
            slug = f"{base}-{n}"
    team = Team(id=ids.team_id(), name=name, slug=slug)
    db.session.add(team)
    db.session.commit()
    return team


def get_team(team_id: str) -> Team | None:
    return db.session.get(Team, team_id)


def find_team(ref: str) -> Team | None:
    """A team by its id or its slug (what an administrator types)."""
    return db.session.execute(
        select(Team).where((Team.id == ref) | (Team.slug == ref))
    ).scalar_one_or_none()


def find_team_by_slug(slug: str) -> Team | None:
    if len(slug) > 100:  # longer than any slug: not worth a query
        return None
    return db.session.execute(select(Team).where(Team.slug == slug)).scalar_one_or_none()


def list_teams() -> list[Team]:
    return list(db.session.execute(select(Team).order_by(Team.created_at)).scalars())


def any_team_exists() -> bool:
    return db.session.execute(select(Team.id).limit(1)).first() is not None


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


# ------------------------------------------------------------------------- team members

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


def _record_key_event(
    key: ApiKey, action: Action, actor: Actor, source: Source, detail: str | None = None
) -> None:
    reason = "; ".join(part for part in (key.name, detail) if part) or None
    record(
        key.team_id,
        action,
        [Change(key.id, None, reason)],
        source=source,
        actor=actor,
        subject_label=key.prefix,
    )


def create_api_key(
    team_id: str,
    *,
    name: str | None = None,
    actor: Actor,
    source: Source = Source.CLI,
    can_remove_optouts: bool = False,
) -> tuple[ApiKey, str]:
    """Create a key; return the record and the key itself, which is never stored.
    `can_remove_optouts`: the key may delete people's own opt-outs (callers let only an
    owner or an administrator set it)."""
    begin_write()
    if get_team(team_id) is None:
        raise AccountError("Team not found")
    name = (name or "").strip()[:100] or None
    secret = ids.new_api_key()
    key = ApiKey(
        id="key_" + ids.random_token(16),
        team_id=team_id,
        name=name,
        key_hash=ids.hash_api_key(secret),
        prefix=secret[: len(ids.API_KEY_PREFIX) + 4],
        created_by=actor.label,
        created_at=utcnow(),
        can_remove_optouts=can_remove_optouts,
    )
    db.session.add(key)
    db.session.flush()
    _record_key_event(
        key, Action.KEY_CREATE, actor, source, "may remove opt-outs" if can_remove_optouts else None
    )
    db.session.commit()
    return key, secret


def revoke_api_key(
    team_id: str, key_id: str, *, actor: Actor, source: Source = Source.CLI
) -> ApiKey:
    begin_write()
    key = get_api_key(team_id, key_id)
    if key is None:
        raise AccountError("API key not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        _record_key_event(key, Action.KEY_REVOKE, actor, source)
        db.session.commit()
        _forget_cached_keys()  # refused on this process's very next request
    return key


def list_api_keys(team_id: str) -> list[ApiKey]:
    """The team's keys, newest first."""
    return list(
        db.session.execute(
            select(ApiKey)
            .where(ApiKey.team_id == team_id)
            .order_by(ApiKey.created_at.desc(), ApiKey.id)
        ).scalars()
    )


def get_api_key(team_id: str, key_id: str) -> ApiKey | None:
    """The team's key with this id; another team's key is None, like an unknown one."""
    return db.session.execute(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.team_id == team_id)
    ).scalar_one_or_none()


def key_may_remove_optouts(key_id: str) -> bool:
    """Whether an owner allowed this key to delete people's own opt-outs."""
    return bool(
        db.session.execute(select(ApiKey.can_remove_optouts).where(ApiKey.id == key_id)).scalar()
    )


class KeyIdentity(NamedTuple):
    """What a request authenticated by an API key needs to know about it."""

    id: str
    team_id: str
    prefix: str


# Core statements built once: authentication runs on every API request, and the ORM's
# per-query work (and building the expression each time) costs more than the SQL.
_KEYS = ApiKey.__table__
_KEY_BY_HASH = select(
    _KEYS.c.id, _KEYS.c.team_id, _KEYS.c.prefix, _KEYS.c.revoked_at, _KEYS.c.last_used_at
).where(_KEYS.c.key_hash == bindparam("key_hash"))
_MARK_USED = (
    update(_KEYS)
    .where(_KEYS.c.id == bindparam("key_id"))
    # Conditional, so that concurrent requests with one key write it once.
    .where(or_(_KEYS.c.last_used_at.is_(None), _KEYS.c.last_used_at < bindparam("stale")))
    .values(last_used_at=bindparam("now"))
)


# Keys authenticated in the last second, per app (i.e. per process): checks and adds are
# every connected tool's hot path, and the lookup cost as much as the rest of a check. A
# key revoked here is forgotten at once (revoke_api_key); one revoked by another process
# is refused there within KEY_CACHE_SECONDS, when the entry has expired.
KEY_CACHE_SECONDS = 1.0
_KEY_CACHE_MAX = 10_000


def _key_cache() -> dict[str, tuple[float, KeyIdentity]]:
    return current_app.extensions.setdefault("dnc_api_key_cache", {})


def _forget_cached_keys() -> None:
    _key_cache().clear()


def authenticate_api_key(secret: str) -> KeyIdentity | None:
    """The active key with this secret, or None. Marks it used (coarsely)."""
    key_hash = ids.hash_api_key(secret)
    cache = _key_cache()
    cached = cache.get(key_hash)
    now_s = time.monotonic()
    if cached is not None and cached[0] > now_s:
        return cached[1]
    identity = _authenticate_from_database(key_hash)
    if identity is not None:
        if len(cache) >= _KEY_CACHE_MAX:
            cache.clear()
        cache[key_hash] = (now_s + KEY_CACHE_SECONDS, identity)
    return identity


def _authenticate_from_database(key_hash: str) -> KeyIdentity | None:
    row = db.session.execute(_KEY_BY_HASH, {"key_hash": key_hash}).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_GRANULARITY:
        begin_write()
        db.session.execute(
            _MARK_USED, {"key_id": row.id, "now": now, "stale": now - LAST_USED_GRANULARITY}
        )
        db.session.commit()
    return KeyIdentity(row.id, row.team_id, row.prefix)


# ------------------------------------------------------------- public opt-out page settings

MAX_DISPLAY_NAME_LENGTH = 200
MAX_PRIVACY_URL_LENGTH = MAX_URL_LENGTH
MAX_OPTOUT_MESSAGE_LENGTH = 1000


def check_privacy_url(url: str) -> str:
    """An absolute http(s) URL with a host, or AccountError: the public page links to it."""
    from urllib.parse import urlsplit

    url = url.strip()
    if len(url) > MAX_PRIVACY_URL_LENGTH:
        raise AccountError(f"The link must be at most {MAX_PRIVACY_URL_LENGTH:,} characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise AccountError("The link must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for an invalid port
    except ValueError:
        raise AccountError("Not a valid link") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise AccountError("The link must start with https:// or http://")
    return url


# The settings in the order the settings page shows them, with their names there.
SETTING_LABELS = {
    "display_name": "Display name",
    "privacy_url": "Privacy policy link",
    "optout_message": "Message",
    "optout_language": "Language",
}
# update_team_settings: a setting not given keeps its value.
KEEP = object()


def update_team_settings(
    team_id: str,
    display_name: str | None,
    privacy_url: str | None,
    optout_message: str | None,
    *,
    actor: Actor,
    source: Source = Source.WEB,
    optout_language: str | None | object = KEEP,
) -> Team:
    """Save the public opt-out page settings; empty values clear a setting. A change is
    recorded in the change log with what changed. `optout_language`: one of
    config.OPTOUT_LANGUAGES, or empty for the installation's OPTOUT_LANGUAGE."""
    display_name = (display_name or "").strip() or None
    if display_name and len(display_name) > MAX_DISPLAY_NAME_LENGTH:
        raise AccountError(f"Display name must be at most {MAX_DISPLAY_NAME_LENGTH} characters")
    privacy_url = (privacy_url or "").strip() or None
    if privacy_url:
        privacy_url = check_privacy_url(privacy_url)
    optout_message = (optout_message or "").strip().replace("\r\n", "\n") or None
    if optout_message and len(optout_message) > MAX_OPTOUT_MESSAGE_LENGTH:
        raise AccountError(f"Message must be at most {MAX_OPTOUT_MESSAGE_LENGTH:,} characters")
    new = {
        "display_name": display_name,
        "privacy_url": privacy_url,
        "optout_message": optout_message,
    }
    if optout_language is not KEEP:
        language = optout_language or None
        if language is not None and (
            not isinstance(language, str) or language not in OPTOUT_LANGUAGES
        ):
            raise AccountError("Language must be one of " + ", ".join(OPTOUT_LANGUAGES))
        new["optout_language"] = language
    begin_write()
    team = get_team(team_id)
    if team is None:
        db.session.rollback()
        raise AccountError("Team not found")
    changed = {name: value for name, value in new.items() if getattr(team, name) != value}
    for name, value in changed.items():
        setattr(team, name, value)
    if changed:
        summary = "; ".join(
            f"{SETTING_LABELS[name]}: {value or '(cleared)'}" for name, value in changed.items()
        )
        record(
            team_id,
            Action.SETTINGS_CHANGED,
            [Change(team_id, None, summary)],
            source=source,
            actor=actor,
        )
    db.session.commit()
    return team
