"""Aliases: a person's other identifiers (section "one person, any identifier" of the docs).

An entry's `url` is its first identifier; its aliases are the others (the member-token
form of the profile, a Sales Navigator lead, …), each normalized, at most MAX_ALIASES.
Every identifier of a team is a row of dnc_identifier, whose primary key (team_id,
sha256) is the one unique index that keeps an identifier to one person: an alias is
stored by INSERT … ON CONFLICT DO NOTHING on it, and a conflict is read back as the
entry that holds it (no check-then-insert race, whatever runs at the same time). The
entry's own identifier is written by triggers on every insert of an entry (migration
0027), which skip an entry whose URL is already someone's identifier (a duplicate).

Adding aliases is a change like any other: in the team's write transaction (its lock
held), one change-log record per alias added (action `alias_add`, the alias's URL), which
is the feed's `updated` and the webhook event `dnc.entry.updated` (the entry with its
aliases).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from sqlalchemy import bindparam, update

from dnc_app.domain.changelog import Action, Actor, Change, Source, record
from dnc_app.domain.entries import service
from dnc_app.domain.entries import statements as sql
from dnc_app.domain.entries.errors import AlreadyListed, EntryError, EntryNotFound, InvalidURL
from dnc_app.domain.entries.validation import clean_reason, normalize, url_digest
from dnc_app.domain.entries.values import Entry
from dnc_app.domain.timeutil import UTCDateTime, utcnow
from dnc_app.extensions import db
from dnc_app.storage.database import run

MAX_ALIASES = 10

__all__ = [
    "MAX_ALIASES",
    "AliasConflict",
    "TooManyAliases",
    "add_aliases",
    "add_entry_with_aliases",
    "clean_aliases",
]


class AliasConflict(EntryError):
    """An alias is already an identifier of another person of the team."""

    code = "alias_conflict"
    status = 409

    def __init__(self, entry: Entry, url: str):
        super().__init__(f"{url} is already an identifier of another entry ({entry.id})")
        self.entry = entry
        self.url = url


class TooManyAliases(EntryError):
    code = "too_many_aliases"

    def __init__(self, count: int):
        super().__init__(
            f"An entry has at most {MAX_ALIASES} aliases (this request names or would make {count})"
        )


class InvalidAliases(EntryError):
    """The aliases are not an array of strings."""

    code = "invalid_parameter"


def clean_aliases(raw: object, field: str = "aliases") -> list[str]:
    """The normalized aliases of a request, repeats folded, in order. Raises
    InvalidAliases (not an array of strings), InvalidURL naming the item (`field[i]`) or
    TooManyAliases (more than MAX_ALIASES items). Bounded work: a long array is refused
    before any item is normalized."""
    if not isinstance(raw, list):
        raise InvalidAliases(f"{field} must be an array of URLs")
    if len(raw) > MAX_ALIASES:
        raise TooManyAliases(len(raw))
    urls: dict[str, None] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, str):
            raise InvalidAliases(f"{field}[{index}] must be a string")
        try:
            urls[normalize(item)] = None
        except InvalidURL as exc:
            raise InvalidURL(f"{field}[{index}]: {exc.reason}") from None
    return list(urls)


_INSERT_IDENTIFIER: dict = {}


def _insert_identifiers(team_id: str, entry: Entry, urls: list[str], now) -> set[str]:
    """Store these aliases of the entry (ON CONFLICT DO NOTHING on the unique key);
    the digests stored. An erased person's aliases are stored by digest only."""
    dialect = sql.dialect_name()
    stmt = _INSERT_IDENTIFIER.get(dialect)
    if stmt is None:
        from sqlalchemy.dialects import postgresql, sqlite

        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = _INSERT_IDENTIFIER[dialect] = (
            insert(sql.IDENTIFIERS).on_conflict_do_nothing().returning(sql.IDENTIFIERS.c.sha256)
        )
    stored: set[str] = set()
    for url in urls:  # at most MAX_ALIASES: one statement each keeps RETURNING portable
        row = {
            "team_id": team_id,
            "sha256": url_digest(url),
            "entry_seq": entry.seq,
            "url": None if entry.erased else url,
            "created_at": now,
        }
        stored.update(digest for (digest,) in run(stmt, row))
    return stored


_SET_ALIASES = (
    update(sql.ENTRIES)
    .where(sql.ENTRIES.c.seq == bindparam("entry_seq"))
    .values(aliases=bindparam("aliases"), updated_at=bindparam("at", type_=UTCDateTime()))
)


