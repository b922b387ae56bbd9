"""The small numeric rules every reader of a loss shares: the smoothing, the average, nats to bits.

Two averages of the window loss, each with one home here:

- `smoothed`: the original's `0.999 * s + 0.001 * loss`, started at the uniform loss. It is what
  `iter N, loss: X` prints, in the original's arithmetic, and it stays exactly that.
- `DebiasedAverage`: what the screens show. An exponential average bias-corrected as Adam's
  moments are, so its first value is the first window's loss and nothing drifts toward a
  starting value; its weight per step is chosen per model (`average_weight`) so that it always
  averages over about the last HORIZON_CHARS characters, whatever the batch and window. For
  min-char-rnn (25 characters a step) that is the original's 0.999, debiased.
"""

from __future__ import annotations

import math

import numpy as np

LN2 = math.log(2.0)
SMOOTHING = 0.999  # the original's smoothed loss: 0.999 * s + 0.001 * loss
# the average's horizon in characters: the original's 1000 windows of 25 characters
HORIZON_CHARS = 25_000


def smoothed(previous: float, loss: float) -> float:
    """One step of the original's exponential smoothing, in its exact arithmetic order."""
    return previous * 0.999 + loss * 0.001


def bits(nats: float):
    """Nats to bits (works on floats and numpy arrays alike)."""
    return nats / LN2


def average_weight(chars_per_step: int) -> float:
    """The weight on the old average when a step reads `chars_per_step` characters, so that the
    average spans about HORIZON_CHARS characters (0: a step reads more than that alone)."""
    return max(0.0, 1.0 - chars_per_step / HORIZON_CHARS)


def horizon_chars(chars_per_step: int) -> int:
    """How many characters the average spans at that step size (what the screens say)."""
    return max(HORIZON_CHARS, chars_per_step)


class DebiasedAverage:
    """An exponential moving average with a bias correction, one value at a time.

    After values y_1..y_k with weights w_1..w_k it is
    m_k / c_k, with m_k = w_k m_(k-1) + (1 - w_k) y_k and c_k = w_k c_(k-1) + (1 - w_k),
    m_0 = c_0 = 0: for a constant weight w, c_k = 1 - w^k (Adam's correction), and a weight
    that changes between steps (a seq length edited live) stays correct. Non-finite values
    are skipped. nan until the first value.
    """

    __slots__ = ("_m", "_c", "count")

    def __init__(self) -> None:
        self._m = 0.0
        self._c = 0.0
        self.count = 0  # finite values taken

    def add(self, value: float, weight: float) -> float:
        """Take `value` with `weight` on the old average (0 <= weight < 1); returns the average."""
        if math.isfinite(value):
            self._m = weight * self._m + (1.0 - weight) * value
            self._c = weight * self._c + (1.0 - weight)
            self.count += 1
        return self.value

    @property
    def value(self) -> float:
        return self._m / self._c if self._c > 0.0 else math.nan


def ema_debiased(values: np.ndarray, weight: float) -> np.ndarray:
    """DebiasedAverage over a series at one weight: point k is
    sum_j w^(k-j) (1-w) y_j / (1 - w^(n_k)), over the n_k finite points so far, so the first
    points are neither dragged toward zero nor toward the first value. Non-finite points
    stay nan and do not count. weight 0 returns the values."""
    values = np.asarray(values, dtype=float)
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    out = np.full(values.shape, math.nan)
    average = DebiasedAverage()
    for i, v in enumerate(values.tolist()):
        if math.isfinite(v):
            out[i] = average.add(v, weight)
    return out
