"""The messages the trainer thread (and other workers) post: small `@dataclass` messages.

`SnapshotReady` coalesces (a newer one replaces a queued one), so a busy UI skips frames
instead of falling behind; the others are posted once per event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual.message import Message
from textual.message_pump import MessagePump

from engine import GradCheckResult, Trainer
from engine.store.runs import Scan


@dataclass
class SnapshotReady(Message):
    """A new `Monitor.latest`. `urgent`: it shows a command's effect or a change of state, so
    every pane is drawn."""

    urgent: bool

    def can_replace(self, message: Message) -> bool:
        # Textual asks a queued message whether the next one may take its place: yes,
        # unless that would lose an urgent frame
        return isinstance(message, SnapshotReady) and (message.urgent or not self.urgent)


@dataclass
class Notice(Message):
    """Something to tell the user, posted from any thread (a failed command, a failed save)."""

    text: str
    title: str = ""
    severity: str = "warning"


@dataclass
class GradCheckDone(Message):
    """The gradient check finished (`engine.check_trainer`, run in the trainer thread)."""

    iteration: int
    source: str  # which window and hidden state were used
    results: tuple[GradCheckResult, ...]


Compute = Callable[[Trainer, Callable[[float], None]], object]  # (trainer, progress) -> result


@dataclass
class ProbeRequest(Message):
    """A view asks for `compute(trainer, progress)` to run in the trainer thread (forward passes
    over the current weights); the result comes back to `reply_to` as ProbeDone."""

    reply_to: MessagePump
    token: int  # the view's own count, so that it can ignore a superseded answer
    compute: Compute


@dataclass
class ProbeProgress(Message, bubble=False):
    """A computation that has run for over PROGRESS_AFTER seconds: the share done so far."""

    token: int
    share: float

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, ProbeProgress) and message.token == self.token


@dataclass
class ProbeDone(Message, bubble=False):
    """What a ProbeRequest computed (`error`: the one-line reason it could not)."""

    token: int
    iteration: int  # the trainer's iteration when it ran
    result: object = None
    error: str = ""


@dataclass
class CountProgress(Message):
    """How far a long job is, in items done of all; a newer one replaces a queued one of its
    own kind (subclasses name the job)."""

    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return type(message) is type(self)


@dataclass
class ScanProgress(CountProgress):
    """Run logs read so far (the runs screen's worker)."""


@dataclass
class ScanDone(Message):
    """The runs screen's worker read every log (or was cancelled)."""

    scan: Scan


@dataclass
class ResumeFrom(Message):
    """A screen asks the app to train from this checkpoint (the run details' list)."""

    path: Path


@dataclass
class GradCheckProgress(CountProgress):
    """How far a running gradient check is (entries done of all)."""
