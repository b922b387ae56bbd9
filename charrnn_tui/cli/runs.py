"""`charrnn-tui runs [CORPUS]`: the runs found in the log folder as a table on stdout.

The table is the runs screen's (`engine.store.runs`): newest first, with the hyperparameters that
differ between the listed runs as columns of their own (bold on a terminal).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from engine.store.files import FileRefused, describe_os_error, open_regular
from engine.store.runs import (
    COLUMNS,
    MAX_LOG_BYTES,
    cell_text,
    discover,
    header_text,
    scan,
    sort_runs,
    table_columns,
)

from ..paths import user_paths
from .arguments import Parser, examples, refuse_empty_paths
from .exit_status import Exit
from .output import PROG, Output, say

BOLD, PLAIN = "\x1b[1m", "\x1b[0m"


def build_runs_parser() -> argparse.ArgumentParser:
    p = Parser(prog=f"{PROG} runs",
                description="List the runs in the log folder (and --log files): newest first, "
                            "with the hyperparameters that differ between them.",
                epilog=examples(
                    (f"{PROG} runs", "every logged run, newest first"),
                    (f"{PROG} runs my_text.txt --sort bits", "this corpus's, best first"),
                    (f"{PROG} runs --sort learning_rate --reverse", "by a setting"),
                    (f"{PROG} runs --log elsewhere.jsonl", "and a log kept elsewhere"),
                ))
    p.add_argument("corpus", nargs="?", metavar="CORPUS",
                   help="only runs on a corpus of this file name")
    p.add_argument("--log", action="append", default=[], metavar="FILE",
                   help="also read this log (may be given more than once)")
    p.add_argument("--log-dir", metavar="DIR", default=None,
                   help="the folder of logs to read (default: the user log dir; see --paths)")
    p.add_argument("--sort", default="started", metavar="COLUMN",
                   help=f"sort by one of {', '.join(COLUMNS)} or a setting such as "
                        "learning_rate (default: started, newest first)")
    p.add_argument("--reverse", action="store_true", help="reverse the order")
    return p


def runs_main(argv: list[str]) -> int:
    parser = build_runs_parser()
    args = parser.parse_args(argv)
    refuse_empty_paths(parser, ("CORPUS", args.corpus), ("--log-dir", args.log_dir),
                       *(("--log", v) for v in args.log))
    if sys.stdout is None:
        say(f"{PROG} runs: error: standard output is closed; nothing could be printed")
        return Exit.USAGE
    for value in args.log:
        try:
            open_regular(value, MAX_LOG_BYTES, "run log").close()
        except FileRefused as exc:
            say(f"{PROG} runs: error: --log {exc}")
            return Exit.USAGE
    folder = Path(args.log_dir) if args.log_dir else user_paths().logs
    if args.log_dir:  # a folder named on purpose must be one (the default may not exist yet)
        problem = folder_problem(folder)
        if problem is not None:
            say(f"{PROG} runs: error: --log-dir {problem}")
            return Exit.USAGE
    try:
        found = scan([*discover(folder), *map(Path, args.log)])
    except MemoryError:  # logs are bounded (MAX_LOG_BYTES each), but not their number
        say(f"{PROG} runs: error: not enough memory to read these logs")
        return Exit.USAGE
    runs = list(found.runs)
    if args.corpus is not None:
        name = Path(args.corpus).name
        runs = [r for r in runs if r.corpus == name]
    columns = table_columns(runs)
    if args.sort not in columns and args.sort not in COLUMNS:
        say(f"{PROG} runs: error: --sort {args.sort!r} is not a column of this table "
            f"({', '.join(columns)})")
        return Exit.USAGE
    default_descending = args.sort == "started"
    runs = sort_runs(runs, args.sort, default_descending != args.reverse)
    out = Output(sys.stdout)
    for line in table_lines(runs, columns, bold=_isatty(sys.stdout)):
        out.write(line + "\n")
    out.flush()
    where = f"{len(runs)} run{'s' if len(runs) != 1 else ''} in {folder}"
    if args.log:
        where += f" and {len(args.log)} --log file{'s' if len(args.log) != 1 else ''}"
    notes = [where]
    if found.skipped_lines:
        notes.append(f"{found.skipped_lines} corrupt line{'s' if found.skipped_lines != 1 else ''}"
                     " skipped")
    if found.damaged:
        notes.append(f"{found.damaged} damaged record{'s' if found.damaged != 1 else ''} "
                     "(bad fields shown blank)")
    say(f"# {'; '.join(notes)}")
    for problem in found.unreadable:
        say(f"{PROG} runs: cannot read {problem}")
    if out.error is not None:
        say(f"{PROG} runs: error: {out.error}")
        return Exit.ERROR
    return Exit.OK


def folder_problem(folder: Path) -> str | None:
    """Why `folder` cannot be listed, in one line; None if it can."""
    try:
        with os.scandir(folder):
            return None
    except FileNotFoundError:
        return f"{folder}: no such folder"
    except NotADirectoryError:
        return f"{folder}: is a file, not a folder"
    except OSError as exc:
        return describe_os_error(folder, exc, "cannot list it")


def table_lines(runs, columns, bold: bool = False) -> list[str]:
    """The table as aligned text: numbers right-aligned, the differing settings bold."""
    if not runs:
        return ["no runs found"]
    fixed = set(COLUMNS)
    cells = [[header_text(c) for c in columns]] + [[cell_text(r, c) for c in columns]
                                                    for r in runs]
    widths = [max(len(row[i]) for row in cells) for i in range(len(columns))]
    right = {"iterations", "chars", "wall", "bits", "val"}
    lines = []
    for row in cells:
        parts = []
        for i, (c, text) in enumerate(zip(columns, row)):
            text = text.rjust(widths[i]) if c in right else text.ljust(widths[i])
            if bold and c not in fixed:
                text = BOLD + text + PLAIN
            parts.append(text)
        lines.append("  ".join(parts).rstrip())
    return lines


def _isatty(stream) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False
