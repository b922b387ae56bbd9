"""What the inspection views ask the trainer to compute, as data that can cross a socket.

A view sends one of these queries; the trainer thread runs `query.run(trainer, progress)`
between steps (forward passes over the current weights, `engine.inspect.probe`) and the answer
goes back to the view, in this process or in an attached client. Each query and answer is a
frozen record of plain values and arrays, so the wire format (`protocol.py`) carries it as is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine import Trainer
from engine.inspect import probe
from engine.units import bits

Progress = Callable[[float], None]  # the share done, 0-1
MAX_TEXT = probe.PASSAGE  # characters scored or used as a prime at most


@dataclass(frozen=True)
class Continuation:
    """The model's continuation of a prime, from the carried state."""

    prime: str
    text: str
    temperature: float
    greedy: bool


@dataclass(frozen=True)
class Score:
    """A text's surprisal, read from h = 0."""

    text: str
    unknown: tuple[int, ...]  # positions in text outside the vocabulary
    losses: np.ndarray  # nats, one per known character after the first

    @property
    def bits_per_char(self) -> float:
        return bits(float(self.losses.sum()) / len(self.losses))


@dataclass(frozen=True)
class InfluenceAnswer:
    """The influence view's answer: a window and the influence at one of its positions."""

    window: probe.Window
    influence: probe.Influence


@dataclass(frozen=True)
class Explore:
    """The neuron explorer's passage, read from the current weights and carried state."""

    def run(self, trainer: Trainer, progress: Progress) -> probe.Exploration:
        return probe.explore(trainer, progress)


@dataclass(frozen=True)
class InfluenceAt:
    """Influence at `position` of `window` (None: the last training window, at its last
    position when `position` < 0); None when no step has run yet."""

    window: probe.Window | None
    position: int

    def run(self, trainer: Trainer, progress: Progress) -> InfluenceAnswer | None:
        win = self.window if self.window is not None else probe.last_window(trainer)
        if win is None:
            return None
        if len(win.inputs) == 0 or len(win.inputs) != len(win.targets):
            raise ValueError("the window has no characters to take influence over")
        vocab = trainer.corpus.vocab_size
        if max(win.inputs.max(), win.targets.max()) >= vocab:
            raise ValueError("the window holds characters outside the vocabulary")
        t = len(win.inputs) - 1 if self.position < 0 else min(self.position, len(win.inputs) - 1)
        return InfluenceAnswer(win, probe.influence(trainer.model, win.inputs, win.targets, t,
                                                    win.start))


@dataclass(frozen=True)
class PassageInfluence:
    """Influence at the last position of the explorer's passage up to character `at`."""

    at: int

    def run(self, trainer: Trainer, progress: Progress) -> InfluenceAnswer:
        win = probe.passage_window(trainer, self.at)
        return InfluenceAnswer(win, probe.influence(trainer.model, win.inputs, win.targets,
                                                    len(win.inputs) - 1, win.start))


@dataclass(frozen=True)
class ContinueText:
    """Continue `prime` at the sample length and temperature in effect."""

    prime: str

    def __post_init__(self) -> None:
        if not 0 < len(self.prime) <= MAX_TEXT:
            raise ValueError(f"a prime of 1 to {MAX_TEXT} characters, please")

    def run(self, trainer: Trainer, progress: Progress) -> Continuation:
        cfg = trainer.config
        return Continuation(self.prime, trainer.sample(prime=self.prime), cfg.temperature,
                            cfg.greedy)


@dataclass(frozen=True)
class ScoreText:
    """Each known character's surprisal, from h = 0 (unknown characters are skipped)."""

    text: str

    def __post_init__(self) -> None:
        if len(self.text) > MAX_TEXT:
            raise ValueError(f"a text of at most {MAX_TEXT} characters, please")

    def run(self, trainer: Trainer, progress: Progress) -> Score:
        known, unknown = probe.split_known(trainer.corpus.vocab, self.text)
        if len(known) < 2:
            raise ValueError("scoring needs at least two characters the model knows")
        return Score(self.text, tuple(unknown), probe.surprisal(trainer.model, known))


Query = Explore | InfluenceAt | PassageInfluence | ContinueText | ScoreText
Answer = probe.Exploration | InfluenceAnswer | Continuation | Score
