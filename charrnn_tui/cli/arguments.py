"""What every `charrnn-tui` command's argument parser shares: one-line errors and value types.

`Parser` turns argparse's usage block into one line and exit status 2 and keeps a help's
examples as written (`HelpFormatter`); `refuse_empty_paths`
stops an empty path (Path("") would quietly mean the working directory); `int_arg`,
`float_arg` and `count_arg` say what a number should have been.
"""

from __future__ import annotations

import argparse
import math
import textwrap

from .exit_status import Exit


class HelpFormatter(argparse.HelpFormatter):
    """Wraps a description's or epilog's paragraphs, but keeps a paragraph with indented lines
    (`examples:` and the commands under it) as written; never breaks a line at a hyphen
    (`min-char-rnn`, `textual-serve`)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        blocks = []
        for block in text.strip("\n").split("\n\n"):
            if any(row.startswith(" ") for row in block.split("\n")):
                blocks.append("\n".join(indent + row for row in block.split("\n")))
            else:
                blocks.append(textwrap.fill(" ".join(block.split()), width,
                                            initial_indent=indent, subsequent_indent=indent,
                                            break_on_hyphens=False))
        return "\n\n".join(blocks)

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False)


class Parser(argparse.ArgumentParser):
    """Every command's parser: one-line errors, and help whose examples keep their lines."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # one line, not the usage block
        self.exit(Exit.USAGE, f"{self.prog}: error: {message} (see --help)\n")


HELP_WIDTH = 79  # columns an example row may take; wider rows put their text under them


def examples(*rows: tuple[str, str]) -> str:
    """An epilog of (command, what it does) rows: each text beside its command, lined up, or
    when one row would not fit, every text under its command."""
    width = max(len(command) for command, _ in rows)
    if all(4 + width + len(what) <= HELP_WIDTH for _, what in rows):
        lines = [f"  {command:<{width}}  {what}" for command, what in rows]
    else:
        lines = [line for command, what in rows for line in (f"  {command}", f"      {what}")]
    return "examples:\n" + "\n".join(lines)


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
