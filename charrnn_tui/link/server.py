"""The run's side of the socket: every client that attaches, served from a thread of its own.

`RunServer` listens on the run's Unix socket (`sockets.py`: an owner-only folder, the socket
0600, the peer's uid checked on Linux) with an asyncio loop in a daemon thread, and is one
client of the `Session` (local.py) that stands for all of its connections. Each connection
says Hello, gets the Welcome and the newest snapshot, then sends commands that the session
executes (between steps, in the trainer thread) like the app's own keys.

Every client is treated as hostile. A frame over the size limit, bytes that are not a message,
a wrong protocol version or a client that stops halfway through a message costs that client
its connection (after an `Error` or `Refused` where a reply makes sense), never the run: the
trainer thread only ever hands this loop the newest snapshot (`snapshot_ready`, which wakes
the loop) and never waits for it. A slow reader holds one frame in its socket and one newest
snapshot in its slot, which each new snapshot replaces; answers it does not read pile up to a
bound, and then it is dropped.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import dataclasses
import os
import socket
import struct
import sys
import threading
from collections import deque
from pathlib import Path

from .local import Session
from .monitor import State
from .protocol import (
    CODEC,
    FROM_CLIENT,
    MAX_FROM_CLIENT,
    MAX_FROM_RUN,
    PROTOCOL,
    Error,
    Event,
    GradCheckDone,
    Hello,
    Notice,
    ProbeDone,
    Refused,
    RunEnded,
    SnapshotFrame,
    Welcome,
)
from .sockets import SocketDirError, remove_stale, socket_path
from .wire import HEADER, WireError

MAX_CONNECTIONS = 64
HELLO_SECONDS = 5.0  # a connection that has not said Hello by then is closed
MESSAGE_SECONDS = 10.0  # a message begun must be finished within this
MAX_BAD_MESSAGES = 8  # well-framed messages that do not fit, before the connection is closed
MAX_QUEUED_BYTES = 128 << 20  # answers a client has not read yet, before it is dropped
CLOSE_SECONDS = 1.0  # how long clients get to read RunEnded when the run ends


class ListenError(Exception):
    """The run cannot listen for clients (it trains on without); one line for the user."""


def listen(session: Session, directory: Path | None = None) -> RunServer:
    """Start serving `session` on its socket in the user's socket folder (or `directory`)."""
    try:
        server = RunServer(session, socket_path(session.info.run, directory))
        server.start()
    except SocketDirError as exc:
        raise ListenError(str(exc)) from None
    except OSError as exc:
        raise ListenError(f"cannot listen on {exc.filename or 'the socket'}: "
                          f"{exc.strerror or exc}") from None
    return server


class FrameError(Exception):
    """The byte stream cannot be read on: reply if possible, then close."""


