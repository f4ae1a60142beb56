"""Teams, team members and API keys."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import NamedTuple

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import generate_password_hash

from . import ids
from .changelog import Action, Actor, Change, Source, record
from .database import begin_write
from .entries.values import MAX_URL_LENGTH
from .extensions import db
from .models import ApiKey, Team, User
from .timeutil import utcnow

# last_used_at is coarse: one UPDATE per key per interval, not one per request.
LAST_USED_GRANULARITY = timedelta(minutes=5)
SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD_LENGTH = 10


class AccountError(ValueError):
    pass


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


def create_user(team_id: str, email: str, password: str, *, hash_method: str) -> User:
    """A new member; `hash_method` is werkzeug's (the app's PASSWORD_HASH_METHOD)."""
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError("Not a valid email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters")
    begin_write()
    if get_team(team_id) is None:
        raise AccountError("Team not found")
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise AccountError("A user with this email already exists")
    user = User(
        team_id=team_id,
        email=email,
        password_hash=generate_password_hash(password, method=hash_method),
    )
    db.session.add(user)
    db.session.commit()
    return user


def record_sign_in(user: User) -> None:
    now = utcnow()
    begin_write()
    db.session.execute(update(User).where(User.id == user.id).values(last_login_at=now))
    db.session.commit()
    set_committed_value(user, "last_login_at", now)


def _record_key_event(key: ApiKey, action: Action, actor: Actor, source: Source) -> None:
    record(key.team_id, action, [Change(key.id, None, key.name)], source=source, actor=actor,
           subject_label=key.prefix)


def create_api_key(
    team_id: str, *, name: str | None = None, actor: Actor, source: Source = Source.CLI
) -> tuple[ApiKey, str]:
    """Create a key; return the record and the key itself, which is never stored."""
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
    )
    db.session.add(key)
    db.session.flush()
    _record_key_event(key, Action.KEY_CREATE, actor, source)
    db.session.commit()
    return key, secret


def revoke_api_key(team_id: str, key_id: str, *, actor: Actor,
                   source: Source = Source.CLI) -> ApiKey:
    begin_write()
    key = get_api_key(team_id, key_id)
    if key is None:
        raise AccountError("API key not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        _record_key_event(key, Action.KEY_REVOKE, actor, source)
        db.session.commit()
    return key


def list_api_keys(team_id: str) -> list[ApiKey]:
    """The team's keys, newest first."""
    return list(db.session.execute(
        select(ApiKey).where(ApiKey.team_id == team_id)
        .order_by(ApiKey.created_at.desc(), ApiKey.id)
    ).scalars())


def get_api_key(team_id: str, key_id: str) -> ApiKey | None:
    """The team's key with this id; another team's key is None, like an unknown one."""
    return db.session.execute(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.team_id == team_id)
    ).scalar_one_or_none()


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


def authenticate_api_key(secret: str) -> KeyIdentity | None:
    """The active key with this secret, or None. Marks it used (coarsely)."""
    row = db.session.execute(_KEY_BY_HASH, {"key_hash": ids.hash_api_key(secret)}).first()
    if row is None or row.revoked_at is not None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_GRANULARITY:
        begin_write()
        db.session.execute(_MARK_USED, {"key_id": row.id, "now": now,
                                        "stale": now - LAST_USED_GRANULARITY})
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
SETTING_LABELS = {"display_name": "Display name", "privacy_url": "Privacy policy link",
                  "optout_message": "Message"}


def update_team_settings(
    team_id: str, display_name: str | None, privacy_url: str | None,
    optout_message: str | None, *, actor: Actor, source: Source = Source.WEB,
) -> Team:
    """Save the public opt-out page settings; empty values clear a setting. A change is
    recorded in the change log with what changed."""
    display_name = (display_name or "").strip() or None
    if display_name and len(display_name) > MAX_DISPLAY_NAME_LENGTH:
        raise AccountError(f"Display name must be at most {MAX_DISPLAY_NAME_LENGTH} characters")
    privacy_url = (privacy_url or "").strip() or None
    if privacy_url:
        privacy_url = check_privacy_url(privacy_url)
    optout_message = (optout_message or "").strip().replace("\r\n", "\n") or None
    if optout_message and len(optout_message) > MAX_OPTOUT_MESSAGE_LENGTH:
        raise AccountError(f"Message must be at most {MAX_OPTOUT_MESSAGE_LENGTH:,} characters")
    new = {"display_name": display_name, "privacy_url": privacy_url,
           "optout_message": optout_message}
    begin_write()
    team = get_team(team_id)
    if team is None:
        db.session.rollback()
        raise AccountError("Team not found")
    changed = {name: value for name, value in new.items() if getattr(team, name) != value}
    for name, value in changed.items():
        setattr(team, name, value)
    if changed:
        summary = "; ".join(f"{SETTING_LABELS[name]}: {value or '(cleared)'}"
                            for name, value in changed.items())
        record(team_id, Action.SETTINGS_CHANGED, [Change(team_id, None, summary)],
               source=source, actor=actor)
    db.session.commit()
    return team
