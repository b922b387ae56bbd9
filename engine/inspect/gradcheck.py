"""Numerical against analytic gradients of one window, with clipping off (float64).

`gradient_check` checks any model on any window; `check_trainer` checks a trainer's model on
the window its last step read, from the hidden state that window started from (what the app's
gradient-check view shows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..nets.min_char import PARAM_NAMES, RNN, FlatParams
from ..nets.network import ModelSpec, Network

if TYPE_CHECKING:
    from ..trainer import Trainer

ENTRIES = 20  # random entries checked per parameter matrix by check_trainer
Progress = Callable[[int, int], bool]  # (entries done, entries in all) -> go on?


class CheckCancelled(Exception):
    """The progress callback asked to stop; the weights are as they were."""


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
                   rng: np.random.RandomState | None = None,
                   progress: Progress | None = None) -> list[GradCheckResult]:
    """Finite differences on random entries of each parameter; the model is left unchanged.

    The numerical gradient is the five-point central difference; its uncertainty is three
    times how far the two three-point estimates (steps delta and 2 delta) disagree, and at
    least the rounding noise of the loss over the step.
    """
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    hprev = np.array(hprev, dtype=np.float64)
    grads = FlatParams(model.vocab_size, model.hidden_size)
    loss = model.loss_and_grads(inputs, targets, hprev, grads, exact=exact, clip=None)
    return _finite_differences(
        model.params.flat, PARAM_NAMES, model.params.slices, grads.flat, loss,
        lambda: model.forward(inputs, targets, hprev, exact=exact),
        entries_per_param, delta, rng, progress)


def gradient_check_network(net: Network, inputs, targets, state,
                           entries_per_param: int = 20, delta: float = 1e-4,
                           rng: np.random.RandomState | None = None,
                           progress: Progress | None = None) -> list[GradCheckResult]:
    """The same check for a Network, on a float64 copy of its weights (a float32 difference
    quotient is noise), without dropout, from a copy of `state`: every parameter of every
    layer. `net` is left unchanged."""
    spec = net.spec
    net64 = Network(net.vocab_size, ModelSpec(spec.cell, spec.hidden_size, spec.layers, 0.0,
                                              "float64"))
    net64.params.flat[...] = net.params.flat
    inputs, targets = np.asarray(inputs), np.asarray(targets)
    start = np.array(state, dtype=np.float64)
    grads = net64.new_grads()
    loss = net64.loss_and_grads(inputs, targets, start.copy(), grads, clip=None, train=False)
    return _finite_differences(
        net64.params.flat, net64.names, net64.params.slices, grads.flat, loss,
        lambda: net64.loss(inputs, targets, start.copy()), entries_per_param, delta, rng,
        progress)


def _finite_differences(flat: np.ndarray, names, slices, analytic: np.ndarray, loss: float,
                        loss_now, entries_per_param: int, delta: float,
                        rng: np.random.RandomState | None,
                        progress: Progress | None = None) -> list[GradCheckResult]:
    """Compare `analytic` with five-point differences of `loss_now()` on random entries of
    each parameter (perturbing `flat` and restoring it). After each entry (restored) it calls
    `progress`; False from it raises CheckCancelled."""
    rng = rng or np.random.RandomState(0)
    total = sum(min(entries_per_param, sl.stop - sl.start) for sl in slices)
    done = 0
    # rounding noise of a difference quotient: a few ulps of the loss over the step
    floor = 10 * abs(loss) * np.finfo(np.float64).eps / delta

    def loss_at(i: int, value: float) -> float:
        flat[i] = value
        return loss_now()

    results = []
    for name, sl in zip(names, slices):
        size = sl.stop - sl.start
        picks = rng.choice(size, size=min(entries_per_param, size), replace=False) + sl.start
        entries = []
        for i in picks:
            old = flat[i]
            n1 = (loss_at(i, old + delta) - loss_at(i, old - delta)) / (2 * delta)
            n2 = (loss_at(i, old + 2 * delta) - loss_at(i, old - 2 * delta)) / (4 * delta)
            flat[i] = old
            done += 1
            if progress is not None and not progress(done, total):
                raise CheckCancelled(f"cancelled after {done} of {total} entries")
            numerical = (4 * n1 - n2) / 3
            abs_err = abs(numerical - analytic[i])
            denom = abs(numerical) + abs(analytic[i])
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


def check_trainer(trainer: Trainer, entries_per_param: int = ENTRIES,
                  progress: Progress | None = None) -> TrainerCheck:
    """Gradient-check the trainer's weights between steps (they are perturbed and restored, so
    never while a step runs) on a model sharing them, with clipping off.

    The window is the last step's (`Trainer.last_window`: its inputs, targets and the copy of
    the hidden state it started from), or the next one if no step of the current window length
    has run yet.
    """
    last = trainer.last_window
    T = trainer.config.seq_length
    if last is not None and len(last.inputs) == T:
        inputs, targets, h_start = last.inputs, last.targets, last.h_start
        source = (f"the window of iteration {last.iteration}, from the hidden state it "
                  "started from")
        iteration = last.iteration
    else:
        p, inputs, targets, reset = trainer.next_window()
        h_start = trainer.state.copy()
        if np.ndim(reset):
            h_start[:, :, reset] = 0.0
            reset = bool(reset.all())
        elif reset:
            h_start[...] = 0.0
        source = (f"the next window (position {np.ravel(p)[0]}), from "
                  f"{'h = 0' if reset else 'the current hidden state'}")
        iteration = trainer.n
    if isinstance(trainer.model, Network):
        results = gradient_check_network(trainer.model, inputs, targets, h_start,
                                         entries_per_param=entries_per_param,
                                         progress=progress)
        source += f"; {trainer.config.batch} streams, in float64, without dropout"
    else:
        results = gradient_check(trainer.model.sharing_params(), inputs, targets, h_start,
                                 exact=trainer.exact_at(iteration),
                                 entries_per_param=entries_per_param, progress=progress)
    return TrainerCheck(trainer.n, source, tuple(results))
