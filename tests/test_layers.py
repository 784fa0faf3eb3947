"""The import rules of the README's architecture, read from the source: a package imports only the ones below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROJECT = {"askdocs", "app", "chunkers", "cli", "evals", "finetune", "ingest", "slackbot", "bench", "tests"}
# package -> the project's packages it may import (besides itself)
ALLOWED = {
    "chunkers": set(),
    "askdocs": {"chunkers"},
    "ingest": {"askdocs", "chunkers"},
    "slackbot": {"askdocs"},
    "app": {"askdocs", "slackbot"},
    "finetune": {"askdocs"},
    "evals": {"askdocs", "chunkers", "ingest", "finetune"},
    "cli": {"askdocs", "app", "chunkers", "evals", "finetune", "ingest", "slackbot"},
}
# modules of the core that others build on: they import nothing of the core above them
BASE = {
    "askdocs/errors.py": set(),
    "askdocs/models.py": set(),
    "askdocs/runtime.py": set(),
    "askdocs/settings.py": {"askdocs.errors", "askdocs.models", "chunkers.base"},
}


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_packages_below_it(package: str) -> None:
    wrong = {
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / package).rglob("*.py")
        for name in imports(path)
        if name.split(".")[0] in PROJECT - {package} - ALLOWED[package]
    }
    assert not wrong, sorted(wrong)


@pytest.mark.parametrize("module", sorted(BASE))
def test_the_core_base_modules_import_nothing_above_them(module: str) -> None:
    project = {name for name in imports(ROOT / module) if name.split(".")[0] in PROJECT}
    assert project <= BASE[module], sorted(project - BASE[module])


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_no_package_reads_the_tests_files(package: str) -> None:
    """Data the product or its evaluations need lives beside them, not in tests/ (which an install leaves out)."""
    wrong = [
        str(path.relative_to(ROOT))
        for path in (ROOT / package).rglob("*.py")
        if "tests/fixtures" in (text := path.read_text(encoding="utf-8")) or '/ "tests"' in text
    ]
    assert not wrong
