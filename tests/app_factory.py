"""The one place tests build the app (posting's `posting_snapshot_app.py` is the model).

`make_app` takes the text, the run's options and Config overrides over a small fixed-seed
model; the app it returns records what it told the user (`notified`), so tests ask that
instead of Textual's private notification list. The helpers below step a paused app and read
the newest snapshot.
"""

from __future__ import annotations

from textual.app import App, ComposeResult

from charrnn_tui.app.app import CharRNNApp
from charrnn_tui.app.widgets.status_line import StatusLine
from charrnn_tui.link.monitor import Snapshot, State
from charrnn_tui.waiting import until
from engine import Config, Trainer, corpus_from_text

TEXT = "the cat [sat] on the mat; a bat [b]bit[/b] the cat.\nthe end [1].\n" * 6
# the snapshot tests' corpus: a short verse, three times
VERSE = """THE LANTERN AT THE FORD

The river keeps the lantern low,
the ferryman is late;
the reeds lean over, row on row,
and [none] will mind the gate.

O slow the water, slow the oar,
the heron knows the way;
we carried salt along the shore
and sang until the day.
"""
SMALL = dict(seed=3, hidden_size=16, seq_length=10, sample_every=50, sample_length=40)
SNAPSHOT = dict(seed=7, hidden_size=32, seq_length=16, sample_every=0, sample_length=160)


class AppUnderTest(CharRNNApp):
    """The app, recording the text of every notification it shows."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.notified: list[str] = []

    def notify(self, message: str, **kwargs) -> None:
        self.notified.append(message)
        super().notify(message, **kwargs)


def make_trainer(text: str = TEXT, name: str = "tiny.txt", **config) -> Trainer:
    return Trainer(corpus_from_text(text, name), Config(**{**SMALL, **config}))


def make_app(text: str = TEXT, *, name: str = "tiny.txt", trainer: Trainer | None = None,
             iters: int | None = None, paused: bool = False, recorder=None,
             recorder_factory=None, store=None, **config) -> AppUnderTest:
    """An app over `trainer`, or over a small model of `text` with `config` overrides."""
    if trainer is None:
        trainer = make_trainer(text, name, **config)
    return AppUnderTest(trainer, iters=iters, paused=paused, recorder=recorder,
                        recorder_factory=recorder_factory, store=store)


def attached_app(path) -> AppUnderTest:
    """An app attached to the run listening on socket `path` (another process's)."""
    from charrnn_tui.link.client import RemoteLink

    return AppUnderTest(RemoteLink.open(path))


def make_snapshot_app() -> AppUnderTest:
    """The paused app of the SVG snapshots: the verse, a 32-unit model, seed 7."""
    return make_app(VERSE * 3, name="lantern.txt", paused=True, **SNAPSHOT)


def shown(app: CharRNNApp) -> State | None:
    """The state of the newest snapshot (the trainer thread publishes it)."""
    snap = app.link.latest
    return None if snap is None else snap.state


async def paused_at(app: CharRNNApp, n: int) -> None:
    """Step the paused app n iterations; wait until the trainer and its snapshot are there."""
    app.session.control.step(n)
    await until(lambda: app.trainer.n == n and app.session.monitor.latest.stats.iteration == n
                and shown(app) is State.PAUSED)


def state_tuple(trainer: Trainer) -> tuple[bytes, ...]:
    return (trainer.model.params.flat.tobytes(), trainer.optimizer.mem.flat.tobytes(),
            trainer.hprev.tobytes())


class StatusLineApp(App):
    """The status line alone, showing one snapshot (its snapshots hold hand-set values)."""

    def __init__(self, snap: Snapshot) -> None:
        super().__init__()
        self.snap = snap

    def compose(self) -> ComposeResult:
        yield StatusLine()

    def on_mount(self) -> None:
        self.query_one(StatusLine).show(self.snap)
