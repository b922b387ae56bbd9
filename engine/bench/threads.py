"""`python -m engine.bench threads`: each preset's wall-clock training speed at 1, 2, 4, ...
BLAS threads, up to the cores this process may use.

Each preset trains one model in this process. In every round each (preset, count) gets a
slice of S seconds, the counts in reverse order every other round, so that a drift of the
machine's speed hits every count alike; a count's rate is the median over rounds of training
characters per wall-second (threads spend more CPU to finish sooner: CPU-seconds would hide
what they buy). It prints the rates and their ratios to one thread, and per preset the
default to train it with: the smallest count within 5% of the best, beside the one the
engine uses now (`Preset.threads` in engine/presets.py, where the measured defaults live).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from ..config import MAX_THREADS, ConfigError
from ..data import Corpus, CorpusError, load_corpus
from ..presets import PRESETS, preset
from ..threads import BLAS, PROCESS_THREADS, environment_threads
from ..trainer import EXACT_WARMUP, Trainer
from .corpora import default_corpus

TOLERANCE = 0.05  # the default is the smallest count within this share of the best rate


def counts_up_to(cores: int) -> list[int]:
    """1, 2, 4, ... below `cores`, then `cores` itself (6 cores: 1, 2, 4, 6)."""
    counts, n = [], 1
    while n < cores:
        counts.append(n)
        n *= 2
    return counts + [cores]


def smallest_within(rates: dict[int, float], tolerance: float = TOLERANCE) -> int:
    """The smallest count whose rate is within `tolerance` of the best count's."""
    best = max(rates.values())
    return min(n for n, rate in rates.items() if rate >= (1 - tolerance) * best)


def measure(corpus: Corpus, names: list[str], counts: list[int], rounds: int, seconds: float,
            seed: int) -> dict[str, dict[int, list[float]]]:
    """Training characters per wall-second of each preset at each count, one per round."""
    trainers = {name: Trainer(corpus, preset(name).config(seed=seed, sample_every=0,
                                                          val_fraction=0.0))
                for name in names}
    rates: dict[str, dict[int, list[float]]] = {name: {n: [] for n in counts} for name in names}
    try:
        for trainer in trainers.values():  # first steps allocate (and min-char-rnn's are exact)
            for count in counts:
                BLAS.use(count)
                for _ in range(EXACT_WARMUP + 1 if trainer.config.is_min_char_rnn else 2):
                    trainer.step()
        for r in range(rounds):
            order = counts if r % 2 == 0 else counts[::-1]
            for name, trainer in trainers.items():
                step = trainer.step
                for count in order:
                    BLAS.use(count)
                    chars0, t0 = trainer.chars_seen, time.perf_counter()
                    while time.perf_counter() - t0 < seconds:
                        step()
                    elapsed = time.perf_counter() - t0
                    rates[name][count].append((trainer.chars_seen - chars0) / elapsed)
    finally:
        BLAS.use(PROCESS_THREADS)
    return rates


def report(rates: dict[str, dict[int, list[float]]]) -> list[str]:
    """The table: per preset, each count's median rate and ratio to one thread, the measured
    default and the engine's."""
    counts = list(next(iter(rates.values())))
    head = f"{'preset':14s}" + "".join(
        f"{f'{n} thread' + ('s' if n > 1 else ''):>20s}" for n in counts)
    lines = [head + "   default (engine's)"]
    for name, by_count in rates.items():
        medians = {n: statistics.median(values) for n, values in by_count.items()}
        one = medians[counts[0]]
        cells = "".join(f"{medians[n]:>12,.0f} {medians[n] / one:5.2f}x  " for n in counts)
        chosen, engine = smallest_within(medians), PRESETS[name].threads
        note = "" if chosen == min(engine, max(counts)) else "   differs: see engine/presets.py"
        lines.append(f"{name:14s}{cells} {chosen:>6d} ({engine}){note}")
    return lines


def main(argv: list[str]) -> int:
    """Dispatched from engine.bench for its `threads` mode."""
    ap = argparse.ArgumentParser(prog="python -m engine.bench threads",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", help="corpus (default: shared tinyshakespeare)")
    ap.add_argument("--models", default=",".join(PRESETS),
                    help=f"comma-separated presets (default all: {', '.join(PRESETS)})")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--seconds", type=float, default=2.0,
                    help="per preset, count and round (default 2)")
    ap.add_argument("--max-threads", type=int, default=MAX_THREADS,
                    help=f"the largest count (default: the cores this process may use, "
                         f"{MAX_THREADS})")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv[1:])
    if args.rounds < 1 or not args.seconds > 0 or args.max_threads < 1:
        ap.error("--rounds and --max-threads must be at least 1, --seconds above 0")
    path = Path(args.corpus) if args.corpus else default_corpus()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    try:
        for name in names:
            preset(name)
        corpus = load_corpus(path)
    except (ConfigError, CorpusError) as exc:
        ap.error(str(exc))
    counts = counts_up_to(args.max_threads)
    pinned = environment_threads()
    print(f"corpus {path}; {BLAS.describe()}; {MAX_THREADS} cores for this process; "
          f"pid {os.getpid()}" + (f"; {pinned} in the environment is overridden here"
                                  if pinned else ""), flush=True)
    print(f"training characters per wall-second, median of {args.rounds} interleaved rounds "
          f"of {args.seconds:g} s, and the ratio to one thread; the default is the smallest "
          f"count within {TOLERANCE:.0%} of the best:", flush=True)
    rates = measure(corpus, names, counts, args.rounds, args.seconds, args.seed)
    for line in report(rates):
        print(line)
    return 0
