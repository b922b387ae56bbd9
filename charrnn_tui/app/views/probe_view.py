"""The base of the views that ask the trainer thread for a computation (engine/inspect/probe.py).

`request(compute)` posts a `ProbeRequest`; the app runs `compute(trainer, progress)` between
steps (or while paused) and posts the answer back here. Only the newest request counts: a
superseded answer is dropped. Nothing runs while the view is closed or idle, so it costs the
trainer only the computations the user asks for.
"""

from __future__ import annotations

from ..messages import Compute, ProbeDone, ProbeProgress, ProbeRequest
from .view_screen import ViewScreen


class ProbeView(ViewScreen):
    """Subclasses implement `answered(message)` and may override `progress(share)`."""

    def __init__(self, vocab: str = "", **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self._token = 0
        self.busy = False  # a request is out
        self.answers = 0  # answers received (tests wait on it)

    def request(self, compute: Compute) -> None:
        self._token += 1
        self.busy = True
        self.post_message(ProbeRequest(self, self._token, compute))

    def on_probe_progress(self, message: ProbeProgress) -> None:
        if message.token == self._token:
            self.progress(message.share)

    def on_probe_done(self, message: ProbeDone) -> None:
        if message.token != self._token:
            return
        self.busy = False
        self.answers += 1
        self.answered(message)

    def progress(self, share: float) -> None:
        """The computation has run for a while: show how far it is (subclasses)."""

    def answered(self, message: ProbeDone) -> None:
        """Show what the computation returned, or its error (subclasses)."""
