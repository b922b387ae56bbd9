"""How the process ends: its exit statuses (`--help` lists them) and the signals that end a run.

The CLI and the app share both: each of ENDING_SIGNALS stops training at the next step
boundary and saves the final checkpoint, as `q` does.
"""

from __future__ import annotations

import signal
from enum import IntEnum

# Ctrl+C; `kill` and service managers; the terminal closing (SSH drop, tmux kill-session)
ENDING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP")
                       if hasattr(signal, name))


class Exit(IntEnum):
    OK = 0  # done, or interrupted and saved
    ERROR = 1  # a runtime error, or the final save failed
    USAGE = 2  # bad input: flags, files, settings
    DIVERGED = 3  # training diverged

    @classmethod
    def describe(cls) -> str:
        return ("Exit status: 0 done or interrupted, 1 runtime error or the final save failed, "
                "2 bad input, 3 diverged.")
