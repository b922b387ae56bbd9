"""The base of the inspection views: a screen over the main one, with the status line on top.

Each view declares what it needs in the snapshot (`NEEDS`, see `monitor.WINDOW` / `SERIES`);
the app asks the monitor for exactly that while the view is in front, and calls `draw` with
each snapshot it draws. Its key, footer label and palette entry are one row of
`charrnn_tui/app/actions.py`. The main screen's panes are not drawn while a view covers them, so
a view costs its own drawing and nothing else; and while the run trains, a view redraws its
body at most every LIVE_SECONDS (a heatmap or a table a second old is as readable, and its
drawing comes off training under the GIL), at once after a key or a change of state.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer

from charrnn_tui.link.monitor import Snapshot, State

from ..widgets.status_line import StatusLine

LIVE_SECONDS = 1.0  # a view's body redraws at most this often while the run trains


class ViewScreen(Screen):
    """Subclasses set NAME and NEEDS, yield their body from `body`, and implement `show`."""

    # a status line, a few lines of text, then the view's own rows
    DEFAULT_CSS = """
    ViewScreen {
        layout: vertical;
        overflow-y: auto;
    }
    .view-text, .view-table, .view-detail {
        height: auto;
        padding: 0 1;
    }
    .view-grid {
        padding: 0 1;
        margin-bottom: 1;
    }
    """

    NAME = ""  # the view's name in the actions table: `view('<NAME>')` opens it
    NEEDS: frozenset[str] = frozenset()
    BINDINGS = [Binding("escape", "app.close_view", "Close", id="close-view")]

    def __init__(self, vocab: str = "", **kwargs) -> None:
        super().__init__(**kwargs)
        self.vocab = vocab  # the corpus's characters, by index
        self.snapshot: Snapshot | None = None  # the newest one the app handed it (None: none)
        self._shown_at = -float("inf")

    def compose(self) -> ComposeResult:
        self.status = StatusLine(classes="view-status")
        yield self.status
        yield from self.body()
        yield Footer(compact=True)

    def body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.app.views_changed()

    def draw(self, snap: Snapshot, everything: bool = True) -> None:
        """Draw `snap` (called by the app at its frame rate while this view is in front);
        a frame that only brings newer numbers (not `everything`) waits LIVE_SECONDS."""
        self.snapshot = snap
        now = time.monotonic()
        if not everything and snap.state is State.RUNNING and now - self._shown_at < LIVE_SECONDS:
            return
        self._shown_at = now
        self.show(snap)

    def show(self, snap: Snapshot) -> None:
        """Draw `snap` into the view's body (subclasses)."""
