"""Bulk uploads waiting between their preview and their confirmation.

The parsed list is kept in a file `<token>.json` in a directory (BULK_UPLOAD_DIR), so a
200,000-line upload never round-trips through the browser. A row per member
(`pending_upload`) names the member's one current file, its size and its age, so that
the limits hold on the server whatever cookie a client replays:
- a member has at most one pending upload: a new one replaces the older one, whose file
  is deleted;
- the pending files of one team stay under a cap of bytes (BULK_STAGED_BYTES_PER_TEAM);
- expired ones are removed at each new staging and by `flask --app app bulk sweep`;
- a confirmation takes the member's own current upload, once (a double-click on "Add"
  cannot add it twice).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select

from dnc_app.domain.timeutil import utcnow
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write
from dnc_app.storage.models import PendingUpload, Team

PENDING_TTL = 3600  # seconds a parsed upload waits for its confirmation
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")


# The areas of BULK_UPLOAD_DIR kept a directory per team and member: prospect files being
# screened (web/screen_csv.py), and what a bulk add did not add (its Done page's
# download). Here, with the directory's other files: erasing a person looks through them.
SCREEN, NOT_ADDED = "screen", "bulk-not-added"
AREAS = (SCREEN, NOT_ADDED)


def team_dir(base: str | os.PathLike, team_id: str, area: str = SCREEN) -> Path:
    return Path(base) / area / team_id


def member_dir(base: str | os.PathLike, team_id: str, user_id: int, area: str = SCREEN) -> Path:
    return team_dir(base, team_id, area) / str(user_id)


class StagingLimitError(Exception):
    """The team's pending uploads would go over the cap; nothing was staged."""

    def __init__(self, used: int, needed: int, cap: int):
        super().__init__(f"{used} + {needed} > {cap} bytes")
        self.used, self.needed, self.cap = used, needed, cap


def valid_token(token: object) -> bool:
    return isinstance(token, str) and _TOKEN.fullmatch(token) is not None


def _path(directory: Path, token: str) -> Path:
    return directory / f"{token}.json"


def _unlink(directory: Path, tokens) -> None:
    for token in tokens:
        _path(directory, token).unlink(missing_ok=True)


def _remove_expired(ttl: float) -> list[str]:
    """Delete the expired rows (in the caller's write transaction); their tokens."""
    cutoff = utcnow() - timedelta(seconds=ttl)
    tokens = list(
        db.session.execute(
            select(PendingUpload.token).where(PendingUpload.created_at < cutoff)
        ).scalars()
    )
    if tokens:
        db.session.execute(delete(PendingUpload).where(PendingUpload.token.in_(tokens)))
    return tokens


