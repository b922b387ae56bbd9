"""The model family's bars: `python -m engine.bench quality` and `... throughput`.

quality     trains each preset for a budget of CPU-seconds (one BLAS thread) on the corpus (the
            shared tinyshakespeare by default), the first 90% for training, and prints the
            validation loss in nats/char at 30/60/120/180 s (and 600 s with --budget 600),
            read over the whole last 10% from a zero state with the state carried, as a new
            text is read. A preset's cooldown runs over the budget, so the marks before its
            last share read a constant-rate run, and a bar is read at the budget's end.
            Evaluation time is not counted. Each preset runs in a process of its own, so its
            peak RSS is its own; a preset whose validation reads worse than uniform guessing
            (ln V) after its first 30 s is reported as diverged.
throughput  training characters per CPU-second of each cell at float32 and float64 (hidden 256,
            batch 32, seq 64; the LSTM and GRU with 2 layers), beside min-char-rnn's default in
            the same run, in interleaved rounds; the bars are ratios to min-char-rnn, so another
            CPU reads them the same way.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from ..config import Config
from ..data import load_corpus
from ..presets import DEFAULT_PRESET, PRESETS, preset
from ..schedule import cooldown_factor
from ..trainer import Diverged, Trainer

MARKS = (30, 60, 120, 180, 600)
BEST_PRESET = "gru-2x256"  # the preset that wins the quality table (README)
QUALITY_BARS = {180: 1.65, 600: 1.50}  # nats/char by budget: ahead of every baseline
# throughput bars as ratios to min-char-rnn's chars/CPU-s (measured: 65k and 11k against 89k)
THROUGHPUT_BARS = {("rnn", "float32"): 65 / 89, ("lstm", "float32"): 11 / 89}


def _quality_run(corpus_path: str, name: str, budget: float, seed: int) -> None:
    """One preset's run, in this process: one JSON line per mark on stdout."""
    corpus = load_corpus(corpus_path)
    config = preset(name).config(seed=seed, sample_every=0, val_fraction=0.1,
                                 eval_every=10**12)
    trainer = Trainer(corpus, config)
    val = trainer._val
    uniform = math.log(corpus.vocab_size)
    cpu, marks = 0.0, [m for m in MARKS if m < budget] + [budget]  # the cooldown ends there
    step = trainer.step
    while marks:
        t0 = time.process_time()
        # the preset's cooldown runs over this budget of CPU-seconds (engine/schedule.py)
        trainer.lr_scale = cooldown_factor(config.cooldown, cpu, budget)
        try:
            for _ in range(8):
                step()
        except Diverged as exc:
            print(json.dumps({"mark": marks[0], "diverged": str(exc)}), flush=True)
            return
        cpu += time.process_time() - t0
        if cpu >= marks[0]:
            mark = marks.pop(0)
            nats = trainer.evaluate_text(val)
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            print(json.dumps({
                "mark": mark, "val": nats, "chars": trainer.chars_seen,
                "cps": trainer.chars_seen / cpu, "rss_mb": rss, "lr_scale": trainer.lr_scale,
                "diverged": (f"validation {nats:.3f} nats/char is worse than uniform guessing "
                             f"({uniform:.3f})") if mark > 30 and nats > uniform else None,
            }), flush=True)


