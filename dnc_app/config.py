"""Configuration in one place: every environment variable is a typed field of `Settings`,
validated when the app or gunicorn starts (never at import time), so that a wrong value
stops the service at once with a message naming the variable.

- `Settings`: every variable, its type, default and description. The README's settings
  table is generated from it (scripts/settings-table; tests/test_config.py fails when
  the two differ).
- `Config`: the embedded default (one process, SQLite under the instance folder) and
  development; the app settings are the fields' values under the same names.
- `ProductionConfig` (`DNC_ENV=production`, set by scripts/serve-production): the same,
  but the shared key and the database must be given, never generated or defaulted.
- `TestConfig`: `create_app(test_config)`; the defaults, a fixed key, cheap password
  hashes, then the test's own settings. It reads no environment.

Adding a setting: one field in `Settings` (in the section it belongs to) with its type,
default and `description` (the README row). Its value is `app.config["NAME"]`.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn, get_args
from urllib.parse import urlsplit

import limits
import limits.storage
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

PACKAGE_DIR = Path(__file__).resolve().parent

DEFAULT_RETRY_SCHEDULE = "0,5,300,1800,7200,18000,36000,36000"

# The languages the public page has catalogues for (translations/), and "auto".
OptoutLanguage = Literal["auto", "en", "de", "fr", "es"]
OPTOUT_LANGUAGES: tuple[str, ...] = get_args(OptoutLanguage)

# SQLite: a pooled connection per server thread (gunicorn's 8, with room): below that,
# connections are opened and closed (with their PRAGMAs) on every request beyond the pool.
SQLITE_ENGINE_OPTIONS = {"pool_size": 16, "max_overflow": 16}

TEST_SECRET_KEY = "test-secret-key-not-for-production"
# werkzeug's scrypt at a tiny cost: signing in takes microseconds in tests.
TEST_PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
MIN_PRODUCTION_KEY_LENGTH = 32
MIB = 1024 * 1024
CONFIG_ERROR_EXIT_STATUS = 3


class ConfigError(ValueError):
    """A setting that cannot work; the app refuses to start."""


# --------------------------------------------------------------------------- value types
# A validator raises ValueError("must be …"): the message shown is "NAME must be …".

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def _flag(raw: Any) -> bool:
    """The one boolean parser: 1/true/yes/on or 0/false/no/off, any case; nothing else."""
    if isinstance(raw, bool):
        return raw
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(
        f"must be one of {'/'.join(TRUE_WORDS)} or {'/'.join(FALSE_WORDS)}, not {raw!r}"
    )


def _limit_string(raw: str) -> str:
    """A rate limit in the `limits` syntax, several separated by ";" (e.g. 5/minute;30/day),
    parsed here with the same parser Flask-Limiter uses later."""
    try:
        if not limits.parse_many(raw):
            raise ValueError(raw)
    except ValueError:
        raise ValueError(
            f"must be rate limits like '30/minute' or '5/minute;30/day', not {raw!r}"
        ) from None
    return raw


def _retry_schedule(raw: Any) -> list[float]:
    if isinstance(raw, list):
        return [float(s) for s in raw]
    try:
        schedule = [float(s) for s in str(raw).split(",") if s.strip()]
    except ValueError:
        schedule = []
    if not schedule or any(not s >= 0 for s in schedule):
        raise ValueError(
            f"must be comma-separated seconds, like {DEFAULT_RETRY_SCHEDULE!r}, not {raw!r}"
        )
    return schedule


def _public_base_url(raw: str | None) -> str | None:
    """`scheme://host[:port]`, without a trailing slash; a path or query is refused
    (links add the app's own paths), so is any other scheme."""
    url = (raw or "").strip().rstrip("/")
    if not url:
        return None
    parts = urlsplit(url)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or (parts.path or parts.query or parts.fragment or parts.username)
    ):
        raise ValueError(
            f"must be like https://dnc.example.com (scheme and host only), not {raw!r}"
        )
    return url


def _storage_uri(raw: str) -> str:
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if scheme not in limits.storage.SCHEMES:
        raise ValueError(
            f"must be a rate-limit store like memory:// or redis://host:6379/0, not {raw!r}"
        )
    return raw


# The databases the service runs on (each has its SQL where a dialect differs), in the
# spellings accepted; postgres:// and postgresql:// get the psycopg 3 driver.
DATABASE_SCHEMES = ("sqlite", "postgres", "postgresql", "postgresql+psycopg")


