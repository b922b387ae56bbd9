"""The runs screen (`c`) while training: the table of logged runs, picking, the overlay."""

from __future__ import annotations

import math

import numpy as np

from charrnn_tui.app.dialogs.run_details_dialog import RunDetailsDialog
from charrnn_tui.app.views.runs_view import WEIGHTS, RunsView
from charrnn_tui.link.monitor import SERIES
from charrnn_tui.paths import user_paths
from charrnn_tui.run_files import RunRecorder
from engine import Config, Trainer, corpus_from_text
from engine.store.checkpoint import CheckpointStore, new_run_id
from engine.store.runlog import MetricsLog
from engine.store.runs import ema_debiased, parse_log

from .app_factory import TEXT, make_app, make_trainer, paused_at
from .helpers import until


def _logged_runs(tmp_path) -> list:
    """Two real short runs on the app's corpus, logged where the app looks, one with a
    checkpoint."""
    logs = user_paths().logs
    corpus = corpus_from_text(TEXT, "tiny.txt")
    paths = []
    for lr in (0.05, 0.2):
        run = new_run_id()
        trainer = Trainer(corpus, Config(seed=3, hidden_size=16, seq_length=10,
                                         sample_every=50, learning_rate=lr))
        store = CheckpointStore(tmp_path / "ck", run=run)
        recorder = RunRecorder(store, 0, MetricsLog(logs / f"{run}-tiny.txt.jsonl", run=run),
                               50)
        recorder.begin(trainer)
        for _ in range(200):
            result = trainer.step()
            recorder.after_step(trainer, result)
        recorder.finish(trainer)
        paths.append(logs / f"{run}-tiny.txt.jsonl")
    return paths


async def test_the_runs_screen_opens_while_training_and_overlays_picked_runs(tmp_path):
    paths = _logged_runs(tmp_path)
    app = make_app()
    async with app.run_test(size=(140, 45)) as pilot:
        await until(lambda: app.trainer.n > 0)
        await pilot.press("c")
        view = app.screen
        assert isinstance(view, RunsView)
        await until(lambda: view.found is not None)
        assert app.session.monitor.views == {SERIES}
        assert len(view.runs) == 2 and view.table.row_count == 2
        assert "learning_rate" in view.columns  # the setting that differs
        # training goes on, and the status line keeps its rate
        n = app.trainer.n
        await until(lambda: app.trainer.n > n + 50)
        await until(lambda: "it/s" in view.status.plain and "running" in view.status.plain)
        await until(lambda: view.shown)  # the live run
        assert view.shown[-1].label.startswith("live")
        # pick both runs: their curves are the logs' values
        await pilot.press("space", "down", "space")
        await until(lambda: len(view.shown) == 3)
        logged = {str(p): parse_log(p)[0] for p in paths}
        for curve, run in zip(view.shown, view.picked.values()):
            expected = logged[str(run.path)].points
            np.testing.assert_array_equal(curve.x, expected.iteration)
            np.testing.assert_array_equal(curve.raw, expected.loss_bits)
            np.testing.assert_allclose(curve.smoothed,
                                       ema_debiased(expected.loss_bits, WEIGHTS[view.smoothing]))
        # raw (faint) and smoothed per run, in its colour
        styles = [s.style for s in view.plot.series]
        assert styles[:4] == ["run-0 faint", "run-0", "run-1 faint", "run-1"]
        await pilot.press("x")  # characters seen
        await until(lambda: view.axis == "chars" and len(view.shown) == 3)
        first = view.shown[0]
        np.testing.assert_array_equal(first.x, list(view.picked.values())[0].points.chars_seen)
        await pilot.press("x")  # wall time
        await until(lambda: view.axis == "wall")
        await pilot.press("e")
        await until(lambda: view.exported is not None)
        assert view.exported.read_text().startswith("run,iteration,wall,")
        await pilot.press("S")  # sort by the next column
        assert view.sort_column != "started"
        # details: config, checkpoints, samples
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, RunDetailsDialog))
        details = app.screen
        assert details.checkpoints and details.run.samples
        await pilot.press("escape")
        await until(lambda: app.screen is view)
        await pilot.press("c")
        await until(lambda: not isinstance(app.screen, RunsView))
        assert math.isfinite(app.trainer.smooth_loss)


async def test_resuming_from_a_runs_checkpoint(tmp_path):
    _logged_runs(tmp_path)
    app = make_app(paused=True)
    original = app.trainer
    async with app.run_test(size=(140, 45)) as pilot:
        await pilot.press("c")
        view = app.screen
        await until(lambda: view.found is not None and view.runs)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, RunDetailsDialog))
        await pilot.press("enter")  # the newest checkpoint
        await until(lambda: app.trainer is not original and app.trainer.n >= 200)
        assert not isinstance(app.screen, RunsView)  # back on the main screen, training it


async def test_the_runs_screen_lists_this_run_once_as_the_live_one(tmp_path):
    paths = _logged_runs(tmp_path)
    run = new_run_id()
    trainer = make_trainer(val_fraction=0.2, eval_every=20)
    log = MetricsLog(user_paths().logs / f"{run}-tiny.txt.jsonl", run=run)
    recorder = RunRecorder(CheckpointStore(tmp_path / "ck", run=run), 0, log, 20)
    recorder.begin(trainer)
    app = make_app(trainer=trainer, recorder=recorder, paused=True)
    async with app.run_test(size=(140, 45)) as pilot:
        await paused_at(app, 60)  # its log has records by now, as a live run's has
        await pilot.press("c")
        view = app.screen
        await until(lambda: view.found is not None and view.live_run == run)
        names = [r.run for r in view.runs]
        assert sorted(names) == sorted([run, *(parse_log(p)[0].run for p in paths)])
        assert names.count(run) == 1
        live = names.index(run)
        assert view.table.get_row_at(live)[0] == "live"
        # picking its row adds nothing: it is in the overlay once, from the snapshot
        view.table.move_cursor(row=live)
        await pilot.press("space")
        assert view.picked == {}
        await until(lambda: view.shown)
        assert [c.label for c in view.shown] == ["live: this run"]
        # the live curve's raw series is the monitor's window loss, and the rest its EMA
        snap = view.snapshot
        curve = view.shown[0]
        np.testing.assert_allclose(curve.raw, np.array(snap.window_history) / math.log(2))
        np.testing.assert_allclose(curve.smoothed,
                                   ema_debiased(curve.raw, WEIGHTS[view.smoothing]))
        # and its validation passes on the same axis, dashed in its colour
        assert curve.val.tolist() == [b for _, b in snap.val_history] == [
            b for _, b in app.trainer.val_history]
        assert curve.val_x.tolist() == [0 + 1, 20 + 1, 40 + 1]
        assert [s.dashed for s in view.plot.series] == [False, False, True]
        other = next(i for i, name in enumerate(names) if name != run)
        view.table.move_cursor(row=other)
        await pilot.press("space")
        await until(lambda: len(view.shown) == 2)
        assert view.shown[-1].label.startswith("live")