def stage(
    directory: str | os.PathLike,
    lines: list[int],
    urls: list[str],
    *,
    team_id: str,
    user_id: int,
    max_team_bytes: int,
    ttl: float,
    reasons: list[str | None] | None = None,
) -> str:
    """Keep the list as the member's pending upload, replacing an older one; its token.

    Raises StagingLimitError if the team's pending uploads (the member's older one not
    counted) and this one together are over `max_team_bytes`.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    kept = {"lines": lines, "urls": urls}
    if reasons and any(reasons):  # a CSV file's reason column
        kept["reasons"] = reasons
    payload = json.dumps(kept, separators=(",", ":")).encode()
    token = secrets.token_urlsafe(24)
    # Written before the transaction, so that the team's lock is not held for the write.
    fd = os.open(_path(directory, token), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(payload)
    try:
        begin_write()
        # One staging per team at a time, so that two members cannot both pass the cap.
        db.session.execute(select(Team.id).where(Team.id == team_id).with_for_update())
        removed = _remove_expired(ttl)
        used = db.session.execute(
            select(func.coalesce(func.sum(PendingUpload.size), 0)).where(
                PendingUpload.team_id == team_id, PendingUpload.user_id != user_id
            )
        ).scalar_one()
        if used + len(payload) > max_team_bytes:
            db.session.commit()  # the expired ones go; the member's older one stays
            _unlink(directory, [*removed, token])
            raise StagingLimitError(used, len(payload), max_team_bytes)
        older = db.session.execute(
            select(PendingUpload.token).where(PendingUpload.user_id == user_id)
        ).scalar_one_or_none()
        if older is not None:
            removed.append(older)
            db.session.execute(delete(PendingUpload).where(PendingUpload.user_id == user_id))
        db.session.add(
            PendingUpload(user_id=user_id, team_id=team_id, token=token, size=len(payload))
        )
        db.session.commit()
    except BaseException:
        db.session.rollback()
        _path(directory, token).unlink(missing_ok=True)
        raise
    _unlink(directory, removed)  # after the commit: a rollback keeps them
    return token


def take(
    directory: str | os.PathLike, token: str, *, team_id: str, user_id: int, ttl: float
) -> tuple[list[int], list[str], list[str | None]] | None:
    """(lines, urls, reasons) of the member's current pending upload if `token` names it and it
    has not expired; it is removed, so only one request gets it. None otherwise."""
    if not valid_token(token):
        return None
    directory = Path(directory)
    begin_write()
    row = db.session.execute(
        select(PendingUpload).where(
            PendingUpload.user_id == user_id,
            PendingUpload.team_id == team_id,
            PendingUpload.token == token,
        )
    ).scalar_one_or_none()
    if row is None:
        db.session.commit()
        return None
    expired = row.created_at < utcnow() - timedelta(seconds=ttl)
    db.session.delete(row)
    db.session.commit()
    path = _path(directory, token)
    try:
        with open(path, encoding="utf-8") as fh:
            payload = json.load(fh)
    except (OSError, ValueError):
        return None
    finally:
        path.unlink(missing_ok=True)
    return None if expired else _unpack(payload)


def peek(
    directory: str | os.PathLike, token: str, *, team_id: str, user_id: int, ttl: float
) -> tuple[list[int], list[str], list[str | None]] | None:
    """(lines, urls, reasons) of the member's current pending upload, left in place (the preview's
    downloads and pages read it); None if `token` does not name it or it has expired."""
    if not valid_token(token):
        return None
    row = db.session.execute(
        select(PendingUpload).where(
            PendingUpload.user_id == user_id,
            PendingUpload.team_id == team_id,
            PendingUpload.token == token,
        )
    ).scalar_one_or_none()
    if row is None or row.created_at < utcnow() - timedelta(seconds=ttl):
        return None
    try:
        with open(_path(Path(directory), token), encoding="utf-8") as fh:
            payload = json.load(fh)
    except (OSError, ValueError):
        return None
    return _unpack(payload)


def _unpack(payload: dict) -> tuple[list[int], list[str], list[str | None]]:
    lines, urls = payload["lines"], payload["urls"]
    return lines, urls, payload.get("reasons") or [None] * len(urls)


def sweep(directory: str | os.PathLike, ttl: float) -> int:
    """Remove expired pending uploads, and files in `directory` older than `ttl` that no
    row names (left by a crash mid-staging or by older versions); how many files."""
    directory = Path(directory)
    begin_write()
    expired = _remove_expired(ttl)
    db.session.commit()
    _unlink(directory, expired)
    live = set(db.session.execute(select(PendingUpload.token)).scalars())
    db.session.commit()
    cutoff = time.time() - ttl
    orphans = 0
    for path in directory.glob("*") if directory.is_dir() else ():
        try:
            # Only its own files: the screening files have a directory of their own.
            if path.suffix == ".json" and path.stem not in live and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                orphans += 1
        except FileNotFoundError:
            pass
    return len(expired) + orphans


def holding(directory: str | os.PathLike, team_id: str, matches) -> list[str]:
    """Tokens of the team's pending uploads that hold an input `matches(raw)` is true for
    (an erased person's URL, in any spelling): the caller removes them with `discard`.
    Reads each of the team's files once; they are few (one per member, capped in size)."""
    found = []
    for token in db.session.execute(
        select(PendingUpload.token).where(PendingUpload.team_id == team_id)
    ).scalars():
        try:
            with open(_path(Path(directory), token), encoding="utf-8") as fh:
                urls = json.load(fh).get("urls") or []
        except (OSError, ValueError, AttributeError):
            continue
        if any(isinstance(raw, str) and matches(raw) for raw in urls):
            found.append(token)
    return found


def discard(directory: str | os.PathLike, tokens: list[str]) -> None:
    """Delete these pending uploads: rows in the caller's write transaction, then files."""
    if tokens:
        db.session.execute(delete(PendingUpload).where(PendingUpload.token.in_(tokens)))
        _unlink(Path(directory), tokens)
