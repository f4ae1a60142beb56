"""Configuration in one place: one class per environment, read when the app is created
(never at import time).

- `Config`: the embedded default (one process, SQLite under the instance folder) and
  development; every setting comes from the environment.
- `ProductionConfig` (`DNC_ENV=production`, set by scripts/serve-production): the same,
  but the shared key and the database must be given, never generated or defaulted.
- `TestConfig`: `create_app(test_config)`; the defaults, a fixed key, cheap password
  hashes, then the test's own settings. It reads no environment.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

PACKAGE_DIR = Path(__file__).resolve().parent

# The per-route limits ("limits" syntax, ";" separated): name -> default.
LIMITS = {
    # One budget shared by every write (add, batch, delete), per team.
    "DNC_WRITE_LIMIT": "30/minute",
    # Batch is additionally limited on its own.
    "DNC_BATCH_LIMIT": "10/minute",
    # Reads each have their own budget and never consume the write budget.
    "DNC_CHECK_LIMIT": "60/minute",
    "DNC_LIST_LIMIT": "60/minute",
    # Screening (POST /v1/dnc/screen, up to 1,000 URLs a call) has its own budget.
    "DNC_SCREEN_LIMIT": "30/minute",
    # The changes feed (GET /v1/dnc/changes), per team.
    "DNC_CHANGES_LIMIT": "60/minute",
    # Failed API authentications (missing, malformed, unknown or revoked key) per client
    # address (IPv6 by /64); beyond it every API request from there is a 429.
    "API_AUTH_FAILURE_LIMIT": "30/minute",
    # Failed sign-ins per client address, and per (client address, email).
    "LOGIN_RATE_LIMIT": "10/minute",
    "LOGIN_ACCOUNT_RATE_LIMIT": "5/minute",
    # Public opt-out submissions per client (IPv4 address or IPv6 /64), all teams together.
    "OPTOUT_RATE_LIMIT": "5/minute;30/day",
    # Public submissions per team beyond which they are still listed but flagged for the
    # team to review (a flood from many addresses).
    "OPTOUT_TEAM_REVIEW_THRESHOLD": "50/hour;300/day",
    # Public page views and inline URL checks per client IP.
    "OPTOUT_PAGE_LIMIT": "60/minute",
    "OPTOUT_VALIDATE_LIMIT": "120/minute",
    # Team pages, per signed-in member (not the team's API budgets): add and remove,
    # checks (check page, inline URL validation), bulk previews and confirmations.
    "WEB_WRITE_LIMIT": "120/minute",
    "WEB_CHECK_LIMIT": "120/minute",
    "WEB_BULK_LIMIT": "10/minute",
}

# The public opt-out page: name -> (default, type).
OPTOUT_SETTINGS = {
    # A person needs at least this long between opening the page and submitting it.
    "OPTOUT_MIN_SECONDS": ("2", float),
    # The form (its signed start time and CSRF token) is refused after this long.
    "OPTOUT_MAX_AGE_SECONDS": (str(4 * 3600), float),
    # Largest accepted request body of the public form, in bytes.
    "OPTOUT_MAX_CONTENT_LENGTH": (str(16 * 1024), int),
    # The public page's language where a team has not fixed one: "auto" picks the best
    # of en, de, fr, es for the visitor's Accept-Language (English when none fits); a
    # language code fixes that language for the whole installation.
    "OPTOUT_LANGUAGE": ("auto", lambda raw: _optout_language(raw)),
}

# The languages the public page has catalogues for (translations/), and "auto".
OPTOUT_LANGUAGES = ("auto", "en", "de", "fr", "es")


def _optout_language(raw: str) -> str:
    value = raw.strip().lower()
    if value not in OPTOUT_LANGUAGES:
        raise ConfigError(f"OPTOUT_LANGUAGE must be one of {', '.join(OPTOUT_LANGUAGES)}, "
                          f"not {raw!r}")
    return value

DEFAULT_RETRY_SCHEDULE = "0,5,300,1800,7200,18000,36000,36000"


def _retry_schedule(raw: str) -> list[float]:
    try:
        schedule = [float(s) for s in raw.split(",") if s.strip()]
    except ValueError:
        schedule = []
    if not schedule or any(s < 0 for s in schedule):
        raise ConfigError(f"WEBHOOK_RETRY_SCHEDULE must be comma-separated seconds, like "
                          f"{DEFAULT_RETRY_SCHEDULE!r}, not {raw!r}")
    return schedule


def _on(env: Mapping[str, str], name: str, default: str) -> bool:
    return env.get(name, default).strip().lower() not in ("0", "false", "off", "no", "")


def webhook_settings(env: Mapping[str, str]) -> dict:
    """Webhook delivery (dnc_app.webhooks)."""
    return {
        # A delivery loop in each server process; "off" where `flask webhooks worker` runs.
        "WEBHOOK_DELIVERY": _on(env, "WEBHOOK_DELIVERY", "on"),
        # Seconds before attempt 1, 2, …: the event fails after the last.
        "WEBHOOK_RETRY_SCHEDULE": _retry_schedule(
            env.get("WEBHOOK_RETRY_SCHEDULE", DEFAULT_RETRY_SCHEDULE)),
        "WEBHOOK_TIMEOUT": float(env.get("WEBHOOK_TIMEOUT", "10")),
        # Private, loopback and link-local destinations (development, tests only).
        "WEBHOOK_ALLOW_PRIVATE": _on(env, "WEBHOOK_ALLOW_PRIVATE", "0"),
        # An endpoint whose every delivery fails for this long is disabled.
        "WEBHOOK_DISABLE_AFTER": float(env.get("WEBHOOK_DISABLE_AFTER", str(5 * 86400))),
        # The longest Retry-After (429/503) honoured, in seconds.
        "WEBHOOK_RETRY_AFTER_MAX": float(env.get("WEBHOOK_RETRY_AFTER_MAX", "3600")),
        # How often a loop looks for events written by other processes.
        "WEBHOOK_POLL_INTERVAL": float(env.get("WEBHOOK_POLL_INTERVAL", "1")),
        # Deliveries in flight per loop.
        "WEBHOOK_CONCURRENCY": int(env.get("WEBHOOK_CONCURRENCY", "4")),
    }


# SQLite: a pooled connection per server thread (gunicorn's 8, with room): below that,
# connections are opened and closed (with their PRAGMAs) on every request beyond the pool.
SQLITE_ENGINE_OPTIONS = {"pool_size": 16, "max_overflow": 16}

TEST_SECRET_KEY = "test-secret-key-not-for-production"
# werkzeug's scrypt at a tiny cost: signing in takes microseconds in tests.
TEST_PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
MIN_PRODUCTION_KEY_LENGTH = 32


class ConfigError(ValueError):
    """A setting that cannot work; the app refuses to start."""


# --------------------------------------------------------------------------- where files live


def installed() -> bool:
    """True in an installed wheel, which ships templates/, static/ and migrations/ inside the
    package (setup.py); a source checkout keeps them at its top level."""
    return (PACKAGE_DIR / "templates").is_dir()


def resource_dir(name: str) -> Path:
    """templates/, static/, migrations/ or translations/, in a wheel or in the checkout."""
    return PACKAGE_DIR / name if installed() else PACKAGE_DIR.parent / name


def default_instance_path() -> Path:
    """The checkout's instance/ (git-ignored); for an installed package, the current
    directory's instance/ (site-packages is no place for a database)."""
    return Path.cwd() / "instance" if installed() else PACKAGE_DIR.parent / "instance"


