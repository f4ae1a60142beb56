"""What an uploaded logo is, from its bytes only (never its name or declared type).

PNG, JPEG and WebP are accepted; SVG never (it can carry script). The width and height
are read from the header: a PNG's IHDR, a WebP's first chunk, a JPEG's frame header
(found by stepping over segments: each step moves forward, so the work is at most one
pass over the at most MAX_LOGO_BYTES of the file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

MAX_LOGO_BYTES = 256 * 1024
MIN_SIDE = 16
MAX_SIDE = 2048
# How far into a file an SVG's opening tag is looked for.
_SVG_WINDOW = 1024

PNG, JPEG, WEBP = "image/png", "image/jpeg", "image/webp"
LABELS = {PNG: "PNG", JPEG: "JPEG", WEBP: "WebP"}

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# JPEG frame headers (SOF0 to SOF15), without DHT (C4), JPG (C8) and DAC (CC).
_JPEG_FRAMES = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# JPEG markers without a length: TEM and the restart markers.
_JPEG_STANDALONE = frozenset([0x01, *range(0xD0, 0xD8)])


class ImageRefused(ValueError):
    """A logo that is not accepted; `message` says why, for the person who uploaded it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class _Damaged(ValueError):
    pass


@dataclass(frozen=True)
class LogoInfo:
    mime: str
    width: int
    height: int
    size: int

    @property
    def label(self) -> str:
        return LABELS[self.mime]


def sniff(data: bytes) -> str | None:
    """The image type from the file's first bytes, or None."""
    if data.startswith(_PNG_SIGNATURE):
        return PNG
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    return None


def looks_like_svg(data: bytes) -> bool:
    head = data[:_SVG_WINDOW].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(b"<") and (b"<svg" in head or head.startswith(b"<?xml"))


def _uint(data: bytes, start: int, length: int, order: Literal["big", "little"] = "big") -> int:
    if start + length > len(data):
        raise _Damaged("truncated")
    return int.from_bytes(data[start : start + length], order)


def _png_size(data: bytes) -> tuple[int, int]:
    if data[12:16] != b"IHDR":
        raise _Damaged("no IHDR")
    return _uint(data, 16, 4), _uint(data, 20, 4)


def _webp_size(data: bytes) -> tuple[int, int]:
    chunk = data[12:16]
    if chunk == b"VP8 ":  # lossy: a key frame's start code, then 14-bit sizes
        if data[23:26] != b"\x9d\x01\x2a":
            raise _Damaged("no VP8 start code")
        return _uint(data, 26, 2, "little") & 0x3FFF, _uint(data, 28, 2, "little") & 0x3FFF
    if chunk == b"VP8L":  # lossless: a signature byte, then two 14-bit sizes minus one
        if data[20:21] != b"\x2f":
            raise _Damaged("no VP8L signature")
        bits = _uint(data, 21, 4, "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if chunk == b"VP8X":  # extended: 24-bit canvas sizes minus one
        return _uint(data, 24, 3, "little") + 1, _uint(data, 27, 3, "little") + 1
    raise _Damaged("unknown WebP chunk")


def _jpeg_size(data: bytes) -> tuple[int, int]:
    position = 2
    while position + 1 < len(data):
        if data[position] != 0xFF:
            raise _Damaged("not a marker")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker in _JPEG_STANDALONE:
            position += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image or scan data before any frame header
            break
        length = _uint(data, position + 2, 2)
        if length < 2:
            raise _Damaged("bad segment length")
        if marker in _JPEG_FRAMES:
            # length, precision (1 byte), then height and width
            return _uint(data, position + 7, 2), _uint(data, position + 5, 2)
        position += 2 + length
    raise _Damaged("no frame header")


_SIZE_READERS = {PNG: _png_size, JPEG: _jpeg_size, WEBP: _webp_size}


def inspect_logo(data: bytes) -> LogoInfo:
    """The logo's type and size, or ImageRefused with the reason."""
    if not data:
        raise ImageRefused("The file is empty: choose the image file of your logo.")
    if len(data) > MAX_LOGO_BYTES:
        raise ImageRefused(too_large_message(len(data)))
    mime = sniff(data)
    if mime is None:
        if looks_like_svg(data):
            raise ImageRefused(
                "SVG logos are not accepted (an SVG can carry scripts): "
                "upload it as PNG, JPEG or WebP."
            )
        raise ImageRefused(
            "The logo must be a PNG, JPEG or WebP image, and this file is none of them."
        )
    try:
        width, height = _SIZE_READERS[mime](data)
    except _Damaged:
        raise ImageRefused(
            f"The size of this {LABELS[mime]} image cannot be read: the file seems damaged."
        ) from None
    if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
        raise ImageRefused(
            f"The logo is {width} × {height} pixels: each side must be "
            f"{MIN_SIDE} to {MAX_SIDE:,} pixels."
        )
    return LogoInfo(mime, width, height, len(data))


def too_large_message(size: int | None = None) -> str:
    found = f" (this file is {_kib(size)})" if size else ""
    return (
        f"The logo must be at most {MAX_LOGO_BYTES // 1024} KiB{found}: make it smaller "
        "and upload it again."
    )


def _kib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB" if size >= 1024 * 1024 else f"{-(-size // 1024)} KiB"