def quality(corpus_path: str, names: list[str], budget: float, seed: int) -> int:
    rows = {}
    for name in names:
        proc = subprocess.run(
            [sys.executable, "-m", "engine.bench", "quality-run", corpus_path, name,
             str(budget), str(seed)], capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{name}: failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        rows[name] = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
        marks = rows[name]
        shown = "  ".join(f"{m['mark']:g}s {m['val']:.3f}" if "val" in m
                          else f"{m['mark']:g}s diverged" for m in marks)
        last = marks[-1]
        print(f"{name:14s} {shown}   {last.get('cps', 0):,.0f} chars/CPU-s, peak RSS "
              f"{last.get('rss_mb', 0):.0f} MiB"
              + "".join(f"\n  DIVERGED: {m['diverged']}" for m in marks if m.get("diverged")),
              flush=True)
    if BEST_PRESET in rows:
        # a bar is a budget's: earlier marks of a longer run are read before its cooldown
        got = {m["mark"]: m.get("val") for m in rows[BEST_PRESET]}
        bar, val = QUALITY_BARS.get(budget), got.get(budget)
        if bar is not None and val is not None:
            print(f"bar: {BEST_PRESET} with a budget of {budget:g} CPU-s {val:.3f} nats/char "
                  f"(bar <= {bar}): {'met' if val <= bar else 'NOT met'}")
    return 0


THROUGHPUT_CASES = [("min-char-rnn", dict())] + [
    (f"{cell} {'2x' if cell != 'rnn' else ''}256 {dtype}",
     dict(cell=cell, hidden_size=256, layers=1 if cell == "rnn" else 2, batch=32,
          seq_length=64, optimizer="adam", dtype=dtype))
    for cell in ("rnn", "lstm", "gru") for dtype in ("float32", "float64")]


def throughput(corpus_path: str, rounds: int, seconds: float, seed: int) -> int:
    corpus = load_corpus(corpus_path)
    trainers = {name: Trainer(corpus, Config(seed=seed, sample_every=0, val_fraction=0.0,
                                             **fields))
                for name, fields in THROUGHPUT_CASES}
    for trainer in trainers.values():  # the warm-up (min-char-rnn's exact iterations) is out
        for _ in range(201 if trainer.config.is_min_char_rnn else 2):
            trainer.step()
    rates: dict[str, list[float]] = {name: [] for name in trainers}
    for r in range(rounds):
        order = list(trainers) if r % 2 == 0 else list(reversed(trainers))
        for name in order:
            trainer = trainers[name]
            c0, chars0 = time.process_time(), trainer.chars_seen
            while time.process_time() - c0 < seconds:
                trainer.step()
            rates[name].append((trainer.chars_seen - chars0) / (time.process_time() - c0))
    base = statistics.median(rates["min-char-rnn"])
    print(f"training chars per CPU-second, one BLAS thread, {rounds} interleaved rounds of "
          f"{seconds:g} s (median); ratios to min-char-rnn's {base:,.0f}:")
    for (name, fields), (_, values) in zip(THROUGHPUT_CASES, rates.items()):
        cps = statistics.median(values)
        key = (fields.get("cell"), fields.get("dtype"))
        bar = THROUGHPUT_BARS.get(key)
        verdict = "" if bar is None else (f"   bar {bar:.3f}x ({bar * 89:.0f}k on the issue's "
                                          f"CPU): {'met' if cps / base >= bar else 'NOT met'}")
        print(f"  {name:18s} {cps:9,.0f}   {cps / base:6.3f}x{verdict}")
    return 0


def main(argv: list[str]) -> int:
    """Dispatched from engine.bench for its `quality`, `quality-run` and `throughput` modes."""
    from .speed import default_corpus

    mode, rest = argv[0], argv[1:]
    if mode == "quality-run":
        corpus_path, name, budget, seed = rest
        _quality_run(corpus_path, name, float(budget), int(seed))
        return 0
    ap = argparse.ArgumentParser(prog=f"python -m engine.bench {mode}",
                                 description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="?", help="corpus (default: shared tinyshakespeare)")
    ap.add_argument("--seed", type=int, default=1)
    if mode == "quality":
        ap.add_argument("--budget", type=float, default=180, help="CPU-seconds (180 or 600)")
        ap.add_argument("--models", default=f"{BEST_PRESET},{DEFAULT_PRESET}",
                        help=f"comma-separated presets (of {', '.join(PRESETS)})")
    else:
        ap.add_argument("--rounds", type=int, default=5)
        ap.add_argument("--seconds", type=float, default=2.0)
    args = ap.parse_args(rest)
    path = str(Path(args.corpus) if args.corpus else default_corpus())
    print(f"corpus {path}; pid {os.getpid()}", flush=True)
    if mode == "quality":
        return quality(path, [n.strip() for n in args.models.split(",")], args.budget,
                       args.seed)
    return throughput(path, args.rounds, args.seconds, args.seed)
