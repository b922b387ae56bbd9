"""Attaching to a run that lives elsewhere: a real headless run in a subprocess, joined by the
app under Pilot through its real socket; the hand-over of an app's run (D); `attach` on the
command line; and `serve --attach` in a real browser."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from charrnn_tui.link.client import RemoteLink, live_runs
from charrnn_tui.link.handover import HandOver
from charrnn_tui.link.monitor import State
from charrnn_tui.link.protocol import Pause
from charrnn_tui.run_files import RunRecorder
from engine import Config, Trainer, load_corpus
from engine.store.checkpoint import CheckpointStore

from .app_factory import TEXT, AppUnderTest, attached_app, paused_at, shown
from .helpers import cli_command, free_port, run_cli, until
from .test_serve import ARGS, CHROMIUM, KEEP_TERMINAL, STATUS, _iteration, playwright_or_skip

MODEL = ("--seed", "3", "--hidden", "16", "--seq-length", "10", "--sample-every", "50",
         "--sample-length", "40")
WAIT = 30.0


@dataclass
class HeadlessRun:
    process: subprocess.Popen
    socket: Path
    log: Path
    stderr: Path

    def log_records(self) -> list[dict]:
        lines = self.log.read_text(encoding="utf-8").splitlines()
        return [r for r in map(json.loads, lines) if r.get("kind") == "iter"]


def wait_for(condition, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@contextmanager
def headless_run(tmp_path: Path, *extra: str) -> Iterator[HeadlessRun]:
    """`charrnn-tui --headless` on a small model in a subprocess, until it is joined."""
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 40, encoding="utf-8")
    log, err = tmp_path / "run.jsonl", tmp_path / "stderr.txt"
    with open(tmp_path / "stdout.txt", "wb") as out, open(err, "wb") as errors:
        process = subprocess.Popen(
            cli_command(corpus, "--headless", *MODEL, "--checkpoint-dir", tmp_path / "ck",
                        "--log", log, "--print-every", "0", *extra),
            stdout=out, stderr=errors, stdin=subprocess.DEVNULL)
    try:
        wait_for(lambda: live_runs() or process.poll() is not None)
        assert process.poll() is None, err.read_text()
        yield HeadlessRun(process, live_runs()[0].path, log, err)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(WAIT)


def iteration(app: AppUnderTest) -> int:
    return app.link.latest.stats.iteration if app.link.latest is not None else -1


async def test_the_app_attaches_to_a_headless_run_steers_it_and_leaves_it_training(tmp_path):
    with headless_run(tmp_path) as run:
        app = attached_app(run.socket)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(lambda: iteration(app) > 0, timeout=WAIT)
            first = iteration(app)
            await until(lambda: iteration(app) > first, timeout=WAIT)  # it rises
            assert app.attached and "iter" in app.main_screen.status.plain
            await pilot.press("p")
            await until(lambda: shown(app) is State.PAUSED, timeout=WAIT)
            stopped = iteration(app)
            records = len(run.log_records())
            await asyncio.sleep(0.5)  # a window to see the run stay put (it ran ~3000 it/s)
            assert iteration(app) == stopped and len(run.log_records()) == records
            await pilot.press("plus")  # learning rate x2, applied between steps
            await until(lambda: app.link.latest.config.learning_rate == 0.2, timeout=WAIT)
            await pilot.press("p")
            await until(lambda: run.log_records()[-1]["learning_rate"] == 0.2, timeout=WAIT)
            other = RemoteLink.open(run.socket)  # a second client sees this one's steer
            try:
                other_thread = asyncio.get_running_loop().run_in_executor(None, other.run)
                await until(lambda: other.latest is not None, timeout=WAIT)
                await pilot.press("p")
                await until(lambda: other.latest.state is State.PAUSED, timeout=WAIT)
                other.send(Pause())  # and one steer of the other: already paused, no harm
                await pilot.press("p")
                await until(lambda: other.latest.state is State.RUNNING, timeout=WAIT)
            finally:
                other.close()
                await other_thread
            left_at = iteration(app)
            await pilot.press("q")  # detaches
        assert app.return_code == 0
        # the run trains on; joined again, it shows its whole story so far
        await asyncio.sleep(0.3)
        assert run.process.poll() is None
        again = attached_app(run.socket)
        async with again.run_test(size=(120, 40)) as pilot:
            await until(lambda: iteration(again) > left_at, timeout=WAIT)
            story = again.link.latest.story
            assert story[0].iteration == 0 and story[0].serial == 1  # from the start
            assert [s.iteration for s in story[:4]] == [0, 50, 100, 200]  # one per doubling
            await until(lambda: "iter 0 · sample" in "\n".join(again.main_screen.samples.lines),
                        timeout=WAIT)
            await pilot.press("E")  # ends the run, asking first
            await pilot.press("y")
            await until(lambda: again.link.ended != "", timeout=WAIT)
        run.process.wait(WAIT)
        assert run.process.returncode == 0
        assert "# saved iteration" in run.stderr.read_text()
        assert not run.socket.exists()


async def test_the_hand_over_continues_bit_for_bit_in_a_process_of_its_own(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 40, encoding="utf-8")
    flags = ("--seed", "3", "--hidden", "16", "--seq-length", "10", "--sample-every", "20",
             "--sample-length", "30")
    whole = run_cli(corpus, "--headless", *flags, "--iters", "6000", "--print-every", "1",
                    "--no-save", "--no-listen", "--log", os.devnull)
    assert whole.returncode == 0, whole.stderr
    trainer = Trainer(load_corpus(corpus), Config(seed=3, hidden_size=16, seq_length=10,
                                                  sample_every=20, sample_length=30))
    recorder = RunRecorder(CheckpointStore(tmp_path / "ck", run="20261206-000000-0000abcd"),
                           0, None, 100)
    hand_over = HandOver(str(corpus), ("--print-every", "1", "--checkpoint-dir",
                                       str(tmp_path / "ck"), "--log", str(tmp_path / "l.jsonl")),
                         tmp_path / "out")
    # a budget the process cannot finish before the app has joined it
    app = AppUnderTest(trainer, iters=6000, paused=True, recorder=recorder, hand_over=hand_over)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 120)
        await pilot.press("D")
        await pilot.press("y")
        await until(lambda: app.attached or app.notified, timeout=60)
        assert app.attached, app.notified
        assert "handed over at iter 120" in "\n".join(app.main_screen.samples.lines)
        run = app.link.info.run
        await until(lambda: app.link.ended != "", timeout=120)  # its budget is done
    output = (tmp_path / "out" / f"{run}.out").read_text(encoding="utf-8")
    trace = [line for line in output.splitlines() if not line.startswith("#")]
    reference = whole.stdout.splitlines()
    # 120 iterations (0-119) were done here; the process printed from iteration 120 on
    cut = reference.index(next(line for line in reference if line.startswith("iter 119,")))
    assert trace == reference[cut + 1:]
    assert trace[-1].startswith("iter 5999,") and len(trace) > 5880


def test_attach_without_a_run_to_join_is_one_line(tmp_path):
    for args, message in ((["attach"], "no live run"),
                          (["attach", "2026"], "no live run '2026'"),
                          (["attach", str(tmp_path / "missing.sock")], "no such socket")):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    (tmp_path / "file.sock").write_text("x")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(os.fspath(tmp_path / "dead.sock"))
    dead.close()
    for name, message in (("file.sock", "is not a socket"), ("dead.sock", "no run is listening")):
        proc = run_cli("attach", tmp_path / name, cwd=tmp_path)
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    listed = run_cli("attach", "--list", cwd=tmp_path)
    assert listed.returncode == 0 and "no live runs" in listed.stdout


def test_attach_list_names_the_live_runs(tmp_path):
    with headless_run(tmp_path) as run:
        listed = run_cli("attach", "--list", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        head, row = listed.stdout.splitlines()
        assert head.split()[:3] == ["run", "corpus", "model"]
        assert run.socket.name.removesuffix(".sock") in row and "corpus.txt" in row
        assert "running (headless)" in row


def test_serve_attach_shows_every_tab_the_same_run(tmp_path):
    sync_playwright = playwright_or_skip()
    with headless_run(tmp_path) as run:
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "charrnn_tui", "serve", "--host", "127.0.0.1", "--port",
             str(port), "--attach", str(run.socket)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
            start_new_session=True)
        try:
            wait_for(lambda: _listens(port) or server.poll() is not None)
            assert server.poll() is None, server.stderr.read()
            with sync_playwright() as p:
                context = p.chromium.launch_persistent_context(
                    str(tmp_path / "profile"), executable_path=CHROMIUM, args=ARGS,
                    headless=True, viewport={"width": 1280, "height": 720})
                try:
                    tabs = [context.new_page(), context.new_page()]
                    for tab in tabs:
                        tab.add_init_script(KEEP_TERMINAL)
                        tab.goto(f"http://127.0.0.1:{port}/")
                    for tab in tabs:
                        tab.wait_for_function(f"() => /iter [1-9]/.test(({STATUS})())",
                                              timeout=60_000)
                    tabs[0].evaluate("window.__terminal.focus()")
                    tabs[0].keyboard.press("p")
                    for tab in tabs:  # both show the same run paused, at the same iteration
                        tab.wait_for_function(f"() => ({STATUS})().includes('paused')",
                                              timeout=30_000)
                    tabs[1].wait_for_function(
                        f"() => ({STATUS})().match(/iter (\\d+)/)[1] === "
                        f"({STATUS})().match(/iter (\\d+)/)[1]", timeout=10_000)
                    seen = [_iteration(tab.evaluate(STATUS)) for tab in tabs]
                    print(f"\ntabs: {[tab.evaluate(STATUS).strip()[:60] for tab in tabs]}")
                finally:
                    context.close()
            assert seen[0] == seen[1] > 0
        finally:
            if server.poll() is None:
                os.killpg(server.pid, 15)
                server.wait(WAIT)
        assert run.process.poll() is None  # the browsers left; the run trains on


def _listens(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_every_run_listens_unless_told_not_to(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT * 10, encoding="utf-8")
    with headless_run(tmp_path):
        assert len(live_runs()) == 1
    proc = subprocess.Popen(cli_command(corpus, "--headless", "--no-listen", "--no-save",
                                        "--log", os.devnull, "--print-every", "1"),
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert any(re.match(r"iter \d+", proc.stdout.readline()) for _ in range(50))
        assert live_runs() == []
    finally:
        proc.terminate()
        proc.wait(WAIT)


def test_a_short_budget_finished_before_the_join_is_reported_as_finished(tmp_path):
    from charrnn_tui.link.handover import FinishedThere
    from engine.store.checkpoint import save_checkpoint

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 10, encoding="utf-8")
    trainer = Trainer(load_corpus(corpus), Config(seed=3, hidden_size=8))
    trainer.step()
    checkpoint = tmp_path / "c.npz"
    save_checkpoint(trainer, checkpoint)
    hand_over = HandOver(str(corpus), ("--no-save", "--print-every", "1"), tmp_path / "out")
    started = hand_over.start(checkpoint, "20261206-000000-0000beef", 1)
    started.process.wait(WAIT)
    with pytest.raises(FinishedThere, match="iter 1,"):
        hand_over.wait(started)


def test_the_attach_benchmark_runs(tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 40, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "charrnn_tui.bench", "attach", str(corpus), "--models",
         "min-char-rnn", "--rounds", "1", "--seconds", "0.5", "--clients", "1",
         "--presses", "1"], capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr  # 1: under the bar, on a busy machine
    assert "listening with 1 attached client(s) / --no-listen: median" in proc.stdout
    assert "attach to first full frame" in proc.stdout


async def test_an_attached_app_offers_only_what_an_attached_run_can_do(tmp_path):
    from charrnn_tui.app.commands import NOT_ATTACHED, palette_entries

    with headless_run(tmp_path) as run:
        app = attached_app(run.socket)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(lambda: iteration(app) > 0, timeout=WAIT)
            for action in ("reinit", "resume_picker", "hand_over", "quit"):
                assert app.check_action(action, ()) is False
            for action in ("end_run", "detach", "pause", "sample"):
                assert app.check_action(action, ()) is not False
            entries = {title: help_text for title, help_text, _ in palette_entries(True)}
            assert NOT_ATTACHED in entries["Re-initialise the model"]
            assert NOT_ATTACHED in entries["Resume from a checkpoint"]
            assert "End the run" in entries and "Detach from the run" in entries
            own = {title for title, _, _ in palette_entries(False)}
            assert "End the run" not in own and "Detach from the run" not in own
            await pilot.press("R")  # nothing opens
            assert app.screen is app.main_screen
            await pilot.press("q")
        assert run.process.poll() is None


async def test_the_runs_screen_marks_live_runs_and_enter_attaches(tmp_path):
    from charrnn_tui.app.views.runs_view import RunsView

    corpus = tmp_path / "corpus.txt"
    corpus.write_text(TEXT * 40, encoding="utf-8")
    procs = [subprocess.Popen(cli_command(corpus, "--headless", *MODEL, "--no-save",
                                          "--print-every", "0"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for _ in range(2)]
    try:
        wait_for(lambda: len(live_runs()) == 2)
        first, second = sorted(live_runs(), key=lambda r: r.welcome.info.run)
        app = attached_app(first.path)
        async with app.run_test(size=(120, 40)) as pilot:
            await until(lambda: iteration(app) > 0, timeout=WAIT)
            await pilot.press("c")
            view = app.screen
            assert isinstance(view, RunsView)
            await until(lambda: view.found is not None and len(view.runs) == 2, timeout=WAIT)
            marks = {r.run: view.table.get_row_at(k)[0] for k, r in enumerate(view.runs)}
            assert marks == {first.welcome.info.run: "live", second.welcome.info.run: "join"}
            row = next(k for k, r in enumerate(view.runs) if r.run == second.welcome.info.run)
            view.table.move_cursor(row=row)
            await pilot.press("enter")
            await until(lambda: app.link.info.run == second.welcome.info.run, timeout=WAIT)
            await until(lambda: iteration(app) > 0, timeout=WAIT)
            await pilot.press("q")
        assert all(p.poll() is None for p in procs)  # both train on
    finally:
        for p in procs:
            p.terminate()
            p.wait(WAIT)
