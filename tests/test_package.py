"""The package: `python -m build` makes an sdist and a wheel that install and run anywhere.

One build per test session (the sdist, then the wheel from the sdist, as `python -m build`
does), `twine check` on both, and a fresh virtual environment that installs the wheel, not
this checkout, and runs the command, a headless run on the bundled corpus and the app's first
frame from it.

The venv is a clean one (not `--system-site-packages`, no PYTHONPATH) and pip installs the
wheel with its dependencies, so a dependency missing from pyproject.toml fails here too; that
costs ~10 s more than `--no-deps` into a venv that sees this interpreter's packages (~15 s in
all, from pip's cache), which would also see this checkout's editable install. The runs check
that our modules were imported from the venv all the same.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from charrnn_tui import __version__

from .helpers import REPO

TIMEOUT = 300  # seconds for a build or an install: a hang is a failure
PACKAGES = ("charrnn_tui", "engine", "sample_corpora")
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def run(*argv, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert done.returncode == 0, f"{' '.join(map(str, argv))}:\n{done.stdout[-2000:]}\n" \
                                 f"{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """The sdist and the wheel, built from this checkout."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", out, REPO, cwd=out)
    return out


@pytest.fixture(scope="module")
def venv(dist, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A new venv with the wheel installed; the environment to run it in (its own user
    folders, and no PYTHONPATH pointing back at the checkout)."""
    root = tmp_path_factory.mktemp("venv")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    run(sys.executable, "-m", "venv", root / "env", cwd=root, env=env)
    python = root / "env" / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", wheel_of(dist), cwd=root, env=env)
    for name in ("DATA", "STATE", "CONFIG", "CACHE", "RUNTIME"):
        folder = root / name.lower()
        folder.mkdir(mode=0o700)
        env[f"XDG_{name}_HOME" if name != "RUNTIME" else "XDG_RUNTIME_DIR"] = str(folder)
    return root / "env", env


def wheel_of(dist: Path) -> Path:
    (wheel,) = dist.glob("*.whl")
    return wheel


def test_the_build_makes_an_sdist_and_a_wheel_of_this_version(dist):
    names = sorted(p.name for p in dist.iterdir())
    assert names == [f"charrnn_tui-{__version__}-py3-none-any.whl",
                     f"charrnn_tui-{__version__}.tar.gz"]


def test_the_wheel_carries_the_stylesheets_the_corpora_and_the_command(dist):
    files = set(zipfile.ZipFile(wheel_of(dist)).namelist())
    here = {p.relative_to(REPO).as_posix() for p in REPO.glob("charrnn_tui/**/*.tcss")}
    corpora = {p.relative_to(REPO).as_posix() for p in REPO.glob("sample_corpora/*.txt")}
    assert here and corpora and here | corpora <= files
    modules = {p.relative_to(REPO).as_posix() for package in PACKAGES
               for p in (REPO / package).rglob("*.py")}
    assert modules <= files, f"modules missing from the wheel: {sorted(modules - files)}"
    entry = zipfile.ZipFile(wheel_of(dist)).read(
        f"charrnn_tui-{__version__}.dist-info/entry_points.txt").decode()
    assert "charrnn-tui = charrnn_tui.cli.main:main" in entry


def test_twine_check_passes_on_both(dist):
    done = run(sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir()),
               cwd=dist)
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_the_installed_command_says_its_version(venv):
    env_dir, env = venv
    done = run(env_dir / "bin" / "charrnn-tui", "--version", cwd=env_dir, env=env)
    assert done.stdout.strip() == f"charrnn-tui {__version__}"


def test_the_installed_command_trains_on_the_bundled_corpus(venv):
    env_dir, env = venv
    done = run(env_dir / "bin" / "charrnn-tui", "--headless", "--iters", "200", "--seed", "1",
               "--no-listen", cwd=env_dir, env=env)
    assert re.search(r"^iter 100, loss: \d+\.\d{6}$", done.stdout, re.M), done.stdout
    saved = re.search(r"# saved iteration 200 to (.+\.npz)", done.stderr)
    assert saved and Path(saved[1]).is_relative_to(env["XDG_DATA_HOME"]), done.stderr


FIRST_FRAME = """
import asyncio, sys
import charrnn_tui, engine, sample_corpora
from charrnn_tui.app.app import CharRNNApp
from charrnn_tui.waiting import until
from engine import Config, Trainer, load_corpus

async def main():
    trainer = Trainer(load_corpus(sample_corpora.default_path()), Config(seed=1))
    app = CharRNNApp(trainer, paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.shown_version > 0)
        print(app.main_screen.status.plain)
        print(app.main_screen.samples.lines[0])
        print(app.CSS_PATH)
for module in (charrnn_tui, engine, sample_corpora):
    print(module.__file__)
asyncio.run(main())
"""


def test_the_installed_app_draws_its_first_frame(venv):
    env_dir, env = venv
    done = run(env_dir / "bin" / "python", "-c", FIRST_FRAME, cwd=env_dir, env=env)
    lines = done.stdout.splitlines()
    *modules, status, note, css = lines
    site = str(env_dir / "lib")
    assert all(m.startswith(site) for m in [*modules, css]), lines  # the wheel's, not ours
    assert status.startswith("iter 0") and "paused" in status, status
    assert "verse.txt: 150237 chars" in note, note


def test_the_metadata_a_package_index_shows():
    import trove_classifiers

    assert PROJECT["description"] and PROJECT["keywords"]
    unknown = [c for c in PROJECT["classifiers"] if c not in trove_classifiers.classifiers]
    assert not unknown, f"not trove classifiers: {unknown}"
    tested = f"Programming Language :: Python :: {sys.version_info[0]}.{sys.version_info[1]}"
    assert tested in PROJECT["classifiers"]
    assert {"Documentation", "Changelog"} <= set(PROJECT["urls"])


def test_the_project_urls_name_files_that_exist():
    """There is no website: Documentation and Changelog are files of this repository."""
    for label in ("Documentation", "Changelog"):
        path = PROJECT["urls"][label].split("/blob/main/", 1)[1]
        assert (REPO / path).is_file(), f"{label} names {path}, which is not in the repo"


def test_the_version_has_one_home():
    """pyproject reads it from charrnn_tui/__init__.py; the changelog's newest entry is it."""
    assert "version" in PROJECT["dynamic"] and "version" not in PROJECT
    changelog = (REPO / "CHANGELOG.md").read_text(encoding="utf-8")
    newest = re.search(r"^## (\S+)", changelog, re.M)
    assert newest and newest[1] == __version__
