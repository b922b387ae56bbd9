"""The run's socket server (link/server.py) in this process, through a real Unix socket: what a
client can do, what a hostile one cannot, and the owner-only folder and socket."""

from __future__ import annotations

import os
import socket
import stat
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from charrnn_tui.link import probes
from charrnn_tui.link.client import AttachError, RemoteLink, connect, live_runs
from charrnn_tui.link.link import Listener
from charrnn_tui.link.local import Session, train
from charrnn_tui.link.monitor import WINDOW, State
from charrnn_tui.link.protocol import (
    CODEC,
    FROM_RUN,
    MAX_FROM_RUN,
    PROTOCOL,
    Error,
    Event,
    GradCheckDone,
    Hello,
    Notice,
    Pause,
    ProbeDone,
    Refused,
    ResetHidden,
    Resume,
    RunEnded,
    SampleNow,
    SettingsDone,
    Step,
)
from charrnn_tui.link.server import MAX_BAD_MESSAGES, RunServer, listen
from charrnn_tui.link.sockets import socket_folder
from charrnn_tui.link.wire import read_frame
from engine import Trainer

from .app_factory import make_trainer
from .helpers import cli_command

WAIT = 10.0


def wait_for(condition, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


@dataclass
class Served:
    session: Session
    server: RunServer

    @property
    def trainer(self) -> Trainer:
        return self.session.trainer

    def trains_on(self) -> None:
        """The trainer is still stepping (and nothing went wrong in the server's loop)."""
        n = self.trainer.n
        wait_for(lambda: self.trainer.n > n + 5)
        assert self.server.errors == []


@contextmanager
def served(trainer: Trainer | None = None, paused: bool = False) -> Iterator[Served]:
    session = Session.start(trainer or make_trainer(), paused=paused, in_app=False)
    server = listen(session)
    thread = threading.Thread(target=train, args=(session, 0.05), daemon=True)
    thread.start()
    try:
        yield Served(session, server)
    finally:
        session.control.stop()
        thread.join(WAIT)
        server.close("the test is over")


@dataclass
class Client:
    """A RemoteLink reading in a thread, keeping every event."""

    link: RemoteLink
    events: list[Event] = field(default_factory=list)
    thread: threading.Thread | None = None

    @classmethod
    def join(cls, path: Path) -> Client:
        client = cls(RemoteLink.open(path))
        client.link.listener = Listener(lambda urgent: None, client.events.append)
        client.thread = threading.Thread(target=client.link.run, daemon=True)
        client.thread.start()
        wait_for(lambda: client.link.latest is not None)
        return client

    def state(self) -> State:
        return self.link.latest.state

    def event(self, kind: type) -> Event:
        wait_for(lambda: any(isinstance(e, kind) for e in self.events))
        found = [e for e in self.events if isinstance(e, kind)][-1]
        self.events.clear()
        return found

    def leave(self) -> None:
        self.link.close()
        self.thread.join(WAIT)


def raw_connection(path: Path) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(WAIT)
    deadline = time.monotonic() + WAIT
    while True:
        try:
            sock.connect(os.fspath(path))
            return sock
        except BlockingIOError:  # the run's queue of new connections is full for a moment
            assert time.monotonic() < deadline
            time.sleep(0.01)


def replies(sock: socket.socket) -> list[object]:
    """Every frame the server sends until it closes the connection."""
    def read_exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    out = []
    try:
        while True:
            out.append(CODEC.message(read_frame(read_exactly, MAX_FROM_RUN), FROM_RUN))
    except (EOFError, ConnectionResetError, TimeoutError):
        return out


# -- the folder and the socket -------------------------------------------------------------

def test_the_folder_is_the_users_alone_and_the_socket_owner_only():
    with served() as run:
        path = run.server.path
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert stat.S_ISSOCK(path.stat().st_mode) and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert path.parent.stat().st_uid == os.getuid() == path.stat().st_uid
        assert path.name == f"{run.session.info.run}.sock"
    assert not path.exists()  # removed however the server ends


def test_a_folder_left_open_to_others_is_made_private(tmp_path):
    folder = Path(os.environ["XDG_RUNTIME_DIR"]) / "charrnn-tui"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    assert socket_folder() == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_a_socket_left_by_a_killed_run_is_removed_by_the_next_listing(tmp_path):
    import signal
    import subprocess

    corpus = tmp_path / "c.txt"
    corpus.write_text("the cat sat on the mat. " * 200)
    proc = subprocess.Popen(cli_command(corpus, "--headless", "--seed", "1", "--hidden", "8",
                                        "--no-save", "--log", tmp_path / "log.jsonl"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(live_runs()) == 1, timeout=30)
        stale = live_runs()[0].path
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(WAIT)
    assert stale.exists()  # kill -9: nothing could remove it
    assert live_runs() == []
    assert not stale.exists()


# -- what a client does --------------------------------------------------------------------

def test_a_client_steers_the_run_with_the_apps_commands():
    with served() as run:
        client = Client.join(run.server.path)
        link = client.link
        link.send(Pause())
        wait_for(lambda: client.state() is State.PAUSED and run.session.control.paused)
        n = run.trainer.n
        link.send(Step(3))
        wait_for(lambda: run.trainer.n == n + 3 and link.latest.stats.iteration == n + 3)
        link.change_settings(link.config.with_changes(learning_rate=0.2))
        assert not client.event(SettingsDone).error
        wait_for(lambda: link.latest.config.learning_rate == 0.2)
        assert run.trainer.config.learning_rate == 0.2
        link.change_settings(link.config.with_changes(seq_length=10**5))
        refused = client.event(SettingsDone)
        assert "needs at least" in refused.error and refused.field == "seq_length"
        assert link.config.seq_length == run.trainer.config.seq_length  # undone here too
        link.send(SampleNow())
        wait_for(lambda: link.latest.samples and link.latest.samples[-1].on_demand)
        link.send(ResetHidden())
        wait_for(lambda: "hidden state reset" in link.latest.samples[-1].text)
        link.watch(frozenset({WINDOW}))
        wait_for(lambda: link.latest.window is not None)
        link.probe(probes.ScoreText("the cat"))
        assert client.event(ProbeDone).answer.bits_per_char > 0
        link.probe(probes.ContinueText("☃ is not in the text"))
        assert "not in the corpus" in client.event(ProbeDone).error
        link.grad_check()
        assert all(r.passed(1e-6) for r in client.event(GradCheckDone).check.results)
        link.send(Resume())
        wait_for(lambda: client.state() is State.RUNNING)
        run.trains_on()
        client.leave()
        run.trains_on()  # a client that leaves takes nothing with it


def test_two_clients_see_one_steer():
    with served() as run:
        a, b = Client.join(run.server.path), Client.join(run.server.path)
        a.link.send(Pause())
        wait_for(lambda: b.state() is State.PAUSED)
        a.link.change_settings(a.link.config.with_changes(temperature=0.5))
        wait_for(lambda: b.link.config.temperature == 0.5)
        assert run.server.clients == 2
        b.link.send(Resume())
        wait_for(lambda: a.state() is State.RUNNING)


def test_a_run_that_ends_tells_its_clients():
    with served() as run:
        client = Client.join(run.server.path)
        run.server.close("finished at iteration 40")
        assert client.event(RunEnded).reason == "finished at iteration 40"
        client.thread.join(WAIT)
        assert client.link.ended


# -- hostile clients -----------------------------------------------------------------------

def hello() -> bytes:
    return CODEC.frame(Hello(PROTOCOL, "test"))


@pytest.mark.parametrize("send, expect", [
    (os.urandom(4096), None),
    (struct.pack(">I", 2**31) + b"x" * 100, Error),
    (hello()[:7], None),  # half a message, then gone
    (CODEC.frame(Hello(PROTOCOL + 1)), Refused),
    (CODEC.frame(Pause()), Refused),  # no Hello first
    (struct.pack(">I", 5) + b"{oops", Error),
], ids=["random bytes", "a 2 GiB length", "half a message", "a wrong protocol version",
        "no hello", "garbage"])
def test_a_garbled_client_gets_a_reply_or_a_closed_door_and_the_run_goes_on(send, expect):
    with served() as run:
        sock = raw_connection(run.server.path)
        sock.sendall(send)
        if send == hello()[:7]:
            sock.close()
        else:
            sock.shutdown(socket.SHUT_WR)
            got = replies(sock)
            if expect is not None:
                assert isinstance(got[-1], expect), got
            sock.close()
        run.trains_on()
        Client.join(run.server.path).leave()  # the door still opens for a good client


def test_messages_that_do_not_fit_get_errors_then_the_connection_closes():
    with served() as run:
        sock = raw_connection(run.server.path)
        sock.sendall(hello())
        bad = struct.pack(">I", 13) + b'{"$t":"Nope"}'
        sock.sendall(bad * MAX_BAD_MESSAGES)
        got = replies(sock)
        errors = [m for m in got if isinstance(m, Error)]
        assert len(errors) == MAX_BAD_MESSAGES and "unknown message type" in errors[0].reason
        run.trains_on()


def test_two_hundred_connections_opened_and_dropped_cost_the_run_nothing():
    with served() as run:
        for _ in range(200):
            sock = raw_connection(run.server.path)
            if _ % 2:
                sock.sendall(hello())
            sock.close()
        run.trains_on()
        wait_for(lambda: run.server.clients == 0)
        client = Client.join(run.server.path)
        assert client.link.latest.stats.iteration > 0
        client.leave()


def test_a_client_that_never_reads_holds_one_snapshot_not_a_backlog():
    with served() as run:
        sock = raw_connection(run.server.path)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(hello())
        time.sleep(0.1)
        good = Client.join(run.server.path)
        good.link.watch(frozenset({WINDOW}))  # bigger snapshots, for both
        for _ in range(3):
            run.trains_on()
        conn = next(c for c in run.server._connections if c is not None and not c.needs)
        assert conn._queued == 0  # answers queued for it: none; snapshots: one slot
        version = good.link.latest.version
        wait_for(lambda: good.link.latest.version > version + 3)  # the reader is served
        good.leave()
        sock.close()


def test_a_flood_of_commands_is_refused_beyond_a_bound():
    with served(paused=True) as run:
        client = Client.join(run.server.path)
        blocker = threading.Event()
        run.session.control.submit(lambda trainer: blocker.wait(WAIT))  # the thread is busy
        for _ in range(40):
            client.link.send(SampleNow())
        notice = client.event(Notice)
        assert "busy" in notice.text
        blocker.set()
        client.leave()


def test_attach_says_why_it_cannot(tmp_path):
    with pytest.raises(AttachError, match="no such socket"):
        connect(tmp_path / "nothing.sock")
    (tmp_path / "file.sock").write_text("not a socket")
    with pytest.raises(AttachError, match="is not a socket"):
        connect(tmp_path / "file.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(os.fspath(tmp_path / "dead.sock"))
    dead.close()
    with pytest.raises(AttachError, match="no run is listening"):
        connect(tmp_path / "dead.sock")


def test_a_flood_of_any_command_leaves_the_run_bounded_state():
    from charrnn_tui.link.local import MAX_WAITING
    from charrnn_tui.link.protocol import GradCheck, WatchViews

    with served(paused=True) as run:
        client = Client.join(run.server.path)
        blocker = threading.Event()
        run.session.control.submit(lambda trainer: blocker.wait(WAIT))  # the thread is busy
        for k in range(2000):
            client.link.send(WatchViews(("window",) if k % 2 else ()))
            client.link.send(GradCheck(10_000 + k))
            client.link.send(SampleNow())
        wait_for(lambda: sum(isinstance(e, Notice) and "busy" in e.text
                             for e in client.events) >= 1000)
        queued = len(run.session.control._commands)
        assert queued <= MAX_WAITING + 2, queued  # the waiting commands, one publish, the blocker
        assert run.session.grad_checks <= MAX_WAITING
        blocker.set()
        wait_for(lambda: not run.session.control._commands)  # and all of it drains
        assert run.server.errors == []
        client.leave()
