"""Database models (SQLAlchemy 2 typed declarative)."""

from __future__ import annotations

from datetime import date, datetime

from flask_login import UserMixin
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dnc_app.domain import ids
from dnc_app.domain.timeutil import UTCDateTime, utcnow
from dnc_app.extensions import Model

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Team(Model):
    __tablename__ = "team"

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=ids.team_id)
    name: Mapped[str] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    # Public opt-out page settings (the name is shown when no display name is set).
    display_name: Mapped[str | None] = mapped_column(String(200))
    privacy_url: Mapped[str | None] = mapped_column(String(2048))
    optout_message: Mapped[str | None] = mapped_column(Text)
    # The public page's language when the team fixed one ("en", "de", …, or "auto": the
    # visitor's browser); None: the installation's OPTOUT_LANGUAGE.
    optout_language: Mapped[str | None] = mapped_column(String(10))
    # Kept by the service layer in the same transaction as every add/remove, so that
    # the list total is O(1) at a million entries instead of a COUNT(*) per page.
    entry_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The `seq` of the team's latest change (see changelog): taken under the team row's
    # lock in the transaction of each change.
    change_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Whether the team may have an enabled webhook endpoint: read with change_seq, so a
    # change of a team without webhooks costs no query for them. Set under the team row's
    # lock whenever endpoints are created, enabled, disabled or deleted.
    has_webhooks: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Team notifications: a Slack-compatible incoming-webhook URL (encrypted like webhook
    # secrets: the URL is the credential), and when the last email about public opt-outs
    # was prepared (the next digest waits NOTIFY_DIGEST_INTERVAL after it).
    chat_webhook_url: Mapped[str | None] = mapped_column(Text)
    optouts_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def public_name(self) -> str:
        return self.display_name or self.name


class TeamBranding(Model):
    """A team's look on its public page (dnc_app.domain.branding): its accent colour and logo.

    One row per team at most, read with the page. The logo's bytes are in the database
    (at most 256 KiB): every process of a deployment serves them without shared files.
    """

    __tablename__ = "team_branding"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    accent_color: Mapped[str | None] = mapped_column(String(7))  # "#rrggbb"; None: default
    # The logo as uploaded, its type decided from its bytes (image/png, jpeg or webp).
    logo: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    logo_type: Mapped[str | None] = mapped_column(String(20))
    logo_size: Mapped[int | None] = mapped_column(Integer)
    logo_width: Mapped[int | None] = mapped_column(Integer)
    logo_height: Mapped[int | None] = mapped_column(Integer)
    # Raised by every change: in the URLs of the logo and the theme, so that browsers
    # may keep them for a year and still never show an old one.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiKey(Model):
    __tablename__ = "api_key"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    # SHA-256 of the key; the key itself is shown once and never stored.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Enough of the key for a person to recognise it in a list.
    prefix: Mapped[str] = mapped_column(String(20))
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Coarse: updated at most once per LAST_USED_GRANULARITY, not on every request.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by an owner: the key may delete a person's own opt-out (DncEntry.protected).
    can_remove_optouts: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    @property
    def active(self) -> bool:
        return self.revoked_at is None


class User(UserMixin, Model):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A disabled member cannot sign in and has no sessions; the account and its history stay.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # roles.Role: owner, member or viewer.
    role: Mapped[str] = mapped_column(String(10), default="member", server_default="member")
    # Email notifications, set on the account page; None: the default of the role (owners
    # on, others off), so a member made owner later gets them.
    notify_optouts: Mapped[bool | None] = mapped_column(Boolean)
    notify_endpoints: Mapped[bool | None] = mapped_column(Boolean)

    team: Mapped[Team] = relationship()


class MemberInvite(Model):
    """A single-use invitation to join a team with a role, until it expires."""

    __tablename__ = "member_invite"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[str] = mapped_column(String(10))
    # SHA-256 of the token in the link: the link is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set once, when the link is used (or withdrawn): the link opens nothing after that.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MemberSession(Model):
    """A signed-in browser of a member: the server decides whether its cookie still counts."""

    __tablename__ = "member_session"

    # SHA-256 of the random token in the session cookie: a copy of this table opens nothing.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Coarse: updated at most once per sessions.LAST_SEEN_GRANULARITY.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Indexed: expired sessions are deleted in one range scan.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    user_agent: Mapped[str | None] = mapped_column(String(255))


class DncEntry(Model):
    __tablename__ = "dnc_entry"
    __table_args__ = (
        # The constraint that makes duplicates impossible, also under concurrency.
        UniqueConstraint("team_id", "url", name="uq_dnc_entry_team_url"),
        # Newest-first listing and keyset (cursor) pagination per team.
        Index("ix_dnc_entry_team_seq", "team_id", "seq"),
        # The few flagged entries of a team, newest first, without scanning its list.
        Index(
            "ix_dnc_entry_team_review",
            "team_id",
            "seq",
            postgresql_where=text("needs_review"),
            sqlite_where=text("needs_review"),
        ),
        # The person's identity in the team: screening by digest probes it, and it keeps
        # an erased entry (no URL left) unique, so adding the person again is a duplicate.
        Index("uq_dnc_entry_team_sha256", "team_id", "url_sha256", unique=True),
        # The list filtered by source, newest first: a rare source (a few CLI entries among
        # a million) is a short range, not a scan of the team's list.
        Index("ix_dnc_entry_team_source_seq", "team_id", "source", "seq"),
    )

    # Insertion order: newest first is `seq DESC`, stable even within one batch.
    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(40), unique=True, default=ids.entry_id)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    # None once erased: the person's data went, their digest and the dates stay
    # (`updated_at` is then the time of the erasure).
    url: Mapped[str | None] = mapped_column(String(255))
    # Hex SHA-256 of `url` (UTF-8), set by the entry service on every insert: lets a
    # connector screen prospects without sending their URLs. Nullable only so that the
    # column could be added to SQLite without rebuilding the table; migration 0008
    # backfills every row.
    url_sha256: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    added_by: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A public opt-out that came in above the team's review threshold: listed like any
    # other, and shown to the team to look at (a flood may be someone else's doing).
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The person's own opt-out (the public form or a personal link named this profile,
    # whatever added it first): only an owner, or a key an owner allowed, removes it.
    # Kept in the row, not derived from the audit trail, so that every read of an entry
    # (the API's hot path too) has it without a join. Set by the entry service only.
    # No Python-side default: an insert names the column only for a protected entry.
    protected: Mapped[bool] = mapped_column(Boolean, server_default=false())
    # The person's other identifiers (aliases), one normalized URL per line, in the order
    # they were added; None: none. Kept with dnc_identifier by the alias service
    # (dnc_app.domain.entries.aliases) so that a read of an entry has them without a join.
    aliases: Mapped[str | None] = mapped_column(Text)


