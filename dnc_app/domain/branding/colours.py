"""Readable colours from a team's accent colour (WCAG 2.x contrast, computed here).

The accent fills the Opt out button (its text is black or white, whichever contrasts
more). Whatever is drawn *in* the accent on the page's surfaces (links, focus ring, the
button's edge) must reach 4.5:1 for text and 3:1 for other things; an accent that does
not is replaced there by the nearest shade of it that does (darker on the light page,
lighter on the dark one). Mirrored in static/js/settings-look.js for the live preview.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The public page's own blue (static/css/optout.css): a team without an accent has it.
DEFAULT_ACCENT = "#0b57d0"
BLACK, WHITE = "#000000", "#ffffff"
# The surfaces of optout.css, light and dark: its card and its page background.
LIGHT_SURFACES = ("#ffffff", "#f6f7f9")
DARK_SURFACES = ("#1f2226", "#15171a")
TEXT_CONTRAST = 4.5
NON_TEXT_CONTRAST = 3.0
# Shades are searched in steps of 1 % towards black or white: at most 100 tries.
_STEPS = 100
_HEX = re.compile(r"#[0-9a-f]{6}")


class InvalidColour(ValueError):
    message = "The accent colour must be a colour like #0b57d0."


def normalize_colour(value: str | None) -> str:
    """`#rrggbb` in lowercase, or InvalidColour (the length is checked before the regex)."""
    value = (value or "").strip().lower()
    if len(value) != 7 or not _HEX.fullmatch(value):
        raise InvalidColour(value)
    return value


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _hex(rgb: tuple[float, ...]) -> str:
    return "#" + "".join(f"{round(channel):02x}" for channel in rgb)


def luminance(colour: str) -> float:
    """WCAG relative luminance of an sRGB colour."""

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(channel) for channel in _rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """WCAG contrast ratio, 1 to 21."""
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def mix(colour: str, towards: str, fraction: float) -> str:
    """`colour` moved `fraction` (0 to 1) of the way to `towards`, in sRGB."""
    return _hex(
        tuple(c + (t - c) * fraction for c, t in zip(_rgb(colour), _rgb(towards), strict=True))
    )


def text_on(background: str) -> str:
    """Black or white, whichever has the higher contrast on `background` (black on a tie)."""
    return WHITE if contrast(WHITE, background) > contrast(BLACK, background) else BLACK


def readable_shade(colour: str, surfaces: tuple[str, ...], minimum: float, towards: str) -> str:
    """`colour` itself when it reaches `minimum` on every surface, else the first shade of
    it towards black (light surfaces) or white (dark ones) that does."""
    for step in range(_STEPS + 1):
        shade = mix(colour, towards, step / _STEPS)
        if all(contrast(shade, surface) >= minimum for surface in surfaces):
            return shade
    return towards  # not reached for these surfaces: black and white always pass


@dataclass(frozen=True)
class Theme:
    accent: str  # the button and the band at the top of the page
    on_accent: str  # text on the accent: black or white
    on_accent_contrast: float
    hover: str  # the button under the pointer: further from its text colour
    # Drawn in the accent on the light page, then on the dark one.
    link: str
    link_hover: str
    ring: str  # focus ring and the button's edge (non-text)
    dark_link: str
    dark_link_hover: str
    dark_ring: str


def theme_for(accent: str) -> Theme:
    on_accent = text_on(accent)
    away = BLACK if on_accent == WHITE else WHITE
    link = readable_shade(accent, LIGHT_SURFACES, TEXT_CONTRAST, BLACK)
    dark_link = readable_shade(accent, DARK_SURFACES, TEXT_CONTRAST, WHITE)
    hover = mix(accent, away, 0.15)
    if hover == accent:  # black or white already: a little towards its text, still clear
        hover = mix(accent, on_accent, 0.15)
    return Theme(
        accent=accent,
        on_accent=on_accent,
        on_accent_contrast=contrast(accent, on_accent),
        hover=hover,
        link=link,
        link_hover=mix(link, BLACK, 0.25),
        ring=readable_shade(accent, LIGHT_SURFACES, NON_TEXT_CONTRAST, BLACK),
        dark_link=dark_link,
        dark_link_hover=mix(dark_link, WHITE, 0.25),
        dark_ring=readable_shade(accent, DARK_SURFACES, NON_TEXT_CONTRAST, WHITE),
    )


def theme_css(theme: Theme, comment: str) -> str:
    """The stylesheet of a team's public pages: custom properties read by optout.css."""
    return (
        f"/* {comment} */\n"
        ":root {\n"
        f"  --brand-accent: {theme.accent};\n"
        f"  --brand-on-accent: {theme.on_accent};\n"
        f"  --brand-hover: {theme.hover};\n"
        f"  --brand-band: {theme.accent};\n"
        f"  --brand-link: {theme.link};\n"
        f"  --brand-link-hover: {theme.link_hover};\n"
        f"  --brand-ring: {theme.ring};\n"
        "}\n"
        "@media (prefers-color-scheme: dark) {\n"
        "  :root {\n"
        f"    --brand-link: {theme.dark_link};\n"
        f"    --brand-link-hover: {theme.dark_link_hover};\n"
        f"    --brand-ring: {theme.dark_ring};\n"
        "  }\n"
        "}\n"
    )
