"""A team's look on its public opt-out page: a logo and an accent colour.

`images` decides what an uploaded logo is from its bytes, `colours` derives readable
colours from the accent, `service` stores both (the one writer) and reads them back.
"""

from dnc_app.domain.branding.colours import (
    DEFAULT_ACCENT,
    InvalidColour,
    Theme,
    normalize_colour,
    theme_for,
)
from dnc_app.domain.branding.images import (
    MAX_LOGO_BYTES,
    ImageRefused,
    LogoInfo,
    inspect_logo,
    too_large_message,
)
from dnc_app.domain.branding.service import (
    Logo,
    Look,
    logo_for_slug,
    look_of,
    remove_logo,
    reset_accent,
    save_look,
    theme_for_slug,
)

__all__ = [
    "DEFAULT_ACCENT",
    "MAX_LOGO_BYTES",
    "ImageRefused",
    "InvalidColour",
    "Logo",
    "LogoInfo",
    "Look",
    "Theme",
    "inspect_logo",
    "logo_for_slug",
    "look_of",
    "normalize_colour",
    "remove_logo",
    "reset_accent",
    "save_look",
    "theme_for",
    "theme_for_slug",
    "too_large_message",
]
