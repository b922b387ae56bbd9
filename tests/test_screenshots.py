"""The pictures in docs/images are what `python docs/screenshots.py` draws from this checkout.

A change to what the app shows that forgets to redraw them fails here, with the command that
redraws them. The script stages every number it shows (see its docstring), so the pictures do
not depend on the CPU; they do depend on the Textual and Rich that draw them, so this compares
only with the versions that drew the committed pictures (docs/images/VERSIONS).
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version

import pytest

from .helpers import REPO

IMAGES = REPO / "docs" / "images"
SCRIPT = REPO / "docs" / "screenshots.py"
REDRAW = "python docs/screenshots.py"


def drawn_with() -> dict[str, str]:
    lines = (IMAGES / "VERSIONS").read_text(encoding="utf-8").split("\n")
    return dict(line.split(" ", 1) for line in lines if line)


def test_the_pictures_are_what_the_script_draws_now(tmp_path):
    here = {name: version(name) for name in drawn_with()}
    if here != drawn_with():
        pytest.skip(f"the pictures were drawn with {drawn_with()}, this machine has {here}: "
                    f"frames may differ between versions ('{REDRAW}' redraws them)")
    done = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    committed = {p.name for p in IMAGES.iterdir() if p.suffix == ".svg"}
    made = {p.name for p in tmp_path.iterdir() if p.suffix == ".svg"}
    assert made == committed, f"docs/images holds {sorted(committed)}, the script draws " \
                              f"{sorted(made)}: run '{REDRAW}' and commit docs/images"
    stale = sorted(name for name in made
                   if (tmp_path / name).read_bytes() != (IMAGES / name).read_bytes())
    assert not stale, f"{', '.join(stale)} in docs/images no longer show the app as it is: " \
                      f"run '{REDRAW}' and commit docs/images"

