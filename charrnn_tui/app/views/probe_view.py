"""The base of the views that ask the run for a computation (link/probes.py).

`request(query)` posts a `ProbeRequest`; the app sends it over its link, and the run computes
it between steps (or while paused), in this process or another, and answers here. Only the
newest request counts: a superseded answer is dropped. Nothing runs while the view is closed
or idle, so it costs the trainer only the computations the user asks for.
"""

from __future__ import annotations

from charrnn_tui.link.probes import Query
from charrnn_tui.link.protocol import ProbeDone, ProbeProgress

from ..messages import ProbeRequest
from .view_screen import ViewScreen


class ProbeView(ViewScreen):
    """Subclasses implement `answered(done)` and may override `progress(share)`."""

    def __init__(self, vocab: str = "", **kwargs) -> None:
        super().__init__(vocab, **kwargs)
        self._request = 0  # the newest request's number (0: none sent yet)
        self.busy = False  # a request is out
        self.answers = 0  # answers received (tests wait on it)

    def request(self, query: Query) -> None:
        self.busy = True
        self.post_message(ProbeRequest(self, query))

    def sent(self, request: int) -> None:
        """The app sent the newest request under this number."""
        self._request = request

    def progress_of(self, event: ProbeProgress) -> None:
        if event.request == self._request:
            self.progress(event.share)

    def done(self, event: ProbeDone) -> None:
        if event.request != self._request:
            return
        self.busy = False
        self.answers += 1
        self.answered(event)

    def progress(self, share: float) -> None:
        """The computation has run for a while: show how far it is (subclasses)."""

    def answered(self, done: ProbeDone) -> None:
        """Show what the computation returned (`done.answer`), or its error (subclasses)."""
