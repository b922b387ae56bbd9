"""A run's metrics as JSON lines, one record every few iterations, for plotting afterwards."""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from .model import PARAM_NAMES
from .trainer import Trainer
from .units import bits


class MetricsLog:
    """Appends one JSON object per record to `path`; each line is flushed as written."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 - closed in close()
        self._start = time.perf_counter()
        self._last: tuple[float, int] | None = None

    def record(self, trainer: Trainer) -> None:
        s = trainer.stats()
        now = time.perf_counter()
        rate = None
        if self._last is not None and now > self._last[0] and s.iteration > self._last[1]:
            rate = (s.iteration - self._last[1]) / (now - self._last[0])
        self._last = (now, s.iteration)
        entry = {
            "iteration": s.iteration,
            "smooth_loss": s.smooth_loss,
            "loss": s.loss if math.isfinite(s.loss) else None,
            "bits_per_char": bits(s.smooth_loss / s.seq_length),
            "iters_per_s": rate,
            "wall_time": round(now - self._start, 4),
            "learning_rate": s.learning_rate,
            "position": s.position,
            "epoch": s.epoch,
            "clipped_fraction": s.clipped_fraction,
            **{f"grad_norm_{n}": v for n, v in zip(PARAM_NAMES, s.grad_norm)},
            **{f"param_norm_{n}": v for n, v in zip(PARAM_NAMES, s.param_norm)},
            **{f"mem_norm_{n}": v for n, v in zip(PARAM_NAMES, s.mem_norm)},
        }
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()
