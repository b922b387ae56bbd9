"""Numerical against analytic gradients of one window, with clipping off (float64).

`gradient_check` checks any model on any window; `check_trainer` checks a trainer's model on
the window its last step read, from the hidden state that window started from (what the app's
gradient-check view shows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .model import PARAM_NAMES, RNN, FlatParams

if TYPE_CHECKING:
    from .trainer import Trainer

ENTRIES = 20  # random entries checked per parameter matrix by check_trainer


@dataclass(frozen=True)
class GradCheckResult:
    name: str
    max_rel_error: float  # max over the checked entries of |num - ana| / (|num| + |ana|)
    checked: int  # entries compared
    max_abs_error: float = 0.0
    # per entry: (relative error, absolute error, the numerical estimate's own uncertainty)
    entries: tuple[tuple[float, float, float], ...] = ()

    def passed(self, tol: float = 1e-6) -> bool:
        """Every entry within `tol` relative, or within what finite differences can resolve.

        On a trained model rounding in the many saturated tanh units puts ~1e-10 of noise on
        a difference quotient; an entry whose discrepancy is inside that noise is not a
        failure of the analytic gradient.
        """
        return all(rel < tol or abs_err <= noise for rel, abs_err, noise in self.entries)

    @property
    def within_noise(self) -> int:
        """Entries that passed only because the numerical estimate cannot resolve them."""
        return sum(rel >= 1e-6 and abs_err <= noise for rel, abs_err, noise in self.entries)


def gradient_check(model: RNN, inputs, targets, hprev, exact: bool = False,
                   entries_per_param: int = 20, delta: float = 1e-4,
                   rng: np.random.RandomState | None = None) -> list[GradCheckResult]:
    """Finite differences on random entries of each parameter; the model is left unchanged.

    The numerical gradient is the five-point central difference; its uncertainty is three
    times how far the two three-point estimates (steps delta and 2 delta) disagree, and at
    least the rounding noise of the loss over the step.
    """
    rng = rng or np.random.RandomState(0)
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    hprev = np.array(hprev, dtype=np.float64)
    grads = FlatParams(model.vocab_size, model.hidden_size)
    loss = model.loss_and_grads(inputs, targets, hprev, grads, exact=exact, clip=None)
    flat = model.params.flat
    # rounding noise of a difference quotient: a few ulps of the loss over the step
    floor = 10 * abs(loss) * np.finfo(np.float64).eps / delta

    def loss_at(i: int, value: float) -> float:
        flat[i] = value
        return model.forward(inputs, targets, hprev, exact=exact)

    results = []
    for name, sl in zip(PARAM_NAMES, model.params.slices):
        size = sl.stop - sl.start
        picks = rng.choice(size, size=min(entries_per_param, size), replace=False) + sl.start
        entries = []
        for i in picks:
            old = flat[i]
            n1 = (loss_at(i, old + delta) - loss_at(i, old - delta)) / (2 * delta)
            n2 = (loss_at(i, old + 2 * delta) - loss_at(i, old - 2 * delta)) / (4 * delta)
            flat[i] = old
            numerical = (4 * n1 - n2) / 3
            analytic = grads.flat[i]
            abs_err = abs(numerical - analytic)
            denom = abs(numerical) + abs(analytic)
            noise = max(3 * abs(n1 - n2), floor)
            entries.append((abs_err / denom if denom else 0.0, abs_err, noise))
        results.append(GradCheckResult(
            name, max((e[0] for e in entries), default=0.0), len(entries),
            max((e[1] for e in entries), default=0.0), tuple(entries)))
    return results


@dataclass(frozen=True)
class TrainerCheck:
    """The gradient check of a trainer's model, and which window and hidden state it used."""

    iteration: int  # iterations the trainer had completed
    source: str  # e.g. "the window of iteration 4, from the hidden state it started from"
    results: tuple[GradCheckResult, ...]


def check_trainer(trainer: Trainer, entries_per_param: int = ENTRIES) -> TrainerCheck:
    """Gradient-check the trainer's weights between steps (they are perturbed and restored, so
    never while a step runs) on a model sharing them, with clipping off.

    The window is the last step's (`Trainer.last_window`: its inputs, targets and the copy of
    the hidden state it started from), or the next one if no step of the current window length
    has run yet.
    """
    model = trainer.model.sharing_params()
    last = trainer.last_window
    T = trainer.config.seq_length
    if last is not None and len(last.inputs) == T:
        inputs, targets, hprev = last.inputs, last.targets, last.h_start
        source = (f"the window of iteration {last.iteration}, from the hidden state it "
                  "started from")
        iteration = last.iteration
    else:
        p, inputs, targets, reset = trainer.next_window()
        hprev = np.zeros_like(trainer.hprev) if reset else trainer.hprev.copy()
        source = (f"the next window (position {p}), from "
                  f"{'h = 0' if reset else 'the current hidden state'}")
        iteration = trainer.n
    results = gradient_check(model, inputs, targets, hprev, exact=trainer.exact_at(iteration),
                             entries_per_param=entries_per_param)
    return TrainerCheck(trainer.n, source, tuple(results))
