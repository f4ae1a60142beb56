"""Company blocks: the one way a team's blocks are added, removed and read.

Every path (API, pages, CLI) calls these functions. A write locks the team row first (as
the entry service does), so two adds of one company cannot both pass the duplicate check,
and writes its audit record (dnc_app.domain.changelog) in the same transaction: a block exists
exactly when its record does.

A block applies through its `until` day (UTC) and not after: screening compares `until`
with the day of the query, so an expired block stops matching without any job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from sqlalchemy import String, bindparam, delete, func, insert, or_, select
from sqlalchemy.dialects.postgresql import ARRAY

from dnc_app.domain import ids
from dnc_app.domain.changelog import Action, Actor, Change, Source, record
from dnc_app.domain.company_url import InvalidURL, normalize_company_url
from dnc_app.domain.entries.errors import InvalidReason
from dnc_app.domain.entries.statements import LOCK_TEAM, dialect_name
from dnc_app.domain.entries.validation import clean_reason, url_digest
from dnc_app.domain.timeutil import isoformat, utcnow
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write
from dnc_app.storage.models import CompanyBlock

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_PASTE_LINES",
    "AlreadyBlocked",
    "Block",
    "BlockedBy",
    "BlockNotFound",
    "CompanyError",
    "InvalidCompanyParameter",
    "PasteLine",
    "add_block",
    "add_blocks",
    "blocking",
    "check_fields",
    "clean_name",
    "get_block",
    "list_blocks",
    "parse_until",
    "preview_lines",
    "remove_block",
    "today",
]

MAX_NAME_LENGTH = 200
MAX_PASTE_LINES = 500  # lines of one paste on the Companies page

_BLOCKS = CompanyBlock.__table__
_COLUMNS = (
    _BLOCKS.c.id,
    _BLOCKS.c.url,
    _BLOCKS.c.name,
    _BLOCKS.c.reason,
    _BLOCKS.c.until,
    _BLOCKS.c.created_at,
    _BLOCKS.c.created_by,
)
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


# --------------------------------------------------------------------------- values and errors


@dataclass(frozen=True, slots=True)
class Block:
    id: str
    url: str
    name: str | None
    reason: str | None
    until: date | None
    created_at: datetime
    created_by: str | None

    def expired(self, on: date) -> bool:
        """Whether the block no longer applies on the day `on`."""
        return self.until is not None and self.until < on

    def to_dict(self) -> dict:
        """The API's representation."""
        return {
            "id": self.id,
            "url": self.url,
            "name": self.name,
            "reason": self.reason,
            "until": None if self.until is None else self.until.isoformat(),
            "$createdAt": isoformat(self.created_at),
        }


class CompanyError(Exception):
    """A refused request about blocks, with the API's `code` and a `message`."""

    code = "error"
    status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class InvalidCompanyParameter(CompanyError):
    code = "invalid_parameter"


class AlreadyBlocked(CompanyError):
    code = "already_exists"
    status = 409

    def __init__(self, block: Block):
        super().__init__("This company is already blocked")
        self.block = block


class BlockNotFound(CompanyError):
    code = "not_found"
    status = 404

    def __init__(self):
        super().__init__("Company block not found")


def today() -> date:
    """The day (UTC) blocks are compared with."""
    return utcnow().date()


# --------------------------------------------------------------------------- validation


