"""`charrnn-tui attach [RUN]`: join a live run from this terminal, watch it and steer it.

Every run listens on a socket in the user's runtime folder (`link/sockets.py`). Without RUN
the live runs there are asked who they are: one is joined at once, several are picked from a
list (`--list` prints them). RUN is a run id, a unique prefix of one, or the path of a socket
(one forwarded over ssh, say). The app is the same as a run's own, fed through the socket; q
detaches (the run trains on), E ends the run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from ..link.client import LIVE_COLUMNS, AttachError, LiveRun, RemoteLink, live_runs
from ..link.sockets import SocketDirError, socket_folder
from .arguments import Parser, refuse_empty_paths
from .exit_status import Exit
from .main import AppTerminal, UsageError
from .output import PROG, Output, say

EXAMPLES = f"""examples:
  {PROG} --headless --model gru-2x256 corpus.txt &   # a run to join (any run listens)
  {PROG} attach                       # the live run (a list when there are several)
  {PROG} attach 20261206-1905         # a run by its id, or a unique prefix of it
  {PROG} attach --list                # the live runs, one line each
  ssh -N -L /tmp/r.sock:REMOTE_SOCKET host &   # a run on another machine, then:
  {PROG} attach /tmp/r.sock
"""


def build_attach_parser() -> argparse.ArgumentParser:
    p = Parser(prog=f"{PROG} attach", epilog=EXAMPLES,
               description="Join a live run: watch and steer it from this terminal with the "
                           "app's keys and views. q detaches (the run trains on); E ends the "
                           "run (it saves and stops).")
    p.add_argument("run", nargs="?", metavar="RUN",
                   help="a run id (or a unique prefix of one) or a socket's path (default: "
                        "the live run, or a list of them to pick from)")
    p.add_argument("--list", action="store_true", help="print the live runs and exit")
    return p


def attach_main(argv: list[str]) -> int:
    parser = build_attach_parser()
    args = parser.parse_args(argv)
    refuse_empty_paths(parser, ("RUN", args.run, " or a run id"))
    try:
        if args.list:
            return print_runs(live_runs())
        path = choose(args.run)
        if path is None:
            return Exit.OK  # the picker was cancelled
        link = RemoteLink.open(path)
        terminal = AppTerminal()
    except (AttachError, UsageError, SocketDirError) as exc:
        say(f"{PROG} attach: error: {exc}")
        return Exit.USAGE
    from ..app.app import CharRNNApp

    with terminal:
        app = CharRNNApp(link, handle_signals=True)
        try:
            result = app.run()
        finally:
            link.close()
    return result if result is not None else (app.return_code or Exit.OK)


def choose(run: str | None) -> Path | None:
    """The socket to join: RUN's, or the one live run's, or one picked from a list."""
    if run is not None and (os.sep in run or run.endswith(".sock")):
        return Path(run)
    runs = live_runs()
    if run is not None:
        matches = [r for r in runs if r.welcome.info.run.startswith(run)]
        if len(matches) == 1:
            return matches[0].path
        if not matches:
            raise UsageError(f"no live run {run!r} in {socket_folder(create=False)}"
                             + (f" (live: {', '.join(r.welcome.info.run for r in runs)})"
                                if runs else ""))
        raise UsageError(f"{run!r} names {len(matches)} live runs; give more of the id")
    if not runs:
        raise UsageError(f"no live run in {socket_folder(create=False)} (start one with "
                         f"'{PROG}' or '{PROG} --headless', or name a socket)")
    if len(runs) == 1:
        return runs[0].path
    if not (sys.stdin.isatty() and (sys.stdout.isatty() or sys.stderr.isatty())):
        print_runs(runs)
        raise UsageError(f"{len(runs)} runs are live: name one ('{PROG} attach RUN')")
    from ..app.live_picker import LiveRunPicker

    return LiveRunPicker(runs).run()


def print_runs(runs: list[LiveRun]) -> int:
    out = Output(sys.stdout)
    if not runs:
        out.write(f"no live runs in {socket_folder(create=False)}\n")
        out.flush()
        return Exit.OK
    now = time.time()
    rows = [LIVE_COLUMNS, *(run.row(now) for run in runs)]
    widths = [max(len(row[k]) for row in rows) for k in range(len(LIVE_COLUMNS))]
    for row in rows:
        out.write("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n")
    out.flush()
    return Exit.ERROR if out.error else Exit.OK
