"""Settings: one typed class, validated when `flask` or gunicorn starts; a wrong value stops
either with one line naming the variable; the README's table is made from the class."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dnc_app import config
from dnc_app.config import ConfigError, Settings
from tests.live import GUNICORN, free_port

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))


@pytest.mark.parametrize(
    "word, value",
    [
        *[(w, True) for w in ("1", "true", "yes", "on", "TRUE", " On ")],
        *[(w, False) for w in ("0", "false", "no", "off", "False", "OFF")],
    ],
)
def test_one_boolean_parser_for_every_flag(word, value):
    flags = [name for name, field in Settings.model_fields.items() if field.annotation is bool]
    assert {
        "SESSION_COOKIE_SECURE",
        "RATELIMIT_ENABLED",
        "WEBHOOK_DELIVERY",
        "WEBHOOK_ALLOW_PRIVATE",
        "SMTP_STARTTLS",
    } <= set(flags)
    for name in flags:
        assert getattr(Settings.from_env({name: word}), name) is value, name


def test_the_words_that_used_to_mean_the_opposite():
    # "1" gave insecure cookies, "off" left the limits on.
    assert Settings.from_env({"SESSION_COOKIE_SECURE": "1"}).SESSION_COOKIE_SECURE is True
    assert Settings.from_env({"RATELIMIT_ENABLED": "off"}).RATELIMIT_ENABLED is False


@pytest.mark.parametrize(
    "name, raw",
    [
        ("SESSION_COOKIE_SECURE", "maybe"),
        ("RATELIMIT_ENABLED", "enabled"),
        ("DB_POOL_SIZE", "ten"),
        ("DB_POOL_SIZE", "0"),
        ("SMTP_PORT", "70000"),
        ("SCREEN_STEP_SECONDS", "nan"),
        ("WEBHOOK_TIMEOUT", "-1"),
        ("MAX_CONTENT_LENGTH", "16MB"),
        ("DNC_WRITE_LIMIT", "30/fortnight"),
        ("OPTOUT_RATE_LIMIT", "5/minute;lots"),
        ("RATELIMIT_STORAGE_URI", "redis-host:6379"),
        ("PUBLIC_BASE_URL", "dnc.example.com"),
        ("WEBHOOK_RETRY_SCHEDULE", "soon"),
        ("SQLITE_SYNCHRONOUS", "sometimes"),
        ("SQLITE_WRITE_CACHE_MIB", "0"),
        ("LOG_LEVEL", "loud"),
        ("DNC_ENV", "staging"),
        ("OPTOUT_LANGUAGE", "English"),
    ],
)
def test_a_wrong_value_is_refused_naming_the_variable(name, raw):
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: raw})
    message = str(caught.value)
    assert message.startswith(name) and "\n" not in message
    assert (
        repr(raw.strip().upper() if name in ("LOG_LEVEL", "SQLITE_SYNCHRONOUS") else raw) in message
    )


def _wrong_value(name: str, field) -> str | None:
    """A value of the wrong kind for a flag, a number or a limit string (None: another kind)."""
    if name in config.LIMIT_NAMES:
        return "30/fortnight"
    kinds = str(field.annotation)
    for kind, wrong in (("bool", "maybe"), ("int", "many"), ("float", "soon")):
        if kind in kinds:
            return wrong
    return None


WRONG = {
    name: wrong
    for name, field in Settings.model_fields.items()
    if (wrong := _wrong_value(name, field)) is not None
}


def test_every_flag_number_and_limit_setting_refuses_a_wrong_value_by_name():
    """Each of them, not a sample (the `flask` and gunicorn tests below boot with some)."""
    assert len(WRONG) > 50 and {"RATELIMIT_ENABLED", "DB_POOL_SIZE", "DNC_WRITE_LIMIT"} <= set(
        WRONG
    )
    for name, wrong in WRONG.items():
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({name: wrong})
        message = str(caught.value)
        assert message.startswith(name) and "\n" not in message, name
        assert repr(wrong) in message or name in config.SECRET_NAMES, name


def test_a_secret_is_not_repeated_in_the_message():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"SMTP_PASSWORD": "hunter2", "SMTP_PORT": "x"})
    assert "hunter2" not in str(caught.value)
    errors = [{"loc": ("SECRET_KEY",), "msg": "String too short", "input": "hunter2"}]
    assert "hunter2" not in config._describe(errors[0])


def test_blank_is_unset_and_values_keep_their_types():
    values = Settings.from_env(
        {
            "DB_POOL_SIZE": " 12 ",
            "RATELIMIT_STORAGE_URI": "  ",
            "TRUSTED_HOSTS": "a.example, b.example ,",
            "WEBHOOK_RETRY_SCHEDULE": "0, 1.5,60",
            "LOG_LEVEL": "debug",
        }
    )
    assert values.DB_POOL_SIZE == 12 and values.RATELIMIT_STORAGE_URI == "memory://"
    assert values.TRUSTED_HOSTS == ["a.example", "b.example"]
    assert values.WEBHOOK_RETRY_SCHEDULE == [0, 1.5, 60] and values.LOG_LEVEL == "DEBUG"


def test_app_settings_are_the_fields_under_their_own_names(make_app):
    cfg = make_app().config
    for name, field in Settings.model_fields.items():
        if not field.exclude:
            assert name in cfg, name
    # Read by gunicorn or turned into another setting: not app settings.
    assert "DATABASE_URL" not in cfg and "BIND" not in cfg


def test_every_setting_is_described_and_the_readme_table_is_made_from_them():
    assert all(field.description for field in Settings.model_fields.values())
    readme = (ROOT / "README.md").read_text()
    assert config.readme_with_table(readme) == readme, "run scripts/settings-table"
    for name in Settings.model_fields:
        assert f"| `{name}` |" in readme


def _environment(**settings: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return {**keep, "WEBHOOK_DELIVERY": "off", **settings}


# Each a complaint once: a value that started fine and failed later, or meant its opposite.
BAD = {
    "pool-size": ({"DB_POOL_SIZE": "ten"}, "DB_POOL_SIZE: input should be a valid integer"),
    "limit": ({"DNC_WRITE_LIMIT": "30/fortnight"}, "DNC_WRITE_LIMIT must be rate limits"),
    "limit-in-list": ({"OPTOUT_RATE_LIMIT": "5/minute;lots"}, "OPTOUT_RATE_LIMIT must be"),
    "flag": ({"SESSION_COOKIE_SECURE": "maybe"}, "SESSION_COOKIE_SECURE must be one of"),
    "limits-flag": ({"RATELIMIT_ENABLED": "enabled"}, "RATELIMIT_ENABLED must be one of"),
    "database-scheme": (
        {"DATABASE_URL": "mysql://dnc:hunter2@db/dnc"},
        "DATABASE_URL must be a PostgreSQL URL",
    ),
    "database-port": (
        {"DATABASE_URL": "postgresql://dnc:hunter2@db:fivefour/dnc"},
        "DATABASE_URL is not a valid database URL",
    ),
    "language": ({"OPTOUT_LANGUAGE": "xx"}, "OPTOUT_LANGUAGE: input should be 'auto'"),
    "store": ({"RATELIMIT_STORAGE_URI": "redis-host:6379"}, "RATELIMIT_STORAGE_URI must be"),
}


def _assert_refused(result: subprocess.CompletedProcess, line: str) -> None:
    assert result.returncode == config.CONFIG_ERROR_EXIT_STATUS, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "hunter2" not in result.stderr
    refusals = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(refusals) == 1 and refusals[0].startswith(f"Error: {line}"), result.stderr


@pytest.mark.parametrize("case", BAD)
def test_flask_refuses_to_start_with_a_wrong_setting(tmp_path, case):
    settings, line = BAD[case]
    result = subprocess.run(
        [FLASK, "--app", "app", "routes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(DNC_INSTANCE_PATH=str(tmp_path), **settings),
    )
    _assert_refused(result, line)
    assert result.stdout == ""


@pytest.mark.parametrize("case", ["pool-size", "limit", "database-scheme", "language"])
@pytest.mark.parametrize(
    "config_file", ["gunicorn.conf.py", "/dev/null"], ids=["with-gunicorn.conf.py", "without"]
)
def test_gunicorn_refuses_to_start_with_a_wrong_setting(tmp_path, config_file, case):
    # With gunicorn.conf.py the master refuses before binding; without it the worker's
    # exit status stops the master instead of a restart loop.
    settings, line = BAD[case]
    result = subprocess.run(
        [
            GUNICORN,
            "app:app",
            "-c",
            config_file,
            "--bind",
            f"127.0.0.1:{free_port()}",
            "--no-control-socket",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(DNC_INSTANCE_PATH=str(tmp_path), **settings),
    )
    _assert_refused(result, line)


def _serve_production(tmp_path, *args: str, **settings: str) -> subprocess.CompletedProcess:
    """scripts/serve-production on a SQLite file under tmp_path, with a production key."""
    return subprocess.run(
        [str(ROOT / "scripts" / "serve-production"), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(
            DNC_INSTANCE_PATH=str(tmp_path),
            SECRET_KEY="k" * 40,
            DATABASE_URL=f"sqlite:///{tmp_path / 'dnc.sqlite3'}",
            BIND=f"127.0.0.1:{free_port()}",
            **settings,
        ),
    )


def test_serve_production_refuses_a_wrong_setting_before_migrating(tmp_path):
    # Its `flask db upgrade` is the first to read the settings: it stops there, once.
    settings, line = BAD["pool-size"]
    result = _serve_production(tmp_path, "--workers", "1", **settings)
    _assert_refused(result, line)
    assert not (tmp_path / "dnc.sqlite3").exists()


@pytest.mark.parametrize(
    "args, concurrency, named",
    [
        ([], "many", "WEB_CONCURRENCY"),
        ([], "0", "WEB_CONCURRENCY"),
        (["-w", "x"], "2", "--workers"),
    ],
)
def test_serve_production_names_where_a_wrong_worker_count_came_from(
    tmp_path, args, concurrency, named
):
    result = _serve_production(tmp_path, *args, WEB_CONCURRENCY=concurrency)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith(f"serve-production: {named} must be a positive number")
    assert not (tmp_path / "dnc.sqlite3").exists()


@pytest.mark.parametrize(
    "secure, limits_on",
    [("1", "off"), ("yes", "0"), ("off", "on"), ("0", "yes"), ("TRUE", "false")],
)
def test_the_app_takes_the_words_as_they_read(monkeypatch, app_from_environment, secure, limits_on):
    # "1" once gave insecure cookies and "off" left the limits on.
    from dnc_app.config import TRUE_WORDS
    from dnc_app.extensions import limiter

    monkeypatch.setenv("SESSION_COOKIE_SECURE", secure)
    monkeypatch.setenv("RATELIMIT_ENABLED", limits_on)
    app = app_from_environment()
    want_secure, want_limits = secure.lower() in TRUE_WORDS, limits_on.lower() in TRUE_WORDS
    assert app.config["SESSION_COOKIE_SECURE"] is want_secure
    assert app.config["RATELIMIT_ENABLED"] is want_limits and limiter.enabled is want_limits
    # The sign-in page keeps its CSRF token in the session cookie.
    cookie = app.test_client().get("/login").headers["Set-Cookie"]
    assert ("; Secure" in cookie) is want_secure
