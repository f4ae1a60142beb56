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
        },
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        "RATELIMIT_STRATEGY": "moving-window",
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": env.get("RATELIMIT_ENABLED", "true").lower() not in ("0", "false"),
        # Request bodies: API requests are capped lower in the API blueprint.
        "MAX_CONTENT_LENGTH": int(env.get("MAX_CONTENT_LENGTH", str(16 * 1024 * 1024))),
        "API_MAX_CONTENT_LENGTH": int(env.get("API_MAX_CONTENT_LENGTH", str(4 * 1024 * 1024))),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": env.get("SESSION_COOKIE_SECURE", "false").lower() == "true",
        # werkzeug's scrypt; tests lower the cost, production keeps the default.
        "PASSWORD_HASH_METHOD": "scrypt",
    }
    for name, default in DEFAULT_LIMITS.items():
        config[name] = env.get(name, default)
    return config
