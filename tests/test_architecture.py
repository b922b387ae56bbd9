"""The import rules of ARCHITECTURE.md, checked by parsing every module's imports with ast."""

from __future__ import annotations

import ast
import sys
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


@pytest.mark.parametrize("path", modules("engine"), ids=lambda p: p.name)
def test_the_engine_imports_numpy_and_the_standard_library_only(path):
    """...and the bundled corpora, and threadpoolctl in engine/threads.py only: the one place
    that sets BLAS threads."""
    allowed = {"numpy", "sample_corpora", *sys.stdlib_module_names}
    if path == REPO / "engine" / "threads.py":
        allowed.add("threadpoolctl")
    bad = {name for name in imports(path)
           if not name.startswith(".") and name.split(".")[0] not in allowed | {"engine"}}
    assert not bad, f"{path.name} imports {bad}"


UI_PARTS = [*modules("charrnn_tui/app/widgets"), *modules("charrnn_tui/app/views"),
            *modules("charrnn_tui/app/dialogs")]
APP = ("charrnn_tui.app.app", "charrnn_tui.app.main_screen", "..app", "..main_screen")


@pytest.mark.parametrize("path", UI_PARTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_panes_views_and_dialogs_never_reach_back_into_the_app(path):
    bad = {name for name in imports(path) if name in APP}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", modules("charrnn_tui/link"), ids=lambda p: p.name)
def test_the_link_imports_no_textual_and_no_app(path):
    bad = {name for name in imports(path)
           if name.split(".")[0] in ("textual", "rich")
           or name.startswith(("charrnn_tui.app", "..app", "charrnn_tui.cli", "..cli"))}
    assert not bad, f"{path.name} imports {bad}"


SHARED = [p for p in modules("charrnn_tui") if p.parent == REPO / "charrnn_tui"
          and p.name not in ("__main__.py", "bench.py", "bench_attach.py")]


@pytest.mark.parametrize("path", SHARED, ids=lambda p: p.name)
def test_the_shared_modules_import_neither_the_app_nor_the_command_line(path):
    """run_files, paths, settings, scales, waiting: used by both sides, they depend on neither."""
    bad = {name for name in imports(path)
           if name.split(".")[0] == "textual"
           or name.startswith(("charrnn_tui.app", ".app", "charrnn_tui.cli", ".cli"))}
    assert not bad, f"{path.name} imports {bad}"


@pytest.mark.parametrize("path", modules("charrnn_tui/cli"), ids=lambda p: p.name)
def test_the_command_line_imports_the_app_only_where_it_starts_it(path):
    """The command line starts fast: textual and the app load inside the function that runs
    them, never at module level."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            top.add("." * node.level + (node.module or ""))
    bad = {name for name in top
           if name.split(".")[0] == "textual" or name.startswith(("charrnn_tui.app", "..app"))}
    assert not bad, f"{path.name} imports {bad} at module level"


def test_every_part_says_what_it_is():
    """Each folder is one part, and its __init__.py says in one line what the part is."""
    for init in sorted([*(REPO / "engine").rglob("__init__.py"),
                        *(REPO / "charrnn_tui").rglob("__init__.py")]):
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc, f"{init.relative_to(REPO)} has no docstring"
