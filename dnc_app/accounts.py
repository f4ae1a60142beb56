"""Teams, team members and API keys."""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta

from flask import current_app
from sqlalchemy import insert, select
from werkzeug.security import generate_password_hash

from . import ids
from .dnc import Actor
from .extensions import db
from .models import ApiKey, AuditEvent, Team, User
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


def create_user(team_id: str, email: str, password: str) -> User:
    email = email.strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise AccountError("Not a valid email address")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Password must be at least {MIN_PASSWORD_LENGTH} characters")
    if get_team(team_id) is None:
        raise AccountError("Team not found")
    if db.session.execute(select(User.id).where(User.email == email)).first():
        raise AccountError("A user with this email already exists")
    user = User(
        team_id=team_id,
        email=email,
        password_hash=generate_password_hash(
            password, method=current_app.config["PASSWORD_HASH_METHOD"]
        ),
    )
    db.session.add(user)
    db.session.commit()
    return user


def _audit_key(key: ApiKey, action: str, actor: Actor, source: str) -> None:
    db.session.execute(
        insert(AuditEvent),
        [{
            "team_id": key.team_id,
            "action": action,
            "entry_id": key.id,
            "url": None,
            "reason": key.name,
            "source": source,
            "actor_type": actor.kind,
            "actor_id": actor.id,
            "actor_label": actor.label,
            "created_at": utcnow(),
        }],
    )


def create_api_key(
    team_id: str, *, name: str | None = None, actor: Actor, source: str = "cli"
) -> tuple[ApiKey, str]:
    """Create a key; return the record and the key itself, which is never stored."""
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
    _audit_key(key, "key_create", actor, source)
    db.session.commit()
    return key, secret


def revoke_api_key(team_id: str, key_id: str, *, actor: Actor, source: str = "cli") -> ApiKey:
    key = db.session.execute(
        select(ApiKey).where(ApiKey.id == key_id, ApiKey.team_id == team_id)
    ).scalar_one_or_none()
    if key is None:
        raise AccountError("API key not found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        _audit_key(key, "key_revoke", actor, source)
        db.session.commit()
    return key


def authenticate_api_key(secret: str) -> ApiKey | None:
    """The active key with this secret, or None. Marks it used (coarsely)."""
    key = db.session.execute(
        select(ApiKey).where(ApiKey.key_hash == ids.hash_api_key(secret))
    ).scalar_one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_GRANULARITY:
        key.last_used_at = now
        db.session.commit()
    return key
