"""The training loop of min-char-rnn as an object: data walk, loss, Adagrad, periodic samples.

`Trainer.step()` is exactly one iteration of the original `while True:` body, in its order:
reset at the end of the data (or on the first iteration), take a window, sample every
`sample_every` iterations, loss and gradients, smoothed loss, Adagrad update, advance. Beside
the original's numbers it keeps what the screens show (`average`, engine/units.py) and, with a
held-out part, validates when due (every `eval_every` iterations, or on training time).

The same loop trains every model (engine/nets/learners.py): with `batch` B > 1, B streams read the
corpus from evenly spaced offsets, each wrapping to 0 with a zero state as the original's
pointer does, and the window loss is the mean over streams of the summed loss over the window.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import memory
from .config import MAX_THREADS, MODEL_FIELDS, Config, ConfigError
from .data import Corpus, CorpusError
from .nets.learners import MinCharLearner, make_learner
from .nets.min_char import PARAM_NAMES
from .schedule import ValidationSchedule
from .threads import threads_for
from .units import DebiasedAverage, average_weight, bits, horizon_chars, smoothed

ROLLBACK_EVERY = 100  # iterations between in-memory copies of the last good state
DIVERGENCE_FACTOR = 100.0  # a window loss this many times uniform guessing's is divergence
# iterations after which a validation loss worse than uniform guessing is divergence (a fresh
# model's first steps can be slightly worse than guessing)
VALIDATION_GRACE = 1000
# The default mode's first iterations use the original's arithmetic. While Adagrad's memory is
# near zero it divides by ~sqrt(1e-8), so any other rounding leaves the original's trace within
# 6-20 iterations; from iteration 200 on the same rounding takes hundreds (README, "Exact and
# fast arithmetic"). 200 iterations cost ~40 ms more than fast arithmetic.
EXACT_WARMUP = 200


class EvaluationStopped(Exception):
    """`Trainer.progress` asked a validation pass to stop."""


class OutOfMemory(MemoryError):
    """A step ran out of memory; the last good parameters have been restored."""


class Diverged(RuntimeError):
    """The loss became non-finite (or absurd); the last good parameters have been restored."""


@dataclass(frozen=True)
class StepResult:
    """What one iteration produced; cheap enough to make every step."""

    iteration: int  # n of this step, from 0
    loss: float  # summed cross-entropy over the window (nats)
    smooth_loss: float  # 0.999 * s + 0.001 * loss
    position: int  # p: start of this step's window in the corpus (stream 0's)
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
    epoch: int  # completed passes over the training text (B streams: B*T characters a step)
    chars_seen: int
    learning_rate: float  # the rate of the latest step: the setting times lr_scale
    grad_norm: tuple[float, ...]  # per parameter, in param_names order (after clipping)
    mem_norm: tuple[float, ...]  # the optimizer's memory (Adagrad's, RMSprop's cache, Adam's v)
    param_norm: tuple[float, ...]
    step_median: tuple[float, ...]  # median effective step (Adagrad: lr / sqrt(mem + 1e-8))
    clipped_fraction: float  # share of gradient entries at the clip bound
    clipped_by_param: tuple[float, ...]
    train_chars: int  # length of the training part of the corpus
    val_bits: float | None  # latest validation bits/char (None without a validation split)
    param_names: tuple[str, ...] = PARAM_NAMES
    optimizer: str = "adagrad"
    memory_label: str = "|mem|"  # what the optimizer's memory is called in the pane
    moment_norm: tuple[float, ...] = ()  # Adam's first moment m per parameter (else empty)
    model: str = ""  # Config.describe_model()
    lr_scale: float = 1.0  # the cooldown's factor on the setting (1: none under way)
    threads: int = 1  # BLAS threads the model trains with (engine/threads.py)
    epoch_progress: float = 0.0  # share of the current pass done, 0 <= share < 1
    # the debiased average of the window loss per character (nats; nan before a step), over
    # about `average_chars` characters (engine.units); what the screens show as "the loss"
    average_loss: float = math.nan
    average_chars: int = 0


@dataclass(frozen=True)
class WindowView:
    """The last training window as read-only copies: what the inspection views draw."""

    iteration: int  # the step that ran this window
    inputs: tuple[int, ...]
    targets: tuple[int, ...]
    losses: np.ndarray  # (T,) -log p(target) per position, nats
    probs: np.ndarray  # (T, V) the model's distribution at each position
    hidden: np.ndarray  # (T, H) h_t after each input (of the top layer)
    clipped: tuple[int, ...]  # entries of each parameter's gradient at the clip bound
    layers: tuple[np.ndarray, ...] = ()  # (T, H) h_t per layer, bottom first (stream 0)
    cells: tuple[np.ndarray, ...] = ()  # (T, H) an LSTM's c_t per layer
    gates: tuple[np.ndarray, ...] = ()  # (T, G, H) gate activations per layer (LSTM, GRU)
    gate_names: str = ""  # one letter per gate, e.g. "ifgo"


class LastWindow(NamedTuple):
    """What the last step read and where it started: kept for the views and the gradient check.

    `h_start` is a copy of the hidden state the window started from (H floats per step: cheap);
    the window's outputs (probabilities, losses, hidden states) stay in the model's workspace,
    see `Trainer.window_view`. A NamedTuple, not a dataclass: it is built on every step.
    """

    iteration: int  # the step that ran this window
    inputs: np.ndarray  # (T,) indices (a view of the training data), or (T, B) for a batch
    targets: np.ndarray
    h_start: np.ndarray  # the carried state before the step: (H,), or (L, S, B, H)


def fresh_seed() -> int:
    """A seed from OS entropy, recorded so that an unseeded run can be repeated."""
    return int(np.random.SeedSequence().entropy % (2**32))


def sampling_rng(seed: int) -> np.random.RandomState:
    """The stream for on-demand samples, apart from the periodic one so traces stay comparable."""
    return np.random.RandomState(np.random.SeedSequence([seed, 1]).generate_state(1)[0])


class Trainer:
    """One model, its optimizer state and its walk over one corpus."""

    def __init__(self, corpus: Corpus, config: Config, *,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        """`clock` times the steps for validation on the time schedule (tests inject one)."""
        if config.seed is None:
            config = config.with_changes(seed=fresh_seed())
        config = settle_val_fraction(corpus, config)
        check_fits(corpus, config)
        self.corpus = corpus
        self.config = config
        V = corpus.vocab_size
        # one stream, as the original's global np.random: weights first, then periodic samples
        # (and a network's dropout masks)
        self.rng = np.random.RandomState(config.seed)
        self.learner = make_learner(V, config, self.rng)
        self.model = self.learner.model
        self.grads = self.learner.grads
        self.optimizer = self.learner.optimizer
        self.sample_rng = sampling_rng(config.seed)
        self.n = 0
        self.p = 0  # stream 0's position (the only one at batch 1)
        self.epoch = 0
        self.chars_seen = 0
        self.last_loss = math.nan
        self.smooth_loss = float(-np.log(1.0 / V) * config.seq_length)
        # what the screens show: the window loss per character, debiased (engine/units.py)
        self.average = DebiasedAverage()
        self._average_weight = average_weight(config.seq_length * config.batch)
        self._split(config)
        self.val_history: list[tuple[int, float]] = []
        # when a pass is due without eval_every: after enough training time (engine/schedule.py)
        self.validation = ValidationSchedule(clock)
        self._pass_chars = 0  # B streams: characters read in the current pass over the text
        self.last_window: LastWindow | None = None  # None until the first step
        self._streams = None if isinstance(self.learner, MinCharLearner) else _Streams(self)
        # told how far a long computation inside a step is (what, done, total); returning
        # False stops it (a validation pass is then skipped): the app shows it, quitting stops it
        self.progress: Callable[[str, int, int], bool] | None = None
        self._rollback: tuple | None = None
        # the schedule's factor on the learning rate (engine/schedule.py), set by whoever
        # counts the budget: engine.loop.run by iterations, the quality benchmark by CPU-seconds
        self.lr_scale = 1.0
        # BLAS threads for this model, which engine.loop.run sets before each step
        self.threads = threads_for(config)
        self.keep_rollback()

    @property
    def hprev(self) -> np.ndarray:
        """The carried hidden state: min-char-rnn's hprev; a network's top layer, stream 0."""
        return self.learner.top_hidden()

    @property
    def state(self) -> np.ndarray:
        """The whole carried state: (H,) for min-char-rnn, (L, S, B, H) for a network."""
        return self.learner.state

    # -- the loop body -------------------------------------------------------------------

    def step(self) -> StepResult:
        """One iteration of the original loop; raises Diverged on a non-finite loss, and
        OutOfMemory (a MemoryError) with the last good state restored, ready to be saved."""
        try:
            return self._step()
        except MemoryError:
            restored = self.roll_back()  # in place: restoring allocates nothing
            raise OutOfMemory(f"out of memory at iteration {self.n}; restored the parameters "
                              f"of iteration {restored}") from None

    def _step(self) -> StepResult:
        cfg, T = self.config, self.config.seq_length
        learner = self.learner
        timed = self._val is not None and not cfg.eval_every  # validation by training time
        if timed:
            started = self.validation.clock()
        if self._streams is None:
            p, inputs, targets, reset = self.next_window()
            if reset:
                if self.n > 0:
                    self.epoch += 1
                learner.reset()
                self.p = 0
        else:
            p = self._streams.take()
            inputs, targets = self._streams.inputs, self._streams.targets
        sample = None
        if cfg.sample_every and self.n % cfg.sample_every == 0:
            seed_ix = int(inputs.flat[0])  # stream 0's first input
            sample = self._sample_text(self._stream0(), seed_ix, cfg.sample_length, self.rng)
        exact = self.exact_at(self.n)
        h_start = learner.state.copy()
        loss, exact = learner.loss_and_grads(inputs, targets, exact, cfg.exact, cfg.clip,
                                             self.rng)
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
        self.average.add(loss / T, self._average_weight)
        learner.update(cfg.learning_rate * self.lr_scale, exact)  # * 1.0 is exact
        if self._streams is None:
            self.p += T
        else:
            self._streams.advance()
            self.p = self._streams.p0
            inputs, targets = inputs.copy(), targets.copy()  # the buffers are reused
        self.n += 1
        self.chars_seen += T * learner.batch
        self.last_window = LastWindow(self.n - 1, inputs, targets, h_start)
        if self.n % ROLLBACK_EVERY == 0:
            self.keep_rollback()
        val_bits = None
        if timed:
            schedule = self.validation
            schedule.trained(schedule.clock() - started)
            due = schedule.due()
        else:
            due = self._val is not None and (self.n - 1) % cfg.eval_every == 0
        if due:
            try:
                if timed:
                    started = schedule.clock()
                val_bits = self.evaluate()
                if timed:
                    schedule.validated(schedule.clock() - started)
            except EvaluationStopped:  # asked to stop (quitting): this step has no validation
                return StepResult(self.n - 1, loss, self.smooth_loss, p, sample, None)
            self.val_history.append((self.n - 1, val_bits))
            uniform = math.log2(max(self.corpus.vocab_size, 2))
            # worse than guessing, past the first iterations (which may be): diverged too
            if self.n > VALIDATION_GRACE and not val_bits <= uniform:
                restored = self.roll_back()
                raise Diverged(f"validation {val_bits:.3f} bits/char at iteration {self.n - 1} "
                               f"is worse than uniform guessing ({uniform:.3f}); restored the "
                               f"parameters of iteration {restored}: lower the learning rate")
        return StepResult(self.n - 1, loss, self.smooth_loss, p, sample, val_bits)

    def next_window(self) -> tuple:
        """Where the next step reads: (p, inputs, targets, reset). On reset (the first step, or
        too little data left) it starts over at 0 from h = 0, as the original does.

        With B streams: (positions (B,), inputs (T, B), targets (T, B), reset (B,) bools),
        copies, and nothing moves."""
        T, data = self.config.seq_length, self._data
        if self._streams is not None:
            return self._streams.peek()
        reset = self.n == 0 or self.p + T + 1 >= data.shape[0]
        p = 0 if reset else self.p
        return p, data[p:p + T], data[p + 1:p + T + 1], reset

    def _stream0(self) -> np.ndarray:
        """Stream 0's carried state, as sampling reads it (min-char-rnn: hprev itself)."""
        state = self.learner.state
        return state if self._streams is None else state[:, :, :1]

    def exact_at(self, iteration: int) -> bool:
        """Whether that iteration uses the original's arithmetic (--exact, or the warm-up)."""
        return self.config.exact or iteration < EXACT_WARMUP

    # -- validation ----------------------------------------------------------------------

    def _split(self, config: Config) -> None:
        """Train on the first 1-F of the corpus; hold out the rest (F = 0: the whole text)."""
        n = len(self.corpus)
        cut = split_point(n, config.val_fraction)
        self._data = self.corpus.ix[:cut]
        self._val = self.corpus.ix[cut:] if cut < n else None

    def evaluate(self, segments: int = 8, windows: int = 8) -> float:
        """Validation loss in bits/char on a fixed sample of the held-out text.

        `segments` evenly spaced stretches, each read like training reads (the hidden state
        carried from window to window) starting from a copy of the current training hidden
        state (stream 0's), with one unscored warm-up window first. Not from h = 0: the model
        learns to lean on saturated units latched in its carried state and is several bits/char
        worse from a cold h = 0 for hundreds of characters (measured on the bundled verse
        corpus). Forward passes only, on a model sharing the weights: training state is
        untouched.
        """
        val, T = self._val, self.config.seq_length
        span = min((windows + 1) * T, len(val) - 1)  # the stretch one segment reads
        starts = np.unique(np.linspace(0, len(val) - 1 - span, num=segments).astype(np.int64))
        total, scored = 0.0, 0
        progress, count = self.progress, len(range(0, span - T + 1, T))
        for j, s in enumerate(starts.tolist()):
            h = self.learner.one_stream()
            for k, w in enumerate(range(s, s + span - T + 1, T)):
                loss = self.learner.eval_window(val[w:w + T], val[w + 1:w + T + 1], h)
                if k or span < 2 * T:  # the first window only warms h up (if there is room)
                    total += loss
                    scored += T
                if progress is not None and not progress(
                        "validation", j * count + k + 1, len(starts) * count):
                    raise EvaluationStopped
        return bits(total / scored)

    def evaluate_text(self, ix: np.ndarray, chunk: int = 256) -> float:
        """Mean nats per predicted character over all of `ix`, read from a zero state as a new
        text starts, the state carried from chunk to chunk (the benchmark's validation)."""
        n = len(ix) - 1
        if n < 1:
            raise ValueError("evaluate_text needs at least two characters")
        h, total = self.learner.zero_stream(), 0.0
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            total += self.learner.eval_window(ix[start:stop], ix[start + 1:stop + 1], h)
        return total / n

    def window_view(self) -> WindowView | None:
        """Copies of the last window's per-position losses, probabilities and hidden states.

        They are read from the trainer's model workspace, which holds the last training window
        because nothing else runs forward on that model between steps: `evaluate` uses its own
        model sharing the weights, `inspect.gradcheck.check_trainer` a `sharing_params()` model,
        and sampling keeps its own vectors (tests/test_model.py checks all three). Copying the
        probabilities (T x V) on every step instead would slow `step`; this copies on demand.
        With a batch, the views show stream 0.
        """
        if self.last_window is None:
            return None
        n = self.last_window.iteration
        clip = self.config.clip
        clipped = tuple(int(np.count_nonzero(np.abs(g) >= clip)) for g in self.grads.segments())
        if self._streams is not None:
            record = self.model.window_record(stream=0)  # the views show stream 0 only
            return None if record is None else _network_view(n, record, clipped,
                                                              self.config.cell)
        inputs, targets = self.last_window.inputs, self.last_window.targets
        ws = self.model.workspace(len(inputs))
        ps = ws.ps.copy()
        losses = ws.losses.copy()  # -log p(target) per position, as forward computed it
        hidden = ws.hs[1:].copy()
        for a in (ps, losses, hidden):
            a.setflags(write=False)
        return WindowView(n, tuple(inputs.tolist()), tuple(targets.tolist()), losses, ps, hidden,
                          clipped, layers=(hidden,))

    def loss_ceiling(self) -> float:
        """Window losses above this are divergence (uniform guessing scores T ln V)."""
        return loss_ceiling(self.corpus.vocab_size, self.config.seq_length)

    def keep_rollback(self) -> None:
        """Remember the current parameters, optimizer memory and hidden state (and where the
        streams are) as the last good ones."""
        learner = self.learner
        self._rollback = (self.n, learner.params.flat.copy(),
                          {k: v.copy() for k, v in learner.optimizer_state().items()},
                          learner.state.copy(),
                          None if self._streams is None else self._streams.positions.copy())

    def roll_back(self) -> int:
        """Restore the last good parameters, memories and hidden state; returns their iteration."""
        n, params, memory, state, positions = self._rollback
        learner = self.learner
        learner.params.flat[...] = params
        for name, buf in learner.optimizer_state().items():
            buf[...] = memory[name]
        learner.state[...] = state
        if positions is not None:
            self._streams.positions[...] = positions
        return n

    # -- steering between steps ----------------------------------------------------------

    def set_config(self, config: Config) -> None:
        """Apply new settings before the next step; the model's own fields are fixed."""
        fixed = [f for f in MODEL_FIELDS if getattr(config, f) != getattr(self.config, f)]
        if fixed:
            raise ValueError(f"{', '.join(fixed)} fix the model; re-initialise to change them")
        config = settle_val_fraction(self.corpus, config)
        check_fits(self.corpus, config, current=self.config)
        self.keep_rollback()  # a bad new setting can be undone to here
        if config.val_fraction != self.config.val_fraction:
            self._split(config)
            if self._streams is not None:
                self._streams.split_changed()
            if config.val_fraction:  # a new held-out part: a reading at the next step
                self.validation = ValidationSchedule(self.validation.clock)
        self.config = config
        self.threads = threads_for(config)
        self._average_weight = average_weight(config.seq_length * config.batch)
        if self._streams is not None:
            self._streams.resize()

    def reset_hidden(self) -> None:
        """The next window starts from h = 0 (every stream's); weights and position stay."""
        self.learner.reset()

    def sample(self, length: int | None = None, prime: str | None = None,
               temperature: float | None = None, greedy: bool | None = None) -> str:
        """Text from the current hidden state, without touching training state.

        With a `prime`, the model first reads the prime (from the current hidden state) and
        continues after it. Draws come from a stream of their own, so the periodic samples
        (and a headless trace) are the same whether or not this is called.
        """
        cfg = self.config
        ixes = self.corpus.encode(prime) if prime else [int(self._data[self.p])]
        learner = self.learner
        start = learner.hidden_after(self._stream0(), ixes[:-1])
        return self.corpus.decode(learner.sample(
            start, ixes[-1], cfg.sample_length if length is None else length, self.sample_rng,
            cfg.temperature if temperature is None else temperature,
            cfg.greedy if greedy is None else greedy))

    def _sample_text(self, h, seed_ix: int, length: int, rng) -> str:
        cfg = self.config
        return self.corpus.decode(self.learner.sample(h, seed_ix, length, rng, cfg.temperature,
                                                      cfg.greedy))

    # -- what the monitor draws ----------------------------------------------------------

    def stats(self) -> TrainStats:
        cfg, learner = self.config, self.learner
        g_segs = self.grads.segments()
        m_segs = learner.memory_segments()
        p_segs = learner.params.segments()
        lr = cfg.learning_rate * self.lr_scale
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
            lr_scale=self.lr_scale,
            epoch_progress=self.epoch_progress(),
            average_loss=self.average.value,
            average_chars=horizon_chars(cfg.seq_length * cfg.batch),
            grad_norm=tuple(_norm(g) for g in g_segs),
            mem_norm=tuple(_norm(m) for m in m_segs),
            param_norm=tuple(_norm(q) for q in p_segs),
            step_median=learner.step_medians(lr),
            clipped_fraction=sum(clipped) / sum(sizes) if self.n else 0.0,
            clipped_by_param=tuple(c / s for c, s in zip(clipped, sizes)),
            train_chars=len(self._data),
            val_bits=self.val_history[-1][1] if self.val_history else None,
            param_names=tuple(learner.names),
            optimizer=learner.optimizer_name,
            memory_label=learner.memory_label,
            moment_norm=tuple(_norm(m) for m in learner.moment_segments()),
            model=cfg.describe_model(),
            threads=self.threads,
        )

    def epoch_progress(self) -> float:
        """The share of the current pass over the training text already read."""
        N = len(self._data)
        if self._streams is None:  # min-char-rnn's pointer
            return min(1.0, self.p / N)
        return self._pass_chars / N

    def count_pass_chars(self, chars: int) -> None:
        """B streams read `chars` more characters: an epoch is every N of them (the streams
        together read the text once per N characters, though each wraps only every B)."""
        self.epoch, self._pass_chars = _passes(self.epoch, self._pass_chars + chars,
                                               len(self._data))

    def restore_epochs(self) -> None:
        """After a checkpoint's counts are restored: a network's passes follow from the
        characters it has read (older files counted stream 0's wraps instead)."""
        if self._streams is not None:
            self.epoch, self._pass_chars = divmod(self.chars_seen, len(self._data))


