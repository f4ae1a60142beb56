"""The project's habits hold: every way in installs from uv.lock, the test command lints,
checks the formatting and the types, the pre-commit hooks are the locked tools, and no
code reaches into another object's private names."""

from __future__ import annotations

import ast
import importlib
import inspect
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


# The one module that relies on libraries' private names, on purpose and version-tested
# (its docstring says which and why; tests/test_limitstore_versions.py).
PRIVATE_NAMES_ALLOWED_IN = {"dnc_app/storage/limitstore.py"}
_PRIVATE = re.compile(r"^_[A-Za-z0-9]\w*$")


def _is_private(name: str) -> bool:
    # _name, not __dunder__ nor _sunder_ (enum's documented _value_ and the like)
    return bool(_PRIVATE.match(name)) and not name.endswith("_")


def _python_files() -> list[Path]:
    files = [ROOT / "gunicorn.conf.py", ROOT / "app.py"]
    for folder in ("dnc_app", "bench", "scripts"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix == ".py" or (
                path.is_file() and path.read_bytes()[:40].startswith(b"#!/usr/bin/env python")
            ):
                files.append(path)
    return files


def private_names_reached(source: str) -> list[str]:
    """`x._name` on anything but self or cls, and `from <library> import _name`."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and _is_private(node.attr):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                found.append(f"{node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and not (node.module or "").startswith("dnc_app"):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if _is_private(a.name)]
    return found


def test_the_scan_finds_what_it_looks_for():
    source = (
        "from flask.globals import _cv_app\n"
        "from dnc_app.logging import _ours\n"
        "class E(Enum):\n    def __new__(cls, v):\n        m = object.__new__(cls)\n"
        "        m._value_ = v\n        cls._seen = 1\n        return m\n"
        "def f(app, proxy):\n    app._got_first_request = True\n"
        "    return proxy._get_current_object().__class__, self._mine\n"
    )
    assert private_names_reached(source) == [
        "1: import _cv_app",
        "10: ._got_first_request",
        "11: ._get_current_object",
    ]


def _library_privates_used_by_subclasses(path: Path) -> list[str]:
    """`self._name` in a class of dnc_app where `_name` is a library base class's own."""
    module = importlib.import_module(
        str(path.relative_to(ROOT).with_suffix("")).replace("/", ".").removesuffix(".__init__")
    )
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ClassDef) or not hasattr(module, node.name):
            continue
        library_bases = [
            base
            for base in inspect.getmro(getattr(module, node.name))[1:]
            if not base.__module__.startswith(("dnc_app", "builtins"))
        ]
        sources = []
        for base in library_bases:
            try:
                sources.append(inspect.getsource(base))
            except (OSError, TypeError):  # a class built in C
                continue
        for inner in ast.walk(node):
            if (
                isinstance(inner, ast.Attribute)
                and _is_private(inner.attr)
                and isinstance(inner.value, ast.Name)
                and inner.value.id in ("self", "cls")
                and any(re.search(rf"\b{inner.attr}\b", text) for text in sources)
            ):
                found.append(f"{inner.lineno}: {node.name}: self.{inner.attr}")
    return found


def test_a_subclass_of_a_library_class_uses_no_private_name_of_it():
    reached = {
        str(path.relative_to(ROOT)): _library_privates_used_by_subclasses(path)
        for path in sorted((ROOT / "dnc_app").rglob("*.py"))
        if str(path.relative_to(ROOT)) not in PRIVATE_NAMES_ALLOWED_IN
    }
    assert {path: found for path, found in reached.items() if found} == {}


def test_no_code_reaches_into_a_private_name_of_a_library_or_another_object():
    reached = {
        str(path.relative_to(ROOT)): private_names_reached(path.read_text())
        for path in _python_files()
        if str(path.relative_to(ROOT)) not in PRIVATE_NAMES_ALLOWED_IN
    }
    assert len(reached) > 100, "the scan reads the code"
    assert {path: found for path, found in reached.items() if found} == {}