def _database_url_value(raw: str) -> str:
    """A blank value (the embedded SQLite file), or a SQLite or PostgreSQL URL. Only the
    scheme is repeated in the message: the URL may hold a password."""
    scheme = raw.split("://", 1)[0] if "://" in raw else ""
    if raw and scheme not in DATABASE_SCHEMES:
        given = f"the scheme {scheme!r}" if scheme else "a value without a scheme"
        raise ValueError(
            "must be a PostgreSQL URL like postgresql://user:pass@host/db or a SQLite "
            f"one like sqlite:////var/lib/dnc/dnc.sqlite3, not {given}"
        )
    if raw:
        try:  # SQLAlchemy's own parser, as the engine reads it later (a port, brackets)
            make_url(raw).port  # noqa: B018 - the port is parsed when read
        except (ArgumentError, ValueError):
            raise ValueError(
                "is not a valid database URL (check the port, the brackets around an "
                "IPv6 address, and that special characters in the password are %-encoded)"
            ) from None
    return raw


def _host_list(raw: Any) -> list[str] | None:
    if raw is None or isinstance(raw, list):
        return raw or None
    return [h.strip() for h in str(raw).split(",") if h.strip()] or None


def _upper(raw: Any) -> Any:
    return raw.strip().upper() if isinstance(raw, str) else raw


def _dnc_env(raw: Any) -> Any:
    if isinstance(raw, str) and raw.strip().lower() not in ("default", "production"):
        raise ValueError(f"must be one of default, production, not {raw!r}")
    return raw.strip().lower() if isinstance(raw, str) else raw


Flag = Annotated[bool, BeforeValidator(_flag)]
LimitString = Annotated[str, AfterValidator(_limit_string)]
Seconds = Annotated[float, Field(ge=0, allow_inf_nan=False)]
PositiveSeconds = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Bytes = Annotated[int, Field(ge=1)]
Count = Annotated[int, Field(ge=0)]
PositiveCount = Annotated[int, Field(ge=1)]


def setting(default: Any, description: str, *, shown: str | None = None, app: bool = True) -> Any:
    """A field of `Settings`: its default, the README's description, how the README shows
    the default (`shown`, else the default itself), and whether it becomes an app setting
    (`app=False`: read by gunicorn or used to derive others, e.g. DATABASE_URL)."""
    extra: dict[str, Any] = {}
    if shown is not None:
        extra["shown"] = shown
    return Field(default, description=description, exclude=not app, json_schema_extra=extra or None)


# --------------------------------------------------------------------------- the variables


