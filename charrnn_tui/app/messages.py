"""The messages the app's workers post: small `@dataclass` messages.

`SnapshotReady` coalesces (a newer one replaces a queued one), so a busy UI skips frames
instead of falling behind; `LinkEvent` carries everything else the run says (link/protocol.py);
the others are posted once per event.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from textual.message import Message
from textual.message_pump import MessagePump

from charrnn_tui.link.probes import Query
from charrnn_tui.link.protocol import Event
from engine.store.runs import Scan


@dataclass
class SnapshotReady(Message):
    """A new `link.latest`. `urgent`: it shows a command's effect or a change of state, so
    every pane is drawn."""

    urgent: bool

    def can_replace(self, message: Message) -> bool:
        # Textual asks a queued message whether the next one may take its place: yes,
        # unless that would lose an urgent frame
        return isinstance(message, SnapshotReady) and (message.urgent or not self.urgent)


@dataclass
class LinkEvent(Message):
    """An event from the run (a notice, an answer to a command, the run's end), and the link
    it came through (after a swap, the old link's last words are not for the screens)."""

    event: Event
    source: object


@dataclass
class CheckAbandoned(Message):
    """The gradient-check view closed with its check `request` still running: cancel it."""

    request: int


@dataclass
class ProbeRequest(Message):
    """A view asks the run to compute `query` (link/probes.py) between steps; the answer comes
    back to `reply_to` (its `sent`, `progress_of` and `done`)."""

    reply_to: MessagePump
    query: Query


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
    """The runs screen's worker read every log (or was cancelled), and asked which runs are
    live now: their sockets by run id."""

    scan: Scan
    live: dict[str, Path] = field(default_factory=dict)


@dataclass
class AttachTo(Message):
    """A screen asks the app to watch the live run on this socket (the runs screen's enter)."""

    path: Path


@dataclass
class ResumeFrom(Message):
    """A screen asks the app to train from this checkpoint (the run details' list)."""

    path: Path