def _passes(epoch: int, chars: int, N: int) -> tuple[int, int]:
    done, rest = divmod(chars, N)
    return epoch + done, rest


class _Streams:
    """B streams over the training text: positions, wrapping, and the window buffers.

    Stream b starts at b * (N // B); like the original's pointer, a stream whose window would
    run past the end starts over at 0 with a zero state. Windows are gathered into buffers
    allocated once (per seq length).
    """

    def __init__(self, trainer: Trainer) -> None:
        self.trainer = trainer
        self.B = trainer.learner.batch
        self.positions = np.zeros(self.B, np.int64)
        self.resize()

    def resize(self) -> None:
        """(Re)allocate the window buffers for the current seq length."""
        T, B = self.trainer.config.seq_length, self.B
        self.offsets = np.arange(T + 1, dtype=np.int64)[:, None]
        self.index = np.empty((T + 1, B), np.int64)
        self.window = np.empty((T + 1, B), self.trainer._data.dtype)
        self.inputs, self.targets = self.window[:-1], self.window[1:]

    def split_changed(self) -> None:
        """The training text got shorter or longer: a stream past its end starts over."""
        tr = self.trainer
        N = tr._data.shape[0]
        self.positions[self.positions >= N] = 0
        tr.epoch, tr._pass_chars = _passes(tr.epoch, tr._pass_chars, N)

    @property
    def p0(self) -> int:
        return int(self.positions[0])

    def _starts(self) -> tuple[np.ndarray, np.ndarray]:
        tr = self.trainer
        T, N = tr.config.seq_length, tr._data.shape[0]
        if tr.n == 0:  # evenly spaced offsets, as far apart as the text allows
            starts = (np.arange(self.B, dtype=np.int64) * (N // self.B))
            starts[starts + T + 1 >= N] = 0
            return starts, np.ones(self.B, bool)
        reset = self.positions + T + 1 >= N
        return np.where(reset, 0, self.positions), reset

    def peek(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        starts, reset = self._starts()
        window = self.trainer._data[starts[None, :] + self.offsets]
        return starts, window[:-1], window[1:], reset

    def take(self) -> int:
        """Move to this step's starts (zeroing the state of streams that start over) and gather
        the window into the buffers; returns stream 0's start."""
        tr = self.trainer
        starts, reset = self._starts()
        if reset.any():
            tr.learner.reset(reset)
        self.positions[...] = starts
        np.add(self.positions[None, :], self.offsets, out=self.index)
        np.take(tr._data, self.index, out=self.window)
        return int(starts[0])

    def advance(self) -> None:
        T = self.trainer.config.seq_length
        self.positions += T
        self.trainer.count_pass_chars(T * self.B)


def _network_view(n: int, record, clipped: tuple[int, ...], cell: str) -> WindowView:
    """A WindowView of stream 0 from a Network's WindowRecord (already copies)."""
    L = record.hidden.shape[1]

    def frozen(a: np.ndarray) -> np.ndarray:
        a = np.ascontiguousarray(a)
        a.setflags(write=False)
        return a

    layers = tuple(frozen(record.hidden[:, k, 0]) for k in range(L))
    cells = () if record.cells is None else tuple(frozen(record.cells[:, k, 0])
                                                   for k in range(L))
    gates = () if record.gates is None else tuple(frozen(record.gates[:, k, 0])
                                                   for k in range(L))
    return WindowView(n, tuple(record.inputs[:, 0].tolist()), tuple(record.targets[:, 0].tolist()),
                      frozen(record.losses[:, 0]), frozen(record.probs[:, 0]), layers[-1],
                      clipped, layers=layers, cells=cells, gates=gates,
                      gate_names={"lstm": "ifgo", "gru": "rzn"}.get(cell, ""))


def settle_val_fraction(corpus: Corpus, config: Config) -> Config:
    """A config whose val_fraction is a number: None is the model's default
    (`Config.default_val_fraction`), or 0 where the text is too short to hold that out with a
    window in each part (the default never refuses a corpus; a fraction asked for does)."""
    if config.val_fraction is not None:
        return config
    fraction = config.default_val_fraction
    if fraction and not _split_fits(len(corpus), fraction, config.seq_length):
        fraction = 0.0
    return config.with_changes(val_fraction=fraction)


def _split_fits(n: int, fraction: float, seq_length: int) -> bool:
    held = int(round(fraction * n))
    return held >= seq_length + 1 and n - held >= seq_length + 1


def check_fits(corpus: Corpus, config: Config, current: Config | None = None) -> None:
    """The original needs at least seq_length + 1 characters for one window and its targets;
    with a validation split, so do both parts; the machine must have the threads. And the
    model must fit in memory (engine/memory.py): all of it for a new model, what the change
    adds to a live `current` one (a new seq length's workspace, say). Raises CorpusError,
    ConfigError or MemoryBudgetError."""
    if config.threads is not None and config.threads > MAX_THREADS:
        raise ConfigError(f"threads must be between 1 and {MAX_THREADS} (the cores this "
                          f"process may use), got {config.threads}")
    need = config.seq_length + 1
    if len(corpus) < need:
        raise CorpusError(f"{corpus.name}: corpus has {len(corpus)} characters; "
                          f"seq length {config.seq_length} needs at least {need}")
    if config.val_fraction and not _split_fits(len(corpus), config.val_fraction,
                                               config.seq_length):
        held = int(round(config.val_fraction * len(corpus)))
        raise CorpusError(f"{corpus.name}: a validation fraction of {config.val_fraction:g} "
                          f"leaves {len(corpus) - held} training and {held} validation "
                          f"characters; each needs at least {need}")
    plan = memory.training(config, corpus.vocab_size)
    if current is None:
        memory.check(plan, "this model")
    else:
        memory.check(plan.beyond(memory.training(current, corpus.vocab_size)), "this change")


def split_point(n: int, val_fraction: float) -> int:
    """Where the held-out part of an n-character corpus starts (n: none is held out)."""
    return n - int(round(val_fraction * n)) if val_fraction else n


def loss_ceiling(vocab_size: int, seq_length: int) -> float:
    """The divergence bar: DIVERGENCE_FACTOR times uniform guessing's window loss, T ln V."""
    return DIVERGENCE_FACTOR * seq_length * math.log(max(vocab_size, 2))


def _norm(v: np.ndarray) -> float:
    return math.sqrt(float(np.dot(v, v)))


__all__ = ["EXACT_WARMUP", "PARAM_NAMES", "Diverged", "LastWindow", "OutOfMemory", "StepResult",
           "TrainStats", "Trainer", "WindowView", "check_fits"]
