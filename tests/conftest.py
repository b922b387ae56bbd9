"""Test-wide isolation: no test reads or writes the real user's data, config, log or socket
dirs, or sees the user's BLAS thread count."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from engine.threads import ENVIRONMENT


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path_factory, monkeypatch):
    # subprocesses inherit os.environ, so the real CLI is isolated too
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"),
                     ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache")):
        monkeypatch.setenv(var, str(home / sub))
    # nor the user's BLAS thread count, which would set every model's (engine/threads.py)
    for var in ENVIRONMENT:
        monkeypatch.delenv(var, raising=False)
    # a short folder: a Unix socket's path holds ~100 bytes, and pytest's are long
    runtime = tempfile.mkdtemp(prefix="crt-", dir="/tmp")
    monkeypatch.setenv("XDG_RUNTIME_DIR", runtime)
    yield home
    shutil.rmtree(runtime, ignore_errors=True)
