"""The project's habits hold: every way in installs from uv.lock, the test command lints,
checks the formatting and the types, and the pre-commit hooks are the locked tools."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _read(name: str) -> str:
    return (ROOT / name).read_text()


def _commands(name: str) -> list[str]:
    """The script's lines that run something (comments left out)."""
    return [line.strip() for line in _read(name).splitlines() if not line.strip().startswith("#")]


def test_every_way_in_installs_exactly_the_lock():
    setup = _commands("scripts/setup")
    sync = [line for line in setup if " sync " in line]
    # --locked: the lock must match pyproject.toml, and is installed as it is.
    assert sync and all("uv sync --locked" in line for line in sync)
    assert not any(re.search(r"pip install (?!.*uv==)", line) for line in setup)
    assert "scripts/setup" in _commands("scripts/run")
    assert "scripts/setup --dev" in _commands("scripts/test")
    assert "scripts/test" in _commands(".ci/run")
    assert "uv lock" in _read("scripts/lock")
    readme = _read("README.md")
    assert "scripts/lock" in readme and "scripts/lock --upgrade" in readme


def test_the_test_command_lints_formats_and_checks_types():
    commands = _commands("scripts/test")
    for check in (".venv/bin/ruff check .", ".venv/bin/ruff format --check .", ".venv/bin/mypy"):
        assert check in commands, check
    mypy = tomllib.loads(_read("pyproject.toml"))["tool"]["mypy"]
    assert mypy["files"] == ["dnc_app"]


def test_the_pre_commit_hooks_are_the_locked_tools():
    config = _read(".pre-commit-config.yaml")
    # No hook repository with a version of its own that could drift from uv.lock.
    assert re.findall(r"^\s*-?\s*repo:\s*(\S+)", config, re.M) == ["local"]
    assert "rev:" not in config
    entries = re.findall(r"^\s*entry:\s*(.+)$", config, re.M)
    assert entries == [
        ".venv/bin/ruff check --force-exclude",
        ".venv/bin/ruff format --check --force-exclude",
        ".venv/bin/mypy",
    ]
