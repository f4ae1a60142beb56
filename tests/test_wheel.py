"""A wheel that runs: built, installed (not editable) into a fresh virtual environment,
then migrated and served from an empty directory. Templates, static files and migrations
live at the top of the source tree; this proves the wheel built from
pyproject.toml alone carries them.

About a minute: the wheel's dependencies are installed from the package index or pip's
cache. The wheel brings its own SQLite database, so it runs in the SQLite pass only.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.live import ROOT, free_port, stop_process
from tests.services import call

# The installed wheel uses its own SQLite file: it runs in the SQLite pass.
pytestmark = [pytest.mark.live, pytest.mark.wheel, pytest.mark.database("sqlite")]

PASSWORD = "a long enough password"
# Not copied into the build: local state and caches of the checkout.
NOT_SOURCE = (
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "instance",
    "artifacts",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
)
_CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
_ASSET_RE = re.compile(r'(?:href|src)="(/static/[^"]+\.(?:css|js))"')


def _run(args: list, cwd: Path, env: dict, stdin: str | None = None, timeout: float = 300):
    result = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("wheel")


@pytest.fixture(scope="module")
def clean_env(work) -> dict[str, str]:
    """Nothing of the test session: no PYTHONPATH to the checkout, no app settings; the
    fresh environment's bin first on PATH; pip's own settings kept (index, caches)."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if k in ("HOME", "LANG", "TMPDIR") or k.startswith("PIP_")
    }
    return {
        **keep,
        "PATH": f"{work / 'venv' / 'bin'}{os.pathsep}{os.environ['PATH']}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


@pytest.fixture(scope="module")
def venv_bin(work, clean_env) -> Path:
    """A fresh virtual environment with the wheel of a clean copy of the checkout."""
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", work / "dist", "."],
        cwd=source,
        env=clean_env,
    )
    (wheel,) = (work / "dist").glob("dnc_service-*.whl")
    _run([sys.executable, "-m", "venv", work / "venv"], cwd=work, env=clean_env)
    bin_dir = work / "venv" / "bin"
    _run(
        [bin_dir / "python", "-m", "pip", "install", "-q", wheel],
        cwd=work,
        env=clean_env,
        timeout=600,
    )
    return bin_dir


def _sign_in(base_url: str, email: str) -> urllib.request.OpenerDirector:
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    with opener.open(f"{base_url}/login", timeout=30) as response:
        token = _CSRF_RE.search(response.read().decode()).group(1)
    form = urllib.parse.urlencode(
        {"csrf_token": token, "email": email, "password": PASSWORD, "next": ""}
    ).encode()
    with opener.open(f"{base_url}/login", data=form, timeout=30) as response:
        assert response.url.endswith("/entries") or "Sign out" in response.read().decode()
    return opener


def _get(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str]:
    try:
        with opener.open(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode()


def _assets_served_from_the_wheel(base_url: str, page: str) -> list[str]:
    """The page's stylesheets and scripts, each fetched and compared with the source."""
    assets = _ASSET_RE.findall(page)
    for path in assets:
        reply = call(base_url, "GET", path)
        assert reply.status == 200, path
        assert reply.text == (ROOT / path.removeprefix("/")).read_text(), path
    return assets


def test_an_installed_wheel_migrates_and_serves_from_an_empty_directory(work, clean_env, venv_bin):
    run_dir = work / "run"
    run_dir.mkdir()
    flask = [venv_bin / "flask", "--app", "dnc_app"]
    where = _run(
        [venv_bin / "python", "-c", "import dnc_app; print(dnc_app.__file__)"],
        cwd=run_dir,
        env=clean_env,
    )
    assert where.stdout.startswith(str(work / "venv")), where.stdout  # not the checkout

    upgrade = _run([*flask, "db", "upgrade"], cwd=run_dir, env=clean_env)
    assert "Running upgrade" in upgrade.stderr + upgrade.stdout
    # The instance folder of an installed package is the current directory's instance/.
    assert (run_dir / "instance" / "dnc.sqlite3").is_file()
    assert (run_dir / "instance" / "secret_key").is_file()
    team = json.loads(
        _run([*flask, "team", "create", "Acme", "--json"], cwd=run_dir, env=clean_env).stdout
    )
    _run(
        [*flask, "user", "create", "ann@example.com", "--team", team["slug"]],
        cwd=run_dir,
        env=clean_env,
        stdin=PASSWORD + "\n",
    )

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(venv_bin / "gunicorn"),
            "dnc_app:create_app()",
            # As docs/production.md shows: the packaged gunicorn settings.
            "-c",
            "python:dnc_app.gunicorn_config",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
        ],
        cwd=run_dir,
        env=clean_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, "gunicorn exited"
            try:
                if call(base_url, "GET", "/healthz", timeout=2).status == 200:
                    break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not become ready"
                time.sleep(0.2)

        added = call(
            base_url,
            "POST",
            "/v1/dnc",
            key=team["apiKey"],
            body={"url": "linkedin.com/in/from-the-wheel"},
        )
        assert added.status == 201, added
        assert added.json["data"]["url"] == "https://linkedin.com/in/from-the-wheel"

        opener = _sign_in(base_url, "ann@example.com")
        status, page = _get(opener, f"{base_url}/entries")
        assert status == 200 and "linkedin.com/in/from-the-wheel" in page
        assets = _assets_served_from_the_wheel(base_url, page)
        assert "/static/css/app.css" in assets
        assert any(re.fullmatch(r"/static/.*htmx[^/]*\.js", path) for path in assets)

        public = call(base_url, "GET", f"/optout/{team['slug']}")
        assert public.status == 200 and "<form" in public.text
        assert "/static/css/optout.css" in _assets_served_from_the_wheel(base_url, public.text)
        # The compiled catalogues travel in the wheel: a German browser reads German.
        german = call(
            base_url,
            "GET",
            f"/optout/{team['slug']}",
            headers={"Accept-Language": "de-DE,de;q=0.9"},
        )
        assert german.status == 200 and '<html lang="de">' in german.text
        assert "Keine Nachrichten mehr von" in german.text
    finally:
        stop_process(server)
