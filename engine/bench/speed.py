"""`python -m engine.bench [CORPUS]`: the engine's speed, as ratios to the plain original loop.

In one process it interleaves rounds of the plain per-timestep transcription of the original
loop (engine.nets.reference), the exact mode and the fast mode, each continuing its own run, and
reports the median iterations/s of each and their ratios. It also checks that the modes agree
with the original, and times sampling 10,000 characters against the original's sample().
With --processes it also times whole `charrnn-tui --headless` runs (startup included).

`python -m engine.bench quality` and `python -m engine.bench throughput` measure the model
family's bars (engine/bench/models.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..data import corpus_from_text, load_corpus
from ..nets.min_char import FlatParams
from ..nets.reference import ReferenceRNN
from ..trainer import EXACT_WARMUP, Trainer
from .corpora import default_corpus


def _rate(step, n: int) -> tuple[float, float]:
    """Iterations per wall second and per CPU second of this thread (robust to busy neighbours)."""
    w0, c0 = time.perf_counter(), time.thread_time()
    for _ in range(n):
        step()
    return n / (time.perf_counter() - w0), n / (time.thread_time() - c0)


def training_rates(text: str, seed: int, rounds: int,
                   seconds: float) -> dict[str, list[tuple[float, float]]]:
    """Interleaved rounds of (wall, cpu) rates; each mode runs about `seconds` per round."""
    ref = ReferenceRNN(text, seed=seed)  # the reference works on the str, as the original
    ref_iter = ref.run(10**12, sample_every=0)
    corpus = corpus_from_text(text)
    fast = Trainer(corpus, Config(seed=seed, sample_every=0))
    for _ in range(EXACT_WARMUP):  # time the fast arithmetic, not the default mode's warm-up
        fast.step()
    modes = {
        "plain": lambda: next(ref_iter),
        "exact": Trainer(corpus, Config(seed=seed, exact=True, sample_every=0)).step,
        "fast": fast.step,
    }
    counts = {}
    for name, step in modes.items():  # warm up and size each round to ~`seconds`
        counts[name] = max(20, int(_rate(step, 30)[1] * seconds))
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in modes}
    order = list(modes)
    for _ in range(rounds):
        for name in order:
            rates[name].append(_rate(modes[name], counts[name]))
        order.reverse()  # no mode always runs right after the same neighbour
    return rates


def agreement(text: str, seed: int, iters: int) -> dict[str, object]:
    """Exact mode against the original bit for bit; the default mode's free run (original
    arithmetic for its warm-up, then fast); fast arithmetic from the original's states."""
    ref = ReferenceRNN(text, seed=seed)
    ref_losses = [loss for _, _, loss in ref.run(iters, sample_every=0)]
    corpus = corpus_from_text(text)
    exact = Trainer(corpus, Config(seed=seed, exact=True, sample_every=0))
    exact_losses, fast_window = [], 0.0
    scratch = FlatParams(corpus.vocab_size, exact.config.hidden_size)
    probe = exact.model.sharing_params()  # the exact run's weights, its own workspace
    for _ in range(iters):
        _, inputs, targets, reset = exact.next_window()
        h = np.zeros_like(exact.hprev) if reset else exact.hprev.copy()
        fast_loss = probe.loss_and_grads(inputs, targets, h, scratch)
        exact_losses.append(exact.step().loss)
        fast_window = max(fast_window, abs(fast_loss - exact_losses[-1]) / exact_losses[-1])
    default_run = Trainer(corpus, Config(seed=seed, sample_every=0))
    default_losses = [default_run.step().loss for _ in range(iters)]
    rel = [abs(f - r) / abs(r) for f, r in zip(default_losses, ref_losses)]
    first_over = next((n for n, e in enumerate(rel) if e > 1e-9), None)
    return {"iters": iters,
            "exact_equal": sum(e == r for e, r in zip(exact_losses, ref_losses)),
            "exact_weights_equal": bool(np.array_equal(exact.model.params.Whh, ref.Whh)),
            "warmup_equal": sum(d == r for d, r in zip(default_losses[:EXACT_WARMUP],
                                                       ref_losses[:EXACT_WARMUP])),
            "default_first_over_1e9": first_over, "fast_window_rel": fast_window}


