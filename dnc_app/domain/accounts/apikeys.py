"""API keys: created (shown once, stored as a hash), revoked, and authenticated on
every API request (with a short per-process cache)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import NamedTuple

from flask import current_app
from sqlalchemy import bindparam, or_, select, update

from dnc_app.domain import ids
from dnc_app.domain.accounts import AccountError
from dnc_app.domain.accounts.teams import get_team
from dnc_app.domain.changelog import Action, Actor, Change, Source, record
from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write
from dnc_app.storage.models import ApiKey

# last_used_at is coarse: one UPDATE per key per interval, not one per request.
LAST_USED_GRANULARITY = timedelta(minutes=5)


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
