"""SVG snapshots of the main screen (pytest-textual-snapshot; `--snapshot-update` rewrites them).

Each run steps a fixed-seed model, paused, to a fixed iteration on a fixed text. While paused
the loop publishes after every step, so the trends and samples do not depend on when frames
happened, and the rate shows as "—": nothing on screen depends on the clock.
"""

from __future__ import annotations

from .app_factory import make_snapshot_app, paused_at
from .helpers import until


def test_main_screen_after_400_steps(snap_compare):
    app = make_snapshot_app()

    async def run_before(pilot) -> None:
        await paused_at(app, 400)
        await pilot.press("s")  # one sample from its own stream: the same every time
        await until(lambda: app.main_screen.samples.last_serial == 1)

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)


def test_paused_at_80x24_with_a_rejected_edit(snap_compare):
    app = make_snapshot_app()

    async def run_before(pilot) -> None:
        await paused_at(app, 60)
        box = app.query_one("#ctl-learning_rate")
        box.focus()
        box.value = "-0.5"
        await pilot.press("enter", "escape")

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_reinitialise_asks_first(snap_compare):
    app = make_snapshot_app()

    async def run_before(pilot) -> None:
        await paused_at(app, 5)
        await pilot.press("R")

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
