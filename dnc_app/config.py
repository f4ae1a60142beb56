"""Configuration from the environment, read when the app is created (never at import time)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

DEFAULT_LIMITS = {
    # One budget shared by every write (add, batch, delete), per team.
    "DNC_WRITE_LIMIT": "30/minute",
    # Batch is additionally limited on its own.
    "DNC_BATCH_LIMIT": "10/minute",
    # Reads each have their own budget and never consume the write budget.
    "DNC_CHECK_LIMIT": "60/minute",
    "DNC_LIST_LIMIT": "60/minute",
    # Failed API authentications (missing, malformed, unknown or revoked key) per client
    # address (IPv6 by /64); beyond it every API request from there is a 429.
    "API_AUTH_FAILURE_LIMIT": "30/minute",
}


# The public opt-out page: name -> (default, type).
OPTOUT_SETTINGS = {
    # A person needs at least this long between opening the page and submitting it.
    "OPTOUT_MIN_SECONDS": ("2", float),
    # The form (its signed start time and CSRF token) is refused after this long.
    "OPTOUT_MAX_AGE_SECONDS": (str(4 * 3600), float),
    # Submissions per client IP, all teams together ("limits" syntax, ";" separated).
    "OPTOUT_RATE_LIMIT": ("5/minute;30/day", str),
    # Page views and inline URL checks per client IP.
    "OPTOUT_PAGE_LIMIT": ("60/minute", str),
    "OPTOUT_VALIDATE_LIMIT": ("120/minute", str),
    # Largest accepted request body of the public form, in bytes.
    "OPTOUT_MAX_CONTENT_LENGTH": (str(16 * 1024), int),
    "OPTOUT_LANGUAGE": ("en", str),
}


def _database_url(instance_path: Path) -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        return f"sqlite:///{instance_path / 'dnc.sqlite3'}"
    # Accept the common spellings and use the psycopg 3 driver for PostgreSQL.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept under instance/.

    Several processes or machines must share one key (sessions, CSRF, signed links), so
    production sets SECRET_KEY; the embedded default keeps a stable key across restarts.
    """
    key = os.environ.get("SECRET_KEY", "").strip()
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


def from_environment(instance_path: Path) -> dict:
    """Build the configuration mapping for `create_app`."""
    env = os.environ
    config = {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path),
        "SQLALCHEMY_ENGINE_OPTIONS": {
            "pool_pre_ping": True,
            "pool_size": int(env.get("DB_POOL_SIZE", "10")),
            "max_overflow": int(env.get("DB_MAX_OVERFLOW", "10")),
            "pool_recycle": int(env.get("DB_POOL_RECYCLE", "1800")),
            # Fail fast with a 503 during a database outage instead of hanging.
            "pool_timeout": int(env.get("DB_POOL_TIMEOUT", "10")),
            "connect_args": {"connect_timeout": int(env.get("DB_CONNECT_TIMEOUT", "5"))},
        },
        "SQLITE_SYNCHRONOUS": env.get("SQLITE_SYNCHRONOUS", "NORMAL").strip().upper(),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_STORAGE_OPTIONS": _limiter_storage_options(
            env.get("RATELIMIT_STORAGE_URI", "memory://")
        ),
        # Fail closed when the limit store is down (errors.py answers 503): an in-memory
        # fallback would give every process its own budget and multiply the limits.
        "RATELIMIT_SWALLOW_ERRORS": False,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": False,
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "true").lower() not in ("0", "false"),
        # Request bodies: API requests are capped lower in the API blueprint.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
        "API_MAX_CONTENT_LENGTH": int(env.get("API_MAX_CONTENT_LENGTH", str(4 * 1024 * 1024))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "false").lower() == "true",
        # Failed sign-ins per client address, and per (client address, email); a session
        # ends after this many seconds (or on sign-out, a password change, disabling).
        "LOGIN_RATE_LIMIT": env.get("LOGIN_RATE_LIMIT", "10/minute"),
        "LOGIN_ACCOUNT_RATE_LIMIT": env.get("LOGIN_ACCOUNT_RATE_LIMIT", "5/minute"),
        "SESSION_MAX_AGE": int(env.get("SESSION_MAX_AGE", str(12 * 3600))),
        # werkzeug's scrypt; tests lower the cost, production keeps the default.
        "PASSWORD_HASH_METHOD": "scrypt",
    }
    for name, default in DEFAULT_LIMITS.items():
        config[name] = env.get(name, default)
    for name, (default, kind) in OPTOUT_SETTINGS.items():
        config[name] = kind(env.get(name, default))
    # Where a bulk add waits between its preview and its confirmation.
    config["BULK_UPLOAD_DIR"] = env.get("BULK_UPLOAD_DIR") or str(instance_path / "uploads")
    # Behind N trusted reverse proxies (load balancer, TLS terminator), werkzeug's ProxyFix
    # takes the client IP / scheme from the last N X-Forwarded-* values. 0 = off: the
    # headers are then ignored, so clients cannot spoof their IP for limits or audit.
    for name in ("PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "PROXY_FIX_X_HOST"):
        config[name] = int(env.get(name, "0"))
    config["LOG_LEVEL"] = env.get("LOG_LEVEL", "INFO").upper()
    return config


def _limiter_storage_options(uri: str) -> dict:
    # Storage errors arrive as limits.errors.StorageError, whatever the backend.
    options: dict = {"wrap_exceptions": True}
    if uri.startswith(("redis", "rediss")):
        # A stalled Redis answers 503 within seconds instead of hanging the worker.
        options.update(socket_connect_timeout=2, socket_timeout=2)
    return options
