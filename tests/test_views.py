"""The inspection views, opened by their keys, checked against the engine's own numbers.

Apps come from `app_factory.make_app` (fixed seed, small model) and are stepped while paused
to a fixed iteration, so what a view shows is deterministic; one test opens views while training.
"""

from __future__ import annotations

import csv
import math

import numpy as np
from textual.widgets import Input

from charrnn_tui.app.views.gradcheck_view import GradCheckView
from charrnn_tui.app.views.hidden_view import HiddenView, grid_shape, saturated_share
from charrnn_tui.app.views.loss_chart_view import LossChartView, smooth
from charrnn_tui.app.views.stepthrough_view import StepThroughView
from charrnn_tui.app.views.surprisal_view import SurprisalView, tempered
from charrnn_tui.link.monitor import SERIES, WINDOW
from engine import check_trainer

from .app_factory import make_app, paused_at
from .helpers import until


async def test_hidden_view_shows_the_saturated_share_of_the_trainers_hidden_state():
    app = make_app(paused=True, learning_rate=0.3)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 150)
        await pilot.press("h")
        view = app.screen
        assert isinstance(view, HiddenView)
        await until(lambda: view.saturated is not None)
        assert app.session.monitor.views == {WINDOW}
        expected = saturated_share(app.trainer.hprev)
        assert view.saturated == expected
        assert f"{100 * expected:.1f}%" in view.head.plain
        rows, cols = grid_shape(16)
        assert len(view.grid.plain.splitlines()) == rows + 1  # the grid and its colour scale
        assert (rows, cols) == (4, 4) and grid_shape(100) == (10, 10)
        assert len(view.strip.plain.splitlines()) == 10  # one row per timestep
        await pilot.press("h")  # the same key closes it
        assert not isinstance(app.screen, HiddenView)
        await until(lambda: app.session.monitor.views == frozenset())


async def test_surprisal_view_shows_the_windows_losses_and_top_k():
    app = make_app(paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 40)
        await pilot.press("u")
        view = app.screen
        assert isinstance(view, SurprisalView)
        await until(lambda: view.losses)
        win = app.trainer.window_view()
        assert win.iteration == 39
        np.testing.assert_array_equal(view.losses, win.losses)
        for t in (0, 9):
            assert f"{win.losses[t]:6.3f}" in view.table.plain
        await pilot.press("left")  # select position 8
        p = win.probs[8]
        assert "position 8" in view.detail.plain
        assert f"{p.max():.3f}" in view.detail.plain
        q = tempered(p, app.config.temperature)
        np.testing.assert_allclose(q, p)  # T = 1: unchanged
        np.testing.assert_allclose(tempered(p, 0.5), p**2 / (p**2).sum())


async def test_gradient_check_view_passes_on_a_small_model():
    app = make_app(paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 5)
        await pilot.press("g")
        view = app.screen
        assert isinstance(view, GradCheckView)
        await until(lambda: view.results)
        assert [r.name for r in view.results] == ["Wxh", "Whh", "Why", "bh", "by"]
        assert all(r.max_rel_error < 1e-6 for r in view.results)
        assert [r.checked for r in view.results] == [20, 20, 20, 16, 20]  # bh has 16 entries
        assert "all pass" in view.head.plain and "window of iteration 4" in view.head.plain
        assert view.table.plain.count("pass") == 5
        assert app.trainer.n == 5  # checking does not train
        # the exact numbers are the engine's, computed here on the same machine
        again = check_trainer(app.trainer)
        assert again.results == view.results
        for r in again.results:
            assert f"{r.max_rel_error:.3e}" in view.table.plain


async def test_step_through_shows_the_window_just_stepped():
    app = make_app(paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 12)
        await pilot.press("w")
        view = app.screen
        assert isinstance(view, StepThroughView)
        await pilot.press("n")
        await until(lambda: app.session.monitor.latest.stats.iteration == 13
                    and app.session.monitor.latest.window.iteration == 12)
        await until(lambda: view.inputs == app.trainer.window_view().inputs)
        win = app.trainer.window_view()
        vocab = app.trainer.corpus.vocab
        rows = view.table.plain.splitlines()
        assert len(rows) == len(win.inputs) == 10
        for t, row in enumerate(rows):
            assert f"{win.probs[t][win.targets[t]]:.4f}" in row
        assert "iteration 12" in view.head.plain
        assert all(f"{name} {c}" in view.clip.plain
                   for name, c in zip(("Wxh", "Whh", "Why", "bh", "by"), win.clipped))
        assert vocab  # decoded characters come from the corpus vocabulary


async def test_val_fraction_edit_applies_and_a_bad_value_is_rejected():
    app = make_app(paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 3)
        assert "val off" in app.main_screen.loss.plain  # the hint on how to turn it on
        box = app.query_one("#ctl-val_fraction", Input)
        for text in ("0.2", "0.9"):
            box.focus()
            box.value = text
            await pilot.press("enter")
        await until(lambda: app.trainer.config.val_fraction == 0.2)
        message = str(app.query_one("#controls-message").render())
        assert "val fraction" in message and "✗" in message
        assert app.config.val_fraction == 0.2


async def test_loss_chart_exports_the_monitors_history():
    app = make_app(paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 80)
        await pilot.press("l")
        view = app.screen
        assert isinstance(view, LossChartView)
        await until(lambda: app.session.monitor.views == {SERIES}
                    and app.session.monitor.latest.history_times)
        await until(lambda: view.snapshot is not None and view.snapshot.history_times)
        snap = view.snapshot
        await pilot.press("L", "x", "right_square_bracket", "e")
        assert view.log_y and view.wall_time and view.smoothing == 1
        path = view.exported
        with path.open() as f:
            rows = list(csv.DictReader(f))
        train = [r for r in rows if r["series"] == "train"]
        assert [float(r["nats_per_char"]) for r in train] == list(snap.loss_history)
        assert [int(r["iteration"]) for r in train][-1] == 80
        assert len(train) == len(snap.history_times)
        assert "validation off" in view.head.plain


def test_smoothing_is_a_centred_moving_average():
    v = np.arange(10.0)
    np.testing.assert_allclose(smooth(v, 3)[1:-1], v[1:-1])
    assert smooth(v, 3)[0] == 0.5 and math.isclose(smooth(v, 1)[4], 4.0)


async def test_views_work_while_training_and_pause_only_keys_are_dimmed():
    app = make_app()
    async with app.run_test(size=(120, 40)):
        trainer = app.trainer
        await until(lambda: trainer.n > 20)
        assert app.check_action("gradient_check", ()) is None
        assert app.check_action("view", ("stepthrough",)) is None
        assert app.check_action("view", ("hidden",)) is True
        for key, kind in (("u", SurprisalView), ("h", HiddenView), ("l", LossChartView)):
            app.simulate_key(key)
            await until(lambda kind=kind: isinstance(app.screen, kind))
        view = app.screen
        await until(lambda: view.snapshot is not None)
        seen = view.snapshot.stats.iteration
        await until(lambda: view.snapshot.stats.iteration > seen + 20)  # it keeps drawing
        app.simulate_key("escape")
        await until(lambda: not isinstance(app.screen, LossChartView))
        await until(lambda: app.session.monitor.views == frozenset())
        n = trainer.n
        await until(lambda: trainer.n > n + 20
                    and f"iter {app.session.monitor.latest.stats.iteration}"
                    in app.main_screen.status.plain)
