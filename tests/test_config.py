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


BAD = {"DB_POOL_SIZE": "ten"}
BAD_LINE = "Error: DB_POOL_SIZE: input should be a valid integer"


def _assert_refused(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == config.CONFIG_ERROR_EXIT_STATUS, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    refusals = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(refusals) == 1 and refusals[0].startswith(BAD_LINE), result.stderr


def test_flask_refuses_to_start_with_a_wrong_setting(tmp_path):
    result = subprocess.run(
        [FLASK, "--app", "app", "routes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=_environment(DNC_INSTANCE_PATH=str(tmp_path), **BAD),
    )
    _assert_refused(result)
    assert result.stdout == ""


@pytest.mark.parametrize(
    "config_file", ["gunicorn.conf.py", "/dev/null"], ids=["with-gunicorn.conf.py", "without"]
)
def test_gunicorn_refuses_to_start_with_a_wrong_setting(tmp_path, config_file):
    # With gunicorn.conf.py the master refuses before binding; without it the worker's
    # exit status stops the master instead of a restart loop.
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
        env=_environment(DNC_INSTANCE_PATH=str(tmp_path), **BAD),
    )
    _assert_refused(result)


def test_the_app_gets_secure_cookies_from_1_and_no_limits_from_off(
    monkeypatch, app_from_environment
):
    from dnc_app.extensions import limiter

    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("RATELIMIT_ENABLED", "off")
    app = app_from_environment()
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["RATELIMIT_ENABLED"] is False and limiter.enabled is False
    # The sign-in page keeps its CSRF token in the session cookie.
    cookie = app.test_client().get("/login").headers["Set-Cookie"]
    assert "; Secure" in cookie