# --------------------------------------------------------------------------- readers


def _flag(env: Mapping[str, str], name: str, default: str) -> bool:
    return env.get(name, default).strip().lower() not in ("0", "false")


def rate_limit_settings(env: Mapping[str, str]) -> dict:
    """Every rate-limit setting: the store, on or off, and the limits.

    The one reader of these variables, for the app and for gunicorn.conf.py (which refuses
    several workers on a per-process store).
    """
    storage = env.get("RATELIMIT_STORAGE_URI", "").strip() or "memory://"
    return {
        "RATELIMIT_STORAGE_URI": storage,
        "RATELIMIT_ENABLED": _flag(env, "RATELIMIT_ENABLED", "true"),
        # Fail closed when the limit store is down (errors.py answers 503): an in-memory
        # fallback would give every process its own budget and multiply the limits.
        "RATELIMIT_SWALLOW_ERRORS": False,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        **{name: env.get(name, default) for name, default in LIMITS.items()},
    }


def _public_base_url(raw: str) -> str | None:
    """`scheme://host[:port]`, without a trailing slash; a path or query is refused
    (links add the app's own paths), so is any other scheme."""
    url = raw.strip().rstrip("/")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or (
            parts.path or parts.query or parts.fragment or parts.username):
        raise ConfigError(f"PUBLIC_BASE_URL must be like https://dnc.example.com "
                          f"(scheme and host only), not {raw!r}")
    return url


