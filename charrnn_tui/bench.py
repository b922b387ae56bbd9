"""How much the monitor costs: training rate with the app on screen vs headless, in one process.

    python -m charrnn_tui.bench [CORPUS] [--pairs N] [--seconds S] [--hz HZ] [--terminal]
    python -m charrnn_tui.bench --first-frame      # time from the command to the first frame
    python -m charrnn_tui.bench --view hidden      # the same with an inspection view open
    python -m charrnn_tui.bench --model rnn-256,gru-2x256 --threads 1,default
                                                   # each model at each BLAS thread count
    python -m charrnn_tui.bench attach             # a run's rate with attached clients,
                                                   # and their latency (bench_attach.py)

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
stepthrough, gradcheck, chart, runs, neurons, influence, yourtext; several, comma-separated,
or `all`: the main screen and every view, one after another) that view is in front during
the app slices instead of the main screen (the sample latency is then not measured: the
samples pane is covered); the runs view overlays up to two logged runs besides this one.

`--model` takes presets (comma-separated: one after another, each in an app of its own) and
`--threads` BLAS thread counts (`default`: the model's, engine/threads.py). With several
counts every pair measures each count in turn, both sides set to it (the app's through the
Controls' path, `link.change_settings`), in alternating order, so the app's rate at one count
against another is read from slices seconds apart. A table at the end puts every model, count and
view side by side in training characters per second, with the app's rate against its rate at
the first count given ("app vs first").
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from engine import Config, ConfigError, Control, Trainer, load_corpus, run
from engine.bench.corpora import SHARED_CORPUS, default_corpus
from engine.presets import DEFAULT_PRESET, PRESETS, preset
from engine.threads import environment_threads

from .waiting import until

SETTLE = 0.3  # seconds after switching before a slice is counted
BAR = 0.95  # the app keeps this share of the headless rate, with any screen in front
OVERLAID = 2  # logged runs the runs view draws besides this one
VIEW_NAMES = ("hidden", "surprisal", "stepthrough", "gradcheck", "chart", "runs", "neurons",
              "influence", "yourtext")
MAIN = "main"  # --view's name for the main screen


@dataclass
class Pair:
    headless: float  # iterations/s
    app: float  # iterations/s
    ui_share: float  # CPU of the event-loop thread / wall time, during the app slice

    @property
    def ratio(self) -> float:
        return self.app / self.headless


def median(values) -> float:
    """The median of the finite values (a slice in which no step ended reads nan)."""
    finite = [v for v in values if math.isfinite(v)]
    return statistics.median(finite) if finite else math.nan


class StepClock:
    """When a trainer's last step ended: rates are read between step ends, not as the whole
    steps inside a window (a GRU's step takes ~0.1 s, so a 1 s window would count 10 +- 1).
    Wraps `trainer.step` (one tuple per step, on both sides alike) before a loop reads it."""

    def __init__(self, trainer: Trainer) -> None:
        self.last = (trainer.n, time.perf_counter())
        step = trainer.step

        def stamped():
            result = step()
            self.last = (trainer.n, time.perf_counter())
            return result

        trainer.step = stamped

    @staticmethod
    def rate(start: tuple[int, float], end: tuple[int, float]) -> float:
        """Iterations per second between two readings of `last` (nan: no step ended)."""
        (n0, t0), (n1, t1) = start, end
        return (n1 - n0) / (t1 - t0) if n1 > n0 else math.nan


def measure(corpus, config: Config, pairs: int, seconds: float, hz: float,
            terminal: bool = False, report=print, view: str | None = None,
            counts: tuple[int | None, ...] = (None,)
            ) -> tuple[dict[int, list[Pair]], list[float]]:
    """Alternate app and headless slices in one app session, at each BLAS thread count of
    `counts` in turn (None: the model's); also time `s` a few times. Returns the pairs by the
    count in effect."""
    from .app import actions
    from .app.app import CharRNNApp
    from .app.widgets.samples_pane import SamplesPane
    from .link.monitor import State

    trainer = Trainer(corpus, config)
    clock = StepClock(trainer)
    app = CharRNNApp(trainer, refresh_hz=hz)
    side = Trainer(corpus, config)  # the headless run, continued slice after slice
    side_clock = StepClock(side)
    results: dict[int, list[Pair]] = {}
    latencies: list[float] = []

    def use_threads(count: int | None) -> int:
        """Both sides to `count`: the app's trainer as a Controls edit would set it."""
        app.link.change_settings(app.config.with_changes(threads=count))
        side.set_config(side.config.with_changes(threads=count))  # its thread is not running
        return side.threads

    async def app_slice() -> tuple[float, float]:
        app.session.control.resume()
        await asyncio.sleep(SETTLE)
        start, c0, t0 = clock.last, time.thread_time(), time.perf_counter()
        await asyncio.sleep(seconds)
        end, c1, t1 = clock.last, time.thread_time(), time.perf_counter()
        return StepClock.rate(start, end), (c1 - c0) / (t1 - t0)

    async def headless_slice() -> float:
        app.session.control.pause()
        await until(lambda: app.session.monitor.latest.state is State.PAUSED)
        control = Control()
        thread = threading.Thread(target=run, args=(side, control), daemon=True)
        thread.start()
        await asyncio.sleep(SETTLE)
        start = side_clock.last
        await asyncio.sleep(seconds)
        end = side_clock.last
        control.stop()
        thread.join()
        return StepClock.rate(start, end)

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
            for count in counts if i % 2 == 0 else counts[::-1]:
                threads = use_threads(count)
                if i % 2 == 0:  # alternate the order, so a drift hits both sides alike
                    head = await headless_slice()
                    rate, share = await app_slice()
                else:
                    rate, share = await app_slice()
                    head = await headless_slice()
                results.setdefault(threads, []).append(Pair(head, rate, share))
                if not terminal:
                    report(f"pair {i + 1:2}, {threads} thread{'s' if threads > 1 else ' '}: "
                           f"headless {head:6.0f} it/s   app {rate:6.0f} it/s   ratio "
                           f"{results[threads][-1].ratio:.3f}   UI thread "
                           f"{100 * share:4.1f}% of a core")
            if i < 5 and view is None:
                app.session.control.resume()
                latencies.append(await sample_latency())
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


def comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def thread_counts(text: str) -> tuple[int | None, ...]:
    """`--threads`: counts, or `default` (None: the model's)."""
    counts = []
    for part in comma_list(text):
        if part == "default":
            counts.append(None)
        elif part.isdigit():
            counts.append(int(part))
        else:
            raise argparse.ArgumentTypeError(f"expected counts or 'default', got {part!r}")
    if not counts:
        raise argparse.ArgumentTypeError("expected at least one count")
    return tuple(counts)


@dataclass(frozen=True)
class Row:
    """One line of the closing table: a model, a screen and a thread count."""

    model: str
    view: str
    threads: int
    pairs: list[Pair]
    chars_per_step: int  # seq_length x batch

    @property
    def ratio(self) -> float:
        return median(p.ratio for p in self.pairs)


def table(rows: list[Row]) -> list[str]:
    """Every model, screen and count side by side, in training characters per second; the
    app's rate against its first count's, as the median of the pairs' ratios (same round)."""
    lines = [f"{'model':14s} {'screen':12s} {'threads':>7s} {'headless chars/s':>17s} "
             f"{'app chars/s':>12s} {'app/headless':>12s} {'app vs first':>13s}"]
    first: dict[tuple[str, str], Row] = {}
    for row in rows:
        base = first.setdefault((row.model, row.view), row)
        if base is row:
            versus = ""
        else:  # pairs of the same round are seconds apart
            gain = median(p.app / q.app for p, q in zip(row.pairs, base.pairs))
            versus = f"{gain:12.2f}x"
        lines.append(f"{row.model:14s} {row.view:12s} {row.threads:7d} "
                     f"{median(p.headless for p in row.pairs) * row.chars_per_step:17,.0f} "
                     f"{median(p.app for p in row.pairs) * row.chars_per_step:12,.0f} "
                     f"{row.ratio:12.3f} {versus:>13s}")
    return lines


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["attach"], ["attach-client"]):  # attached clients (bench_attach.py)
        from .bench_attach import client_main
        from .bench_attach import main as attach_main

        return attach_main(argv[1:]) if argv[0] == "attach" else client_main(*argv[1:2])
    p = argparse.ArgumentParser(prog="python -m charrnn_tui.bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", nargs="?", help=f"default: {SHARED_CORPUS} if present, "
                                             "else the bundled corpus")
    p.add_argument("--pairs", type=int, default=20, help="app/headless pairs (default 20)")
    p.add_argument("--seconds", type=float, default=1.0, help="per slice (default 1)")
    p.add_argument("--hz", type=float, default=None, help="app refresh rate (default: the app's)")
    p.add_argument("--model", type=comma_list, default=[DEFAULT_PRESET], metavar="NAME[,NAME]",
                   help=f"presets, one after another ({', '.join(PRESETS)}; default "
                        f"{DEFAULT_PRESET})")
    p.add_argument("--hidden", type=int, default=None, help="hidden size (default: the model's)")
    p.add_argument("--threads", type=thread_counts, default=(None,), metavar="N|default[,...]",
                   help="BLAS thread counts, each in turn within every pair (default: the "
                        "model's)")
    p.add_argument("--terminal", action="store_true",
                   help="run the app in this terminal (counts writing frames to it) instead "
                        "of headless; use a 120x40 terminal, e.g. tmux")
    p.add_argument("--view", type=comma_list, default=[MAIN], metavar="NAME[,NAME]",
                   help=f"what is in front during app slices: {MAIN} (the main screen, "
                        f"default), {', '.join(VIEW_NAMES)}, or all of them (all)")
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

    views = [MAIN, *VIEW_NAMES] if args.view == ["all"] else args.view
    unknown = [v for v in views if v not in (MAIN, *VIEW_NAMES)]
    if unknown:
        p.error(f"unknown view {unknown[0]!r}; the views are {MAIN}, "
                f"{', '.join(VIEW_NAMES)} or all")
    try:
        # no validation passes: their timing (by the wall clock) would land in some slices
        configs = {name: preset(name).config(
            seed=1, val_fraction=0.0,
            **({} if args.hidden is None else {"hidden_size": args.hidden}))
            for name in args.model}
        for config in configs.values():
            for count in args.threads:
                config.with_changes(threads=count)  # in range
    except ConfigError as exc:
        p.error(str(exc))

    from .app.app import REFRESH_HZ

    hz = args.hz or REFRESH_HZ
    corpus = load_corpus(corpus_path)
    where = "in this terminal" if args.terminal else "headless (run_test), 120x40"
    pinned = environment_threads()
    print(f"corpus {corpus_path} ({len(corpus)} chars); app at {hz:g} Hz {where}; "
          f"{args.pairs} pairs of {args.seconds:g}s slices"
          + (f"; {pinned} in the environment sets every count" if pinned else ""), flush=True)
    rows: list[Row] = []
    latencies: list[float] = []
    for view in views:
        for name, config in configs.items():
            print(f"-- {name} ({config.describe_model()}), {view} screen", flush=True)
            by_count, seen = measure(corpus, config, args.pairs, args.seconds, hz,
                                     args.terminal, view=None if view == MAIN else view,
                                     counts=args.threads)
            latencies += seen
            for threads, pairs in by_count.items():
                rows.append(Row(name, view, threads, pairs,
                                config.seq_length * config.batch))
                print(f"{threads} thread{'s' if threads > 1 else ''}: median ratio "
                      f"app/headless {rows[-1].ratio:.3f} (the bar is {BAR}); mean "
                      f"{statistics.fmean(p.ratio for p in pairs):.3f}; medians headless "
                      f"{median(p.headless for p in pairs):.0f} it/s, app "
                      f"{median(p.app for p in pairs):.0f} it/s; UI thread "
                      f"{100 * median(p.ui_share for p in pairs):.1f}% of a core", flush=True)
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs" + (
        f"; 's' to screen while training: {1000 * statistics.median(latencies):.0f} ms "
        f"median, {1000 * max(latencies):.0f} ms max" if latencies else ""))
    for line in table(rows):
        print(line)
    return 0 if all(row.ratio >= BAR for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