class Connection:
    """One attached client, in the server's loop: its queue of answers and its snapshot slot.

    The session calls `deliver` (answers to this client's commands) from the trainer thread;
    everything else runs in the loop."""

    def __init__(self, server: RunServer, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.writer = writer
        self.needs: frozenset[str] = frozenset()
        self._events: deque[bytes] = deque()
        self._queued = 0
        self._snapshot: bytes | None = None
        self._wake = asyncio.Event()
        self.dropped = ""  # why the server gave up on it ("": it did not)

    def deliver(self, event: Event) -> None:
        self.server.call_soon(self.push_event, event)

    def push_event(self, event: Event) -> None:
        frame = encode_event(event)
        if frame is None:
            return
        self._queued += len(frame)
        if self._queued > MAX_QUEUED_BYTES:
            self.drop("it does not read what the run sends")
            return
        self._events.append(frame)
        self._wake.set()

    def push_snapshot(self, frame: bytes) -> None:
        self._snapshot = frame  # a newer one replaces one not yet written
        self._wake.set()

    def drop(self, why: str) -> None:
        self.dropped = why
        self._wake.set()
        self.writer.close()

    async def pump(self) -> None:
        """Write answers first, then the newest snapshot, as fast as the client reads."""
        writer = self.writer
        while not self.dropped:
            await self._wake.wait()
            self._wake.clear()
            while self._events and not self.dropped:
                frame = self._events.popleft()
                self._queued -= len(frame)
                writer.write(frame)
                await writer.drain()
            if self._snapshot is not None and not self.dropped:
                frame, self._snapshot = self._snapshot, None
                writer.write(frame)
                await writer.drain()


def encode_event(event: Event) -> bytes | None:
    """The frame of an event, or of an error answer in its place when it cannot be sent."""
    try:
        frame = CODEC.frame(event)
    except (WireError, TypeError, ValueError) as exc:
        reason = f"the answer could not be sent: {exc}"
    else:
        if len(frame) <= MAX_FROM_RUN:
            return frame
        reason = (f"the answer is too large to send ({len(frame) / 2**20:.0f} MiB over the "
                  f"limit of {MAX_FROM_RUN / 2**20:.0f}); see it in the app that runs the model")
    if isinstance(event, ProbeDone):
        return CODEC.frame(ProbeDone(event.request, event.iteration, error=reason))
    if isinstance(event, GradCheckDone):
        return CODEC.frame(GradCheckDone(event.request, error=reason))
    return CODEC.frame(Notice(reason, "Not sent", "error"))


class RunServer:
    """Listens on `path` for clients of `session` until `close`."""

    def __init__(self, session: Session, path: Path) -> None:
        self.session = session
        self.path = path
        self._connections: set[Connection] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._inode: int | None = None
        self._snapshot_due: bool | None = None  # a snapshot broadcast is scheduled (urgent?)
        self._lock = threading.Lock()
        self._closed = False
        self.errors: list[str] = []  # what the loop caught that no handler expected (tests)

    @property
    def needs(self) -> frozenset[str]:
        """What the screens of all its clients need (the session asks; see Session)."""
        return frozenset().union(*(c.needs for c in list(self._connections)))

    @property
    def clients(self) -> int:
        return len(self._connections)

    # -- the trainer side ------------------------------------------------------------------

    def start(self) -> None:
        """Bind the socket (0600 in the private folder) and serve from a daemon thread."""
        path = os.fspath(self.path)
        if os.path.lexists(path):
            remove_stale(self.path)  # a killed run's leftover under the same name
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(path)
            os.chmod(path, 0o600)  # the folder is 0700 already: no one else got in meanwhile
            self._inode = os.stat(path).st_ino
            sock.listen(socket.SOMAXCONN)
        except OSError:
            sock.close()
            raise
        atexit.register(self._unlink)
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._loop = loop
        self._thread = threading.Thread(target=self._serve, args=(loop, sock, ready),
                                        name="charrnn-tui link", daemon=True)
        self._thread.start()
        ready.wait()
        self.session.attach(self)

    def snapshot_ready(self, urgent: bool) -> None:
        """From the trainer thread: hand the newest snapshot to the loop (never waits)."""
        if not self._connections:
            return
        with self._lock:
            scheduled = self._snapshot_due is not None
            self._snapshot_due = bool(self._snapshot_due) or urgent
        if not scheduled:
            self.call_soon(self._broadcast_snapshot)

    def deliver(self, event: Event) -> None:
        """What the session says to every client (a file problem, the run's end)."""
        self.call_soon(self._broadcast_event, event)

    def call_soon(self, callback, *args) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(callback, *args)

    def close(self, reason: str) -> None:
        """Tell every client the run ended, stop listening and remove the socket."""
        if self._closed:
            return
        self._closed = True
        self.session.detach(self)
        loop, thread = self._loop, self._thread
        if loop is not None and thread is not None and thread.is_alive():
            with contextlib.suppress(RuntimeError):
                future = asyncio.run_coroutine_threadsafe(self._shutdown(reason), loop)
                with contextlib.suppress(Exception):
                    future.result(timeout=CLOSE_SECONDS + 1.0)
                loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=2.0)
        self._unlink()

    def _unlink(self) -> None:
        """Remove our socket (not a file another run put there since)."""
        with contextlib.suppress(OSError):
            if self._inode is not None and os.stat(self.path).st_ino == self._inode:
                os.unlink(self.path)
        self._inode = None

    # -- the loop ------------------------------------------------------------------------

    def _serve(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
               ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.set_exception_handler(lambda loop, context: self.errors.append(
            str(context.get("exception") or context.get("message"))))
        server = loop.run_until_complete(asyncio.start_unix_server(
            self._handle, sock=sock, limit=MAX_FROM_CLIENT))
        ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            tasks = asyncio.all_tasks(loop)  # connections still open: end them in the loop
            for task in tasks:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            loop.close()

    async def _shutdown(self, reason: str) -> None:
        frame = CODEC.frame(RunEnded(reason))
        for conn in list(self._connections):
            conn.push_snapshot(frame)  # after anything queued, in place of a snapshot
        waited = 0.0
        while any(conn._snapshot is not None or conn._events for conn in self._connections) \
                and waited < CLOSE_SECONDS:
            await asyncio.sleep(0.02)
            waited += 0.02
        for conn in list(self._connections):
            conn.drop("the run ended")

    def _broadcast_snapshot(self) -> None:
        with self._lock:
            urgent, self._snapshot_due = bool(self._snapshot_due), None
        snap = self.session.monitor.latest
        if snap is None or not self._connections:
            return
        frame = CODEC.frame(SnapshotFrame(snap, urgent))
        if len(frame) > MAX_FROM_RUN:  # a view's data of an absurd model: send the rest
            frame = CODEC.frame(SnapshotFrame(dataclasses.replace(
                snap, window=None, hidden=None, layer_state=None), urgent))
        for conn in self._connections:
            conn.push_snapshot(frame)

    def _broadcast_event(self, event: Event) -> None:
        for conn in list(self._connections):
            conn.push_event(event)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not same_user(writer):
            writer.close()
            return
        conn = Connection(self, writer)
        pump = None
        try:
            if len(self._connections) >= MAX_CONNECTIONS:
                await self._refuse(writer, "too many clients are attached to this run")
                return
            hello = await asyncio.wait_for(self._read(reader), HELLO_SECONDS)
            if not isinstance(hello, Hello):
                await self._refuse(writer, "say Hello first")
                return
            if hello.protocol != PROTOCOL:
                await self._refuse(writer, f"this run speaks protocol {PROTOCOL}, the client "
                                           f"{hello.protocol}: use the same charrnn-tui version")
                return
            writer.write(CODEC.frame(self._welcome()))
            await writer.drain()
            if hello.peek:
                return
            self._connections.add(conn)
            pump = asyncio.create_task(conn.pump())
            self.snapshot_ready(True)  # the newest frame at once, so the client can draw
            await self._commands(reader, conn)
        except (FrameError, WireError) as exc:
            with contextlib.suppress(Exception):
                writer.write(CODEC.frame(Error(str(exc))))
                await asyncio.wait_for(writer.drain(), 1.0)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, OSError):
            pass  # the client went away, stalled or never said Hello: just close
        finally:
            self._connections.discard(conn)
            if conn.needs:
                self.session.refresh_views()
            if pump is not None:
                pump.cancel()
            writer.close()

    async def _commands(self, reader: asyncio.StreamReader, conn: Connection) -> None:
        bad = 0
        while not conn.dropped:
            try:
                command = await self._read(reader)
                if isinstance(command, Hello):
                    raise WireError("Hello was said already")
                self.session.execute(command, conn)
            except WireError as exc:  # well framed, but not a command this run takes
                bad += 1
                if bad >= MAX_BAD_MESSAGES:
                    raise FrameError(f"{bad} messages did not fit the protocol: "
                                     f"closing") from None
                conn.push_event(Error(str(exc)))
            except (ValueError, TypeError) as exc:
                conn.push_event(Error(f"{type(exc).__name__}: {exc}"))

    async def _read(self, reader: asyncio.StreamReader) -> object:
        (length,) = HEADER.unpack(await reader.readexactly(HEADER.size))
        if length > MAX_FROM_CLIENT:
            raise FrameError(f"a message of {length} bytes is over the limit of "
                             f"{MAX_FROM_CLIENT}")
        body = await asyncio.wait_for(reader.readexactly(length), MESSAGE_SECONDS)
        return CODEC.message(body, FROM_CLIENT)

    async def _refuse(self, writer: asyncio.StreamWriter, reason: str) -> None:
        writer.write(CODEC.frame(Refused(reason)))
        with contextlib.suppress(Exception):
            await asyncio.wait_for(writer.drain(), 1.0)

    def _welcome(self) -> Welcome:
        snap = self.session.monitor.latest
        state = snap.state if snap is not None else State.RUNNING
        return Welcome(PROTOCOL, self.session.info, self.session.trainer.n, state.value)


def same_user(writer: asyncio.StreamWriter) -> bool:
    """On Linux, whether the peer runs as this user (SO_PEERCRED); elsewhere the folder's
    0700 is the check."""
    sock = writer.get_extra_info("socket")
    option = getattr(socket, "SO_PEERCRED", None)
    if sock is None or option is None or not sys.platform.startswith("linux"):
        return True
    try:
        creds = sock.getsockopt(socket.SOL_SOCKET, option, struct.calcsize("3i"))
    except OSError:
        return False
    _pid, uid, _gid = struct.unpack("3i", creds)
    return uid == os.getuid()
