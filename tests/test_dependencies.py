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


# ------------------------------------------------------------------ import cycles in hiding


def _modules() -> dict[str, Path]:
    found = {}
    for path in (ROOT / "dnc_app").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _targets(module: str, is_package: bool, node: ast.AST, modules: dict) -> set[str]:
    """The dnc_app modules an import statement loads (with their parent packages)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")[: None if is_package else -1]
            base = base[: len(base) - node.level + 1]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        names = [
            f"{source}.{a.name}" if f"{source}.{a.name}" in modules else source for a in node.names
        ]
    loaded = set()
    for name in names:
        parts = name.split(".")
        loaded |= {".".join(parts[:k]) for k in range(2, len(parts) + 1)}
    return {name for name in loaded if name in modules}


def _import_graph() -> tuple[dict[str, set[str]], list[tuple[str, str, int]]]:
    """Module-level imports of each dnc_app module, and the imports made inside
    functions: (importer, imported, line)."""
    modules = _modules()
    top: dict[str, set[str]] = {}
    inner: list[tuple[str, str, int]] = []
    for module, path in modules.items():
        tree = ast.parse(path.read_text())
        is_package = path.name == "__init__.py"
        top[module] = set()
        for node in tree.body:
            if isinstance(node, ast.Import | ast.ImportFrom):
                top[module] |= _targets(module, is_package, node, modules)
        for function in ast.walk(tree):
            if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                for node in ast.walk(function):
                    if isinstance(node, ast.Import | ast.ImportFrom):
                        for target in _targets(module, is_package, node, modules):
                            inner.append((module, target, node.lineno))
    return top, inner


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, stack = set(), [start]
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def test_no_import_inside_a_function_hides_a_cycle():
    """An import moved into a function to dodge a cycle hides a dependency the wrong way
    round; the shared piece belongs in a module both can import at the top."""
    top, inner = _import_graph()
    assert len(top) > 90 and inner  # the walk sees the package (create_app imports lazily)
    hidden = [
        f"{importer}:{line} imports {target}, which imports {importer} back"
        for importer, target, line in inner
        if importer in _reachable(top, target)
    ]
    assert hidden == []


def test_the_cycle_check_sees_a_cycle():
    top = {"dnc_app.a": {"dnc_app.b"}, "dnc_app.b": set()}
    assert "dnc_app.a" not in _reachable(top, "dnc_app.b")
    top["dnc_app.b"].add("dnc_app.a")
    assert "dnc_app.a" in _reachable(top, "dnc_app.b")
