"""Standard output and error that never raise: a closed pipe, a full disk or a vanished terminal.

The headless trainer and `sample` write through `Output`: the first failed write stops further
output, records why (a closed pipe is a normal end, like `head` closing its input; anything
else is an error with one line), and calls `on_failure` so the caller can stop training and
still save. `say` writes one line to stderr and ignores a stderr that is gone (SIGHUP).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from typing import TextIO

from engine.text import visible

PROG = "charrnn-tui"


def say(message: str) -> None:
    """One line on stderr; nothing if stderr is closed or its terminal has gone. A message
    may quote a file (a name, a checkpoint's string): its control characters are shown as
    U+FFFD (engine/text.py), so it stays one line and cannot drive the terminal."""
    stream = sys.stderr
    if stream is None:
        return
    try:
        stream.write(visible(message) + "\n")
        stream.flush()
    except (OSError, ValueError):  # EPIPE, EIO after a hang-up, or a closed file
        pass


class Output:
    """Writes to a text stream until the first failure; never raises."""

    def __init__(self, stream: TextIO | None,
                 on_failure: Callable[[], None] | None = None) -> None:
        self.stream = stream
        self.on_failure = on_failure
        self.closed = stream is None  # the reader went away (a closed pipe)
        self.error: str | None = None if stream is not None else "standard output is closed"

    @property
    def failed(self) -> bool:
        return self.closed or self.error is not None

    def write(self, text: str) -> None:
        if self.failed:
            return
        try:
            self.stream.write(text)
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def flush(self) -> None:
        if self.failed:
            return
        try:
            self.stream.flush()
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def _fail(self, exc: BaseException) -> None:
        if isinstance(exc, BrokenPipeError) or getattr(exc, "errno", None) == errno.EPIPE:
            self.closed = True
        else:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.error = f"cannot write to standard output ({reason})"
        _silence(self.stream)
        if self.on_failure is not None:
            self.on_failure()


def _silence(stream: TextIO) -> None:
    """Point the stream's descriptor at /dev/null, so that the interpreter's own flush at exit
    does not fail again on the buffered rest (Python's documented recipe for EPIPE)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
