"""The house rules ARCHITECTURE.md states: imports flow one way, no Streamlit below the dashboard,
small product files. A change that breaks one fails here, naming the file and the import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# training/'s packages in the order the data flows: each may import only those before it.
LAYERS = ["core", "data", "runs", "learn", "reading", "jobs", "cli"]
MAX_LINES = 300


def product_files() -> list[Path]:
    return sorted(path for folder in ("training", "dashboard", "web_export")
                  for path in (ROOT / folder).rglob("*.py"))


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module `path` imports (at the top or inside a function), with the line number."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, node.module)]
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    if parts[0] != "training" or len(parts) < 2 or parts[1] not in LAYERS:
        return None
    return LAYERS.index(parts[1])


def test_training_packages_import_only_the_packages_before_them():
    wrong = []
    for path in (ROOT / "training").rglob("*.py"):
        own = layer_of(".".join(path.relative_to(ROOT).with_suffix("").parts))
        if own is None:
            continue
        for line, module in imported_modules(path):
            other = layer_of(module)
            if other is not None and other > own:
                wrong.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert wrong == []


def test_the_library_never_imports_streamlit_or_the_dashboard():
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {module}"
             for folder in ("training", "web_export") for path in (ROOT / folder).rglob("*.py")
             for line, module in imported_modules(path)
             if module.split(".")[0] in ("streamlit", "dashboard", "tests", "scripts")]
    assert wrong == []


def test_the_dashboard_uses_the_library_not_the_command_line():
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {module}"
             for path in (ROOT / "dashboard").rglob("*.py") for line, module in imported_modules(path)
             if module.startswith("training.cli")]
    assert wrong == []


def test_product_code_never_imports_the_test_kit_or_benchmarks():
    wrong = [f"{path.relative_to(ROOT)}:{line} imports {module}" for path in product_files()
             for line, module in imported_modules(path) if module.split(".")[0] in ("tests", "scripts")]
    assert wrong == []


@pytest.mark.parametrize("path", product_files(), ids=lambda path: str(path.relative_to(ROOT)))
def test_product_files_stay_small(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by what it does"
