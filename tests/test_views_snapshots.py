"""SVG snapshots of each inspection view (pytest-textual-snapshot), paused at a fixed step.

No snapshot may hold a digit that rounding decides: CPUs differ in their BLAS kernels. The
gradient check's errors are pure rounding (1e-10 on one machine, 2e-10 on another), so its
snapshot shows the layout with results made here; `test_views.py` checks that the view shows
the engine's own numbers. The other views show losses and states to 3-4 digits after a few
hundred steps, where a last-bit difference in the weights has grown to about 1e-7.
"""

from __future__ import annotations

import pytest

from charrnn_tui.link.monitor import SERIES, WINDOW
from engine import GradCheckResult
from engine.inspect.gradcheck import TrainerCheck

from .app_factory import make_snapshot_app, paused_at
from .helpers import until

# what a gradient check may report, with digits no machine rounds differently
STABLE_RESULTS = (
    GradCheckResult("Wxh", 2.5e-10, 20, 1e-12, ((2.5e-10, 1e-12, 1e-10),)),
    GradCheckResult("Whh", 3.0e-7, 20, 1e-11, ((3.0e-7, 1e-11, 2e-10),)),
    GradCheckResult("Why", 1.25e-9, 20, 1e-12, ((1.25e-9, 1e-12, 1e-10),)),
    GradCheckResult("bh", 5.0e-6, 20, 1e-10, ((5.0e-6, 1e-10, 4e-10),)),
    GradCheckResult("by", 7.5e-11, 20, 1e-13, ((7.5e-11, 1e-13, 1e-10),)),
)


@pytest.mark.parametrize("key", ["h", "u", "g", "w", "l"])
def test_view(snap_compare, key):
    app = make_snapshot_app()

    async def run_before(pilot) -> None:
        await paused_at(app, 300)
        await pilot.press(key)
        if key == "g":
            await until(lambda: app.screen.results)
            app.screen.show_results(TrainerCheck(app.trainer.n, "the window of iteration 299",
                                                 STABLE_RESULTS))
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
