"""A run's metrics as JSON lines, for plotting and comparing runs afterwards.

One file holds one run (or several, when `--log FILE` is reused: each starts with its header).
Every line is one JSON object with a `kind`:

- `"run"`: the header, written first: run id, start time, corpus name and fingerprint, the
  full `Config`, the model's shape and where its checkpoints go. It makes a log
  self-describing; logs written before it existed have none and still load (`engine.store.runs`).
- `"iter"`: one record every `log_every` iterations (the fields of the first version, plus
  `kind`, `chars_seen`, `loss_bits`, `avg_bits` and `val_bits`).
- `"val"`: a validation pass (`iteration` is the iterations completed when it ran).
- `"sample"`: a periodic sample's iteration and text, at most MAX_SAMPLES per run and
  MAX_SAMPLE_CHARS each, so a long run's log stays small.

Past MAX_RECORDS iteration records a run logs every other one (then every fourth, ...): a log
grows with the logarithm of a run's length, not the length. `pandas.read_json(path,
lines=True)` reads any of these files (a missing field is NaN).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import re
import time
from pathlib import Path

from ..trainer import Trainer
from ..units import bits

LOG_VERSION = 2  # 1: iteration records only, no header
MAX_SAMPLES = 100  # periodic samples kept per run
MAX_SAMPLE_CHARS = 400
KEEP_LOGS = 500  # run logs kept in the user log folder (the newest)
MAX_RECORDS = 20_000  # iteration records before the stride doubles
RUN_ID = re.compile(r"\d{8}-\d{6}-[0-9a-f]{8}")  # engine.store.checkpoint.new_run_id()


def model_shape(trainer: Trainer) -> dict[str, object]:
    """Cell, layers, hidden units and batch: read defensively, since model kinds vary."""
    cfg = trainer.config
    params = getattr(getattr(trainer.model, "params", None), "flat", None)
    return {"cell": getattr(cfg, "cell", "rnn"), "layers": getattr(cfg, "layers", 1),
            "hidden_size": cfg.hidden_size, "batch": getattr(cfg, "batch", 1),
            "vocab_size": trainer.corpus.vocab_size,
            "parameters": None if params is None else int(params.size)}


def _jsonable(value: object) -> object:
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)  # an enum or a path, say


class MetricsLog:
    """Appends one JSON object per record to `path`; each line is flushed as written."""

    def __init__(self, path: str | os.PathLike[str], run: str | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self.run = run if run is not None else _run_in_name(self.path)
        self.started = time.time()
        self._start = time.perf_counter()
        self._last: tuple[float, int] | None = None
        self._headed = False
        self._records = 0
        self._stride = 1  # log every stride-th record that is due
        self._due = 0
        self._samples = 0
        self._vals = 0  # entries of trainer.val_history already written

    @property
    def headed(self) -> bool:
        return self._headed

    def start(self, trainer: Trainer, checkpoints: str | os.PathLike[str] | None = None) -> None:
        """Write the header (once; `record` and `sample` call it too)."""
        if self._headed:
            return
        self._headed = True
        corpus = trainer.corpus
        self._write({
            "kind": "run", "version": LOG_VERSION, "run": self.run,
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "started_unix": round(self.started, 3),
            "corpus": corpus.name, "fingerprint": corpus.fingerprint, "corpus_chars": len(corpus),
            "start_iteration": trainer.n,
            "config": {f.name: _jsonable(getattr(trainer.config, f.name))
                       for f in dataclasses.fields(trainer.config)},
            "model": model_shape(trainer),
            "checkpoints": None if checkpoints is None else str(checkpoints),
        })
        self._vals = len(trainer.val_history)

    def record(self, trainer: Trainer, force: bool = False) -> None:
        """One iteration record (thinned past MAX_RECORDS unless `force`), after any
        validation passes not yet written."""
        self.start(trainer)
        for it, val_bits in trainer.val_history[self._vals:]:
            self._write({"kind": "val", "iteration": it + 1, "val_bits": val_bits})
        self._vals = len(trainer.val_history)
        self._due += 1
        if not force and (self._due - 1) % self._stride:
            return
        s = trainer.stats()
        now = time.perf_counter()
        rate = None
        if self._last is not None and now > self._last[0] and s.iteration > self._last[1]:
            rate = (s.iteration - self._last[1]) / (now - self._last[0])
        self._last = (now, s.iteration)
        loss = s.loss if math.isfinite(s.loss) else None
        entry = {
            "kind": "iter",
            "iteration": s.iteration,
            "smooth_loss": s.smooth_loss,
            "loss": loss,
            "bits_per_char": bits(s.smooth_loss / s.seq_length),
            # what the screens show: the debiased average (engine/units.py), bits/char
            "avg_bits": bits(s.average_loss) if math.isfinite(s.average_loss) else None,
            "loss_bits": None if loss is None else bits(loss / s.seq_length),
            "iters_per_s": rate,
            "wall_time": round(now - self._start, 4),
            "chars_seen": s.chars_seen,
            "learning_rate": s.learning_rate,
            "position": s.position,
            "epoch": s.epoch,
            "clipped_fraction": s.clipped_fraction,
            "val_bits": s.val_bits,
            **{f"grad_norm_{n}": v for n, v in zip(s.param_names, s.grad_norm)},
            **{f"param_norm_{n}": v for n, v in zip(s.param_names, s.param_norm)},
            **{f"mem_norm_{n}": v for n, v in zip(s.param_names, s.mem_norm)},
        }
        self._write(entry)
        self._records += 1
        if self._records % MAX_RECORDS == 0:
            self._stride *= 2

    def sample(self, trainer: Trainer, iteration: int, text: str) -> None:
        """A periodic sample (the first MAX_SAMPLES of the run, cut to MAX_SAMPLE_CHARS)."""
        if self._samples >= MAX_SAMPLES:
            return
        self.start(trainer)
        self._samples += 1
        self._write({"kind": "sample", "iteration": iteration, "text": text[:MAX_SAMPLE_CHARS]})

    def _write(self, entry: dict) -> None:
        self._file.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


def _run_in_name(path: Path) -> str | None:
    m = RUN_ID.match(path.name)
    return m.group(0) if m else None


def prune_logs(folder: str | os.PathLike[str], keep: int) -> list[Path]:
    """Remove all but the newest `keep` run logs (`<run id>-*.jsonl`) in `folder`, oldest
    first; other files are never touched. Returns what was removed."""
    try:
        found = [p for p in Path(folder).iterdir()
                 if p.suffix == ".jsonl" and RUN_ID.match(p.name) and p.is_file()]
    except OSError:
        return []
    found.sort(key=lambda p: p.name, reverse=True)  # run ids sort by start time
    removed = []
    for p in found[keep:]:
        try:
            p.unlink()
        except OSError:
            continue
        removed.append(p)
    return removed
