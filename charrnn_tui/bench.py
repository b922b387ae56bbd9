"""How much the monitor costs: training rate with the app on screen vs headless, in one process.

    python -m charrnn_tui.bench [CORPUS] [--pairs N] [--seconds S] [--hz HZ] [--terminal]
    python -m charrnn_tui.bench --first-frame      # time from the command to the first frame
    python -m charrnn_tui.bench --view hidden      # the same with an inspection view open

One app runs (headless through `App.run_test(size=(120, 40))`, or with `--terminal` in this
terminal, which also counts writing frames to it). The measurement alternates, N times, two
slices of S seconds in that one process:

  app       the app's trainer runs in its worker with the monitor drawing;
  headless  the app's trainer is paused (its UI idles) and a second Trainer of the same
            corpus, config and seed runs `engine.run` with no hooks in a plain thread.

Slices a second apart see the same machine: on a shared VM the speed of a core drifts by
tens of percent within seconds, which swamps a few percent of overhead when whole runs are
compared. It prints each pair, the median of the pair ratios (the bar is 0.95), the UI
thread's share of a core (`time.thread_time` in the event-loop thread, during app slices),
and how long `s` takes to show a sample while training. With `--view NAME` (hidden, surprisal,
stepthrough, gradcheck, chart, runs, neurons, influence, yourtext) that view is in front during
the app slices instead of the main screen (the sample latency is then not measured: the
samples pane is covered); the runs view overlays up to two logged runs besides this one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from engine import Config, Control, Trainer, load_corpus, run
from engine.bench.corpora import SHARED_CORPUS, default_corpus

from .waiting import until

SETTLE = 0.3  # seconds after switching before a slice is counted
BAR = 0.95  # the app keeps at least this share of the headless rate, with any screen open
OVERLAID = 2  # logged runs the runs view draws besides this one


@dataclass
class Pair:
    headless: float  # iterations/s
    app: float  # iterations/s
    ui_share: float  # CPU of the event-loop thread / wall time, during the app slice

    @property
    def ratio(self) -> float:
        return self.app / self.headless


def measure(corpus, config: Config, pairs: int, seconds: float, hz: float,
            terminal: bool = False, report=print, view: str | None = None
            ) -> tuple[list[Pair], list[float]]:
    """Alternate app and headless slices in one app session; also time `s` a few times."""
    from .app import actions
    from .app.app import CharRNNApp
    from .app.widgets.samples_pane import SamplesPane
    from .link.monitor import State

    trainer = Trainer(corpus, config)
    app = CharRNNApp(trainer, refresh_hz=hz)
    side = Trainer(corpus, config)  # the headless run, continued slice after slice
    results: list[Pair] = []
    latencies: list[float] = []

    async def app_slice() -> tuple[float, float]:
        app.session.control.resume()
        await asyncio.sleep(SETTLE)
        n0, c0, t0 = trainer.n, time.thread_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        n1, c1, t1 = trainer.n, time.thread_time(), time.perf_counter()
        return (n1 - n0) / (t1 - t0), (c1 - c0) / (t1 - t0)

    async def headless_slice() -> float:
        app.session.control.pause()
        await until(lambda: app.session.monitor.latest.state is State.PAUSED)
        control = Control()
        thread = threading.Thread(target=run, args=(side, control), daemon=True)
        thread.start()
        await asyncio.sleep(SETTLE)
        n0, t0 = side.n, time.perf_counter()
        await asyncio.sleep(seconds)
        n1, t1 = side.n, time.perf_counter()
        control.stop()
        thread.join()
        return (n1 - n0) / (t1 - t0)

    async def sample_latency() -> float:
        samples = app.query_one(SamplesPane)
        before = samples.last_serial
        t0 = time.perf_counter()
        app.simulate_key("s")  # as the terminal delivers it (pilot.press waits for idle)
        await until(lambda: any(s.on_demand and before < s.serial <= samples.last_serial
                                for s in app.session.monitor.latest.samples))
        return time.perf_counter() - t0

    async def session(pilot) -> None:
        await until(lambda: trainer.n > 0)
        if view is not None:
            app.push_screen(actions.VIEWS[view](trainer.corpus.vocab))
            await until(lambda: app.session.monitor.views == app.screen.NEEDS
                        and app.screen.NAME == view)
            if view == "runs":
                await pick_runs(app.screen)
        for i in range(pairs):
            if i % 2 == 0:  # alternate the order, so a drift hits both sides alike
                head = await headless_slice()
                rate, share = await app_slice()
            else:
                rate, share = await app_slice()
                head = await headless_slice()
            results.append(Pair(head, rate, share))
            if i < 5 and view is None:
                app.session.control.resume()
                latencies.append(await sample_latency())
            if not terminal:
                report(f"pair {i + 1:2}: headless {head:6.0f} it/s   app {rate:6.0f} it/s   "
                       f"ratio {rate / head:.3f}   UI thread {100 * share:4.1f}% of a core")
        app.action_quit()

    if terminal:
        app.run(auto_pilot=session)
    else:
        async def headless() -> None:
            async with app.run_test(size=(120, 40)) as pilot:
                await session(pilot)

        asyncio.run(headless())
    return results, latencies


async def pick_runs(runs_view) -> None:
    """Overlay up to OVERLAID logged runs (the user's) in the runs view, as a user would."""
    await until(lambda: runs_view.found is not None, timeout=60)
    for row in range(len(runs_view.runs)):
        if len(runs_view.picked) >= OVERLAID:
            break
        runs_view.table.move_cursor(row=row)
        runs_view.action_pick()


def first_frame(argv: list[str], home: str, timeout: float = 10.0) -> float:
    """Seconds from spawning `charrnn-tui` in a pseudo-terminal to its first full frame."""
    import pty
    import select

    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child: the real command, in a 120x40 terminal, with run files in `home`
        os.environ.update(COLUMNS="120", LINES="40", TERM="xterm-256color", HOME=home,
                          XDG_DATA_HOME=f"{home}/data", XDG_STATE_HOME=f"{home}/state",
                          XDG_CONFIG_HOME=f"{home}/config", XDG_CACHE_HOME=f"{home}/cache")
        os.execvp(sys.executable, [sys.executable, "-m", "charrnn_tui", *argv])
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    seen = b""
    elapsed = float("nan")
    while time.perf_counter() - t0 < timeout:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:
                break
            if b"Adagrad" in seen and b"iter " in seen:  # panes and status line drawn
                elapsed = time.perf_counter() - t0
                break
    os.write(fd, b"q")
    deadline = time.perf_counter() + 3
    while time.perf_counter() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        try:
            if select.select([fd], [], [], 0.05)[0]:
                os.read(fd, 65536)
        except OSError:
            pass
    else:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    os.close(fd)
    return elapsed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m charrnn_tui.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", nargs="?", help=f"default: {SHARED_CORPUS} if present, "
                                             "else the bundled corpus")
    p.add_argument("--pairs", type=int, default=20, help="app/headless pairs (default 20)")
    p.add_argument("--seconds", type=float, default=1.0, help="per slice (default 1)")
    p.add_argument("--hz", type=float, default=None, help="app refresh rate (default: the app's)")
    p.add_argument("--hidden", type=int, default=100)
    p.add_argument("--terminal", action="store_true",
                   help="run the app in this terminal (counts writing frames to it) instead "
                        "of headless; use a 120x40 terminal, e.g. tmux")
    p.add_argument("--view", choices=("hidden", "surprisal", "stepthrough", "gradcheck", "chart",
                                       "runs", "neurons", "influence", "yourtext"),
                   help="measure with this inspection view open")
    p.add_argument("--first-frame", action="store_true",
                   help="measure the time from the command to the first frame instead")
    args = p.parse_args(argv)
    corpus_path = Path(args.corpus) if args.corpus else default_corpus()
    if args.first_frame:
        import tempfile

        with tempfile.TemporaryDirectory() as home:  # leaves the user's run files alone
            times = [first_frame([str(corpus_path), "--seed", "1", "--no-save"], home)
                     for _ in range(max(1, args.pairs // 4))]
        print(f"first frame: {' '.join(f'{t:.2f}s' for t in times)} "
              f"(median {statistics.median(times):.2f}s; the bar is 1.5s)")
        return 0

    from .app.app import REFRESH_HZ

    hz = args.hz or REFRESH_HZ
    corpus = load_corpus(corpus_path)
    config = Config(seed=1, hidden_size=args.hidden)
    where = "in this terminal" if args.terminal else "headless (run_test), 120x40"
    print(f"corpus {corpus_path} ({len(corpus)} chars), hidden {args.hidden}; app at {hz:g} Hz "
          f"{where}; {args.pairs} pairs of {args.seconds:g}s slices", flush=True)
    pairs, latencies = measure(corpus, config, args.pairs, args.seconds, hz, args.terminal,
                               view=args.view)
    latencies = latencies or [float("nan")]
    med = statistics.median
    ratio = med(p.ratio for p in pairs)
    print(f"median ratio app/headless {ratio:.3f} (the bar is {BAR:.2f}); mean "
          f"{statistics.mean(p.ratio for p in pairs):.3f}; medians headless "
          f"{med(p.headless for p in pairs):.0f} it/s, app {med(p.app for p in pairs):.0f} it/s")
    print(f"UI thread {100 * med(p.ui_share for p in pairs):.1f}% of a core (median of app "
          f"slices); 's' to screen while training: {1000 * med(latencies):.0f} ms median, "
          f"{1000 * max(latencies):.0f} ms max; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs; view {args.view or 'none (main screen)'}")
    return 0 if ratio >= BAR else 1


if __name__ == "__main__":
    sys.exit(main())
