"""Erasure without forgetting: where a person's data is stored, and how it is taken out.

The entry service's `erase_entry` calls `scrub` in its write transaction (one way in),
then `after_commit`. What is removed: the entry's URL and reason; in the team's change
log every event of this entry or of this URL (an earlier entry of the same person), its
URL, reason, label and the hashed address it came from; in stored webhook payloads (the
outbox, whatever their status) the URL and reason of this person; the receivers'
answers kept with their attempts, which may echo a payload; a bulk upload waiting for
its confirmation that holds the URL; after the commit, staged screening files that
mention it. What stays: the digest of the
URL, the entry's id and dates, the events themselves (with no personal data).

The search indexes follow the URL by triggers (SQLite's FTS5 table, migrations
0016/0017: the update trigger takes the old username out; PostgreSQL's GIN index,
migration 0018: a NULL URL has no keys). What must also go is the old bytes:
- SQLite: every connection runs with `PRAGMA secure_delete` (dnc_app/storage/database.py), so
  freed cells and pages are zeroed; FTS5 keeps a deleted row's terms in its old segments
  until they are merged, so the index is merged here (or, with SQLite 3.42+, its own
  `secure-delete` option is switched on first and removes them at once); then the WAL,
  which still holds the page images written before, is checkpointed and truncated.
- PostgreSQL keeps old row versions until VACUUM, and WAL and backups keep them longer:
  docs/erasure.md says what an operator must do.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from datetime import datetime

from flask import current_app
from sqlalchemy import ColumnElement, or_, select, text, update

from dnc_app.domain import pending_uploads
from dnc_app.domain.entries.errors import InvalidURL
from dnc_app.domain.entries.validation import normalize, url_digest
from dnc_app.domain.entries.values import Entry
from dnc_app.domain.normalize import CANONICAL_PREFIX
from dnc_app.domain.pending_uploads import AREAS, team_dir
from dnc_app.events.webhooks import signing
from dnc_app.extensions import db
from dnc_app.storage.database import begin_write, rows_matched
from dnc_app.storage.models import (
    AuditEvent,
    DncEntry,
    DncIdentifier,
    NotificationMessage,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookMessage,
)
from dnc_app.storage.search import entry_fts_upto

log = logging.getLogger(__name__)

_ENTRIES = DncEntry.__table__
_LOG = AuditEvent.__table__
_IDENTIFIERS = DncIdentifier.__table__
_MESSAGES = WebhookMessage.__table__
_ATTEMPTS = WebhookAttempt.__table__
_ENDPOINTS = WebhookEndpoint.__table__
_FTS = "dnc_entry_fts_username"
# FTS5's own secure-delete option (removes a deleted row's terms from the segments).
_FTS_SECURE_DELETE = (3, 42, 0)


def _like_any(column, needles: list[str]):
    """`column` contains one of the needles (literally: LIKE's wildcards escaped)."""

    def escaped(needle: str) -> str:
        return needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")

    return or_(*(column.like(f"%{escaped(n)}%", escape="\\") for n in needles))


def _forms(url: str) -> list[str]:
    """How the URL can appear in stored text: as is, its username alone (a receiver may
    echo only that), and JSON's escaped form of a non-ASCII username."""
    username = url[len(CANONICAL_PREFIX) :] if url.startswith(CANONICAL_PREFIX) else url
    forms = {url, username, json.dumps(username)[1:-1]}
    return sorted(form for form in forms if form)


def _identifier_forms(entry: Entry) -> list[str]:
    """The stored forms (_forms) of each of the person's URLs: its own and its aliases."""
    urls = [known for known in (entry.url, *entry.alias_list) if known is not None]
    return sorted({form for url in urls for form in _forms(url)})


def scrub(team_id: str, entry: Entry, now: datetime) -> dict:
    """Take the person's data out of every table, in the caller's write transaction.
    Returns what was done per table (counts), for the caller's log line and tests."""
    url = entry.url
    fts_indexed = _prepare_sqlite_index(entry)
    db.session.execute(
        update(_ENTRIES)
        .where(_ENTRIES.c.seq == entry.seq)
        .values(url=None, reason=None, aliases=None, updated_at=now)
    )
    # The person's aliases: their digests stay (the person is still found by each).
    db.session.execute(
        update(_IDENTIFIERS).where(_IDENTIFIERS.c.entry_seq == entry.seq).values(url=None)
    )
    person = _LOG.c.subject_id == entry.id
    identifiers = [known for known in (url, *entry.alias_list) if known is not None]
    if identifiers:
        person = or_(person, _LOG.c.url.in_(identifiers))
    audit = rows_matched(
        db.session.execute(
            update(_LOG)
            .where(_LOG.c.team_id == team_id, person)
            .values(url=None, reason=None, subject_label=None, ip_hash=None)
        )
    )
    messages, attempts = _scrub_webhooks(team_id, entry)
    notices = _scrub_notifications(team_id, url) if url is not None else 0
    staged = _drop_staged_uploads(team_id, entry)
    return {
        "audit_events": audit,
        "webhook_messages": messages,
        "webhook_attempts": attempts,
        "notifications": notices,
        "staged_uploads": staged,
        "fts_indexed": fts_indexed,
    }


# What a notification not yet sent says instead of an erased person's URL.
ERASED_MARK = "(erased)"


def _scrub_notifications(team_id: str, url: str) -> int:
    """Notifications not yet sent (a mail server that is down keeps them) whose body
    names the person: encrypted at rest, so each of the team's few pending bodies is
    read; the URL is replaced there. A sent one keeps no body."""
    notes = NotificationMessage.__table__.c
    changed = 0
    for message_id, stored in db.session.execute(
        select(notes.id, notes.body).where(
            notes.team_id == team_id, notes.status == "pending", notes.body.is_not(None)
        )
    ).all():
        try:
            text_ = signing.decrypt(stored)
        except signing.SecretUnreadable:
            continue  # unreadable by this service, so never sent either
        if url not in text_:
            continue
        db.session.execute(
            update(NotificationMessage)
            .where(notes.id == message_id)
            .values(body=signing.encrypt(text_.replace(url, ERASED_MARK)))
        )
        changed += 1
    return changed


def _drop_staged_uploads(team_id: str, entry: Entry) -> int:
    """A bulk upload waiting for its confirmation that holds the person's URL (in any
    spelling) is dropped: the member uploads again."""
    if entry.url_sha256 is None:
        return 0
    directory = current_app.config["BULK_UPLOAD_DIR"]

    def is_person(raw: str) -> bool:
        try:
            return url_digest(normalize(raw)) == entry.url_sha256
        except InvalidURL:
            return False

    tokens = pending_uploads.holding(directory, team_id, is_person)
    pending_uploads.discard(directory, tokens)
    return len(tokens)


def _scrub_webhooks(team_id: str, entry: Entry) -> tuple[int, int]:
    """Payloads that name this entry or carry its URL lose the URL and reason; the
    receivers' answers to them (and any answer that quotes the URL) are dropped."""
    team_endpoints = select(_ENDPOINTS.c.id).where(_ENDPOINTS.c.team_id == team_id)
    needles = [f'"$id":"{entry.id}"'] + _identifier_forms(entry)
    candidates = db.session.execute(
        select(_MESSAGES.c.id, _MESSAGES.c.payload).where(
            _MESSAGES.c.endpoint_id.in_(team_endpoints), _like_any(_MESSAGES.c.payload, needles)
        )
    ).all()
    changed = []
    for message_id, payload in candidates:
        redacted = _redacted_payload(payload, entry)
        if redacted is not None:
            changed.append(message_id)
            db.session.execute(
                update(_MESSAGES).where(_MESSAGES.c.id == message_id).values(payload=redacted)
            )
    answers: ColumnElement[bool] | None = _ATTEMPTS.c.message_id.in_(changed) if changed else None
    if entry.url or entry.aliases:
        quoted = _like_any(_ATTEMPTS.c.response_excerpt, _identifier_forms(entry))
        answers = quoted if answers is None else or_(answers, quoted)
    attempts = 0
    if answers is not None:
        attempts = rows_matched(
            db.session.execute(
                update(_ATTEMPTS)
                .where(
                    _ATTEMPTS.c.endpoint_id.in_(team_endpoints),
                    answers,
                    _ATTEMPTS.c.response_excerpt.is_not(None),
                )
                .values(response_excerpt=None)
            )
        )
    return len(changed), attempts


def _redacted_payload(payload: str, entry: Entry) -> str | None:
    """The payload without the person's URL and reason, or None when it is not theirs
    (the LIKE found another entry whose URL contains this one)."""
    try:
        body = json.loads(payload)
    except ValueError:
        return None
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        return None
    identifiers = [known for known in (entry.url, *entry.alias_list) if known is not None]
    if data.get("$id") != entry.id and data.get("url") not in identifiers:
        return None
    data["url"] = None
    if "reason" in data:
        data["reason"] = None
    if "aliases" in data:
        data["aliases"] = []
    data["erased"] = True
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------- SQLite file


def _sqlite() -> bool:
    return db.session.get_bind().dialect.name == "sqlite"


def _prepare_sqlite_index(entry: Entry) -> bool:
    """Whether the entry's username is in SQLite's FTS5 index (it is then merged after
    the commit). With SQLite 3.42+, the index's secure-delete is switched on first, so the
    update trigger's delete removes the terms at once."""
    if not _sqlite() or entry.url is None:
        return False
    connection = db.session.connection()
    upto = entry_fts_upto(connection)
    if upto is None or entry.seq > upto:
        return False
    if sqlite3.sqlite_version_info >= _FTS_SECURE_DELETE:
        connection.execute(text(f"INSERT INTO {_FTS}({_FTS}, rank) VALUES ('secure-delete', 1)"))
        return False
    return True


def drop_staged_files(team_id: str, url: str) -> int:
    """Files of the team staged for an hour (prospect CSVs being screened, what a bulk add
    did not add) that mention the username, in any letter case, are deleted with their
    side files (a screening's progress). After the commit: files are not transactional.
    The number of files deleted."""
    needle = url[len(CANONICAL_PREFIX) :].lower().encode()
    base = current_app.config["BULK_UPLOAD_DIR"]
    dropped = 0
    for area in AREAS:
        root = team_dir(base, team_id, area)
        for path in sorted(root.glob("*/*")) if root.is_dir() else ():
            try:
                holds = needle in path.read_bytes().lower()
            except OSError:
                continue
            if holds:
                stem = path.name.split(".", 1)[0]
                for staged in path.parent.glob(f"{stem}.*"):
                    staged.unlink(missing_ok=True)
                    dropped += 1
    return dropped


def after_commit(fts_indexed: bool) -> None:
    """SQLite: merge the search index when it may still hold the erased username in an
    old segment (the merge writes one segment and frees the old ones, which
    secure_delete zeroes), then checkpoint and truncate the WAL, whose frames still
    hold pages as they were before the erasure. A reader in the middle of a long read
    can keep the checkpoint from finishing: the next erasure or checkpoint does it."""
    if not _sqlite():
        return
    if fts_indexed:
        begin_write()
        db.session.execute(text(f"INSERT INTO {_FTS}({_FTS}) VALUES ('optimize')"))
        db.session.commit()
    with db.engine.connect() as connection:
        connection = connection.execution_options(sqlite_begin=None)
        busy, _frames, _done = connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
    if busy:
        log.warning(
            "erasure: the WAL could not be truncated now (a reader holds it); "
            "the next checkpoint will"
        )
