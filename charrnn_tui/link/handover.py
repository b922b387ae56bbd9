"""Handing an app's run over to a headless process of its own, which the app then attaches to.

The app saves the run's exact state (a checkpoint of this iteration) and stops its trainer;
`HandOver.start` runs `charrnn-tui CORPUS --headless --resume CHECKPOINT --run-id RUN` with the
run's own options in a new session (so closing the terminal does not end it), its trace going
to a file; `wait` returns a link to it once its socket answers. Resuming is exact, so the trace
from there on is the one the app's run would have made.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .client import AttachError, RemoteLink
from .sockets import socket_path

START_SECONDS = 60.0  # loading a large corpus and checkpoint can take a while


class HandOverError(Exception):
    """The run could not be handed over; one line for the user."""


class FinishedThere(Exception):
    """The process finished the run's budget before it could be joined (a short budget)."""


@dataclass(frozen=True)
class Started:
    """A headless process that took a run over."""

    process: subprocess.Popen
    run: str
    output: Path  # its standard output and error


@dataclass(frozen=True)
class HandOver:
    """How this app's run continues in a process of its own (the CLI knows its options)."""

    corpus: str  # the corpus file, as an absolute path
    options: tuple[str, ...]  # the run's options to repeat (files, autosave, printing)
    output_dir: Path  # where the process's trace goes
    sockets: Path | None = None  # the socket folder (None: the user's runtime folder)

    def start(self, checkpoint: Path, run: str, iters: int | None) -> Started:
        """Start the headless process; `iters` is what is left of the run's budget."""
        try:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            output = self.output_dir / f"{run}.out"
            log = open(output, "ab")  # noqa: SIM115 - the child owns it from here
        except OSError as exc:
            raise HandOverError(f"cannot write the run's output file: {exc.strerror}") from None
        argv = [sys.executable, "-m", "charrnn_tui", self.corpus, "--headless", "--resume",
                os.fspath(checkpoint), "--run-id", run, *self.options]
        if iters is not None:
            argv += ["--iters", str(iters)]
        env = dict(os.environ)
        if self.sockets is not None:
            env["XDG_RUNTIME_DIR"] = os.fspath(self.sockets.parent)
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                       stderr=subprocess.STDOUT, start_new_session=True,
                                       close_fds=True, env=env)
        except OSError as exc:
            raise HandOverError(f"cannot start the process: {exc.strerror or exc}") from None
        finally:
            log.close()
        return Started(process, run, output)

    def wait(self, started: Started, timeout: float = START_SECONDS) -> RemoteLink:
        """A link to the started process, once it listens; or why it never did."""
        path = socket_path(started.run, self.sockets)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if started.process.poll() == 0:
                raise FinishedThere(_tail(started.output))
            if started.process.poll() is not None:
                raise HandOverError(f"the process ended ({_tail(started.output)})")
            if path.exists():
                try:
                    return RemoteLink.open(path)
                except AttachError:
                    pass
            time.sleep(0.05)
        started.process.terminate()
        raise HandOverError(f"the process did not listen within {timeout:g} s")


def _tail(output: Path) -> str:
    """The last line the process wrote, as the reason it ended."""
    try:
        lines = output.read_bytes()[-2000:].decode("utf-8", "replace").strip().splitlines()
    except OSError:
        return "no output"
    return lines[-1][:200] if lines else "no output"