class Settings(BaseSettings):
    """Every environment variable the service reads. The README's settings table is made
    from these fields, in this order. A blank value counts as unset."""

    model_config = SettingsConfigDict(
        case_sensitive=True, extra="ignore", validate_default=True, frozen=True
    )

    # ---- where things are
    DNC_ENV: Annotated[Literal["default", "production"], BeforeValidator(_dnc_env)] = setting(
        "default", "`production` for production mode (see above)", shown="unset", app=False
    )
    DATABASE_URL: Annotated[str, AfterValidator(_database_url_value)] = setting(
        "",
        "`postgresql://user:pass@host/db` for PostgreSQL",
        app=False,
        shown="SQLite file `instance/dnc.sqlite3`",
    )
    SECRET_KEY: str = setting(
        "",
        "sessions, CSRF, signed links, IP hashes; set it (the same everywhere) in production",
        shown="generated once into `instance/secret_key`",
        app=False,
    )
    DNC_INSTANCE_PATH: str = setting(
        "",
        "where the SQLite file, the generated key and pending bulk uploads live",
        shown="the checkout's `instance/`; installed from a wheel: `./instance`",
        app=False,
    )

    # ---- rate limits ("limits" syntax, several separated by ";")
    RATELIMIT_STORAGE_URI: Annotated[str, AfterValidator(_storage_uri)] = setting(
        "memory://", "`redis://host:6379/0` when more than one process serves"
    )
    RATELIMIT_ENABLED: Flag = setting(
        True, "`off` disables every rate limit (benchmarks; never in production)"
    )
    DNC_WRITE_LIMIT: LimitString = setting(
        "30/minute", "per team, shared by add, batch, delete and batch-delete"
    )
    DNC_BATCH_LIMIT: LimitString = setting(
        "10/minute", "per team, batch and batch-delete (on top of the write budget)"
    )
    DNC_CHECK_LIMIT: LimitString = setting(
        "60/minute", "per team: `GET /v1/dnc/check` (reads never consume the write budget)"
    )
    DNC_LIST_LIMIT: LimitString = setting("60/minute", "per team: `GET /v1/dnc`")
    DNC_SCREEN_LIMIT: LimitString = setting(
        "30/minute", "per team: `POST /v1/dnc/screen` (up to 1,000 prospects a call)"
    )
    DNC_CHANGES_LIMIT: LimitString = setting("60/minute", "per team: `GET /v1/dnc/changes`")
    API_AUTH_FAILURE_LIMIT: LimitString = setting(
        "30/minute",
        "failed API authentications (missing, malformed, unknown or revoked "
        "key) per client address (IPv6 by /64); beyond it every API request from there is "
        "a 429",
    )
    LOGIN_RATE_LIMIT: LimitString = setting(
        "10/minute",
        "failed sign-ins per client address (IPv6: per /64); successful sign-ins don't count",
    )
    LOGIN_ACCOUNT_RATE_LIMIT: LimitString = setting(
        "5/minute",
        "failed sign-ins per client address and email (also wrong current "
        "passwords on the Account page, per member); a flood from one address never locks "
        "the member out from another",
    )
    WEB_WRITE_LIMIT: LimitString = setting("120/minute", "team pages, per member: add and remove")
    WEB_CHECK_LIMIT: LimitString = setting(
        "120/minute", "team pages, per member: check page and inline URL validation"
    )
    WEB_BULK_LIMIT: LimitString = setting(
        "10/minute", "team pages, per member: bulk previews and confirmations"
    )
    PASSWORD_RESET_RATE_LIMIT: LimitString = setting(
        "10/hour", "password reset requests by email per client address"
    )
    PASSWORD_RESET_ACCOUNT_RATE_LIMIT: LimitString = setting(
        "3/hour",
        "password reset requests per email address asked for (nobody floods one "
        "member's mailbox from many addresses)",
    )
    WEB_WEBHOOK_CREATE_LIMIT: LimitString = setting(
        "10/minute;30/hour",
        "team pages, per member: webhook endpoints created (creation "
        "resolves the URL's name, and endpoints multiply every event)",
    )
    OPTOUT_RATE_LIMIT: LimitString = setting(
        "5/minute;30/day",
        "accepted public opt-outs per client (an IPv4 address, or an "
        "IPv6 /64: one subscriber's block), all teams together; a submission refused for "
        "its content (an invalid URL, an empty field) counts only against "
        "`OPTOUT_PAGE_LIMIT`",
    )
    OPTOUT_TEAM_REVIEW_THRESHOLD: LimitString = setting(
        "50/hour;300/day",
        "public opt-outs per team beyond which each is still listed but "
        "flagged for review (a flood from many addresses): the list page says how many, "
        "shows them (`/entries?review=1`) and marks them reviewed; the person's receipt is "
        "the same",
    )
    OPTOUT_PAGE_LIMIT: LimitString = setting(
        "60/minute",
        "public page views and submissions per IP (the page's logo and theme "
        "stylesheet have a budget of their own of this size; browsers keep them for a "
        "year)",
    )
    OPTOUT_VALIDATE_LIMIT: LimitString = setting(
        "120/minute", "inline URL checks of the public page per IP"
    )

    # ---- request bodies
    MAX_CONTENT_LENGTH: Bytes = setting(
        16 * MIB, "request body cap outside `/v1` (CSV uploads)", shown="16 MiB"
    )
    API_MAX_CONTENT_LENGTH: Bytes = setting(
        4 * MIB, "request body cap under `/v1` (413 beyond)", shown="4 MiB"
    )
    SCREEN_MAX_CONTENT_LENGTH: Bytes = setting(
        64 * MIB,
        'cap of a prospect CSV uploaded to "Screen a prospect list" (streamed '
        "to disk, never held in memory)",
        shown="64 MiB",
    )
    SCREEN_STAGED_BYTES_PER_TEAM: Bytes = setting(
        256 * MIB,
        "bytes a team's prospect files being screened may take on disk together "
        "(staged as UTF-8, so up to twice the upload; one per member, removed when they "
        "screen another file, after an hour, or by `bulk sweep`): one team cannot fill the "
        "disk the others share",
        shown="268435456 (256 MiB)",
    )
    SCREEN_STEP_SECONDS: Seconds = setting(
        0.5,
        "the counts of a prospect CSV are made in steps of about this long, each a "
        "request showing the progress (without JavaScript the progress page reloads "
        "itself); no request does more than a step (0: one chunk of 1,000 rows a step)",
    )
    BULK_UPLOAD_DIR: str | None = setting(
        None, "where a bulk add waits between preview and confirm", shown="`instance/uploads`"
    )
    BULK_STAGED_BYTES_PER_TEAM: Bytes = setting(
        64 * MIB,
        "bytes a team's bulk adds waiting for confirmation may take there "
        "together (one per member; expired after an hour, or by "
        "`.venv/bin/flask --app app bulk sweep`, which also removes expired screening "
        'files, the Done page\'s "not added" downloads, and every file of removed members '
        "and teams)",
        shown="67108864 (64 MiB)",
    )

    # ---- the database
    SQLITE_SYNCHRONOUS: Annotated[Literal["NORMAL", "FULL", "EXTRA"], BeforeValidator(_upper)] = (
        setting("NORMAL", "`FULL` to survive host power loss too (one fsync per commit)")
    )
    SQLITE_WRITE_CACHE_MIB: PositiveCount = setting(
        32,
        "MiB of page cache a write of many entries may take (a removal or batch of 1,000 "
        "changes thousands of pages, which past it are written out twice); writes take "
        "turns, so one connection at a time holds it",
    )
    DB_POOL_SIZE: PositiveCount = setting(10, "PostgreSQL: connections kept in the pool")
    DB_MAX_OVERFLOW: Count = setting(10, "PostgreSQL: connections opened beyond the pool")
    DB_POOL_TIMEOUT: PositiveCount = setting(
        10,
        "PostgreSQL: seconds a request waits for a connection before a 503 (fail fast "
        "during an outage)",
    )
    DB_CONNECT_TIMEOUT: PositiveCount = setting(5, "PostgreSQL: seconds to open a connection")
    DB_POOL_RECYCLE: PositiveCount = setting(
        1800,
        "PostgreSQL: seconds after which a connection is replaced (before a server "
        "or proxy idle timeout)",
    )
    DB_PREPARED_STATEMENTS: Flag = setting(
        True,
        "`off` behind a pooler in transaction mode that does not track prepared "
        "statements (PgBouncer before 1.21)",
        shown="`on`",
    )

    # ---- sessions and the network
    SESSION_MAX_AGE: PositiveCount = setting(
        12 * 3600,
        "seconds a team member stays signed in (or until sign-out, a password change, disabling)",
    )
    SESSION_COOKIE_SECURE: Flag = setting(False, "`true` when served over HTTPS")
    PUBLIC_BASE_URL: Annotated[str | None, AfterValidator(_public_base_url)] = setting(
        None,
        "where people reach the service, e.g. `https://dnc.example.com`: the base of "
        "the public and personal links on the settings page, of invitation links, and of "
        "those `optout link` prints (which falls back to `http://127.0.0.1:8000`). Unset, "
        "the settings page uses the request's host only when `TRUSTED_HOSTS` has checked "
        "it (or in debug mode); otherwise it shows no link and asks for this setting, "
        "since anyone can send any `Host` header",
        shown="none (`scripts/run`: `http://$BIND`)",
    )
    TRUSTED_HOSTS: Annotated[list[str] | None, BeforeValidator(_host_list)] = setting(
        None,
        "comma-separated host names the service answers to, e.g. "
        "`dnc.example.com,10.0.0.5`; other `Host` headers get a 400 (include the name your "
        "load balancer's health checks use)",
        shown="none (any host)",
    )
    PROXY_FIX_X_FOR: Count = setting(
        0,
        "number of trusted proxies in front whose `X-Forwarded-For` gives the client "
        "address (0: the header is ignored, so clients cannot spoof their IP)",
    )
    PROXY_FIX_X_PROTO: Count = setting(0, "the same for `X-Forwarded-Proto` (the scheme)")
    PROXY_FIX_X_HOST: Count = setting(0, "the same for `X-Forwarded-Host`")
    LOG_LEVEL: Annotated[
        Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"], BeforeValidator(_upper)
    ] = setting("INFO", "one JSON line per request on stderr (never keys, bodies or query strings)")

    # ---- the public opt-out page
    OPTOUT_MIN_SECONDS: Seconds = setting(
        2.0, "a public form sent sooner than this after the page was opened is refused"
    )
    OPTOUT_MAX_AGE_SECONDS: PositiveSeconds = setting(
        4 * 3600.0,
        "a public form (its signed start time and CSRF token) is refused after this long",
        shown="14400",
    )
    OPTOUT_MAX_CONTENT_LENGTH: Bytes = setting(16 * 1024, "body cap of the public form")
    OPTOUT_LANGUAGE: OptoutLanguage = setting(
        "auto",
        "the public page's language where a team has not fixed one: `auto` picks "
        "the best of en, de, fr, es for the visitor's `Accept-Language` (English when none "
        "fits); a language code fixes that language for the whole installation",
        shown="`auto`",
    )

    # ---- invitations and email
    INVITE_MAX_AGE_DAYS: PositiveCount = setting(7, "days an invitation link stays valid")
    SMTP_HOST: str | None = setting(
        None,
        "mail server for invitations, team notifications and password resets; "
        "unset: no email at all (the owner copies invitation links; the command line "
        "resets passwords)",
        shown="none",
    )
    SMTP_PORT: Annotated[int, Field(ge=1, le=65535)] = setting(587, "mail server port")
    SMTP_USERNAME: str = setting("", "mail server user", shown="none")
    SMTP_PASSWORD: str = setting("", "mail server password", shown="none")
    SMTP_FROM: str = setting("dnc@localhost", "sender address of every email")
    SMTP_STARTTLS: Flag = setting(True, "`false` for a mail server without STARTTLS")
    NOTIFY_DIGEST_INTERVAL: PositiveSeconds = setting(
        300.0,
        "after an email about public opt-outs, the next waits at least this long "
        "and holds every opt-out since (a digest): a wave of opt-outs is one email",
    )
    NOTIFY_RETRY_MIN: PositiveSeconds = setting(
        10.0,
        "a notification that could not be sent is tried again after a delay that doubles from this",
    )
    NOTIFY_RETRY_MAX: PositiveSeconds = setting(
        3600.0,
        "… up to this many seconds, for as long as it takes (a mail server that is "
        "down delays, never loses)",
    )
    PASSWORD_RESET_MAX_AGE: PositiveCount = setting(
        3600, "seconds a password reset link sent by email stays valid"
    )

    # ---- webhooks
    WEBHOOK_DELIVERY: Flag = setting(
        True,
        "a webhook delivery loop in each server process; `off` where "
        "`.venv/bin/flask --app app webhooks worker` processes deliver instead",
        shown="`on`",
    )
    WEBHOOK_RETRY_SCHEDULE: Annotated[list[float], BeforeValidator(_retry_schedule)] = setting(
        DEFAULT_RETRY_SCHEDULE,
        "seconds before each delivery attempt; an event fails after the last",
        shown=f"`{DEFAULT_RETRY_SCHEDULE}`",
    )
    WEBHOOK_TIMEOUT: PositiveSeconds = setting(
        10.0,
        "seconds one attempt may take in all: name resolution, connect, sending and "
        "the whole answer (a receiver that trickles its answer is cut here; a time-out is "
        "a failure)",
    )
    WEBHOOK_ALLOW_PRIVATE: Flag = setting(
        False,
        "`1` lets webhooks reach private, loopback and link-local addresses "
        "(development and tests only)",
        shown="`0`",
    )
    WEBHOOK_DISABLE_AFTER: PositiveSeconds = setting(
        5 * 86400.0,
        "an endpoint whose every delivery fails for this many seconds is disabled",
        shown="432000 (5 days)",
    )
    WEBHOOK_RETRY_AFTER_MAX: Seconds = setting(
        3600.0, "the longest `Retry-After` (429/503) honoured, in seconds"
    )
    WEBHOOK_POLL_INTERVAL: PositiveSeconds = setting(
        1.0, "how often a loop looks for events written by other processes"
    )
    WEBHOOK_CONCURRENCY: PositiveCount = setting(
        16,
        "jobs in flight per delivery loop (a job: one endpoint's events in order, or "
        "one retry); sized for several hanging endpoints beside the healthy ones",
    )
    WEBHOOK_ENDPOINT_CONCURRENCY: PositiveCount = setting(
        2,
        "attempts in flight per endpoint, all loops and processes together: what one "
        "slow endpoint can take from the others",
    )
    WEBHOOK_MAX_ENDPOINTS: PositiveCount = setting(
        10,
        "webhook endpoints per team (one more is a 400 `too_many_endpoints`): each "
        "change is written once per endpoint, so this bounds the fan-out of every change",
    )
    WEBHOOK_SECRET_OVERLAP: Seconds = setting(
        86400.0,
        "seconds the previous secret still signs (second) after a rotation, so "
        "receivers switch without a gap",
    )
    WEBHOOK_RECOVER_MAX: PositiveCount = setting(
        5000,
        "most events one `recover` call may queue (one request, one transaction); "
        "more is a 400 `too_many_changes`",
    )
    WEBHOOK_LEASE_SECONDS: PositiveSeconds = setting(
        15.0,
        "a loop's claim on events, renewed while it works on them: the events of a "
        "loop that died are taken over this long after its last renewal",
    )

    # ---- metrics
    METRICS_ENABLED: Flag = setting(
        False,
        "Prometheus metrics at `GET /metrics` (off: they say how busy the service "
        "is and which routes fail)",
        shown="`0`",
    )
    METRICS_TOKEN: str | None = setting(
        None, "when set, `/metrics` asks for `Authorization: Bearer <token>`", shown="none"
    )
    PROMETHEUS_MULTIPROC_DIR: str | None = setting(
        None,
        "where the gunicorn workers' metric files are added up (emptied when the "
        "master starts; never shared by two masters)",
        shown="a temporary directory per gunicorn master",
    )

    # ---- gunicorn (gunicorn.conf.py)
    BIND: str = setting("127.0.0.1:8000", "gunicorn: the address to listen on", app=False)
    WEB_CONCURRENCY: PositiveCount = setting(1, "gunicorn: worker processes", app=False)
    GUNICORN_THREADS: PositiveCount = setting(8, "gunicorn: threads per worker", app=False)
    GUNICORN_GRACEFUL_TIMEOUT: PositiveCount = setting(
        20, "gunicorn: seconds in-flight requests get to finish after SIGTERM", app=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Read only from the mapping `from_env` is given (os.environ when serving), so a
        # test configuration never sees the shell's environment.
        return (init_settings,)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """The settings in `env`; ConfigError naming the first variable that is wrong."""
        given: dict[str, Any] = {}
        for name in cls.model_fields:
            raw = env.get(name)
            if raw is not None and raw.strip():
                given[name] = raw if name == "SMTP_PASSWORD" else raw.strip()
        try:
            return cls(**given)
        except ValidationError as error:
            raise ConfigError(_describe(error.errors()[0])) from None

    def app_settings(self) -> dict[str, Any]:
        """The fields that are app settings, under their own names."""
        return self.model_dump()


# Not echoed in error messages.
SECRET_NAMES = {"SECRET_KEY", "SMTP_PASSWORD", "DATABASE_URL"}


def _describe(error: Any) -> str:
    """One line: the variable, what it must be and (unless secret) what it was."""
    name = str(error["loc"][0]) if error["loc"] else "a setting"
    message = str(error["msg"])
    if message.startswith("Value error, "):  # a validator's "must be …"
        return f"{name} {message.removeprefix('Value error, ')}"
    value = "" if name in SECRET_NAMES else f", not {error['input']!r}"
    return f"{name}: {message[0].lower()}{message[1:]}{value}"


def _is_limit(field: Any) -> bool:
    return any(getattr(m, "func", None) is _limit_string for m in field.metadata)


# Every field in the "limits" syntax, whatever section it is in.
LIMIT_NAMES = tuple(name for name, field in Settings.model_fields.items() if _is_limit(field))


def limiter_settings(values: Settings) -> dict[str, Any]:
    """Flask-Limiter's settings: the store, on or off, how it behaves, and the limits."""
    return {
        "RATELIMIT_STORAGE_URI": values.RATELIMIT_STORAGE_URI,
        "RATELIMIT_ENABLED": values.RATELIMIT_ENABLED,
        # Fail closed when the limit store is down (errors.py answers 503): an in-memory
        # fallback would give every process its own budget and multiply the limits.
        "RATELIMIT_SWALLOW_ERRORS": False,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        **{name: getattr(values, name) for name in LIMIT_NAMES},
    }


def rate_limit_settings(env: Mapping[str, str]) -> dict[str, Any]:
    """The rate-limit settings `env` gives, as the app reads them (gunicorn.conf.py refuses
    several workers on a per-process store)."""
    return limiter_settings(Settings.from_env(env))


# --------------------------------------------------------------------------- where files live


def installed() -> bool:
    """True in an installed wheel, which ships templates/, static/, migrations/ and
    translations/ inside the package (pyproject.toml's force-include); a source checkout
    keeps them at its top level."""
    return (PACKAGE_DIR / "templates").is_dir()


def resource_dir(name: str) -> Path:
    """templates/, static/, migrations/ or translations/, in a wheel or in the checkout."""
    return PACKAGE_DIR / name if installed() else PACKAGE_DIR.parent / name


def default_instance_path() -> Path:
    """The checkout's instance/ (git-ignored); for an installed package, the current
    directory's instance/ (site-packages is no place for a database)."""
    return Path.cwd() / "instance" if installed() else PACKAGE_DIR.parent / "instance"


# --------------------------------------------------------------------------- derived options


def limiter_storage_options(uri: str) -> dict[str, Any]:
    # Storage errors arrive as limits.errors.StorageError, whatever the backend.
    options: dict[str, Any] = {"wrap_exceptions": True}
    if uri.startswith(("redis", "rediss")):
        # A stalled Redis answers 503 within seconds instead of hanging the worker.
        options.update(socket_connect_timeout=2, socket_timeout=2)
    return options


def engine_options(database_url: str, values: Settings) -> dict[str, Any]:
    """SQLAlchemy engine options: a pool sized for the server's threads on SQLite, the
    DB_POOL_* settings on PostgreSQL."""
    if database_url in ("sqlite://", "sqlite:///:memory:"):
        return {}  # one shared connection (Flask-SQLAlchemy's StaticPool): no pool to size
    if database_url.startswith("sqlite"):
        return dict(SQLITE_ENGINE_OPTIONS)
    return {
        # No ping on every checkout (a round trip per request): a connection that broke is
        # invalidated with the whole pool by the first error on it (a 503), and
        # pool_recycle retires connections before a server or proxy idle timeout.
        "pool_size": values.DB_POOL_SIZE,
        "max_overflow": values.DB_MAX_OVERFLOW,
        "pool_recycle": values.DB_POOL_RECYCLE,
        "pool_timeout": values.DB_POOL_TIMEOUT,
        "connect_args": {
            "connect_timeout": values.DB_CONNECT_TIMEOUT,
            # psycopg prepares a statement run often on a connection; behind a pooler in
            # transaction mode that does not track them, the next transaction may land on
            # a server connection without it.
            **({} if values.DB_PREPARED_STATEMENTS else {"prepare_threshold": None}),
        },
    }


def _database_url(instance_path: Path, url: str) -> str:
    """DATABASE_URL as the engine takes it: the embedded SQLite file when it is blank."""
    if not url:
        return f"sqlite:///{instance_path / 'dnc.sqlite3'}"
    # Accept the common spellings and use the psycopg 3 driver for PostgreSQL.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(instance_path: Path, key: str) -> str:
    """SECRET_KEY when set, else one generated once and kept under instance/.

    Several processes or machines must share one key (sessions, CSRF, signed links), so
    production sets SECRET_KEY; the embedded default keeps a stable key across restarts.
    """
    if key:
        return key
    path = instance_path / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    # O_EXCL: if two processes race at first start, the loser reads the winner's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key


# --------------------------------------------------------------------------- the classes


class Config:
    """The embedded default and development: every setting from the environment, validated
    when the configuration is made (a wrong one raises ConfigError)."""

    name = "default"

    def __init__(self, env: Mapping[str, str]):
        self.values = Settings.from_env(env)

    def instance_path(self) -> Path:
        """Where the SQLite file, the generated key and pending bulk uploads live."""
        configured = self.values.DNC_INSTANCE_PATH
        return Path(configured).resolve() if configured else default_instance_path()

    def secret_key(self, instance_path: Path) -> str:
        return _secret_key(instance_path, self.values.SECRET_KEY)

    def database_url(self, instance_path: Path) -> str:
        return _database_url(instance_path, self.values.DATABASE_URL)

    def overrides(self) -> dict[str, Any]:
        """Settings this environment fixes, applied over those read."""
        return {}

    def settings(self, instance_path: Path) -> dict[str, Any]:
        """The mapping `create_app` loads."""
        settings = {
            **self.values.app_settings(),
            "DNC_ENV": self.name,
            "SECRET_KEY": self.secret_key(instance_path),
            "SQLALCHEMY_DATABASE_URI": self.database_url(instance_path),
            **limiter_settings(self.values),
            "BULK_UPLOAD_DIR": self.values.BULK_UPLOAD_DIR or str(instance_path / "uploads"),
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            # werkzeug's scrypt; tests lower the cost, production keeps the default.
            "PASSWORD_HASH_METHOD": "scrypt",
        }
        settings.update(self.overrides())
        # Options that follow from the database and the limit store actually configured.
        settings.setdefault(
            "SQLALCHEMY_ENGINE_OPTIONS",
            engine_options(settings["SQLALCHEMY_DATABASE_URI"], self.values),
        )
        settings.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", limiter_storage_options(settings["RATELIMIT_STORAGE_URI"])
        )
        return settings


