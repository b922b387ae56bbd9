"""The client's side of the socket: `RemoteLink`, a run behind a Unix socket, and listing runs.

`connect` says Hello and reads the Welcome (or the reason the run refuses); `RemoteLink.run`
then reads what the run sends, in the app's thread worker, and hands it to the app like a
run in this process would (link.py); `send` writes a command. `live_runs` asks every socket in
the folder who it is (and removes the ones a killed run left behind).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from engine.text import visible

from .. import __version__
from .link import Link
from .protocol import (
    CODEC,
    FROM_RUN,
    MAX_FROM_RUN,
    PROTOCOL,
    Command,
    Hello,
    Refused,
    RunEnded,
    SnapshotFrame,
    Welcome,
)
from .sockets import SocketDirError, candidates, is_socket, remove_stale
from .wire import WireError, read_frame

CONNECT_SECONDS = 5.0


class AttachError(Exception):
    """The run cannot be joined; one line for the user."""


def connect(path: Path, peek: bool = False, timeout: float = CONNECT_SECONDS
            ) -> tuple[socket.socket, Welcome]:
    """A connection to the run listening on `path`, past its Welcome."""
    if not os.path.lexists(path):
        raise AttachError(f"{path}: no such socket")
    if not is_socket(path):
        raise AttachError(f"{path} is not a socket")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        _connect(sock, path, timeout)
        sock.sendall(CODEC.frame(Hello(PROTOCOL, f"charrnn-tui {__version__}", peek)))
        reply = CODEC.message(read_frame(_reader(sock), MAX_FROM_RUN), FROM_RUN)
    except ConnectionRefusedError:
        sock.close()
        raise AttachError(f"{path}: no run is listening there (it ended or was killed)") \
            from None
    except TimeoutError:
        sock.close()
        raise AttachError(f"{path}: the run did not answer within {timeout:g} s") from None
    except (EOFError, OSError) as exc:
        sock.close()
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "it hung up"
        raise AttachError(f"{path}: {reason}") from None
    except WireError as exc:
        sock.close()
        raise AttachError(f"{path}: not a charrnn-tui run ({exc})") from None
    if isinstance(reply, Refused):
        sock.close()
        raise AttachError(f"the run refused: {reply.reason}")
    if not isinstance(reply, Welcome):
        sock.close()
        raise AttachError(f"{path}: the run did not say Welcome")
    return sock, reply


def _connect(sock: socket.socket, path: Path, timeout: float) -> None:
    """Connect, waiting while the run's queue of new connections is full (EAGAIN)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            sock.connect(os.fspath(path))
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError from None
            time.sleep(0.01)


def _reader(sock: socket.socket):
    def read_exactly(n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = sock.recv(min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    return read_exactly


class RemoteLink(Link):
    """A run in another process, joined through its socket."""

    remote = True

    def __init__(self, path: Path, sock: socket.socket, welcome: Welcome) -> None:
        super().__init__(welcome.info)
        self.path = path
        self.welcome = welcome
        self._sock = sock
        self._send_lock = threading.Lock()
        self._closing = False
        self.ended = ""  # why the run's connection ended ("": it has not)

    @classmethod
    def open(cls, path: Path, timeout: float = CONNECT_SECONDS) -> RemoteLink:
        sock, welcome = connect(path, timeout=timeout)
        return cls(path, sock, welcome)

    def send(self, command: Command) -> None:
        if self.ended:
            return
        frame = CODEC.frame(command)
        try:
            with self._send_lock:
                self._sock.sendall(frame)
        except OSError:
            self._end("the connection to the run was lost")

    def run(self) -> str:
        """Read what the run sends until it ends or `close`; returns why it ended."""
        self._sock.settimeout(None)
        read_exactly = _reader(self._sock)
        try:
            while not self.ended:
                message = CODEC.message(read_frame(read_exactly, MAX_FROM_RUN), FROM_RUN)
                if isinstance(message, SnapshotFrame):
                    self._snapshot(message.snapshot, message.urgent)
                elif isinstance(message, RunEnded):
                    self._end(message.reason)
                else:
                    self._event(message)
        except (EOFError, OSError):
            self._end("detached" if self._closing else "the run's connection closed")
        except WireError as exc:
            self._end(f"the run sent what this client cannot read: {exc}")
        return self.ended

    def close(self) -> None:
        """Detach: the run goes on."""
        self._closing = True
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    def _end(self, reason: str) -> None:
        if not self.ended:
            self.ended = reason
            self._event(RunEnded(reason))


@dataclass(frozen=True)
class LiveRun:
    """A run that answered on its socket."""

    path: Path
    welcome: Welcome

    def row(self, now: float) -> tuple[str, ...]:
        """Its line in the live runs' table (LIVE_COLUMNS), as plain text."""
        info = self.welcome.info
        return tuple(visible(cell) for cell in (  # what a run says, shown literally
            info.run, info.corpus_name, info.config.describe_model(),
            str(self.welcome.iteration), running_for(now - info.started),
            self.welcome.state + ("" if info.in_app else " (headless)")))


LIVE_COLUMNS = ("run", "corpus", "model", "iteration", "running for", "state")


def running_for(seconds: float) -> str:
    """3 s, 4 min 10 s, 2 h 05 min, 3 d 4 h."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86400} d {s % 86400 // 3600} h"


def live_runs(directory: Path | None = None, timeout: float = 1.0) -> list[LiveRun]:
    """The runs listening in the socket folder, newest first; sockets of killed runs are
    removed on the way, and ones that do not answer are left out."""
    try:
        found = candidates(directory)
    except SocketDirError:
        return []
    runs = []
    for candidate in found:
        try:
            sock, welcome = connect(candidate.path, peek=True, timeout=timeout)
        except AttachError:
            remove_stale(candidate.path)
            continue
        sock.close()
        runs.append(LiveRun(candidate.path, welcome))
    return runs