def _attach(team_id: str, entry: Entry, urls: list[str], source: Source, actor: Actor) -> Entry:
    """In the caller's write transaction (the team's lock held): the aliases of `urls`
    that are new to the entry are stored and recorded; the entry as it is then. Raises
    TooManyAliases or AliasConflict (the caller rolls back)."""
    own = {entry.url_sha256, *(url_digest(url) for url in entry.alias_list)}
    new = [url for url in urls if url_digest(url) not in own]
    if not new:
        return entry
    count = len(entry.alias_list) + len(new)
    if count > MAX_ALIASES:
        raise TooManyAliases(count)
    now = utcnow()
    stored = _insert_identifiers(team_id, entry, new, now)
    for url in new:
        if url_digest(url) not in stored:
            found = run(sql.FIND_BY_DIGEST, {"team_id": team_id, "sha256": url_digest(url)})
            holder = Entry(*found[0]) if found else entry
            raise AliasConflict(holder, url)
    aliases = None if entry.erased else "\n".join([*entry.alias_list, *new])
    run(_SET_ALIASES, {"entry_seq": entry.seq, "aliases": aliases, "at": now})
    updated = dataclasses.replace(entry, aliases=aliases, updated_at=now)
    record(
        team_id,
        Action.ALIAS_ADD,
        # An erased person's alias is recorded without its URL (only its digest is kept).
        [Change(entry.id, None if entry.erased else url, None, updated) for url in new],
        source=source,
        actor=actor,
        now=now,
    )
    return updated


def add_aliases(
    team_id: str, entry_id: str, raw_urls: object, *, source: Source, actor: Actor
) -> Entry:
    """Add aliases to the team's entry; the entry with its aliases. An alias that is
    already the entry's own identifier changes nothing. Raises InvalidAliases,
    InvalidURL, TooManyAliases, EntryNotFound (another team's id too) or AliasConflict
    (with the entry that holds the alias); nothing is written then."""
    urls = clean_aliases(raw_urls, "urls")
    if not urls:
        raise InvalidAliases("urls must contain at least one URL")
    service.begin_team_write(team_id)
    try:
        found = run(sql.GET_ENTRY, {"team_id": team_id, "entry_id": entry_id})
        if not found:
            raise EntryNotFound()
        entry = Entry(*found[0])
        updated = _attach(team_id, entry, urls, Source(source), actor)
    except BaseException:
        db.session.rollback()
        raise
    if updated is entry:
        db.session.rollback()  # nothing new: no change to record
    else:
        db.session.commit()
    return updated


def add_entry_with_aliases(
    team_id: str,
    raw_url: object,
    raw_aliases: object,
    *,
    reason: object = None,
    source: Source,
    actor: Actor,
) -> Entry:
    """Add one person with aliases, in one transaction: the entry (its change `add`), then
    its aliases (`alias_add`). If its URL or an alias is already an identifier of the
    team, AlreadyListed with that entry and nothing is written. Raises InvalidURL,
    InvalidAliases, TooManyAliases, InvalidReason."""
    url = normalize(raw_url)
    aliases = [alias for alias in clean_aliases(raw_aliases) if alias != url]
    reason = clean_reason(reason)
    source = Source(source)
    service.begin_team_write(team_id)
    try:
        entry = _insert_person(team_id, url, aliases, reason, source, actor)
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    return entry


def _insert_person(
    team_id: str, url: str, aliases: list[str], reason, source: Source, actor: Actor
) -> Entry:
    # The team's lock is held: no identifier of the team changes until the commit, so
    # what these probes find stays true (the unique key would refuse it anyway).
    for identifier in (url, *aliases):
        found = run(sql.FIND_BY_DIGEST, {"team_id": team_id, "sha256": url_digest(identifier)})
        if found:
            raise AlreadyListed(Entry(*found[0]))
    now = utcnow()
    row = service.entry_row(team_id, url, reason, source, actor, now)
    stored = sql.insert_ignoring_duplicates([row])
    if url not in stored:  # pragma: no cover - the probe above found nothing
        raise RuntimeError("the entry's identifier was taken while the team was locked")
    entry = Entry(seq=stored[url][0], **row)
    added = [Change(entry.id, url, reason)]
    record(team_id, Action.ADD, added, source=source, actor=actor, now=now)
    return _attach(team_id, entry, aliases, source, actor) if aliases else entry


def add_many_with_aliases(
    team_id: str,
    items: Sequence[tuple[object, object, object]],
    *,
    source: Source,
    actor: Actor,
) -> list[tuple[str, Entry | None, str | None]]:
    """Batch items that carry aliases, each (url, aliases, reason) added on its own
    (its own transaction): for each, ("added", entry, None), ("duplicate", entry, None)
    or ("error", None, message)."""
    from dnc_app.domain.entries.errors import message_of

    results: list[tuple[str, Entry | None, str | None]] = []
    for raw_url, raw_aliases, reason in items:
        try:
            entry = add_entry_with_aliases(
                team_id, raw_url, raw_aliases, reason=reason, source=source, actor=actor
            )
            results.append(("added", entry, None))
        except AlreadyListed as exc:
            results.append(("duplicate", exc.entry, None))
        except InvalidURL as exc:
            results.append(("error", None, exc.reason))
        except EntryError as exc:
            results.append(("error", None, message_of(exc)))
    return results
