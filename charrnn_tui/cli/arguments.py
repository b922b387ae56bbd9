"""What every `charrnn-tui` command's argument parser shares: one-line errors and value types.

`Parser` turns argparse's usage block into one line and exit status 2; `refuse_empty_paths`
stops an empty path (Path("") would quietly mean the working directory); `int_arg`,
`float_arg` and `count_arg` say what a number should have been.
"""

from __future__ import annotations

import argparse
import math

from .exit_status import Exit


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        self.exit(Exit.USAGE, f"{self.prog}: error: {message} (see --help)\n")


def refuse_empty_paths(parser: argparse.ArgumentParser,
                       *given: tuple[str, str | None] | tuple[str, str | None, str]) -> None:
    """`parser.error` for the first (name, value[, what else it may be]) whose value is an
    empty or blank string: "--log is an empty string; give a path"."""
    for name, value, *also in given:
        if value is not None and not value.strip():
            parser.error(f"{name} is an empty string; give a path{''.join(also)}")


def int_arg(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def float_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def count_arg(text: str) -> int:
    value = int_arg(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value