def limiter_storage_options(uri: str) -> dict:
    # Storage errors arrive as limits.errors.StorageError, whatever the backend.
    options: dict = {"wrap_exceptions": True}
    if uri.startswith(("redis", "rediss")):
        # A stalled Redis answers 503 within seconds instead of hanging the worker.
        options.update(socket_connect_timeout=2, socket_timeout=2)
    return options


def engine_options(database_url: str, env: Mapping[str, str]) -> dict:
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
        "pool_size": int(env.get("DB_POOL_SIZE", "10")),
        "max_overflow": int(env.get("DB_MAX_OVERFLOW", "10")),
        "pool_recycle": int(env.get("DB_POOL_RECYCLE", "1800")),
        # Fail fast with a 503 during a database outage instead of hanging.
        "pool_timeout": int(env.get("DB_POOL_TIMEOUT", "10")),
        "connect_args": {"connect_timeout": int(env.get("DB_CONNECT_TIMEOUT", "5"))},
    }


def _database_url(instance_path: Path, env: Mapping[str, str] = os.environ) -> str:
    url = env.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance_path / 'dnc.sqlite3'}"
    # Accept the common spellings and use the psycopg 3 driver for PostgreSQL.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(instance_path: Path, env: Mapping[str, str] = os.environ) -> str:
    """SECRET_KEY from the environment, else one generated once and kept under instance/.

    Several processes or machines must share one key (sessions, CSRF, signed links), so
    production sets SECRET_KEY; the embedded default keeps a stable key across restarts.
    """
    key = env.get("SECRET_KEY", "").strip()
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
    """The embedded default and development: every setting from the environment."""

    name = "default"

    def __init__(self, env: Mapping[str, str]):
        self.env = env

    def instance_path(self) -> Path:
        """Where the SQLite file, the generated key and pending bulk uploads live."""
        configured = self.env.get("DNC_INSTANCE_PATH", "").strip()
        return Path(configured).resolve() if configured else default_instance_path()

    def secret_key(self, instance_path: Path) -> str:
        return _secret_key(instance_path, self.env)

    def database_url(self, instance_path: Path) -> str:
        return _database_url(instance_path, self.env)

    def overrides(self) -> dict:
        """Settings this environment fixes, applied over those read."""
        return {}

    def settings(self, instance_path: Path) -> dict:
        """The mapping `create_app` loads."""
        env = self.env
        settings = {
            "DNC_ENV": self.name,
            "SECRET_KEY": self.secret_key(instance_path),
            "SQLALCHEMY_DATABASE_URI": self.database_url(instance_path),
            "SQLITE_SYNCHRONOUS": env.get("SQLITE_SYNCHRONOUS", "NORMAL").strip().upper(),
            **rate_limit_settings(env),
            # Request bodies: API requests are capped lower in the API blueprint.
            "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
            "API_MAX_CONTENT_LENGTH": int(env.get("API_MAX_CONTENT_LENGTH",
                                                  str(4 * 1024 * 1024))),
            # A prospect CSV to screen (streamed to disk, never held in memory): 200,000
            # rows of a typical export take ~20 MB.
            "SCREEN_MAX_CONTENT_LENGTH": int(env.get("SCREEN_MAX_CONTENT_LENGTH",
                                                     str(64 * 1024 * 1024))),
            # The prospect CSV's counts are made in steps of about this many seconds,
            # each answer showing the progress (the page asks for the next at once).
            "SCREEN_STEP_SECONDS": float(env.get("SCREEN_STEP_SECONDS", "0.5")),
            "SESSION_COOKIE_HTTPONLY": True,
            "SESSION_COOKIE_SAMESITE": "Lax",
            "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "false").lower() == "true",
            # A session ends after this many seconds (or on sign-out, a password change,
            # disabling).
            "SESSION_MAX_AGE": int(env.get("SESSION_MAX_AGE", str(12 * 3600))),
            # werkzeug's scrypt; tests lower the cost, production keeps the default.
            "PASSWORD_HASH_METHOD": "scrypt",
            **{name: kind(env.get(name, default))
               for name, (default, kind) in OPTOUT_SETTINGS.items()},
            # Where a bulk add waits between its preview and its confirmation.
            "BULK_UPLOAD_DIR": env.get("BULK_UPLOAD_DIR") or str(instance_path / "uploads"),
            # Bytes all of a team's waiting bulk uploads may take there together.
            "BULK_STAGED_BYTES_PER_TEAM": int(env.get("BULK_STAGED_BYTES_PER_TEAM",
                                                      str(64 * 1024 * 1024))),
            # Behind N trusted reverse proxies (load balancer, TLS terminator), werkzeug's
            # ProxyFix takes the client IP / scheme from the last N X-Forwarded-* values.
            # 0 = off: the headers are then ignored, so clients cannot spoof their IP.
            **{name: int(env.get(name, "0"))
               for name in ("PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "PROXY_FIX_X_HOST")},
            "LOG_LEVEL": env.get("LOG_LEVEL", "INFO").upper(),
            **webhook_settings(env),
            # Where the public reaches the service (https://dnc.example.com), for the links
            # it is given. None: links are derived from the request, fit for development
            # only (the Host header is the client's to choose).
            "PUBLIC_BASE_URL": _public_base_url(env.get("PUBLIC_BASE_URL", "")),
            # Invitations: how long a link stays valid, and optional email (no SMTP_HOST:
            # none is sent; the owner copies the link).
            "INVITE_MAX_AGE_DAYS": int(env.get("INVITE_MAX_AGE_DAYS", "7")),
            "SMTP_HOST": env.get("SMTP_HOST", "").strip() or None,
            "SMTP_PORT": int(env.get("SMTP_PORT", "587")),
            "SMTP_USERNAME": env.get("SMTP_USERNAME", ""),
            "SMTP_PASSWORD": env.get("SMTP_PASSWORD", ""),
            "SMTP_FROM": env.get("SMTP_FROM", "dnc@localhost"),
            "SMTP_STARTTLS": env.get("SMTP_STARTTLS", "true").lower() == "true",
            # Host names this service answers to (others get a 400), e.g.
            # "dnc.example.com,10.0.0.5"; unset: any.
            "TRUSTED_HOSTS": [h.strip() for h in env.get("TRUSTED_HOSTS", "").split(",")
                              if h.strip()] or None,
        }
        settings.update(self.overrides())
        # Options that follow from the database and the limit store actually configured.
        settings.setdefault("SQLALCHEMY_ENGINE_OPTIONS",
                            engine_options(settings["SQLALCHEMY_DATABASE_URI"], env))
        settings.setdefault("RATELIMIT_STORAGE_OPTIONS",
                            limiter_storage_options(settings["RATELIMIT_STORAGE_URI"]))
        return settings


class ProductionConfig(Config):
    """Production mode: several processes on one or several machines. They must share one
    key and one database, so neither is generated or defaulted."""

    name = "production"

    def secret_key(self, instance_path: Path) -> str:
        key = self.env.get("SECRET_KEY", "").strip()
        if len(key) < MIN_PRODUCTION_KEY_LENGTH:
            raise ConfigError(
                "SECRET_KEY is not set or too short: production mode needs at least "
                f"{MIN_PRODUCTION_KEY_LENGTH} random characters, the same on every machine")
        return key

    def database_url(self, instance_path: Path) -> str:
        if not self.env.get("DATABASE_URL", "").strip():
            raise ConfigError("DATABASE_URL is not set: production mode needs a database "
                              "shared by every process, e.g. postgresql://user:pass@host/db")
        return super().database_url(instance_path)


class TestConfig(Config):
    """For tests: the defaults with a fixed key, cheap password hashes and an in-memory
    database, then the test's own settings. Reads no environment, so that a test does not
    depend on the shell it runs in."""

    name = "test"
    __test__ = False  # not a pytest test class

    def __init__(self, test_config: Mapping):
        super().__init__(env={})
        self.test_config = dict(test_config)

    def secret_key(self, instance_path: Path) -> str:
        return TEST_SECRET_KEY

    def database_url(self, instance_path: Path) -> str:
        return "sqlite://"

    def overrides(self) -> dict:
        # No webhook delivery loop unless the test asks for one (WEBHOOK_DELIVERY=True).
        return {"TESTING": True, "PASSWORD_HASH_METHOD": TEST_PASSWORD_HASH_METHOD,
                "WEBHOOK_DELIVERY": False, **self.test_config}


ENVIRONMENTS = {"default": Config, "production": ProductionConfig}


def configuration(test_config: Mapping | None = None) -> Config:
    """TestConfig when a test configuration is given, else the class that DNC_ENV names."""
    if test_config is not None:
        return TestConfig(test_config)
    name = os.environ.get("DNC_ENV", "").strip().lower() or "default"
    if name not in ENVIRONMENTS:
        raise ConfigError(f"DNC_ENV must be one of {', '.join(ENVIRONMENTS)}, not {name!r}")
    return ENVIRONMENTS[name](os.environ)
