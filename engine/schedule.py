"""The schedules of a run: the learning rate's cooldown over a budget, validation by time.

Warmup-stable-decay without the warmup (Adam's bias correction already starts it gently):
the rate stays at its setting until the last `cooldown` share of the budget, then falls
linearly to 0 at the budget's end. Before the cooldown nothing differs from a constant rate,
so readings taken along the way are a constant-rate run's; the drop at the end is where the
gain is (measured on tinyshakespeare, README's preset table). The budget is whatever the
driver counts: `engine.loop.run` counts iterations up to its target, `python -m engine.bench
quality` CPU-seconds.

Validation without `--eval-every` runs on training time (`ValidationSchedule`), so a model
at 6 it/s and one at 3000 it/s are both validated every few seconds to a minute, at a small
share of the time, rather than every 1000 iterations (3 minutes of the one, 0.3 s of the other).
"""

from __future__ import annotations

import time
from collections.abc import Callable


def cooldown_factor(cooldown: float, done: float, total: float) -> float:
    """The factor on the learning rate after `done` of a budget of `total` (same unit).

    1 until the last `cooldown` share of the budget, then linear to 0 at `total`; 1 throughout
    when cooldown is 0 or there is no budget (total <= 0)."""
    if cooldown <= 0.0 or total <= 0:
        return 1.0
    left = (total - done) / total  # share of the budget still to go
    return min(1.0, max(0.0, left / cooldown))


# -- validation by training time -------------------------------------------------------------

VALIDATION_SHARE = 0.05  # at most this share of training time goes to validation passes
MIN_VALIDATION_INTERVAL = 10.0  # seconds of training: a fast model is not validated every 0.3 s
MAX_VALIDATION_INTERVAL = 60.0  # seconds of training: a slow model is validated once a minute


def validation_interval(pass_seconds: float) -> float:
    """Seconds of training between passes when one takes `pass_seconds`: 1/VALIDATION_SHARE
    times a pass (so passes take at most that share), at least MIN_VALIDATION_INTERVAL and at
    most MAX_VALIDATION_INTERVAL (which wins for a pass over 3 s: a reading once a minute)."""
    return min(MAX_VALIDATION_INTERVAL,
               max(MIN_VALIDATION_INTERVAL, pass_seconds / VALIDATION_SHARE))


class ValidationSchedule:
    """When a validation pass is due on the time schedule (`Config.eval_every` 0).

    The trainer adds the time each step trains (`trained`) and reports each pass's duration
    (`validated`); pauses and the time between steps do not count. The first pass is due at
    once (the untrained model's reading), the next after `validation_interval` of training.
    `clock` is injectable so tests can drive it.
    """

    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self.clock = clock
        self.since = 0.0  # seconds trained since the last pass
        self.last_pass: float | None = None  # seconds the last pass took (None: none yet)

    @property
    def interval(self) -> float:
        return 0.0 if self.last_pass is None else validation_interval(self.last_pass)

    def trained(self, seconds: float) -> None:
        self.since += seconds

    def due(self) -> bool:
        return self.last_pass is None or self.since >= self.interval

    def validated(self, seconds: float) -> None:
        self.last_pass = seconds
        self.since = 0.0
