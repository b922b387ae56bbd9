"""The small numeric rules every reader of a loss shares: the smoothing and nats to bits."""

from __future__ import annotations

import math

LN2 = math.log(2.0)
SMOOTHING = 0.999  # the original's smoothed loss: 0.999 * s + 0.001 * loss


def smoothed(previous: float, loss: float) -> float:
    """One step of the original's exponential smoothing, in its exact arithmetic order."""
    return previous * 0.999 + loss * 0.001


def bits(nats: float):
    """Nats to bits (works on floats and numpy arrays alike)."""
    return nats / LN2
