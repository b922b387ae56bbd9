"""What the monitor draws: immutable snapshots of a run, built in the trainer thread.

`engine.run` calls `Monitor.on_step` after every step (a few hundred nanoseconds: bounded
appends of the loss readout and the window loss) and `Monitor.publish` from its `on_tick`. `publish`
stores one frozen `Snapshot` in `Monitor.latest` and calls `notify` (the app posts itself a
coalescing message);
the UI reads the newest snapshot and never sees an array the trainer is still mutating.
Inspection views (hidden state, surprisal, step-through, the loss chart) ask for more by
setting `Monitor.views`; only then does a snapshot carry the last window, the hidden state or
the chart's series, so the main screen's frames cost what they did before.

The loss the screens show is the trainer's debiased average of the window loss per character
(`Trainer.average`, engine/units.py): its first value is the first window's loss and it spans
about the same number of characters for every model. The original's smoothed loss is what
headless `iter N, loss: X` prints, and nothing here shows it.
Nothing here imports Textual.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np

from engine import (
    Config,
    Control,
    Diverged,
    LossHistory,
    Outcome,
    StepResult,
    Trainer,
    TrainStats,
    WindowView,
)

TREND_SPAN = 1000  # iterations over which the memories' growth is measured
# characters over which the loss trend is read: the same for every model, as the readout's
# horizon is (1k iterations are 25k characters of min-char-rnn but 2M of gru-2x256)
TREND_CHARS = 100_000
RATE_WINDOW = 0.5  # seconds of wall time per iterations/s measurement
ACTIVITY_SECONDS = 0.25  # a long computation inside a step is reported at most this often
# what an open view asks the snapshot to carry (Monitor.views)
WINDOW = "window"  # the last training window (WindowView) and the carried hidden state
SERIES = "series"  # wall time and window loss per history point, the validation history
NEEDS = frozenset({WINDOW, SERIES})
MAX_VAL_POINTS = 512
STORY_NOTES = 32  # a run's latest notes kept for clients that join later


class State(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    DIVERGED = "diverged"
    FINISHED = "finished"
    STOPPED = "stopped"
    ERROR = "error"


@dataclass(frozen=True)
class Sample:
    """One generated text, numbered so the UI writes each exactly once."""

    serial: int
    iteration: int  # iterations completed when it was drawn
    text: str
    on_demand: bool  # `s` (own RNG stream) rather than the periodic sample
    temperature: float
    greedy: bool
    note: bool = False  # not a sample: an event of the run (a reset, a divergence), one line


@dataclass(frozen=True)
class Snapshot:
    """Everything one frame shows: floats, ints, strings and tuples only."""

    version: int
    state: State
    message: str  # why the run is diverged / in error; empty otherwise
    stats: TrainStats
    config: Config
    corpus_name: str
    # the loss readout: the debiased average of the window loss, nats per character (nan
    # before the first step), over about `average_chars` characters
    loss_per_char: float
    loss_history: tuple[float, ...]  # loss_per_char over the whole run, downsampled
    history_stride: int  # iterations per history point
    loss_trend: float  # change of loss_per_char over the last trend_chars chars (nan: early)
    mem_trend: tuple[float, ...]  # relative growth of each memory norm per 1000 iterations
    trend_chars: int  # the characters loss_trend spans (up to TREND_CHARS)
    rate: float  # iterations per second (nan when not running)
    samples: tuple[Sample, ...]  # the most recent ones, oldest first
    saved_at: int | None  # iteration of the last checkpoint written
    saved_path: str  # and where it went
    settings: int = 0  # how many times the settings changed (a client's edit shows from here)
    # earlier entries, for a client that joins later: the run's first sample, then one per
    # doubling of the iteration (how it learned), and its latest notes; oldest first
    story: tuple[Sample, ...] = ()
    published: float = 0.0  # Unix time it was made (a client reads how fresh what it shows is)
    # only while a view that needs them is open (Monitor.views), else empty
    window: WindowView | None = None  # the last training window, read-only copies
    hidden: np.ndarray | None = None  # read-only copy of the carried hidden state (hprev)
    layer_state: np.ndarray | None = None  # a network's (L, S, H): h (and an LSTM's c) per layer
    activity: str = ""  # a long computation inside the current step, e.g. "validation 40%"
    history_start: int = 0  # iteration of the first loss_history point
    history_times: tuple[float, ...] = ()  # seconds since the monitor started, per point
    val_history: tuple[tuple[int, float], ...] = ()  # (iteration, validation bits/char)
    # the mean window loss per character (nats) of the iterations of each loss_history point
    window_history: tuple[float, ...] = ()
    window_per_char: float = math.nan  # the last window's loss per character (nats)
    average_chars: int = 0  # how many characters loss_per_char averages over
    run: str = ""  # the run id its log and checkpoints carry ("" when it has none)


@dataclass(frozen=True)
class Tick:
    """What a trend is measured from: one point per published snapshot."""

    iteration: int
    chars: int  # characters trained on so far
    loss_per_char: float
    mem_norm: tuple[float, ...]


class Monitor:
    """Turns a Trainer's progress into Snapshots; every method runs in the trainer thread."""

    def __init__(self, trainer: Trainer, control: Control, *, history: int = 512,
                 samples: int = 64, notify: Callable[[bool], None] | None = None,
                 clock: Callable[[], float] = time.perf_counter, run: str = "") -> None:
        """`run` is the id of the run's log and checkpoints, for the runs screen."""
        self.trainer = trainer
        self.run = run
        self.control = control
        # after each publish: notify(urgent); must be thread-safe and never block
        self.notify = notify
        self.latest: Snapshot | None = None
        self._clock = clock
        self._history = LossHistory(history)  # the loss readout (trainer.average)
        self._windows = LossHistory(history)  # the window loss, bucketed like the readout
        self._times = LossHistory(history)  # wall time of each step, bucketed like the loss
        self._t0 = clock()
        self._history_start = trainer.n
        # set from the UI thread, read here: a frozenset is replaced whole, never mutated
        self.views: frozenset[str] = frozenset()
        self._samples: deque[Sample] = deque(maxlen=samples)
        self._story: list[Sample] = []  # one per doubling of the iteration: ~log2(n) of them
        self._story_next = 0  # the iteration from which the next one is kept
        self._notes: deque[Sample] = deque(maxlen=STORY_NOTES)
        self._serial = 0
        self._version = 0
        self._ticks: deque[Tick] = deque(maxlen=256)
        self._ended: State | None = None  # FINISHED, STOPPED or ERROR once run() returned
        self._message = ""
        self._diverged_at: int | None = None  # trainer.n when the last step diverged
        self._rate = math.nan
        self._rate_base: tuple[float, int] | None = None
        self._urgent = False  # the next frame follows a command or an event: draw it all
        self._saved_at: int | None = None
        self._saved_path = ""
        self.settings = 0  # Snapshot.settings
        self._activity = ""  # what a long computation inside a step is doing, for the status line
        self._activity_shown = self._activity_started = -math.inf
        trainer.progress = self.on_progress

    # -- hooks for engine.run --------------------------------------------------------------

    def on_step(self, result: StepResult) -> None:
        trainer = self.trainer
        # per character, so that a live seq_length edit does not make the curve jump
        self._history.append(trainer.average.value)
        self._windows.append(result.loss / trainer.config.seq_length)
        self._times.append(self._clock() - self._t0)
        if result.sample is not None:
            cfg = trainer.config
            self._add_sample(result.iteration, result.sample, False, cfg.temperature, cfg.greedy)

    def on_progress(self, what: str, done: int, total: int) -> bool:
        """Trainer.progress: publish how far a long computation is, a few times a second, so
        the status line says what the step is waiting for; False (stop) once the run stops."""
        now = self._clock()
        if done <= 1:
            self._activity_started = now
        if done >= total:
            self._activity = ""
        elif (now - self._activity_started >= ACTIVITY_SECONDS
              and now - self._activity_shown >= ACTIVITY_SECONDS):  # only what takes a while
            self._activity_shown = now
            self._activity = f"{what} {100 * done // total}%"
            self.publish(self.trainer)
        return not self.control.stopped

    def on_diverged(self, trainer: Trainer, exc: Diverged) -> None:
        self._diverged_at = trainer.n
        self._message = f"{exc}. Paused: - halves the learning rate, p resumes"
        self._urgent = True

    def publish(self, trainer: Trainer) -> None:
        """Build the newest Snapshot (on_tick: a few times a second, and after commands)."""
        self.latest = self._snapshot(trainer.stats())
        self._notify()

    def finish(self, outcome: Outcome | None, error: BaseException | None = None) -> None:
        """The loop returned (or raised): publish the final state."""
        if error is not None:
            self._ended = State.ERROR
            self._message = f"trainer stopped: {type(error).__name__}: {error}"
        elif outcome is Outcome.FINISHED:
            self._ended = State.FINISHED
        else:
            self._ended = State.STOPPED
        try:
            stats = self.trainer.stats()
        except Exception:  # a broken trainer: keep the last numbers it produced
            stats = self.latest.stats if self.latest is not None else None
        if stats is not None:
            self.latest = self._snapshot(stats)
        self._urgent = True
        self._notify()

    # -- commands (submitted by the app, run in the trainer thread) ------------------------

    def sample_now(self, trainer: Trainer) -> None:
        """Draw a sample from the current state without disturbing training."""
        cfg = trainer.config
        self._add_sample(trainer.n, trainer.sample(), True, cfg.temperature, cfg.greedy)
        self._urgent = True

    def note(self, text: str) -> None:
        """An event of the run, shown in every client's samples pane as a rule line."""
        self._serial += 1
        note = Sample(self._serial, self.trainer.n, text, False, 0.0, False, note=True)
        self._samples.append(note)
        self._notes.append(note)
        self._urgent = True

    def settings_changed(self) -> None:
        """The trainer's settings changed (between steps): the next snapshot says so."""
        self.settings += 1
        self._urgent = True

    def note_saved(self, path: Path) -> None:
        """A checkpoint of the current iteration was written (called from the recorder)."""
        self._saved_at = self.trainer.n
        self._saved_path = str(path)

    def mark_urgent(self) -> None:
        """The next frame shows a command's effect: the UI draws every pane at once."""
        self._urgent = True

    # -- internals -------------------------------------------------------------------------

    def _notify(self) -> None:
        if self.notify is not None:
            urgent = self._urgent or self.latest.state is not State.RUNNING
            self._urgent = False
            self.notify(urgent)

    def _add_sample(self, iteration: int, text: str, on_demand: bool, temperature: float,
                    greedy: bool) -> None:
        self._serial += 1
        sample = Sample(self._serial, iteration, text, on_demand, temperature, greedy)
        self._samples.append(sample)
        if not on_demand and iteration >= self._story_next:
            self._story.append(sample)
            self._story_next = max(2 * iteration, iteration + 1)

    def _state(self, n: int) -> State:
        if self._ended is not None:
            return self._ended
        if self._diverged_at is not None:
            if n == self._diverged_at and self.control.paused:
                return State.DIVERGED
            self._diverged_at = None  # a step succeeded, or the user resumed
            self._message = ""
        return State.PAUSED if self.control.paused else State.RUNNING

    def _snapshot(self, st: TrainStats) -> Snapshot:
        now = self._clock()
        n = st.iteration
        state = self._state(n)
        pc = st.average_loss
        if not self._ticks or self._ticks[-1].iteration != n:
            self._ticks.append(Tick(n, st.chars_seen, pc, st.mem_norm))
        loss_trend, trend_chars = self._loss_trend(st.chars_seen, pc)
        mem_trend = self._mem_trends(n, st.mem_norm)
        self._version += 1
        trainer = self.trainer
        views = self.views
        extra = {}
        if WINDOW in views:
            hidden = trainer.hprev.copy()
            hidden.setflags(write=False)
            extra.update(window=trainer.window_view(), hidden=hidden)
            if trainer.state.ndim == 4:  # a network: every layer's state, stream 0
                layers = trainer.state[:, :, 0].copy()
                layers.setflags(write=False)
                extra.update(layer_state=layers)
        if SERIES in views:
            extra.update(history_start=self._history_start,
                         history_times=self._times.snapshot(),
                         window_history=self._windows.snapshot(),
                         val_history=tuple(trainer.val_history[-MAX_VAL_POINTS:]))
        return Snapshot(
            version=self._version, state=state, message=self._message, stats=st,
            activity=self._activity,
            config=trainer.config, corpus_name=trainer.corpus.name,
            loss_per_char=pc, average_chars=st.average_chars, run=self.run,
            window_per_char=st.loss / st.seq_length,
            loss_history=self._history.snapshot(), history_stride=self._history.stride,
            loss_trend=loss_trend, trend_chars=trend_chars, mem_trend=mem_trend,
            rate=self._measure_rate(state, n, now),
            samples=tuple(self._samples), saved_at=self._saved_at, saved_path=self._saved_path,
            settings=self.settings,
            story=tuple(sorted((*self._story, *self._notes), key=lambda e: e.serial)),
            published=time.time(),
            **extra,
        )

    def _loss_trend(self, chars: int, pc: float) -> tuple[float, int]:
        """How much the readout moved over about the last TREND_CHARS characters, and over
        how many it was read (nan before a tenth of them)."""
        read = [t for t in self._ticks
                if t.chars >= chars - TREND_CHARS and math.isfinite(t.loss_per_char)]
        if not read or chars - read[0].chars < TREND_CHARS // 10:
            return math.nan, 0
        return pc - read[0].loss_per_char, chars - read[0].chars

    def _mem_trends(self, n: int, mem: tuple[float, ...]) -> tuple[float, ...]:
        """Each memory's relative growth per 1000 iterations (optimizer steps, the unit its
        accumulation counts in) over about the last TREND_SPAN iterations."""
        # the memory starts at zero: measure its growth from the first tick after that
        grown = [t for t in self._ticks if t.iteration >= n - TREND_SPAN and t.iteration > 0]
        if not grown or n - grown[0].iteration < TREND_SPAN // 10:
            return tuple(math.nan for _ in mem)
        old_n, old_mem = grown[0].iteration, grown[0].mem_norm
        per_k = 1000.0 / (n - old_n)
        return tuple((m / m0 - 1.0) * per_k if m0 > 0 else math.nan
                     for m, m0 in zip(mem, old_mem))

    def _measure_rate(self, state: State, n: int, now: float) -> float:
        if state is not State.RUNNING:
            self._rate_base = None
            return math.nan
        if self._rate_base is None:
            self._rate_base = (now, n)
            return self._rate
        t0, n0 = self._rate_base
        if now - t0 >= RATE_WINDOW:
            rate = (n - n0) / (now - t0)
            self._rate = rate if math.isnan(self._rate) else 0.5 * self._rate + 0.5 * rate
            self._rate_base = (now, n)
        return self._rate
