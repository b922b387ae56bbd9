"""What attached clients cost a run, and how fast they see it: `python -m charrnn_tui.bench attach`.

    python -m charrnn_tui.bench attach [CORPUS] [--models min-char-rnn,gru-2x256]
                                       [--rounds 3] [--seconds 8] [--clients 0,1,3]

The rate: for each model, each round starts a headless run (`charrnn-tui CORPUS --headless`,
seed 1, no checkpoints) once per variant, in an order that rotates from round to round:
`--no-listen`, and listening with 0, 1 and 3 attached clients, each a process of its own with
the app's main screen open (`attach-client`, the attached app headless at 120x40, drawing at
its usual rate). Its rate is read from the run's own `iter N` lines, between two marks
`--seconds` apart, after the clients have drawn their first frame. Each variant's rate is
divided by the `--no-listen` rate of the same round, and the median of those ratios is
printed (the bar is 0.95).

The latency: an attached app in this process (Pilot) joins a listening run of each model:
the time from connecting to its first full frame (the bar is 1 s), and for `p`, pressed a few
times, the time from the snapshot that shows the pause (published at the step boundary that
applied it, `Snapshot.published`) to the client drawing it (the bar is 250 ms), beside the
time from the key press.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engine.bench.corpora import default_corpus

from .waiting import until

SETTLE = 1.5  # seconds after the clients drew before the rate is read
PRINT_EVERY = {"min-char-rnn": 100}  # iter lines per model (others: every iteration)


@dataclass
class Run:
    """A headless run in a subprocess, its `iter N` lines timed as they arrive."""

    process: subprocess.Popen
    marks: list[tuple[float, int]] = field(default_factory=list)

    def read(self) -> None:
        for line in self.process.stdout:
            if line.startswith("iter "):
                self.marks.append((time.perf_counter(), int(line.split()[1].rstrip(","))))

    def rate(self, t0: float, t1: float) -> float:
        """Iterations per second between the last lines before t0 and before t1."""
        before = [m for m in self.marks if m[0] <= t0]
        upto = [m for m in self.marks if m[0] <= t1]
        if not before or not upto or upto[-1][0] <= before[-1][0]:
            return float("nan")
        (ta, na), (tb, nb) = before[-1], upto[-1]
        return (nb - na) / (tb - ta)


@contextmanager
def headless_run(corpus: Path, model: str, listen: bool, runtime: str):
    argv = [sys.executable, "-m", "charrnn_tui", str(corpus), "--headless", "--model", model,
            "--seed", "1", "--no-save", "--log", os.devnull, "--val-fraction", "0",
            "--print-every", str(PRINT_EVERY.get(model, 1))]
    if not listen:
        argv.append("--no-listen")
    env = dict(os.environ, XDG_RUNTIME_DIR=runtime)
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               stdin=subprocess.DEVNULL, text=True, env=env)
    run = Run(process)
    reader = threading.Thread(target=run.read, daemon=True)
    reader.start()
    try:
        yield run
    finally:
        process.terminate()
        process.wait(30)
        reader.join(5)


def socket_of(runtime: str, timeout: float = 60.0) -> Path:
    folder = Path(runtime) / "charrnn-tui"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.sock")) if folder.exists() else []
        if found:
            return found[0]
        time.sleep(0.05)
    raise RuntimeError("the run did not listen")


@contextmanager
def clients(path: Path | None, count: int):
    """`count` attached apps in processes of their own, each past its first frame."""
    procs = [subprocess.Popen([sys.executable, "-m", "charrnn_tui.bench", "attach-client",
                               str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True) for _ in range(count)]
    try:
        for proc in procs:
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a client did not draw its first frame")
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(30)


def measure_rate(corpus: Path, model: str, variant: str, seconds: float) -> float:
    """One run of `variant` ("no-listen" or a number of clients); iterations per second."""
    with tempfile.TemporaryDirectory(prefix="crb-", dir="/tmp") as runtime:
        listen = variant != "no-listen"
        with headless_run(corpus, model, listen, runtime) as run:
            count = int(variant) if listen else 0
            path = socket_of(runtime) if listen else None
            if not listen:
                while not run.marks and run.process.poll() is None:
                    time.sleep(0.05)
            with clients(path, count):
                time.sleep(SETTLE)
                t0 = time.perf_counter()
                time.sleep(seconds)
                return run.rate(t0, time.perf_counter())


def client_main(path: str) -> int:
    """One attached app, headless at 120x40, until it is terminated."""
    from .app.app import CharRNNApp
    from .link.client import RemoteLink

    app = CharRNNApp(RemoteLink.open(Path(path)))

    async def run() -> None:
        async with app.run_test(size=(120, 40)):
            await until(lambda: app.shown_version > 0, timeout=60)
            print("ready", flush=True)
            await asyncio.Event().wait()

    asyncio.run(run())
    return 0


async def attached_session(path: Path, presses: int, first: list[float],
                           published: list[float], keyed: list[float]) -> None:
    """Join the run on `path`, time its first frame, then `p` pressed `presses` times over."""
    from .app.app import CharRNNApp
    from .link.client import RemoteLink
    from .link.monitor import State

    t0 = time.perf_counter()
    app = CharRNNApp(RemoteLink.open(path))
    async with app.run_test(size=(120, 40)):
        await until(lambda: app.shown_version > 0 and "iter" in app.main_screen.status.plain,
                    timeout=60)
        first.append(time.perf_counter() - t0)
        for _ in range(presses):
            for want in (State.PAUSED, State.RUNNING):
                start = time.perf_counter()
                app.simulate_key("p")

                def drawn(want: State = want) -> bool:
                    snap = app.link.latest
                    return snap.state is want and app.shown_version == snap.version

                await until(drawn, timeout=60)
                keyed.append(time.perf_counter() - start)
                published.append(time.time() - app.link.latest.published)
                await asyncio.sleep(0.3)


def latencies(corpus: Path, model: str, presses: int) -> tuple[list[float], list[float],
                                                                list[float]]:
    """(connect to first frame, publish to shown, key to shown) for an attached app."""
    first: list[float] = []
    published: list[float] = []
    keyed: list[float] = []
    with tempfile.TemporaryDirectory(prefix="crb-", dir="/tmp") as runtime, \
            headless_run(corpus, model, True, runtime):
        path = socket_of(runtime)
        for attempt in range(3):  # the first frame three times; the keys in the first
            asyncio.run(attached_session(path, 0 if attempt else presses, first, published,
                                         keyed))
    return first, published, keyed


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m charrnn_tui.bench attach",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", help="default: the shared tinyshakespeare if present")
    ap.add_argument("--models", default="min-char-rnn,gru-2x256")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=8.0, help="per rate reading (default 8)")
    ap.add_argument("--clients", default="0,1,3", help="attached clients per variant")
    ap.add_argument("--presses", type=int, default=5, help="p presses per model (latency)")
    args = ap.parse_args(argv)
    corpus = Path(args.corpus) if args.corpus else default_corpus()
    variants = ["no-listen", *args.clients.split(",")]
    print(f"corpus {corpus}; {args.rounds} rounds of {args.seconds:g} s per variant; load "
          f"average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs", flush=True)
    worst = 1.0
    for model in args.models.split(","):
        ratios: dict[str, list[float]] = {v: [] for v in variants[1:]}
        rates: dict[str, list[float]] = {v: [] for v in variants}
        for r in range(args.rounds):
            order = variants[r % len(variants):] + variants[:r % len(variants)]
            got = {v: measure_rate(corpus, model, v, args.seconds) for v in order}
            for v in variants:
                rates[v].append(got[v])
            for v in variants[1:]:
                ratios[v].append(got[v] / got["no-listen"])
            print(f"{model} round {r + 1}: " + "   ".join(
                f"{v}{'' if v == 'no-listen' else ' clients'} {got[v]:.1f} it/s"
                for v in variants), flush=True)
        for v in variants[1:]:
            ratio = statistics.median(ratios[v])
            worst = min(worst, ratio)
            print(f"  {model}: listening with {v} attached client(s) / --no-listen: median "
                  f"{ratio:.3f} (rounds {' '.join(f'{x:.3f}' for x in ratios[v])}; bar 0.95)")
        first, published, keyed = latencies(corpus, model, args.presses)
        print(f"  {model}: attach to first full frame {' '.join(f'{t:.2f}' for t in first)} s "
              f"(bar 1 s); p shown {1000 * statistics.median(published):.0f} ms median, "
              f"{1000 * max(published):.0f} ms max after the step boundary that applied it "
              f"(bar 250 ms); {1000 * statistics.median(keyed):.0f} ms median after the key",
              flush=True)
    return 0 if worst >= 0.95 else 1
