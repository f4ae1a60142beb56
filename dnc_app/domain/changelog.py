"""The change log: one append-only record of every change to a team, and its one writer.

Every change goes through `record` (in the caller's write transaction; member events via
accounts.record_member_event) or `log_event` (in a transaction of its own): entries
added, asked for again and removed, API keys created and revoked, settings changed,
exports, and member events (sign-ins, password changes, …). Readers: the audit page and
the changes feed; webhook events are queued here too, in the same transaction.

Order: each team numbers its changes 1, 2, 3, … in `seq`. The number is taken from the
team row's `change_seq` counter, incremented in the same transaction as the change. That
UPDATE holds the team row's lock until the commit (PostgreSQL: a row lock, which entry
writes already hold since their `SELECT … FOR UPDATE`; SQLite: the database write lock),
so within a team `seq` is the commit order, without gaps (a rollback also rolls back the
counter). A reader that has seen up to `seq` N reads the rest with `seq > N` on the
unique index (team_id, seq) and can never miss a change committed later.

The same UPDATE keeps the team's entry count (each add is +1, each removal -1), so the
count and the log cannot disagree.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.engine import Row

from dnc_app.domain.timeutil import UTCDateTime, utcnow
from dnc_app.events.notifications import outbox as notifications
from dnc_app.events.webhooks.outbox import enqueue_entry_changes, enqueue_erasures, enqueue_updates
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write, run
from dnc_app.storage.models import AuditEvent, Team
from dnc_app.storage.search import contains

# --------------------------------------------------------------------------- vocabulary


class _Labelled(StrEnum):
    """A stored value (the enum's string) with the label people read."""

    label: str

    # `label` has a default only for the type checker, which reads a lookup by value
    # (`Source("api")`) as a call of this method.
    def __new__(cls, value: str, label: str = "", *extra: object):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def label_of(cls, value: str | None) -> str:
        """The label of a stored value; an unknown value as it is."""
        try:
            return cls(value or "").label
        except ValueError:
            return value or ""


class SubjectType(StrEnum):
    """What a change is about: `subject_id` is an id of this kind."""

    ENTRY = "entry"  # a dnc_entry id (kept after the entry is removed)
    API_KEY = "api_key"
    TEAM = "team"
    MEMBER = "member"  # a user_account id
    COMPANY = "company"  # a company_block id (kept after the block is removed)


class Action(_Labelled):
    ADD = "add", "Added", SubjectType.ENTRY, +1
    ADD_DUPLICATE = "add_duplicate", "Asked again (already listed)", SubjectType.ENTRY, 0
    # The person's own request for an entry listed otherwise: it became protected.
    OPTED_OUT = "opted_out", "Opted out themselves", SubjectType.ENTRY, 0
    REMOVE = "remove", "Removed", SubjectType.ENTRY, -1
    # Someone without the right tried to remove a person's own opt-out: nothing changed.
    REMOVE_REFUSED = "remove_refused", "Removal refused (own opt-out)", SubjectType.ENTRY, 0
    # The person's data erased on request; the entry (its digest) stays on the list.
    ERASE = "erase", "Personal data erased", SubjectType.ENTRY, 0
    # Another identifier of the person (the record's URL) was linked to the entry.
    ALIAS_ADD = "alias_add", "Alias added", SubjectType.ENTRY, 0
    KEY_CREATE = "key_create", "API key created", SubjectType.API_KEY, 0
    KEY_REVOKE = "key_revoke", "API key revoked", SubjectType.API_KEY, 0
    SETTINGS_CHANGED = "settings_changed", "Settings changed", SubjectType.TEAM, 0
    EXPORTED = "exported", "List exported", SubjectType.TEAM, 0
    REVIEWED = "reviewed", "Flagged entries reviewed", SubjectType.TEAM, 0
    SIGNED_IN = "member_signed_in", "Signed in", SubjectType.MEMBER, 0
    SIGN_IN_FAILED = "member_sign_in_failed", "Sign-in failed", SubjectType.MEMBER, 0
    PASSWORD_CHANGED = "password_changed", "Password changed", SubjectType.MEMBER, 0
    MEMBER_DISABLED = "member_disabled", "Member disabled", SubjectType.MEMBER, 0
    MEMBER_ENABLED = "member_enabled", "Member enabled", SubjectType.MEMBER, 0
    SESSIONS_REVOKED = "sessions_revoked", "Sessions ended", SubjectType.MEMBER, 0
    # Invitations: their subject id is the invite's id (no member exists yet).
    MEMBER_INVITED = "member_invited", "Member invited", SubjectType.MEMBER, 0
    INVITE_WITHDRAWN = "invite_withdrawn", "Invitation withdrawn", SubjectType.MEMBER, 0
    INVITE_ACCEPTED = "invite_accepted", "Invitation accepted", SubjectType.MEMBER, 0
    ROLE_CHANGED = "role_changed", "Role changed", SubjectType.MEMBER, 0
    MEMBER_REMOVED = "member_removed", "Member removed", SubjectType.MEMBER, 0
    COMPANY_BLOCKED = "company_blocked", "Company blocked", SubjectType.COMPANY, 0
    COMPANY_UNBLOCKED = "company_unblocked", "Company unblocked", SubjectType.COMPANY, 0

    # Defaults only for the type checker, as _Labelled.__new__'s.
    def __init__(
        self,
        _value: str,
        _label: str = "",
        subject_type: SubjectType = SubjectType.ENTRY,
        entry_delta: int = 0,
    ):
        self.subject_type = subject_type
        # What one such change does to the team's number of entries.
        self.entry_delta = entry_delta


class Source(_Labelled):
    """Where a change was made."""

    API = "api", "API"
    WEB = "web", "Team pages"
    WEB_BULK = "web_bulk", "Bulk add"
    PUBLIC_FORM = "public_form", "Public opt-out form"
    CLI = "cli", "Command line"


# An entry from the person's own request (the public form, also through a personal link)
# is their objection: only an owner, or an API key an owner allowed, may remove it. An
# entry added otherwise becomes protected too when the person asks on the public form
# (Entry.protected, kept in its row: the hot path reads it with the entry, no join).
PROTECTED_SOURCES = frozenset({Source.PUBLIC_FORM.value})


class ActorType(StrEnum):
    API_KEY = "api_key"
    MEMBER = "user"
    PUBLIC = "public"
    CLI = "cli"


@dataclass(frozen=True)
class Actor:
    """Who made a change: an API key, a team member, the public form or the CLI."""

    kind: ActorType
    id: str | None
    label: str
    ip_hash: str | None = None

    @classmethod
    def member(cls, member_id: int | str, email: str) -> Actor:
        return cls(ActorType.MEMBER, str(member_id), email)


class Change(NamedTuple):
    """One subject of a change: its id, and the URL and reason kept with the record."""

    subject_id: str | None
    url: str | None = None
    reason: str | None = None
    # A removal: the entry as it was, for the webhook event (not stored in the log).
    entry: object | None = None


# --------------------------------------------------------------------------- writing

_LOG = AuditEvent.__table__
_TEAMS = Team.__table__
_INSERT = insert(_LOG)
# Takes `n` numbers (the team row stays locked until the commit); returns the last one.
_TAKE_SEQS = (
    update(_TEAMS)
    .where(_TEAMS.c.id == bindparam("team_id"))
    .values(
        change_seq=_TEAMS.c.change_seq + bindparam("n"),
        entry_count=_TEAMS.c.entry_count + bindparam("entry_delta"),
    )
    .returning(_TEAMS.c.change_seq, _TEAMS.c.has_webhooks)
)
# PostgreSQL, many changes: each column travels as one array parameter (a short statement
# whatever the number of rows, see entries.statements).
_PG_INSERT_MANY = text("""
    INSERT INTO audit_event (team_id, seq, action, subject_type, subject_id, subject_label,
                             url, reason, source, actor_type, actor_id, actor_label, ip_hash,
                             reference, created_at, operation)
    SELECT :team_id, :first_seq + t.n - 1, :action, :subject_type, t.subject_id,
           :subject_label, t.url, t.reason, :source, :actor_type, :actor_id, :actor_label,
           :ip_hash, :reference, :created_at, :operation
    FROM unnest(CAST(:subject_ids AS varchar[]), CAST(:urls AS varchar[]),
                CAST(:reasons AS text[])) WITH ORDINALITY AS t(subject_id, url, reason, n)
    ORDER BY t.n
""").bindparams(bindparam("created_at", type_=UTCDateTime()))
# SQLite, many changes: the same, the changes as one JSON array of [subject_id, url,
# reason] (json_each; ORDER BY keeps their order in the log's ids): an executemany's
# conversion of each row's parameters cost more than the insert.
_SQLITE_INSERT_MANY = text("""
    INSERT INTO audit_event (team_id, seq, action, subject_type, subject_id, subject_label,
                             url, reason, source, actor_type, actor_id, actor_label, ip_hash,
                             reference, created_at, operation)
    SELECT :team_id, :first_seq + t.key, :action, :subject_type,
           json_extract(t.value, '$[0]'), :subject_label, json_extract(t.value, '$[1]'),
           json_extract(t.value, '$[2]'), :source, :actor_type, :actor_id, :actor_label,
           :ip_hash, :reference, :created_at, :operation
    FROM json_each(:changes) AS t
    ORDER BY t.key
""").bindparams(bindparam("created_at", type_=UTCDateTime()))


def record(
    team_id: str,
    action: Action,
    changes: Sequence[Change],
    *,
    source: Source | str,
    actor: Actor,
    subject_label: str | None = None,
    reference: str | None = None,
    now: datetime | None = None,
) -> int:
    """Append changes of one kind, by one actor, to the team's log, in the caller's write
    transaction (begun with `database.begin_write`; the caller commits). Returns the
    `seq` of the last one (0 when `changes` is empty)."""
    if not changes:
        return 0
    action, source = Action(action), Source(source)  # the vocabulary is closed
    # Statements built once, run on the transaction's DBAPI cursor (database.run): the
    # session's and Core's per-statement machinery cost more than these two writes.
    taken = run(
        _TAKE_SEQS,
        {
            "team_id": team_id,
            "n": len(changes),
            "entry_delta": action.entry_delta * len(changes),
        },
    )
    if not taken:
        raise LookupError(f"no team {team_id!r}")
    last, has_webhooks = taken[0]
    first = last - len(changes) + 1
    created_at = now or utcnow()
    common = {
        "team_id": team_id,
        "action": action.value,
        "subject_type": action.subject_type.value,
        "subject_label": subject_label,
        "source": source.value,
        "actor_type": ActorType(actor.kind).value,
        "actor_id": actor.id,
        "actor_label": actor.label,
        "ip_hash": actor.ip_hash,
        "reference": reference,
        "created_at": created_at,
        # The changes of one call are one operation (the audit page shows it as one event).
        "operation": first if len(changes) > 1 else None,
    }
    dialect = db.session.get_bind().dialect.name if len(changes) > 1 else None
    if dialect == "postgresql":
        db.session.connection().execute(
            _PG_INSERT_MANY,
            {
                **common,
                "first_seq": first,
                "subject_ids": [c.subject_id for c in changes],
                "urls": [c.url for c in changes],
                "reasons": [c.reason for c in changes],
            },
        )
    elif dialect == "sqlite":
        rows = [[c.subject_id, c.url, c.reason] for c in changes]
        db.session.connection().execute(
            _SQLITE_INSERT_MANY,
            {**common, "first_seq": first, "changes": json.dumps(rows, ensure_ascii=False)},
        )
    else:
        # The Core table, not the ORM entity: the ORM's bulk path costs more than the SQL.
        run(
            _INSERT,
            [
                {**common, "seq": seq, "subject_id": c.subject_id, "url": c.url, "reason": c.reason}
                for seq, c in enumerate(changes, start=first)
            ],
        )
    if has_webhooks and action in (Action.ADD, Action.REMOVE):
        # Webhook events in the same transaction: they exist exactly when the change does.
        enqueue_entry_changes(
            team_id,
            action is Action.REMOVE,
            changes,
            source.value,
            created_at,
            first,
            source.value in PROTECTED_SOURCES,
        )
    elif has_webhooks and action is Action.ERASE:
        enqueue_erasures(team_id, changes, created_at, first)
    elif has_webhooks and action is Action.ALIAS_ADD:
        enqueue_updates(team_id, changes, created_at, first)
    if source is Source.PUBLIC_FORM and action in (Action.ADD, Action.ADD_DUPLICATE):
        # The team is told of a person's own opt-out (an email, soon), in this transaction.
        notifications.optouts(team_id, first, len(changes), created_at)
    return last


def log_event(
    team_id: str,
    action: Action,
    subject_id: str | None,
    *,
    source: Source | str,
    actor: Actor,
    subject_label: str | None = None,
    reason: str | None = None,
) -> int:
    """Record one change in a write transaction of its own (for events that change
    nothing else, e.g. an export or a failed sign-in). Returns its `seq`."""
    begin_write()
    seq = record(
        team_id,
        action,
        [Change(subject_id, None, reason)],
        source=source,
        actor=actor,
        subject_label=subject_label,
    )
    db.session.commit()
    return seq


# --------------------------------------------------------------------------- reading

PAGE_SIZE = 50
_BY_TEAM = select(_LOG).where(_LOG.c.team_id == bindparam("team_id"))


def read_from(team_id: str, after_seq: int = 0, limit: int = 1000) -> list[Row]:
    """The team's changes after position `after_seq`, oldest first (a feed's next page:
    pass the last `seq` seen). One range scan of the unique index (team_id, seq)."""
    return list(
        db.session.execute(
            _BY_TEAM.where(_LOG.c.seq > after_seq).order_by(_LOG.c.seq).limit(limit),
            {"team_id": team_id},
        )
    )


# What the changes feed shows: the changes to the list itself. Other log events (keys,
# settings, members, repeated requests) keep their place in `seq` but are not listed.
FEED_ACTIONS = (
    Action.ADD.value,
    Action.REMOVE.value,
    Action.ERASE.value,
    Action.ALIAS_ADD.value,
)
_FEED = (
    select(
        _LOG.c.seq, _LOG.c.action, _LOG.c.subject_id, _LOG.c.url, _LOG.c.created_at, _LOG.c.source
    )
    .where(
        _LOG.c.team_id == bindparam("team_id"),
        _LOG.c.seq > bindparam("after_seq"),
        _LOG.c.action.in_(FEED_ACTIONS),
    )
    .order_by(_LOG.c.seq)
    .limit(bindparam("limit"))
)


def read_entry_changes(team_id: str, after_seq: int, limit: int) -> list[Row]:
    """The team's entry additions, removals and erasures after position `after_seq`, oldest first
    (the changes feed): rows of (seq, action, subject_id, url, created_at, source).

    One statement, so one snapshot: since `seq` is the commit order within a team, what
    it returns is a gap-free prefix of the changes after `after_seq`; a change committed
    later has a higher `seq` and comes on a later read."""
    return list(
        db.session.execute(_FEED, {"team_id": team_id, "after_seq": after_seq, "limit": limit})
    )


@dataclass(frozen=True)
class Filters:
    """The audit page's filters; unknown actions and sources are ignored."""

    action: str = ""
    source: str = ""
    q: str = ""  # a URL substring, already in its search form
    # Actions left out unless `action` asks for one of them (the page hides sign-ins).
    hidden: frozenset[str] = frozenset()

    @classmethod
    def checked(cls, action: str, source: str, q: str) -> Filters:
        return cls(action if action in _ACTIONS else "", source if source in _SOURCES else "", q)


_ACTIONS = frozenset(a.value for a in Action)
_SOURCES = frozenset(s.value for s in Source)


@dataclass
class LogPage:
    events: list[Row]
    next_before: int | None  # the `before` of the next (older) page
    # operation -> (its number of changes, its first rows), for the grouped events shown.
    operations: dict[int, tuple[int, list[Row]]] = field(default_factory=dict)


OPERATION_PREVIEW = 10  # rows of an operation shown when its event is opened


def read_page(
    team_id: str,
    filters: Filters,
    before: int | None = None,
    limit: int = PAGE_SIZE,
    operation: int | None = None,
    grouped: bool = True,
) -> LogPage:
    """Newest first, `limit` events with `seq < before` that match the filters.

    The changes of one operation (a bulk add) are one event, its first change, with their
    count in `operations`; a URL search (`q`) or one `operation` lists changes one by one.
    """
    c = _LOG.c
    stmt = _BY_TEAM
    if operation is not None:
        stmt = stmt.where(c.operation == operation)
    elif grouped and not filters.q:
        stmt = stmt.where((c.operation.is_(None)) | (c.operation == c.seq))
    if filters.action:
        stmt = stmt.where(c.action == filters.action)
    elif filters.hidden:
        stmt = stmt.where(c.action.not_in(sorted(filters.hidden)))
    if filters.source:
        stmt = stmt.where(c.source == filters.source)
    if filters.q:
        stmt = stmt.where(contains(c.url, filters.q))
    if before is not None:
        stmt = stmt.where(c.seq < before)
    rows = list(
        db.session.execute(stmt.order_by(c.seq.desc()).limit(limit + 1), {"team_id": team_id})
    )
    events = rows[:limit]
    page = LogPage(events, events[-1].seq if len(rows) > limit else None)
    if grouped and operation is None and not filters.q:
        page.operations = _operations(team_id, [e.seq for e in events if e.operation])
    return page


def _operations(team_id: str, operations: list[int]) -> dict[int, tuple[int, list[Row]]]:
    """The size and first rows of each operation, in two reads of the operation index."""
    if not operations:
        return {}
    c = _LOG.c
    in_ops = c.team_id == team_id, c.operation.in_(operations)
    counts: dict[int, int] = dict(
        db.session.execute(
            select(c.operation, func.count()).where(*in_ops).group_by(c.operation)
        ).all()
    )
    firsts: dict[int, list[Row]] = {op: [] for op in operations}
    for row in db.session.execute(
        select(_LOG).where(*in_ops, c.seq < c.operation + OPERATION_PREVIEW).order_by(c.seq)
    ):
        firsts[row.operation].append(row)
    return {op: (counts.get(op, 0), firsts[op]) for op in operations}


def walk_events(team_id: str, filters: Filters, chunk_size: int = 1000) -> Iterator[list[Row]]:
    """Every change that matches the filters, newest first, one chunk at a time (an
    export: one index range per chunk, at most one chunk in memory)."""
    before = None
    while True:
        page = read_page(team_id, filters, before, limit=chunk_size, grouped=False)
        if page.events:
            yield page.events
        if page.next_before is None:
            return
        before = page.next_before


def history_of(team_id: str, url: str, limit: int = 20) -> list[Row]:
    """One profile's changes (added, asked again, removed), newest first: the check page
    shows them for a profile that is no longer listed."""
    return list(
        db.session.execute(
            _BY_TEAM.where(_LOG.c.url == url).order_by(_LOG.c.seq.desc()).limit(limit),
            {"team_id": team_id},
        )
    )
