"""A progress line on stderr for work a user waits on before the app or the run starts.

Drawn only when stderr is a terminal (a log file gets nothing), only once the work has taken
half a second, and at most ten times a second; `done` clears it.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

SHOW_AFTER = 0.5  # seconds: quicker work shows nothing
EVERY = 0.1


class ProgressLine:
    """Call it with the share done (0..1); `done()` when the work ends."""

    def __init__(self, what: str, stream: TextIO | None = None, force: bool = False) -> None:
        self.what = what
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = force or _isatty(self.stream)
        self.start = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, share: float) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < SHOW_AFTER or now - self.last < EVERY:
            return
        self.last = now
        self.drawn = True
        self.stream.write(f"\r{self.what} {100 * share:3.0f}% (Ctrl+C cancels)")
        self.stream.flush()

    def done(self) -> None:
        if self.drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.drawn = False


def _isatty(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False