class DncIdentifier(Model):
    """Every identifier of every person of a team: the entry's URL and its aliases, by
    the SHA-256 of the normalized URL. The primary key is the one unique index that keeps
    an identifier to one person, also under concurrency. The entry's own row is written
    by triggers on dnc_entry (migration 0027: every insert path has it, and an insert
    whose digest is taken is skipped like a duplicate); aliases by dnc_app.domain.entries.aliases.
    """

    __tablename__ = "dnc_identifier"
    __table_args__ = (Index("ix_dnc_identifier_entry_seq", "entry_seq"),)

    team_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_seq: Mapped[int] = mapped_column(
        BigIntPK, ForeignKey("dnc_entry.seq", ondelete="CASCADE")
    )
    # An alias's URL (None once erased); the entry's own row: None (the entry has it).
    url: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CompanyBlock(Model):
    """A team's block of a whole company: a prospect whose company page is blocked is not
    contacted, whoever the person is, until the block's `until` date has passed. Written
    only by dnc_app.domain.companies (with its audit record, in one transaction)."""

    __tablename__ = "company_block"
    __table_args__ = (
        # Duplicates impossible, also under concurrency; screening probes this index.
        UniqueConstraint("team_id", "url", name="uq_company_block_team_url"),
        # The team's blocks newest first (the list and its pages).
        Index("ix_company_block_team_created", "team_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, default=ids.company_id)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(255))  # https://linkedin.com/company/<slug>
    url_sha256: Mapped[str] = mapped_column(String(64))  # hex SHA-256 of `url` (UTF-8)
    name: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    # The last day (UTC) the block applies; None: no end. Compared at query time.
    until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(255))


class EntryHourCount(Model):
    """How many of a team's current entries were added in each hour, by source: the
    dashboard's weekly chart and counts read a few hundred of these instead of the
    entries themselves. Kept by database triggers on dnc_entry (migration 0013), so every
    insert and delete, on any path, counts in its own transaction. `hour` is whole hours
    since the Unix epoch (UTC) of the entry's `created_at`."""

    __tablename__ = "entry_hour_count"

    team_id: Mapped[str] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    entries: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditEvent(Model):
    """The change log: append-only record of every change to a team (its list, keys,
    settings and members). Written only by dnc_app.domain.changelog."""

    __tablename__ = "audit_event"
    __table_args__ = (
        # A team's changes in commit order; feeds read from a position on it.
        Index("uq_audit_event_team_seq", "team_id", "seq", unique=True),
        # One profile's history (the check page).
        Index("ix_audit_event_team_url", "team_id", "url"),
        # The rows of multi-change operations only (bulk adds): their counts and rows.
        Index(
            "ix_audit_event_team_operation",
            "team_id",
            "operation",
            postgresql_where=text("operation IS NOT NULL"),
            sqlite_where=text("operation IS NOT NULL"),
        ),
        # A team's removals only (the dashboard counts those of the last 30 days without
        # reading the adds around them).
        Index(
            "ix_audit_event_team_removals",
            "team_id",
            "seq",
            postgresql_where=text("action = 'remove'"),
            sqlite_where=text("action = 'remove'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    # 1, 2, 3, … per team: the commit order of the team's changes.
    seq: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(30))
    # What the change is about (changelog.SubjectType) and its id. Not a foreign key: the
    # record outlives the entry or key it describes.
    subject_type: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[str | None] = mapped_column(String(40))
    # How people recognise a subject that is not an entry: a key's prefix, a member's email.
    subject_label: Mapped[str | None] = mapped_column(String(255))
    url: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(20))
    actor_type: Mapped[str] = mapped_column(String(20))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    actor_label: Mapped[str | None] = mapped_column(String(255))
    # Salted hash of the client IP for public submissions: enough to spot abuse, not to track.
    ip_hash: Mapped[str | None] = mapped_column(String(64))
    # A receipt reference given to the person who made the change (public opt-outs).
    reference: Mapped[str | None] = mapped_column(String(40), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The `seq` of the first change of a multi-change operation (a bulk add), else NULL.
    operation: Mapped[int | None] = mapped_column(BigInteger)


class PendingUpload(Model):
    """A member's bulk upload waiting for confirmation: at most one per member (a new one
    replaces it), its parsed list kept in the file `<token>.json` under BULK_UPLOAD_DIR."""

    __tablename__ = "pending_upload"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)  # bytes of the file, for the team's cap
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class WebhookEndpoint(Model):
    """A team's webhook destination (dnc_app.events.webhooks)."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    # Space-separated event types; empty: every event.
    events: Mapped[str] = mapped_column(String(500), default="", server_default="")
    description: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # The signing secret, encrypted with a key derived from SECRET_KEY (webhooks.secrets);
    # after a rotation the previous one still signs until `previous_secret_until`.
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Start of the current run of failed attempts (None: the last attempt succeeded).
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookMessage(Model):
    """The outbox: one event for one endpoint, written in the transaction of the change."""

    __tablename__ = "webhook_message"
    __table_args__ = (
        # The delivery loop's claim: pending messages in order of their next attempt.
        Index("ix_webhook_message_due", "status", "next_attempt_at"),
        # An endpoint's queue in order: its stream's head and batch, retries, leases.
        Index("ix_webhook_message_endpoint_queue", "endpoint_id", "status", "attempts", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # `webhook-id`: the same on every attempt of this event to this endpoint.
    msg_id: Mapped[str] = mapped_column(String(40), unique=True)
    endpoint_id: Mapped[str] = mapped_column(
        ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True
    )
    event_type: Mapped[str] = mapped_column(String(40))
    # The team's change number of the event (the changes feed's `seq`); None for a test
    # event. An endpoint's events are attempted in this order.
    seq: Mapped[int | None] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # the JSON body, exactly as sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # pending -> delivered | failed (schedule used up) | cancelled (endpoint disabled)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A claim: a worker owns the message until then (a crashed worker's claim expires).
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebhookAttempt(Model):
    """One delivery attempt, for the endpoint's delivery log."""

    __tablename__ = "webhook_attempt"
    __table_args__ = (Index("ix_webhook_attempt_endpoint", "endpoint_id", "id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    message_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_message.id", ondelete="CASCADE"), index=True
    )
    endpoint_id: Mapped[str] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int] = mapped_column(Integer)
    # A generic error class ("timeout", "connection failed", …), never a raw socket error.
    error: Mapped[str | None] = mapped_column(String(100))
    response_excerpt: Mapped[str | None] = mapped_column(Text)  # the first 1 KiB


class NotificationEvent(Model):
    """Something the team is to be told of, written in the transaction of the event (the
    outbox): a public opt-out (its change's `seq`: the details are read from the change
    log when the email is made, so no personal data waits here) or a disabled endpoint.
    The delivery loop gathers a team's events into messages (`digested_at`)."""

    __tablename__ = "notification_event"
    __table_args__ = (Index("ix_notification_event_waiting", "digested_at", "team_id"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    team_id: Mapped[str] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(20))  # "optout" | "endpoint_disabled"
    seq: Mapped[int | None] = mapped_column(BigInteger)
    endpoint_id: Mapped[str | None] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class NotificationMessage(Model):
    """One email or chat message to send, retried until sent. The body is encrypted at
    rest (it may hold a password reset link) and removed once sent."""

    __tablename__ = "notification_message"
    __table_args__ = (Index("ix_notification_message_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    team_id: Mapped[str | None] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))  # "email" | "chat"
    kind: Mapped[str] = mapped_column(String(20))  # "optouts" | "endpoints" | "reset"
    recipient: Mapped[str | None] = mapped_column(String(254))  # email; chat: None
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # pending -> sent | dropped (no longer meant to be sent: expired link, URL removed)
    status: Mapped[str] = mapped_column(String(10), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(String(100))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A reset link is of no use after this: not sent any more.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PasswordReset(Model):
    """A password reset link sent by email: only the SHA-256 of its token is stored."""

    __tablename__ = "password_reset"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