class ProductionConfig(Config):
    """Production mode: several processes on one or several machines. They must share one
    key and one database, so neither is generated or defaulted."""

    name = "production"

    def __init__(self, env: Mapping[str, str]):
        super().__init__(env)
        if len(self.values.SECRET_KEY) < MIN_PRODUCTION_KEY_LENGTH:
            raise ConfigError(
                "SECRET_KEY is not set or too short: production mode needs at least "
                f"{MIN_PRODUCTION_KEY_LENGTH} random characters, the same on every machine"
            )
        if not self.values.DATABASE_URL:
            raise ConfigError(
                "DATABASE_URL is not set: production mode needs a database "
                "shared by every process, e.g. postgresql://user:pass@host/db"
            )


class TestConfig(Config):
    """For tests: the defaults with a fixed key, cheap password hashes and an in-memory
    database, then the test's own settings. Reads no environment, so that a test does not
    depend on the shell it runs in."""

    name = "test"
    __test__ = False  # not a pytest test class

    def __init__(self, test_config: Mapping[str, Any]):
        super().__init__(env={})
        self.test_config = dict(test_config)

    def secret_key(self, instance_path: Path) -> str:
        return TEST_SECRET_KEY

    def database_url(self, instance_path: Path) -> str:
        return "sqlite://"

    def overrides(self) -> dict[str, Any]:
        # No webhook delivery loop unless the test asks for one (WEBHOOK_DELIVERY=True).
        return {
            "TESTING": True,
            "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH_METHOD,
            "WEBHOOK_DELIVERY": False,
            **self.test_config,
        }