def clean_name(name: object) -> str | None:
    """An optional company name: trimmed, at most MAX_NAME_LENGTH characters of text."""
    if name is None:
        return None
    if not isinstance(name, str):
        raise InvalidCompanyParameter("name must be a string")
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidCompanyParameter(f"name must be at most {MAX_NAME_LENGTH} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise InvalidCompanyParameter("name must not contain control characters")
    if not name.isascii() and any("\ud800" <= c <= "\udfff" for c in name):
        raise InvalidCompanyParameter("name must not contain lone surrogates")
    return name or None


def _clean_reason(reason: object) -> str | None:
    try:
        return clean_reason(reason)
    except InvalidReason as exc:
        raise InvalidCompanyParameter(exc.message) from None


def parse_until(value: object, on: date | None = None) -> date | None:
    """`until` as a date: None is no end; else "YYYY-MM-DD", not before `on` (today)."""
    if value is None:
        return None
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise InvalidCompanyParameter("until must be a date written YYYY-MM-DD")
    try:
        until = date.fromisoformat(value)
    except ValueError:
        raise InvalidCompanyParameter("until is not a valid date") from None
    if until < (on or today()):
        raise InvalidCompanyParameter("until must not be in the past")
    return until


def check_fields(
    name: object, reason: object, until: object, on: date | None = None
) -> tuple[str | None, str | None, date | None]:
    """A block's name, reason and last day, cleaned, or InvalidCompanyParameter."""
    return clean_name(name), _clean_reason(reason), parse_until(until, on)


# --------------------------------------------------------------------------- writes


def _begin_write(team_id: str) -> None:
    begin_write()
    if db.session.execute(LOCK_TEAM, {"team_id": team_id}).first() is None:
        db.session.rollback()
        raise LookupError(f"no team {team_id!r}")


def _block_of(row) -> Block:
    return Block(*row)


_BY_URL = select(*_COLUMNS).where(
    _BLOCKS.c.team_id == bindparam("team_id"), _BLOCKS.c.url == bindparam("url")
)
_BY_ID = select(*_COLUMNS).where(
    _BLOCKS.c.team_id == bindparam("team_id"), _BLOCKS.c.id == bindparam("block_id")
)


def _insert(
    team_id: str,
    url: str,
    name: str | None,
    reason: str | None,
    until: date | None,
    actor: Actor,
    now: datetime,
) -> Block:
    block = Block(ids.company_id(), url, name, reason, until, now, actor.label)
    db.session.execute(
        insert(_BLOCKS).values(
            id=block.id,
            team_id=team_id,
            url=url,
            url_sha256=url_digest(url),
            name=name,
            reason=reason,
            until=until,
            created_at=now,
            created_by=actor.label,
        )
    )
    return block


def add_block(
    team_id: str,
    url: object,
    *,
    name: object = None,
    reason: object = None,
    until: object = None,
    source: Source,
    actor: Actor,
    on: date | None = None,
) -> Block:
    """Block one company. Everything is checked before anything is written: InvalidURL,
    InvalidCompanyParameter; AlreadyBlocked (with the block) when the team has it."""
    normalized = normalize_company_url(url)
    clean = check_fields(name, reason, until, on)
    _begin_write(team_id)
    existing = db.session.execute(_BY_URL, {"team_id": team_id, "url": normalized}).first()
    if existing is not None:
        db.session.rollback()
        raise AlreadyBlocked(_block_of(existing))
    block = _insert(team_id, normalized, *clean, actor, utcnow())
    _record(team_id, Action.COMPANY_BLOCKED, [block], source, actor)
    db.session.commit()
    return block


@dataclass(frozen=True, slots=True)
class PasteLine:
    """One line of a paste: its text, the company URL, or why it is refused."""

    line: int  # 1-based
    input: str
    url: str | None
    error: str | None
    status: str = ""  # after adding: "added" or "duplicate"


def preview_lines(text: str) -> list[PasteLine]:
    """Each non-blank line of a paste normalized (at most MAX_PASTE_LINES: over that is
    InvalidCompanyParameter); a URL given twice is refused the second time."""
    lines = [(i, line.strip()) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) > MAX_PASTE_LINES:
        raise InvalidCompanyParameter(
            f"Paste at most {MAX_PASTE_LINES} company URLs at a time (got {len(lines):,})"
        )
    seen: set[str] = set()
    result = []
    for number, line in lines:
        try:
            url = normalize_company_url(line)
        except InvalidURL as exc:
            result.append(PasteLine(number, line, None, exc.reason))
            continue
        if url in seen:
            result.append(PasteLine(number, line, url, "Given twice in this paste"))
        else:
            seen.add(url)
            result.append(PasteLine(number, line, url, None))
    return result


def add_blocks(
    team_id: str,
    lines: Sequence[PasteLine],
    *,
    name: object = None,
    reason: object = None,
    until: object = None,
    source: Source,
    actor: Actor,
    on: date | None = None,
) -> list[PasteLine]:
    """Block the valid lines of a preview in one transaction (one audit record each); the
    lines with their status ("added", or "duplicate" for a company already blocked)."""
    clean = check_fields(name, reason, until, on)
    valid = [line for line in lines if line.url is not None and line.error is None]
    if not valid:
        return list(lines)
    _begin_write(team_id)
    urls = [line.url for line in valid if line.url is not None]
    existing = set(
        db.session.execute(
            select(_BLOCKS.c.url).where(_BLOCKS.c.team_id == team_id, _BLOCKS.c.url.in_(urls))
        ).scalars()
    )
    now = utcnow()
    added = [
        _insert(team_id, url, *clean, actor, now)
        for url in dict.fromkeys(urls)
        if url not in existing
    ]
    _record(team_id, Action.COMPANY_BLOCKED, added, source, actor)
    db.session.commit()
    return [
        line
        if line.error is not None or line.url is None
        else PasteLine(
            line.line,
            line.input,
            line.url,
            None,
            "duplicate" if line.url in existing else "added",
        )
        for line in lines
    ]


def _record(
    team_id: str, action: Action, blocks: Sequence[Block], source: Source, actor: Actor
) -> None:
    # One record per block (not one grouped operation): the trail names each company.
    for block in blocks:
        record(
            team_id,
            action,
            [Change(block.id, block.url, block.reason)],
            source=source,
            actor=actor,
            subject_label=block.name,
        )


def remove_block(team_id: str, block_id: str, *, source: Source, actor: Actor) -> Block:
    """Remove one block of this team; another team's id is BlockNotFound, like an unknown
    one. The audit record stays."""
    _begin_write(team_id)
    row = db.session.execute(_BY_ID, {"team_id": team_id, "block_id": block_id}).first()
    if row is None:
        db.session.rollback()
        raise BlockNotFound()
    block = _block_of(row)
    db.session.execute(
        delete(_BLOCKS).where(_BLOCKS.c.team_id == team_id, _BLOCKS.c.id == block.id)
    )
    _record(team_id, Action.COMPANY_UNBLOCKED, [block], source, actor)
    db.session.commit()
    return block


# --------------------------------------------------------------------------- reads


def get_block(team_id: str, block_id: str) -> Block | None:
    row = db.session.execute(_BY_ID, {"team_id": team_id, "block_id": block_id}).first()
    return None if row is None else _block_of(row)


def list_blocks(team_id: str, *, limit: int, offset: int = 0) -> tuple[list[Block], int]:
    """(the team's blocks newest first, `limit` from `offset`; how many it has)."""
    rows = db.session.execute(
        select(*_COLUMNS)
        .where(_BLOCKS.c.team_id == team_id)
        .order_by(_BLOCKS.c.created_at.desc(), _BLOCKS.c.id.desc())
        .limit(limit)
        .offset(offset)
    )
    blocks = [_block_of(row) for row in rows]
    total = db.session.execute(
        select(func.count()).select_from(_BLOCKS).where(_BLOCKS.c.team_id == team_id)
    ).scalar_one()
    return blocks, total


def _blocking_statement(url_in):
    return select(_BLOCKS.c.url, _BLOCKS.c.id, _BLOCKS.c.until).where(
        _BLOCKS.c.team_id == bindparam("team_id"),
        url_in,
        or_(_BLOCKS.c.until.is_(None), _BLOCKS.c.until >= bindparam("on")),
    )


# The blocks among some company URLs that apply on a day: one statement, served by the
# unique (team_id, url) index. PostgreSQL takes the URLs as one array parameter (a short
# statement whatever their number); SQLite as an expanding IN (at most 1,000 values, as
# the entries' screen).
_BLOCKING = {
    "postgresql": _blocking_statement(
        _BLOCKS.c.url == func.any(bindparam("urls", type_=ARRAY(String())))
    ),
    "sqlite": _blocking_statement(_BLOCKS.c.url.in_(bindparam("urls", expanding=True))),
}


class BlockedBy(NamedTuple):
    """What blocks a prospect's company: the block's id and last day."""

    company_id: str
    until: date | None

    def to_dict(self) -> dict:
        return {
            "companyId": self.company_id,
            "until": None if self.until is None else self.until.isoformat(),
        }


def blocking(team_id: str, urls: Iterable[str], on: date | None = None) -> dict[str, BlockedBy]:
    """{company URL: its block} for the normalized `urls` blocked on the day `on` (today):
    one query, none when `urls` is empty."""
    wanted = sorted(set(urls))
    if not wanted:
        return {}
    statement = _BLOCKING[dialect_name()]
    rows = db.session.execute(statement, {"team_id": team_id, "urls": wanted, "on": on or today()})
    return {url: BlockedBy(block_id, until) for url, block_id, until in rows}
