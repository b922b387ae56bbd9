"""SVG snapshots of each inspection view (pytest-textual-snapshot), paused at a fixed step."""

from __future__ import annotations

import pytest

from charrnn_tui.monitor import SERIES, WINDOW

from .app_factory import make_snapshot_app, paused_at
from .helpers import until


@pytest.mark.parametrize("key", ["h", "u", "g", "w", "l"])
def test_view(snap_compare, key):
    app = make_snapshot_app()

    async def run_before(pilot) -> None:
        await paused_at(app, 300)
        await pilot.press(key)
        if key == "g":
            await until(lambda: app.screen.results)
        monitor = app.session.monitor

        def drawn() -> bool:  # the snapshot carrying what the view needs is on screen
            latest = monitor.latest
            needs = app.screen.NEEDS
            return (monitor.views == needs and app.shown_version == latest.version
                    and (latest.window is not None or WINDOW not in needs)
                    and (latest.history_times or SERIES not in needs))

        await until(drawn)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
