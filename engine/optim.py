"""Adagrad over the flat parameter buffer, as the original: mem += g*g; p -= lr*g/sqrt(mem+1e-8)."""

from __future__ import annotations

import numpy as np

from .model import FlatParams

EPS = 1e-8


class Adagrad:
    def __init__(self, vocab_size: int, hidden_size: int) -> None:
        self.mem = FlatParams(vocab_size, hidden_size)
        n = self.mem.flat.shape[0]
        self._tmp = np.empty(n)
        self._denom = np.empty(n)

    def update(self, params: FlatParams, grads: FlatParams, learning_rate: float) -> None:
        g, mem, tmp, denom = grads.flat, self.mem.flat, self._tmp, self._denom
        np.multiply(g, g, out=tmp)
        mem += tmp
        np.add(mem, EPS, out=denom)
        np.sqrt(denom, out=denom)
        np.multiply(g, -learning_rate, out=tmp)  # (-lr * g) / sqrt(...), the original's order
        tmp /= denom
        params.flat += tmp
