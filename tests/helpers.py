"""Small shared test helpers: corpora written here, the shared benchmark corpus, `until`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from charrnn_tui.waiting import until

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpora" / "tinyshakespeare.txt"

# a short text that makes the data pointer wrap around every few iterations
WRAPPING_TEXT = "the cat sat on the mat; a bat bit the cat.\nthe end [1].\n"


CLI_TIMEOUT = 120  # seconds; a hang is a failure, not a stuck CI job


def cli_command(*args) -> list[str]:
    """The argv of `python -m charrnn_tui ARGS` (arguments made strings)."""
    return [sys.executable, "-m", "charrnn_tui", *map(str, args)]


def run_cli(*args, cwd=None, env: dict[str, str] | None = None,
            timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """`python -m charrnn_tui ARGS` in `cwd`, its text output captured."""
    return subprocess.run(cli_command(*args), cwd=cwd, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=timeout)


def free_port() -> int:
    """A loopback TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_group(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM a process started with start_new_session, and its children; SIGKILL if it
    has not ended within `timeout`."""
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def bundled(name: str) -> str:
    return (REPO / "sample_corpora" / name).read_text(encoding="utf-8")


def shared_text(chars: int | None = None) -> str:
    if not SHARED_CORPUS.exists():
        pytest.skip(f"{SHARED_CORPUS} is absent (the shared benchmark corpus)")
    text = SHARED_CORPUS.read_text(encoding="utf-8")
    return text if chars is None else text[:chars]


__all__ = ["REPO", "SHARED_CORPUS", "WRAPPING_TEXT", "bundled", "shared_text", "until"]
