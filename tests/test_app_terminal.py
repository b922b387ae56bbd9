"""The real app in a real pseudo-terminal, in a subprocess: how it ends, and where it draws.

These are the cases no Pilot test reaches: signals from the system (SIGHUP when the terminal
closes, SIGTERM), `q` typed at the terminal, and stderr redirected away from the terminal.
Each run must save its final checkpoint and exit; none may leave a process behind.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store.checkpoint import load_model

from .helpers import bundled

pty = pytest.importorskip("pty", reason="needs POSIX pseudo-terminals")
TIMEOUT = 60
SAVED = re.compile(r"# saved iteration (\d+) to (\S+\.npz)")


class AppInPty:
    """`charrnn-tui` with stdin and stdout on a pty (and stderr too, unless `stderr` is given)."""

    def __init__(self, tmp_path: Path, *args: str, stderr=None) -> None:
        corpus = tmp_path / "verse.txt"
        corpus.write_text(bundled("verse.txt")[:8000], encoding="utf-8")
        self.checkpoints = tmp_path / "ck"
        master, slave = pty.openpty()
        os.set_blocking(master, False)
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
        env.pop("TEXTUAL", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "charrnn_tui", str(corpus), "--seed", "1", "--hidden", "16",
             "--checkpoint-dir", str(self.checkpoints), *args],
            stdin=slave, stdout=slave, stderr=slave if stderr is None else stderr, cwd=tmp_path,
            env=env, start_new_session=True, close_fds=True)
        os.close(slave)
        self.master = master
        self.screen = b""

    def read_until(self, pattern: bytes, timeout: float = TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, self.screen):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError(f"{pattern!r} never appeared: {self.screen[-400:]!r}")
            self.pump(0.05)

    def pump(self, seconds: float) -> None:
        ready, _, _ = select.select([self.master], [], [], seconds)
        if ready:
            try:
                self.screen += os.read(self.master, 65536)
            except OSError:
                pass

    def wait(self) -> int:
        deadline = time.monotonic() + TIMEOUT
        while self.proc.poll() is None and time.monotonic() < deadline:
            self.pump(0.05)  # keep draining, so the app never blocks writing its last frame
        code = self.proc.poll()
        if code is None:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError("the app did not exit")
        return code

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        os.close(self.master)

    def saved(self) -> list[Path]:
        return sorted(self.checkpoints.rglob("ckpt-*.npz"))


@pytest.fixture
def launch(tmp_path):
    apps = []

    def start(*args, **kwargs) -> AppInPty:
        app = AppInPty(tmp_path, *args, **kwargs)
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.close()


def _started(app: AppInPty) -> None:
    app.read_until(rb"iter \d{3,}")  # the status line shows the trainer past 100 steps


@pytest.mark.parametrize("how", ["q", "SIGHUP", "SIGTERM", "SIGINT"])
def test_every_way_the_app_ends_saves_a_final_checkpoint(launch, how):
    app = launch("--save-every", "0")
    _started(app)
    if how == "q":
        os.write(app.master, b"q")
    else:
        app.proc.send_signal(getattr(signal, how))
    assert app.wait() == 0
    (final,) = app.saved()
    assert load_model(final).iteration > 100


def test_closing_the_terminal_saves_and_leaves_no_process(launch):
    app = launch("--save-every", "0")
    _started(app)
    os.close(app.master)  # the terminal goes away: the kernel sends SIGHUP
    app.master = os.open(os.devnull, os.O_RDONLY)  # for close()
    os.killpg(app.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + TIMEOUT
    while app.proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert app.proc.poll() is not None, "the app outlived its terminal"
    (final,) = app.saved()
    assert load_model(final).iteration > 100


def test_with_stderr_redirected_the_app_still_draws_and_says_so(launch, tmp_path):
    log = tmp_path / "err.log"
    with open(log, "w") as err:
        app = launch("--save-every", "0", stderr=err)
        _started(app)  # frames reach the terminal on stdout
        os.write(app.master, b"q")
        assert app.wait() == 0
    text = log.read_text()
    assert "stderr is not a terminal" in text
    assert SAVED.search(text), text  # the end of the run is still reported to the file
    assert len(app.saved()) == 1


def test_without_any_terminal_the_app_refuses_in_one_line(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(bundled("verse.txt")[:4000], encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "charrnn_tui", str(corpus), "--no-save"],
                          capture_output=True, text=True, timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--headless" in proc.stderr