def sampling_rates(text: str, seed: int, length: int,
                   rounds: int) -> tuple[float, float, float, bool]:
    """Original sample() against RNN.sample() on trained weights, same random stream, in
    interleaved rounds; (plain chars/s, engine chars/s, median per-round ratio, same text)."""
    corpus = corpus_from_text(text)
    trainer = Trainer(corpus, Config(seed=seed, exact=True, sample_every=0))
    for _ in range(200):
        trainer.step()
    ref = ReferenceRNN(text, seed=seed)
    P = trainer.model.params
    ref.Wxh, ref.Whh, ref.Why = P.Wxh.copy(), P.Whh.copy(), P.Why.copy()
    ref.bh, ref.by = P.bh.reshape(-1, 1).copy(), P.by.reshape(-1, 1).copy()
    h = trainer.hprev.copy()
    times: dict[str, list[float]] = {"plain": [], "engine": []}
    texts: dict[str, list[int]] = {}

    def plain(r: int) -> None:
        np.random.seed(seed + r)
        texts["plain"] = [int(i) for i in ref.sample(h.reshape(-1, 1), 0, length)]

    def engine(r: int) -> None:
        texts["engine"] = trainer.model.sample(h, 0, length, np.random.RandomState(seed + r))

    same = True
    order = [("plain", plain), ("engine", engine)]
    for r in range(rounds):
        for name, run in order:
            t0 = time.perf_counter()
            run(r)
            times[name].append(time.perf_counter() - t0)
        same = same and texts["plain"] == texts["engine"]
        order.reverse()
    ratio = statistics.median(p / e for p, e in zip(times["plain"], times["engine"]))
    return (length / statistics.median(times["plain"]),
            length / statistics.median(times["engine"]), ratio, same)


def process_times(corpus: Path, iters: int, rounds: int) -> dict[str, list[float]]:
    """Whole-process wall times, startup included, interleaved."""
    exe = shutil.which("charrnn-tui")
    base = [exe] if exe else [sys.executable, "-m", "charrnn_tui"]
    cmds = {
        "plain": [sys.executable, "-m", "engine.nets.reference", str(corpus), str(iters), "1", "0"],
        "exact": [*base, "--headless", "--exact", "--seed", "1", "--iters", str(iters),
                  "--sample-every", "0", "--no-save", "--log", os.devnull, str(corpus)],
        "fast": [*base, "--headless", "--seed", "1", "--iters", str(iters), "--sample-every", "0",
                 "--no-save", "--log", os.devnull, str(corpus)],
    }
    # the original script as people run it: numpy's default BLAS threads (engine asks for one)
    cmds["plain-default-threads"] = cmds["plain"]
    threads = str(os.cpu_count() or 1)
    env_for = {name: dict(os.environ) for name in cmds}
    env_for["plain-default-threads"].update(OPENBLAS_NUM_THREADS=threads, OMP_NUM_THREADS=threads)
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for _ in range(rounds):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env_for[name])
            times[name].append(time.perf_counter() - t0)
    return times


