"""The one validated configuration shared by the CLI, the app, the trainer and checkpoints."""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, fields, replace

MAX_HIDDEN = 4096  # Whh alone is 128 MiB at this size; beyond it a laptop swaps
MAX_SEQ_LENGTH = 100_000
MAX_LEARNING_RATE = 1e4
MIN_TEMPERATURE = 1e-3  # below it sampling is argmax in all but rounding (use greedy instead)
MAX_TEMPERATURE = 100.0
MAX_SAMPLE_LENGTH = 1_000_000
MAX_SEED = 2**32 - 1  # np.random.seed accepts 0 .. 2**32-1
MAX_BATCH = 1024
CELLS = ("rnn", "lstm", "gru")
DTYPES = ("float64", "float32")
MAX_LAYERS = 8
MAX_DROPOUT = 0.9
# BLAS threads (--threads, the Controls): up to the cores this process may run on, checked
# where a model trains (trainer.check_fits); a Config itself only holds a sane count, so one
# read from another machine (an attached client's) still loads
MAX_THREADS = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
               else os.cpu_count() or 1)
THREADS_LIMIT = 4096
NETWORK_VAL_FRACTION = 0.05  # char-rnn's default val_frac
# each optimizer's learning rate unless one is given: min-char-rnn's, and char-rnn's
DEFAULT_LEARNING_RATE = {"adagrad": 0.1, "rmsprop": 2e-3, "adam": 2e-3}
# the fields that fix a model's weights and layout: set when it is created, never changed
MODEL_FIELDS = ("cell", "hidden_size", "layers", "dropout", "batch", "dtype", "optimizer",
                "seed")


class ConfigError(ValueError):
    """A hyperparameter that makes no sense; the message is one line for the user."""


