"""Adagrad over the flat parameter buffer, as the original: mem += g*g; p -= lr*g/sqrt(mem+1e-8).

Exact mode keeps the original's rounding, (-lr * g) / sqrt(...), which needs two scratch
buffers; fast mode divides first and scales after, one buffer fewer. The update is memory
bound, so the smaller footprint is worth ~5% of a whole training step.
"""

from __future__ import annotations

import numpy as np

from .min_char import FlatParams

EPS = 1e-8


class Adagrad:
    """The memory is min-char-rnn's FlatParams layout, or any buffer holder with `.flat`
    (a Network's `Params`, of any float dtype), passed as `mem`."""

    def __init__(self, vocab_size: int = 0, hidden_size: int = 0, mem=None) -> None:
        self.mem = FlatParams(vocab_size, hidden_size) if mem is None else mem
        self._tmp = np.empty_like(self.mem.flat)
        self._denom: np.ndarray | None = None  # exact mode only, allocated on first use

    def update(self, params: FlatParams, grads: FlatParams, learning_rate: float,
               exact: bool = False) -> None:
        g, mem, tmp = grads.flat, self.mem.flat, self._tmp
        np.multiply(g, g, out=tmp)
        mem += tmp
        if exact:
            if self._denom is None:
                self._denom = np.empty_like(tmp)
            denom = np.add(mem, EPS, out=self._denom)
            np.sqrt(denom, out=denom)
            np.multiply(g, -learning_rate, out=tmp)  # (-lr * g) / sqrt(...), the original's order
            tmp /= denom
        else:
            np.add(mem, EPS, out=tmp)
            np.sqrt(tmp, out=tmp)
            np.divide(g, tmp, out=tmp)
            tmp *= -learning_rate
        params.flat += tmp
