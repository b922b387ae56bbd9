"""The training loop of min-char-rnn as an object: data walk, loss, Adagrad, periodic samples.

`Trainer.step()` is exactly one iteration of the original `while True:` body, in its order:
reset at the end of the data (or on the first iteration), take a window, sample every
`sample_every` iterations, loss and gradients, smoothed loss, Adagrad update, advance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .config import Config
from .data import Corpus, CorpusError
from .model import PARAM_NAMES, RNN, FlatParams
from .optim import EPS, Adagrad
from .units import bits, smoothed

ROLLBACK_EVERY = 100  # iterations between in-memory copies of the last good state
DIVERGENCE_FACTOR = 100.0  # a window loss this many times uniform guessing's is divergence
# The default mode's first iterations use the original's arithmetic. While Adagrad's memory is
# near zero it divides by ~sqrt(1e-8), so any other rounding leaves the original's trace within
# 6-20 iterations; from iteration 200 on the same rounding takes hundreds (README, "Exact and
# fast arithmetic"). 200 iterations cost ~40 ms more than fast arithmetic.
EXACT_WARMUP = 200


class Diverged(RuntimeError):
    """The loss became non-finite (or absurd); the last good parameters have been restored."""


@dataclass(frozen=True)
class StepResult:
    """What one iteration produced; cheap enough to make every step."""

    iteration: int  # n of this step, from 0
    loss: float  # summed cross-entropy over the window (nats)
    smooth_loss: float  # 0.999 * s + 0.001 * loss
    position: int  # p: start of this step's window in the corpus
    sample: str | None  # the periodic sample taken before this step, if one was due
    val_bits: float | None = None  # validation bits/char, when this step evaluated


@dataclass(frozen=True)
class TrainStats:
    """A full picture of the latest step, computed on demand (tens of microseconds)."""

    iteration: int  # iterations completed
    loss: float
    smooth_loss: float
    seq_length: int
    position: int  # p of the next window
    epoch: int  # completed passes over the data
    chars_seen: int
    learning_rate: float
    grad_norm: tuple[float, ...]  # per parameter, in PARAM_NAMES order (after clipping)
    mem_norm: tuple[float, ...]  # Adagrad memory
    param_norm: tuple[float, ...]
    step_median: tuple[float, ...]  # median of lr / sqrt(mem + 1e-8)
    clipped_fraction: float  # share of gradient entries at the clip bound
    clipped_by_param: tuple[float, ...]
    train_chars: int  # length of the training part of the corpus
    val_bits: float | None  # latest validation bits/char (None without a validation split)


@dataclass(frozen=True)
class WindowView:
    """The last training window as read-only copies: what the inspection views draw."""

    iteration: int  # the step that ran this window
    inputs: tuple[int, ...]
    targets: tuple[int, ...]
    losses: np.ndarray  # (T,) -log p(target) per position, nats
    probs: np.ndarray  # (T, V) the model's distribution at each position
    hidden: np.ndarray  # (T, H) h_t after each input
    clipped: tuple[int, ...]  # entries of each parameter's gradient at the clip bound


class LastWindow(NamedTuple):
    """What the last step read and where it started: kept for the views and the gradient check.

    `h_start` is a copy of the hidden state the window started from (H floats per step: cheap);
    the window's outputs (probabilities, losses, hidden states) stay in the model's workspace,
    see `Trainer.window_view`. A NamedTuple, not a dataclass: it is built on every step.
    """

    iteration: int  # the step that ran this window
    inputs: np.ndarray  # (T,) indices: a view of the training data, never written
    targets: np.ndarray
    h_start: np.ndarray  # (H,) hprev before the step


def fresh_seed() -> int:
    """A seed from OS entropy, recorded so that an unseeded run can be repeated."""
    return int(np.random.SeedSequence().entropy % (2**32))


def sampling_rng(seed: int) -> np.random.RandomState:
    """The stream for on-demand samples, apart from the periodic one so traces stay comparable."""
    return np.random.RandomState(np.random.SeedSequence([seed, 1]).generate_state(1)[0])


class Trainer:
    """One model, its optimizer state and its walk over one corpus."""

    def __init__(self, corpus: Corpus, config: Config) -> None:
        if config.seed is None:
            config = config.with_changes(seed=fresh_seed())
        check_fits(corpus, config)
        self.corpus = corpus
        self.config = config
        V, H = corpus.vocab_size, config.hidden_size
        # one stream, as the original's global np.random: weights first, then periodic samples
        self.rng = np.random.RandomState(config.seed)
        self.model = RNN.initialised(V, H, self.rng)
        self.sample_rng = sampling_rng(config.seed)
        self.grads = FlatParams(V, H)
        self.optimizer = Adagrad(V, H)
        self.hprev = np.zeros(H)
        self.n = 0
        self.p = 0
        self.epoch = 0
        self.chars_seen = 0
        self.last_loss = math.nan
        self.smooth_loss = float(-np.log(1.0 / V) * config.seq_length)
        self._split(config)
        self._evaluator = self.model.sharing_params()
        self.val_history: list[tuple[int, float]] = []
        self.last_window: LastWindow | None = None  # None until the first step
        self._rollback: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self.keep_rollback()

    # -- the loop body -------------------------------------------------------------------

    def step(self) -> StepResult:
        """One iteration of the original loop; raises Diverged on a non-finite loss."""
        cfg, T = self.config, self.config.seq_length
        p, inputs, targets, reset = self.next_window()
        if reset:
            if self.n > 0:
                self.epoch += 1
            self.hprev[...] = 0.0
            self.p = 0
        sample = None
        if cfg.sample_every and self.n % cfg.sample_every == 0:
            sample = self._sample_text(self.hprev, int(inputs[0]), cfg.sample_length, self.rng)
        exact = self.exact_at(self.n)
        h_start = self.hprev.copy()
        loss = self.model.loss_and_grads(inputs, targets, self.hprev, self.grads,
                                         exact=exact, clip=cfg.clip)
        if exact and not cfg.exact and not math.isfinite(loss):
            # the warm-up's unshifted softmax overflowed: the default mode's is stable
            exact = False
            loss = self.model.loss_and_grads(inputs, targets, self.hprev, self.grads,
                                             exact=False, clip=cfg.clip)
        if not (loss <= self.loss_ceiling()):  # also catches nan
            if not math.isfinite(loss):
                why = "exp overflowed in the exact softmax" if exact else "overflow"
            else:
                why = f"over {DIVERGENCE_FACTOR:g} times the loss of uniform guessing"
            restored = self.roll_back()
            raise Diverged(f"loss {loss:.6g} at iteration {self.n} ({why}); restored the "
                           f"parameters of iteration {restored}: lower the learning rate")
        self.smooth_loss = smoothed(self.smooth_loss, loss)
        self.last_loss = loss
        self.optimizer.update(self.model.params, self.grads, cfg.learning_rate, exact)
        self.hprev[...] = self.model.h_last
        self.p += T
        self.n += 1
        self.chars_seen += T
        self.last_window = LastWindow(self.n - 1, inputs, targets, h_start)
        if self.n % ROLLBACK_EVERY == 0:
            self.keep_rollback()
        val_bits = None
        if self._val is not None and (self.n - 1) % cfg.eval_every == 0:
            val_bits = self.evaluate()
            self.val_history.append((self.n - 1, val_bits))
        return StepResult(self.n - 1, loss, self.smooth_loss, p, sample, val_bits)

    def next_window(self) -> tuple[int, np.ndarray, np.ndarray, bool]:
        """Where the next step reads: (p, inputs, targets, reset). On reset (the first step, or
        too little data left) it starts over at 0 from h = 0, as the original does."""
        T, data = self.config.seq_length, self._data
        reset = self.n == 0 or self.p + T + 1 >= data.shape[0]
        p = 0 if reset else self.p
        return p, data[p:p + T], data[p + 1:p + T + 1], reset

    def exact_at(self, iteration: int) -> bool:
        """Whether that iteration uses the original's arithmetic (--exact, or the warm-up)."""
        return self.config.exact or iteration < EXACT_WARMUP

    # -- validation ----------------------------------------------------------------------

    def _split(self, config: Config) -> None:
        """Train on the first 1-F of the corpus; hold out the rest (F = 0: the whole text)."""
        n = len(self.corpus)
        cut = n - int(round(config.val_fraction * n)) if config.val_fraction else n
        self._data = self.corpus.ix[:cut]
        self._val = self.corpus.ix[cut:] if cut < n else None

    def evaluate(self, segments: int = 8, windows: int = 8) -> float:
        """Validation loss in bits/char on a fixed sample of the held-out text.

        `segments` evenly spaced stretches, each read like training reads (the hidden state
        carried from window to window) starting from a copy of the current training hidden
        state, with one unscored warm-up window first. Not from h = 0: the model learns to lean
        on saturated units latched in its carried state and is several bits/char worse from a
        cold h = 0 for hundreds of characters (measured on the bundled verse corpus).
        Forward passes only, on a model sharing the weights: training state is untouched.
        """
        val, T = self._val, self.config.seq_length
        span = min((windows + 1) * T, len(val) - 1)  # the stretch one segment reads
        starts = np.unique(np.linspace(0, len(val) - 1 - span, num=segments).astype(np.int64))
        model, total, scored = self._evaluator, 0.0, 0
        for s in starts.tolist():
            h = self.hprev.copy()
            for k, w in enumerate(range(s, s + span - T + 1, T)):
                loss = model.forward(val[w:w + T], val[w + 1:w + T + 1], h)
                h = model.h_last.copy()
                if k or span < 2 * T:  # the first window only warms h up (if there is room)
                    total += loss
                    scored += T
        return bits(total / scored)

    def window_view(self) -> WindowView | None:
        """Copies of the last window's per-position losses, probabilities and hidden states.

        They are read from the trainer's model workspace, which holds the last training window
        because nothing else runs forward on that model between steps: `evaluate` uses its own
        model sharing the weights, `engine.gradcheck.check_trainer` a `sharing_params()` model,
        and sampling keeps its own vectors (tests/test_model.py checks all three). Copying the
        probabilities (T x V) on every step instead would slow `step`; this copies on demand.
        """
        if self.last_window is None:
            return None
        n, inputs, targets, _ = self.last_window
        ws = self.model.workspace(len(inputs))
        ps = ws.ps.copy()
        losses = ws.losses.copy()  # -log p(target) per position, as forward computed it
        hidden = ws.hs[1:].copy()
        clip = self.config.clip
        clipped = tuple(int(np.count_nonzero(np.abs(g) >= clip)) for g in self.grads.segments())
        for a in (ps, losses, hidden):
            a.setflags(write=False)
        return WindowView(n, tuple(inputs.tolist()), tuple(targets.tolist()), losses, ps, hidden,
                          clipped)

    def loss_ceiling(self) -> float:
        """Window losses above this are divergence (uniform guessing scores T ln V)."""
        return loss_ceiling(self.corpus.vocab_size, self.config.seq_length)

    def keep_rollback(self) -> None:
        """Remember the current parameters, memories and hidden state as the last good ones."""
        self._rollback = (self.n, self.model.params.flat.copy(),
                          self.optimizer.mem.flat.copy(), self.hprev.copy())

    def roll_back(self) -> int:
        """Restore the last good parameters, memories and hidden state; returns their iteration."""
        n, params, mem, hprev = self._rollback
        self.model.params.flat[...] = params
        self.optimizer.mem.flat[...] = mem
        self.hprev[...] = hprev
        return n

    # -- steering between steps ----------------------------------------------------------

    def set_config(self, config: Config) -> None:
        """Apply new settings before the next step; the model shape and seed are fixed."""
        if (config.hidden_size, config.seed) != (self.config.hidden_size, self.config.seed):
            raise ValueError("hidden size and seed fix the model; re-initialise to change them")
        check_fits(self.corpus, config)
        self.keep_rollback()  # a bad new setting can be undone to here
        if config.val_fraction != self.config.val_fraction:
            self._split(config)
        self.config = config

    def reset_hidden(self) -> None:
        """The next window starts from h = 0; weights and position stay."""
        self.hprev[...] = 0.0

    def sample(self, length: int | None = None, prime: str | None = None,
               temperature: float | None = None, greedy: bool | None = None) -> str:
        """Text from the current hidden state, without touching training state.

        With a `prime`, the model first reads the prime (from the current hidden state) and
        continues after it. Draws come from a stream of their own, so the periodic samples
        (and a headless trace) are the same whether or not this is called.
        """
        cfg = self.config
        ixes = self.corpus.encode(prime) if prime else [int(self._data[self.p])]
        return self.corpus.decode(self.model.continue_from(
            self.hprev, ixes, cfg.sample_length if length is None else length, self.sample_rng,
            cfg.temperature if temperature is None else temperature,
            cfg.greedy if greedy is None else greedy))

    def _sample_text(self, h, seed_ix: int, length: int, rng) -> str:
        cfg = self.config
        return self.corpus.decode(self.model.sample(h, seed_ix, length, rng, cfg.temperature,
                                                    cfg.greedy))

    # -- what the monitor draws ----------------------------------------------------------

    def stats(self) -> TrainStats:
        cfg = self.config
        g_segs = self.grads.segments()
        m_segs = self.optimizer.mem.segments()
        p_segs = self.model.params.segments()
        lr = cfg.learning_rate
        clipped = [int(np.count_nonzero(np.abs(g) >= cfg.clip)) for g in g_segs]
        sizes = [g.shape[0] for g in g_segs]
        return TrainStats(
            iteration=self.n,
            loss=self.last_loss,
            smooth_loss=self.smooth_loss,
            seq_length=cfg.seq_length,
            position=self.p,
            epoch=self.epoch,
            chars_seen=self.chars_seen,
            learning_rate=lr,
            grad_norm=tuple(_norm(g) for g in g_segs),
            mem_norm=tuple(_norm(m) for m in m_segs),
            param_norm=tuple(_norm(q) for q in p_segs),
            step_median=tuple(lr / math.sqrt(float(np.median(m)) + EPS) for m in m_segs),
            clipped_fraction=sum(clipped) / sum(sizes) if self.n else 0.0,
            clipped_by_param=tuple(c / s for c, s in zip(clipped, sizes)),
            train_chars=len(self._data),
            val_bits=self.val_history[-1][1] if self.val_history else None,
        )