@dataclass(frozen=True)
class Config:
    """Hyperparameters of the model and of the training run.

    The MODEL_FIELDS (cell, size, layers, dropout, batch, precision, optimizer and seed) fix
    the model; the rest may change between steps while training. The defaults are
    min-char-rnn: one tanh layer of 100, batch 1, float64, Adagrad at 0.1.
    """

    hidden_size: int = 100
    seq_length: int = 25
    learning_rate: float | None = None  # None: the optimizer's (DEFAULT_LEARNING_RATE)
    clip: float = 5.0
    seed: int | None = None
    exact: bool = False
    sample_every: int = 100
    sample_length: int = 200
    temperature: float = 1.0
    greedy: bool = False
    # the last F of the corpus is held out for validation; None: the model's default
    # (default_val_fraction), which the Trainer settles against the corpus
    val_fraction: float | None = None
    eval_every: int = 0  # iterations between validation passes; 0: by training time
    cell: str = "rnn"  # "rnn" (tanh), "lstm" or "gru"
    layers: int = 1
    dropout: float = 0.0  # between layers and before the output, training only
    batch: int = 1  # streams read at evenly spaced offsets, one hidden state each
    dtype: str = "float64"
    optimizer: str = "adagrad"  # "adagrad", "rmsprop" or "adam"
    # the last share of a run's budget (its iterations) over which the learning rate falls
    # linearly to 0 (engine/schedule.py); 0: constant, and without a budget it stays constant
    cooldown: float = 0.0
    # BLAS threads for training; None: the model's (engine/threads.py, where the environment's
    # OPENBLAS_NUM_THREADS / OMP_NUM_THREADS win). How this machine trains: no checkpoint
    # holds it
    threads: int | None = None

    def __post_init__(self) -> None:
        _normalise_numbers(self)
        _one_of("cell", self.cell, CELLS)
        _one_of("dtype", self.dtype, DTYPES)
        _one_of("optimizer", self.optimizer, tuple(DEFAULT_LEARNING_RATE))
        if self.learning_rate is None:
            object.__setattr__(self, "learning_rate", DEFAULT_LEARNING_RATE[self.optimizer])
        _int_in("layers", self.layers, 1, MAX_LAYERS)
        _int_in("batch", self.batch, 1, MAX_BATCH)
        _float_in("dropout", self.dropout, 0.0, MAX_DROPOUT)
        _float_in("cooldown", self.cooldown, 0.0, 1.0)
        if self.exact and not self.is_min_char_rnn:
            raise ConfigError("exact arithmetic is min-char-rnn's only (cell rnn, 1 layer, batch "
                              "1, float64, adagrad, no dropout)")
        if self.exact and self.cooldown:
            raise ConfigError("exact arithmetic is the original's constant learning rate: "
                              "--exact takes no cooldown")
        _bool("exact", self.exact)
        _bool("greedy", self.greedy)
        _int_in("hidden size", self.hidden_size, 1, MAX_HIDDEN)
        _int_in("seq length", self.seq_length, 1, MAX_SEQ_LENGTH)
        _float_in("learning rate", self.learning_rate, 0.0, MAX_LEARNING_RATE, open_low=True)
        _float_in("clip", self.clip, 0.0, 1e6, open_low=True)
        if self.seed is not None:
            _int_in("seed", self.seed, 0, MAX_SEED)
        _int_in("sample every", self.sample_every, 0, 10**12)
        _int_in("sample length", self.sample_length, 1, MAX_SAMPLE_LENGTH)
        _float_in("temperature", self.temperature, MIN_TEMPERATURE, MAX_TEMPERATURE)
        if self.val_fraction is not None:
            _float_in("val fraction", self.val_fraction, 0.0, 0.5)
        _int_in("eval every", self.eval_every, 0, 10**12)
        if self.threads is not None:
            _int_in("threads", self.threads, 1, THREADS_LIMIT)

    @property
    def is_min_char_rnn(self) -> bool:
        """The original's model (any hidden size): nets/min_char.py's RNN trains it, exactly."""
        return (self.cell, self.layers, self.batch, self.dtype, self.optimizer,
                self.dropout) == ("rnn", 1, 1, "float64", "adagrad", 0.0)

    @property
    def default_val_fraction(self) -> float:
        """What a network holds out unless told (char-rnn's val_frac); min-char-rnn holds out
        nothing, as the original, so its walk and trace stay the original's."""
        return 0.0 if self.is_min_char_rnn else NETWORK_VAL_FRACTION

    def describe_model(self) -> str:
        """What the status line shows, e.g. 'lstm 2×256 · B32 · f32 · adam'."""
        size = f"{self.layers}×{self.hidden_size}" if self.layers > 1 else str(self.hidden_size)
        parts = [f"{self.cell} {size}"]
        if self.batch > 1:
            parts.append(f"B{self.batch}")
        parts.append("f32" if self.dtype == "float32" else "f64")
        parts.append(self.optimizer)
        if self.dropout:
            parts.append(f"drop {self.dropout:g}")
        return " · ".join(parts)

    def with_changes(self, **changes: object) -> Config:
        """A validated copy with some fields changed (raises ConfigError)."""
        unknown = set(changes) - {f.name for f in fields(self)}
        if unknown:
            raise ConfigError(f"unknown setting: {', '.join(sorted(unknown))}")
        return replace(self, **changes)


def _normalise_numbers(config: Config) -> None:
    """numpy scalars (from a checkpoint, say) become plain Python numbers."""
    for f in fields(config):
        value = getattr(config, f.name)
        if isinstance(value, (bool, int, float)) or value is None:
            continue
        if isinstance(value, str):  # numpy's str_ from a checkpoint
            object.__setattr__(config, f.name, str(value))
            continue
        if isinstance(value, numbers.Integral):
            object.__setattr__(config, f.name, int(value))
        elif isinstance(value, numbers.Real):
            object.__setattr__(config, f.name, float(value))


def _one_of(name: str, value: object, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")


def _bool(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false, got {value!r}")


def _int_in(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")


def _float_in(name: str, value: object, low: float, high: float, open_low: bool = False) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value}")
    too_low = value <= low if open_low else value < low
    if too_low or value > high:
        bound = ">" if open_low else ">="
        raise ConfigError(f"{name} must be {bound} {low:g} and <= {high:g}, got {value:g}")
