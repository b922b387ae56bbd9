"""The import rules of ARCHITECTURE.md, checked by parsing every module's imports with ast."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from .helpers import REPO


def imports(path: Path) -> set[str]:
    """Absolute module names, and relative ones as written with their dots ("..app")."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


@pytest.mark.parametrize("path", modules("engine"), ids=lambda p: p.name)
def test_the_engine_imports_no_ui(path):
    bad = {name for name in imports(path)
           if name.split(".")[0] in ("textual", "rich", "charrnn_tui")}
    assert not bad, f"{path.name} imports {bad}"


UI_PARTS = [*modules("charrnn_tui/widgets"), *modules("charrnn_tui/views"),
            *modules("charrnn_tui/dialogs")]


@pytest.mark.parametrize("path", UI_PARTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_panes_views_and_dialogs_never_reach_back_into_the_app(path):
    bad = {name for name in imports(path)
           if name in ("charrnn_tui.app", "..app", "charrnn_tui.main_screen", "..main_screen")}
    assert not bad, f"{path.name} imports {bad}"


def test_the_monitor_and_the_training_session_import_no_textual():
    for name in ("monitor.py", "training.py"):
        found = {n for n in imports(REPO / "charrnn_tui" / name) if n.split(".")[0] == "textual"}
        assert not found, f"{name} imports {found}"
