"""The process exit statuses of the command line and the app, in one place (`--help` lists them)."""

from __future__ import annotations

from enum import IntEnum


class Exit(IntEnum):
    OK = 0  # done, or interrupted and saved
    ERROR = 1  # a runtime error, or the final save failed
    USAGE = 2  # bad input: flags, files, settings
    DIVERGED = 3  # training diverged

    @classmethod
    def describe(cls) -> str:
        return ("Exit status: 0 done or interrupted, 1 runtime error or the final save failed, "
                "2 bad input, 3 diverged.")