ENVIRONMENTS: dict[str, type[Config]] = {"default": Config, "production": ProductionConfig}


def configuration(
    test_config: Mapping[str, Any] | None = None, env: Mapping[str, str] = os.environ
) -> Config:
    """TestConfig when a test configuration is given, else the class that DNC_ENV names,
    its settings validated (ConfigError names the first wrong variable)."""
    if test_config is not None:
        return TestConfig(test_config)
    return ENVIRONMENTS[Settings.from_env(env).DNC_ENV](env)


def exit_on_config_error(error: ConfigError) -> NoReturn:
    """How `flask` and gunicorn stop on a wrong setting: one line, no traceback, exit status
    3 (gunicorn's "worker failed to boot": a worker's exit stops the master instead of being
    restarted, when gunicorn runs without gunicorn.conf.py's own check)."""
    print(f"Error: {error}", file=sys.stderr)
    sys.exit(CONFIG_ERROR_EXIT_STATUS)


# --------------------------------------------------------------------------- the README table

README = PACKAGE_DIR.parent / "README.md"
TABLE_START = "<!-- settings table: generated by scripts/settings-table -->"
TABLE_END = "<!-- end of settings table -->"


def _shown_default(field: Any) -> str:
    extra = field.json_schema_extra or {}
    if "shown" in extra:
        return str(extra["shown"])
    default = field.default
    if isinstance(default, bool):
        return "`true`" if default else "`false`"
    if isinstance(default, str):
        return f"`{default}`"
    if isinstance(default, float) and default.is_integer():
        return str(int(default))
    return str(default)


def settings_table() -> str:
    """The README's settings table, one row per variable, in the class's order."""
    rows = ["| Variable | Default | Meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        rows.append(f"| `{name}` | {_shown_default(field)} | {field.description} |")
    return "\n".join(rows)


def readme_with_table(readme: str) -> str:
    before, rest = readme.split(TABLE_START, 1)
    _, after = rest.split(TABLE_END, 1)
    return f"{before}{TABLE_START}\n{settings_table()}\n{TABLE_END}{after}"


def write_readme_table() -> None:
    """Regenerate the README's settings table (scripts/settings-table)."""
    README.write_text(readme_with_table(README.read_text()))