def peak_rss(size_mb: int, text: str) -> tuple[int, float, float]:
    """Train headless on a generated corpus of `size_mb` MB; (bytes, peak RSS MB, seconds)."""
    import resource
    import tempfile

    exe = shutil.which("charrnn-tui")
    base = [exe] if exe else [sys.executable, "-m", "charrnn_tui"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.txt"
        chunk = text.encode("utf-8")
        with open(path, "wb") as f:
            for _ in range(size_mb * 2**20 // len(chunk) + 1):
                f.write(chunk)
        size = path.stat().st_size
        t0 = time.perf_counter()
        subprocess.run([*base, "--headless", "--seed", "1", "--iters", "200", "--no-save",
                        "--sample-every", "0", "--log", os.devnull, str(path)],
                       check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
    rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # kilobytes on Linux
    return size, rss_kb / 1024, seconds


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in ("quality", "quality-run", "throughput"):
        from .models import main as models_main

        return models_main(argv)
    ap = argparse.ArgumentParser(prog="python -m engine.bench", description=__doc__.split("\n")[0])
    ap.add_argument("corpus", nargs="?", help="corpus (default: shared tinyshakespeare)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--seconds", type=float, default=0.4,
                    help="per mode per round (short: the machine's load drifts over seconds)")
    ap.add_argument("--processes", action="store_true", help="also time whole processes")
    ap.add_argument("--process-iters", type=int, default=6000)
    ap.add_argument("--rss-mb", type=int, default=0, metavar="MB",
                    help="also train on a generated MB-sized corpus and report peak RSS")
    args = ap.parse_args(argv)
    path = Path(args.corpus) if args.corpus else default_corpus()
    corpus = load_corpus(path)
    text = corpus.text(0, len(corpus))
    print(f"corpus {path} ({len(corpus)} chars, vocab {corpus.vocab_size}); "
          f"numpy {np.__version__}; "
          f"hidden 100, seq_length 25, float64, batch 1; pid {os.getpid()}")

    agree = agreement(text, args.seed, 600)
    n, first = agree["iters"], agree["default_first_over_1e9"]
    print(f"agreement with the original loop over {n} iterations:\n"
          f"  exact mode: bit for bit on {agree['exact_equal']}/{n} losses "
          f"(weights equal: {agree['exact_weights_equal']})\n"
          f"  fast arithmetic, each window from the original's state: per-window loss within "
          f"{agree['fast_window_rel']:.1e} relative\n"
          f"  default mode, free run: bit for bit on {agree['warmup_equal']}/{EXACT_WARMUP} "
          f"warm-up iterations; per-window loss first off by > 1e-9 at "
          f"{'no iteration' if first is None else f'iteration {first}'} (chaos, see README)")

    rates = training_rates(text, args.seed, args.rounds, args.seconds)
    print(f"training, iterations/s, {args.rounds} interleaved rounds (median; wall clock, and per "
          f"CPU second of the training thread, which a busy neighbour does not distort):")
    for name, pairs in rates.items():
        wall = statistics.median(w for w, _ in pairs)
        cpu = statistics.median(c for _, c in pairs)
        best = max(w for w, _ in pairs)
        print(f"  {name:6s} wall {wall:7.0f}   cpu {cpu:7.0f}   best round {best:7.0f}")
    for name, bar in (("fast", 4.5), ("exact", 2.4)):
        by_round = [m[0] / p[0] for m, p in zip(rates[name], rates["plain"])]
        cpu_ratio = (statistics.median(c for _, c in rates[name])
                     / statistics.median(c for _, c in rates["plain"]))
        # best rounds: each mode at its quietest moment (the plain loop gains more from quiet)
        best_ratio = max(w for w, _ in rates[name]) / max(w for w, _ in rates["plain"])
        print(f"  ratio {name}/plain: wall {statistics.median(by_round):.2f}x (median of per-round "
              f"ratios; rounds {min(by_round):.2f}-{max(by_round):.2f}x), cpu {cpu_ratio:.2f}x, "
              f"best rounds {best_ratio:.2f}x   (bar {bar}x)")

    plain_cps, fast_cps, ratio, same = sampling_rates(text, args.seed, 10_000, 7)
    print(f"sampling 10000 chars, 7 interleaved rounds: plain {plain_cps:.0f} chars/s, engine "
          f"{fast_cps:.0f} chars/s, ratio {ratio:.2f}x (median of per-round ratios; bar 2.5x); "
          f"same text from the same stream: {same}")

    if args.rss_mb:
        size, rss, seconds = peak_rss(args.rss_mb, text)
        print(f"large corpus: {size / 2**20:.0f} MiB file, 200 iterations headless: peak RSS "
              f"{rss:.0f} MiB = {rss * 2**20 / size:.2f}x the file (bar ~3x), {seconds:.1f} s "
              f"including the load")

    if args.processes:
        times = process_times(path, args.process_iters, 3)
        tmed = {k: statistics.median(v) for k, v in times.items()}
        print(f"whole process, {args.process_iters} iterations, startup included "
              f"(median of 3, seconds): " + ", ".join(f"{k} {v:.2f}" for k, v in tmed.items()))
        default = tmed["plain-default-threads"]
        print(f"  ratio fast/plain  {tmed['plain'] / tmed['fast']:.2f}x   (bar 3.5x); against the "
              f"plain loop with default BLAS threads {default / tmed['fast']:.2f}x")
        print(f"  ratio exact/plain {tmed['plain'] / tmed['exact']:.2f}x   (bar 2x); against the "
              f"plain loop with default BLAS threads {default / tmed['exact']:.2f}x")
    return 0