def check_fits(corpus: Corpus, config: Config) -> None:
    """The original needs at least seq_length + 1 characters for one window and its targets;
    with a validation split, so do both parts."""
    need = config.seq_length + 1
    if len(corpus) < need:
        raise CorpusError(f"{corpus.name}: corpus has {len(corpus)} characters; "
                          f"seq length {config.seq_length} needs at least {need}")
    if config.val_fraction:
        held = int(round(config.val_fraction * len(corpus)))
        if held < need or len(corpus) - held < need:
            raise CorpusError(f"{corpus.name}: a validation fraction of {config.val_fraction:g} "
                              f"leaves {len(corpus) - held} training and {held} validation "
                              f"characters; each needs at least {need}")


def loss_ceiling(vocab_size: int, seq_length: int) -> float:
    """The divergence bar: DIVERGENCE_FACTOR times uniform guessing's window loss, T ln V."""
    return DIVERGENCE_FACTOR * seq_length * math.log(max(vocab_size, 2))


def _norm(v: np.ndarray) -> float:
    return math.sqrt(float(np.dot(v, v)))


__all__ = ["EXACT_WARMUP", "PARAM_NAMES", "Diverged", "LastWindow", "StepResult", "TrainStats",
           "Trainer", "WindowView", "check_fits"]
