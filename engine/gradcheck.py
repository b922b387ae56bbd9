"""Numerical against analytic gradients of one window, with clipping off (float64)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import PARAM_NAMES, RNN, FlatParams


@dataclass(frozen=True)
class GradCheckResult:
    name: str
    max_rel_error: float
    checked: int  # entries compared

    def passed(self, tol: float = 1e-6) -> bool:
        return self.max_rel_error < tol


def gradient_check(model: RNN, inputs, targets, hprev, exact: bool = False,
                   entries_per_param: int = 20, delta: float = 1e-5,
                   rng: np.random.RandomState | None = None) -> list[GradCheckResult]:
    """Central differences on random entries of each parameter; the model is left unchanged.

    Relative error is |num - ana| / max(|num| + |ana|, 1e-12), with the loss in float64.
    """
    rng = rng or np.random.RandomState(0)
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    hprev = np.array(hprev, dtype=np.float64)
    grads = FlatParams(model.vocab_size, model.hidden_size)
    model.loss_and_grads(inputs, targets, hprev, grads, exact=exact, clip=None)
    scratch = FlatParams(model.vocab_size, model.hidden_size)
    flat = model.params.flat
    results = []
    for name, sl in zip(PARAM_NAMES, model.params.slices):
        size = sl.stop - sl.start
        picks = rng.choice(size, size=min(entries_per_param, size), replace=False) + sl.start
        worst = 0.0
        for i in picks:
            old = flat[i]
            flat[i] = old + delta
            plus = model.loss_and_grads(inputs, targets, hprev, scratch, exact=exact, clip=None)
            flat[i] = old - delta
            minus = model.loss_and_grads(inputs, targets, hprev, scratch, exact=exact, clip=None)
            flat[i] = old
            numerical = (plus - minus) / (2 * delta)
            analytic = grads.flat[i]
            denom = max(abs(numerical) + abs(analytic), 1e-12)
            worst = max(worst, abs(numerical - analytic) / denom)
        results.append(GradCheckResult(name, worst, len(picks)))
    return results
