"""`charrnn-tui serve [OPTIONS] [CORPUS]`: the app in a browser, through textual-serve.

textual-serve (the optional `[serve]` extra) runs one app process per browser connection. With
`--attach RUN` each of them attaches to that live run, so every tab watches and steers the same
run; otherwise each tab trains a session of its own, with its own run log and checkpoints. The
options after `--host` / `--port` are the app's own, checked here by the very function the app
starts with (`main.prepare`), and RUN is checked to answer, so that bad input is one line in
the terminal instead of a dead page. Then the port is bound, and only then announced: the
first line said is true.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import socket
import sys
from pathlib import Path

from ..link.client import AttachError
from .arguments import Parser, examples
from .exit_status import Exit
from .output import PROG, say

INSTALL_HINT = 'pip install -e ".[serve]" (or pip install textual-serve)'
BACKLOG = 128  # pending connections per socket, as aiohttp's own default


def build_serve_parser() -> argparse.ArgumentParser:
    p = Parser(prog=f"{PROG} serve", add_help=True,
                description="Serve the app to web browsers with textual-serve: each browser "
                            "tab gets its own training session, or with --attach joins one "
                            f"live run. Other options and CORPUS are the app's (see '{PROG} "
                            "--help').",
                epilog=examples(
                    (f"{PROG} serve", "http://localhost:8000, the bundled verse"),
                    (f"{PROG} serve --port 8080 my_text.txt --seed 1",
                     "another port, your text"),
                    (f"{PROG} serve --attach 20261206-1905",
                     "every tab joins that live run"),
                ) + f"\n\nNeeds the serve extra: {INSTALL_HINT}.")
    p.add_argument("--host", default="localhost",
                   help="address to listen on (default localhost: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--attach", metavar="RUN", default=None,
                   help="every tab attaches to this live run (a run id, a unique prefix of "
                        "one, or a socket's path) instead of training its own")
    return p


def app_command(app_args: list[str]) -> str:
    """The shell command textual-serve runs for each connection."""
    return shlex.join([sys.executable, "-m", "charrnn_tui", *app_args])


def live_socket(run: str) -> Path:
    """The socket of RUN, checked to answer now (a tab attaches to it later)."""
    from ..link.client import connect
    from .attach import choose

    path = choose(run)
    sock, _ = connect(path, peek=True)
    sock.close()
    return path


def serve_main(argv: list[str]) -> int:
    args, app_args = build_serve_parser().parse_known_args(argv)
    if not 0 < args.port < 65536:
        say(f"{PROG} serve: error: --port must be between 1 and 65535, got {args.port}")
        return Exit.USAGE
    if not args.host.strip():
        say(f"{PROG} serve: error: --host is an empty string")
        return Exit.USAGE
    from .main import START_ERRORS, parse_app_args, prepare

    parsed = None
    if args.attach is not None:
        if app_args:
            say(f"{PROG} serve: error: --attach joins a run that has its options already; "
                f"drop {' '.join(app_args)}")
            return Exit.USAGE
    else:
        parsed = parse_app_args(app_args)  # bad app options: one line, exit 2
        if parsed.headless or parsed.paths:
            say(f"{PROG} serve: error: --headless and --paths make no sense in a browser")
            return Exit.USAGE
    try:
        from textual_serve.server import Server
    except ImportError:
        say(f"{PROG} serve: error: textual-serve is not installed; install it with "
            f"{INSTALL_HINT}")
        return Exit.USAGE
    try:
        if parsed is None:  # every tab attaches to it: it must answer now
            app_args = ["attach", os.fspath(live_socket(args.attach))]
        else:
            prepare(parsed)  # what each tab's app checks as it starts, checked once here
        sockets = bind(args.host, args.port)
    except (*START_ERRORS, AttachError) as exc:
        say(f"{PROG} serve: error: {exc}")
        return Exit.USAGE
    except OSError as exc:  # the port is taken, the host unknown
        say(f"{PROG} serve: error: cannot listen on {args.host}:{args.port}: "
            f"{exc.strerror or exc}")
        return Exit.USAGE
    except KeyboardInterrupt:
        return Exit.OK
    say(f"{PROG}: serving on http://{args.host}:{args.port} (Ctrl+C stops; "
        + ("every browser tab attaches to that run)" if parsed is None else
           "each browser tab trains its own session)"))
    _on_sockets(Server, sockets)(app_command(app_args), host=args.host, port=args.port,
                                 title=PROG).serve()
    return Exit.OK


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets on every address `host` names, made as asyncio's own server makes
    them (address reuse on POSIX, IPv6 sockets IPv6 only); OSError if any cannot be bound."""
    sockets: list[socket.socket] = []
    try:
        seen = set()
        for family, kind, proto, _, address in socket.getaddrinfo(
                host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE):
            if (family, address) in seen:
                continue
            seen.add((family, address))
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            if os.name == "posix":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(address)
            sock.listen(BACKLOG)
            sock.setblocking(False)
    except OSError:
        for sock in sockets:
            sock.close()
        raise
    return sockets


def _on_sockets(server: type, sockets: list[socket.socket]) -> type:
    """textual-serve's Server, serving on `sockets` bound beforehand instead of binding its
    host and port itself (after the announcement, where a taken port was found too late)."""
    import asyncio

    from aiohttp import web

    class BoundServer(server):
        def serve(self, debug: bool = False) -> None:
            self.debug = debug
            self.initialize_logging()
            loop = asyncio.new_event_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, self.request_exit)
                except (NotImplementedError, RuntimeError):  # Windows: Ctrl+C raises instead
                    pass
            web.run_app(self._make_app(), sock=sockets, handle_signals=False, loop=loop,
                        print=None)

    return BoundServer
