"""Teams: creating and finding them, and the settings of their public opt-out page."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select

from dnc_app.config import OPTOUT_LANGUAGES
from dnc_app.domain import ids
from dnc_app.domain.accounts import AccountError
from dnc_app.domain.changelog import Action, Actor, Change, Source, record
from dnc_app.domain.entries.values import MAX_URL_LENGTH
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write
from dnc_app.storage.models import Team

SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")


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
