"""Declared dependencies match the imports: every distribution the package (or the test suite) imports is
declared in pyproject.toml, the package's in [project.dependencies], the tests' there or in the test extra."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.match(r"[A-Za-z0-9_.-]+", requirement).group(0)).lower()


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    runtime = {_name(r) for r in project["dependencies"]}
    test = {_name(r) for r in project["optional-dependencies"]["test"]}
    return runtime, test


def _imported(folder: Path) -> dict[str, list[str]]:
    """Top-level module -> files importing it, for absolute imports outside the standard library."""
    found: dict[str, list[str]] = {}
    local = {"tmb_analysis", "conftest", "fixtures", folder.name}  # the checkout's own modules, not distributions
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, []).append(str(path.relative_to(folder.parent)))
    return found


def _undeclared(folder: Path, allowed: set[str]) -> list[str]:
    dists = packages_distributions()
    problems = []
    for module, files in sorted(_imported(folder).items()):
        names = {_name(d) for d in dists.get(module, [])}
        if not names:
            problems.append(f"{module} (imported by {files[0]}) is installed by no distribution")
        elif not names & allowed:
            problems.append(f"{module} (imported by {files[0]}) comes from {sorted(names)}, not declared")
    return problems


def test_the_package_imports_only_declared_distributions():
    runtime, _ = _declared()
    assert _undeclared(ROOT / "tmb_analysis", runtime) == []


def test_the_tests_import_only_declared_distributions():
    runtime, test = _declared()
    assert _undeclared(ROOT / "tests", runtime | test) == []


def test_an_undeclared_import_is_found(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text("import json\nfrom yaml import safe_load\nimport no_such_module_xyz\n", encoding="utf-8")
    assert set(_imported(pkg)) == {"yaml", "no_such_module_xyz"}  # json is the standard library
    problems = _undeclared(pkg, {"pandas"})
    assert problems == [
        "no_such_module_xyz (imported by pkg/m.py) is installed by no distribution",
        "yaml (imported by pkg/m.py) comes from ['pyyaml'], not declared",
    ]
    assert _undeclared(pkg, {"pyyaml"}) == problems[:1]
