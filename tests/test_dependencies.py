"""Every library the code imports is declared in pyproject.toml: the service's own code
by [project].dependencies, the tests and benchmarks by those and the dev extra (a library
that only arrives through another one may leave with its next release)."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCAL = {"dnc_app", "tests", "bench", "app", "load_entries", "common", "bare_app"}


def _imported(paths: list[Path]) -> dict[str, str]:
    """Top-level module name -> a file importing it (absolute imports, at any depth)."""
    found: dict[str, str] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], str(path.relative_to(ROOT)))
    return found


def _distribution_names(requirements: list[str]) -> set[str]:
    return {
        re.split(r"[\[<>=!~; ]", req, maxsplit=1)[0].lower().replace("_", "-")
        for req in requirements
    }


def _undeclared(paths: list[Path], declared: set[str]) -> list[str]:
    providers = packages_distributions()
    missing = []
    for module, where in sorted(_imported(paths).items()):
        if module in sys.stdlib_module_names or module in LOCAL or module == "__future__":
            continue
        dists = {d.lower().replace("_", "-") for d in providers.get(module, [module])}
        if not dists & declared:
            missing.append(f"{module} ({where}; from {', '.join(sorted(dists))})")
    return missing


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_service_imports_only_what_it_declares():
    paths = [*ROOT.glob("dnc_app/**/*.py"), ROOT / "app.py", ROOT / "gunicorn.conf.py"]
    paths += ROOT.glob("migrations/**/*.py")
    declared = _distribution_names(_project()["dependencies"])
    assert _undeclared(paths, declared) == []


def test_the_tests_and_benchmarks_import_only_what_is_declared():
    project = _project()
    declared = _distribution_names(
        project["dependencies"] + project["optional-dependencies"]["dev"]
    )
    paths = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("bench/**/*.py")]
    assert _undeclared(paths, declared) == []


def test_the_check_sees_an_undeclared_import(tmp_path, monkeypatch):
    # jinja2 arrives with Flask but is not declared: imported directly, it is reported.
    source = tmp_path / "x.py"
    source.write_text("import jinja2\nimport flask\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert _undeclared([source], {"flask"}) == ["jinja2 (x.py; from jinja2)"]
