"""The one writer of a team's look (accent colour and logo), and its readers.

Every change is recorded in the change log as a settings change, in the same
transaction, and raises the look's version (the cache key of its URLs).
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import select

from dnc_app.domain.branding.colours import DEFAULT_ACCENT, normalize_colour
from dnc_app.domain.branding.images import LABELS, LogoInfo, inspect_logo
from dnc_app.domain.changelog import Action, Actor, Change, Source, record
from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write
from dnc_app.storage.models import Team, TeamBranding

# Longer than any slug (accounts.SLUG_RE): not worth a query.
_MAX_SLUG = 100


class Look(NamedTuple):
    """What a page needs to show a team's look (not the logo's bytes)."""

    accent: str | None
    version: int
    logo_type: str | None
    logo_width: int | None
    logo_height: int | None
    logo_size: int | None

    @property
    def has_logo(self) -> bool:
        return self.logo_type is not None

    @property
    def logo_label(self) -> str | None:
        return LABELS.get(self.logo_type) if self.logo_type else None

    @property
    def logo_kib(self) -> int:
        return -(-(self.logo_size or 0) // 1024)


class Logo(NamedTuple):
    data: bytes
    mime: str
    version: int


_LOOK = select(
    TeamBranding.accent_color,
    TeamBranding.version,
    TeamBranding.logo_type,
    TeamBranding.logo_width,
    TeamBranding.logo_height,
    TeamBranding.logo_size,
)


def look_of(team_id: str) -> Look | None:
    """The team's look, or None when it never set one."""
    row = db.session.execute(_LOOK.where(TeamBranding.team_id == team_id)).first()
    return Look(*row) if row else None


def logo_for_slug(slug: str) -> Logo | None:
    """The logo of the team at `slug`; None alike for no such team and no logo."""
    if len(slug) > _MAX_SLUG:
        return None
    row = db.session.execute(
        select(TeamBranding.logo, TeamBranding.logo_type, TeamBranding.version)
        .join(Team, Team.id == TeamBranding.team_id)
        .where(Team.slug == slug, TeamBranding.logo_type.is_not(None))
    ).first()
    if row is None or row.logo is None or row.logo_type is None:
        return None
    return Logo(row.logo, row.logo_type, row.version)


def theme_for_slug(slug: str) -> tuple[str, int] | None:
    """(accent, version) of the team at `slug`; None alike for no such team and no accent."""
    if len(slug) > _MAX_SLUG:
        return None
    row = db.session.execute(
        select(TeamBranding.accent_color, TeamBranding.version)
        .join(Team, Team.id == TeamBranding.team_id)
        .where(Team.slug == slug, TeamBranding.accent_color.is_not(None))
    ).first()
    return (row.accent_color, row.version) if row else None


# --------------------------------------------------------------------------- writing


def save_look(
    team_id: str,
    *,
    accent: str | None = None,
    logo: bytes | None = None,
    actor: Actor,
    source: Source = Source.WEB,
) -> None:
    """Set the accent colour (None: leave it) and/or a new logo (None: leave it).

    Checked before anything is written: InvalidColour or ImageRefused, nothing stored.
    Choosing the default colour of a team without one changes nothing.
    """
    accent = normalize_colour(accent) if accent is not None else None
    info = inspect_logo(logo) if logo is not None else None

    def change(branding: TeamBranding) -> list[str]:
        changed = []
        default_kept = branding.accent_color is None and accent == DEFAULT_ACCENT
        if accent is not None and accent != branding.accent_color and not default_kept:
            branding.accent_color = accent
            changed.append(f"Accent colour: {accent}")
        if info is not None and logo is not None:
            _set_logo(branding, logo, info)
            changed.append(
                f"Logo: uploaded ({info.label}, {info.width} × {info.height} "
                f"pixels, {-(-info.size // 1024)} KiB)"
            )
        return changed

    _write(team_id, change, actor, source)


def reset_accent(team_id: str, *, actor: Actor, source: Source = Source.WEB) -> None:
    def change(branding: TeamBranding) -> list[str]:
        if branding.accent_color is None:
            return []
        branding.accent_color = None
        return ["Accent colour: (default)"]

    _write(team_id, change, actor, source)


def remove_logo(team_id: str, *, actor: Actor, source: Source = Source.WEB) -> None:
    def change(branding: TeamBranding) -> list[str]:
        if branding.logo_type is None:
            return []
        for name in ("logo", "logo_type", "logo_size", "logo_width", "logo_height"):
            setattr(branding, name, None)
        return ["Logo: removed"]

    _write(team_id, change, actor, source)


def _set_logo(branding: TeamBranding, data: bytes, info: LogoInfo) -> None:
    branding.logo, branding.logo_type, branding.logo_size = data, info.mime, info.size
    branding.logo_width, branding.logo_height = info.width, info.height


def _write(team_id: str, change, actor: Actor, source: Source) -> None:
    """Apply `change` to the team's look under the team row's lock; record what changed."""
    begin_write()
    # The team row's lock orders concurrent changes of one team's look (SQLite: the
    # writer's own lock), so two first changes cannot both insert the row.
    locked = db.session.execute(select(Team.id).where(Team.id == team_id).with_for_update()).first()
    if locked is None:
        db.session.rollback()
        raise LookupError(f"no team {team_id!r}")
    branding = db.session.get(TeamBranding, team_id)
    if branding is None:
        branding = TeamBranding(team_id=team_id, version=0)
        db.session.add(branding)
    changed = change(branding)
    if not changed:
        db.session.rollback()
        return
    branding.version += 1
    branding.updated_at = utcnow()
    record(
        team_id,
        Action.SETTINGS_CHANGED,
        [Change(team_id, None, "; ".join(changed))],
        source=source,
        actor=actor,
    )
    db.session.commit()
