"""Bulk add input: URLs from pasted text or a CSV file, and the parsed list kept
server-side between the preview and the confirmation.

Pasted text: one item per line; a line that mentions linkedin.com gives every LinkedIn
URL in it (so a row copied from a spreadsheet works), any other non-blank line is one
item (and is shown as invalid, with the reason, unless it is a short form like `in/jo`).

CSV: any column; every cell is scanned for LinkedIn URLs, so header rows, names and
e-mail columns are skipped without configuration. The delimiter is detected
(`csv.Sniffer`, falling back to a comma); BOMs, quoted fields and CRLF are handled.

Between preview and confirm the list is kept in a file under `BULK_UPLOAD_DIR`
(default `instance/uploads/`), named by a random token that is also stored in the
member's session and checked against the member and team recorded in the file; it is
deleted when used, and files older than PENDING_TTL are swept on each new upload.
A 100,000-line upload therefore never round-trips through the browser.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

MAX_ITEMS = 200_000
PENDING_TTL = 3600  # seconds
_SNIFF_BYTES = 64 * 1024
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32}$")
# A run of characters that could belong to a URL and contains linkedin.com.
_CANDIDATE = re.compile(r"[^\s,;|<>\"'()\[\]{}]*linkedin\.com[^\s,;|<>\"'()\[\]{}]*", re.I)


class BulkInputError(ValueError):
    pass


@dataclass(frozen=True)
class Item:
    line: int  # line of the paste, or row of the CSV file (1-based)
    raw: str


def _check_size(items: list[Item]) -> list[Item]:
    if len(items) > MAX_ITEMS:
        raise BulkInputError(
            f"That is {len(items):,} URLs; one upload takes at most {MAX_ITEMS:,}. "
            "Split the file and upload the parts one after the other."
        )
    return items


def items_from_text(text: str) -> list[Item]:
    items: list[Item] = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        found = _CANDIDATE.findall(line)
        if found:
            items.extend(Item(number, url) for url in found)
        else:
            items.append(Item(number, line[:2100]))
        if len(items) > MAX_ITEMS:
            break
    return _check_size(items)


def decode_upload(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")  # Excel's "Unicode text" export
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Older spreadsheet exports: Latin-1 decodes any byte; URLs are ASCII anyway.
        return data.decode("latin-1")


def _dialect(sample: str):
    # Sniff whole lines only, and only among real delimiters (a URL is full of ':' '/').
    cut = max(sample.rfind("\n"), 0)
    try:
        return csv.Sniffer().sniff(sample[:cut] or sample, delimiters=",;\t|")
    except csv.Error:
        return csv.excel


def items_from_csv(data: bytes) -> list[Item]:
    text = decode_upload(data)
    reader = csv.reader(io.StringIO(text, newline=""), _dialect(text[:_SNIFF_BYTES]))
    items: list[Item] = []
    try:
        for row in reader:
            for cell in row:
                if "linkedin.com" in cell.lower():
                    items.extend(Item(reader.line_num, url) for url in _CANDIDATE.findall(cell))
            if len(items) > MAX_ITEMS:
                break
    except csv.Error as exc:
        raise BulkInputError(f"The file could not be read as CSV (line "
                             f"{reader.line_num:,}: {exc}).") from None
    return _check_size(items)


# --------------------------------------------------------------------------- pending uploads


class PendingUploads:
    """Parsed uploads waiting for the member's confirmation, one file per token."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def _path(self, token: str) -> Path | None:
        return self.directory / f"{token}.json" if _TOKEN_RE.match(token or "") else None

    def save(self, items: list[Item], *, team_id: str, user_id: int) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.sweep()
        token = secrets.token_urlsafe(24)
        payload = {"team": team_id, "user": user_id, "created": time.time(),
                   "lines": [i.line for i in items], "urls": [i.raw for i in items]}
        path = self._path(token)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, separators=(",", ":"))
        return token

    def take(self, token: str, *, team_id: str, user_id: int) -> list[Item] | None:
        """The items saved under `token` for this member, removed so that they are added
        once (a double-click on "Add" cannot add them twice); None if there are none."""
        path = self._path(token)
        if path is None:
            return None
        taken = path.with_name(f"{token}.{secrets.token_hex(8)}.taken")
        try:
            os.replace(path, taken)  # atomic: only one request gets the file
        except FileNotFoundError:
            return None
        try:
            with open(taken, encoding="utf-8") as fh:
                payload = json.load(fh)
        except ValueError:
            return None
        finally:
            taken.unlink(missing_ok=True)
        if (payload.get("team") != team_id or payload.get("user") != user_id
                or time.time() - payload.get("created", 0) > PENDING_TTL):
            return None
        return [Item(line, raw) for line, raw in zip(payload["lines"], payload["urls"],
                                                      strict=True)]

    def discard(self, token: str | None) -> None:
        path = self._path(token or "")
        if path is not None:
            path.unlink(missing_ok=True)

    def sweep(self, max_age: float = PENDING_TTL) -> None:
        cutoff = time.time() - max_age
        for path in [*self.directory.glob("*.json"), *self.directory.glob("*.taken")]:
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink(missing_ok=True)
            except FileNotFoundError:
                pass
