"""Every preset in the app under Pilot: the status line names the model, the optimizer pane
lists its parameters, the hidden view shows each layer, and R starts another model."""

from __future__ import annotations

import pytest

from charrnn_tui.app.dialogs.reinit_dialog import ReinitDialog
from charrnn_tui.app.views.hidden_view import HiddenView
from charrnn_tui.app.views.stepthrough_view import StepThroughView
from charrnn_tui.app.views.surprisal_view import SurprisalView
from charrnn_tui.link.monitor import State
from engine import threads_for
from engine.config import MAX_THREADS
from engine.presets import PRESETS, preset

from .app_factory import TEXT, make_app, paused_at, shown
from .helpers import until


def preset_app(name: str, **overrides):
    """The preset at a test's size: its cell, layers, batch, precision and optimizer."""
    fields = {**preset(name).fields, "hidden_size": 16, "seq_length": 10,
              "batch": min(4, preset(name).fields.get("batch", 1)), **overrides}
    return make_app(paused=True, **fields)


@pytest.mark.parametrize("name", list(PRESETS))
async def test_each_preset_runs_in_the_app_and_shows_what_it_is(name):
    app = preset_app(name)
    async with app.run_test(size=(160, 50)) as pilot:
        await paused_at(app, 12)
        config = app.trainer.config
        assert config.describe_model() in app.main_screen.status.plain
        table = app.main_screen.optimizer.plain
        for param in app.trainer.learner.names[:10]:
            assert f"{param} " in table
        title = {"adagrad": "Adagrad", "adam": "Adam", "rmsprop": "RMSprop"}[config.optimizer]
        assert app.main_screen.optimizer.border_title == title
        await pilot.press("h")
        view = app.screen
        assert isinstance(view, HiddenView)
        await until(lambda: view.saturated is not None)
        if config.is_min_char_rnn:
            assert "hidden state h (16 units)" in view.head.plain
        else:
            assert f"hidden state of {config.layers} layer" in view.head.plain
            for k in range(config.layers):
                assert f"layer {k}:" in view.grid.plain
            if config.cell != "rnn":  # the gates' saturation over the window
                await until(lambda: "gates over the window" in view.strip_head.plain)
        for key, cls in (("u", SurprisalView), ("w", StepThroughView)):
            await pilot.press(key)
            await until(lambda cls=cls: isinstance(app.screen, cls))
        await pilot.press("escape")
        app.session.control.resume()
        await until(lambda: app.trainer.n > 20)  # it trains on after the views


async def test_r_can_start_another_model_on_the_same_corpus():
    # one BLAS thread, which R keeps: on a busy machine two wait for each other, seconds a step
    app = make_app(TEXT * 20, paused=True, threads=1)
    async with app.run_test(size=(120, 40)) as pilot:
        old = app.trainer
        await paused_at(app, 3)
        await pilot.press("R")
        await until(lambda: isinstance(app.screen, ReinitDialog))
        names = [choice for choice, _ in app.screen.choices]
        await pilot.press(*["m"] * names.index("gru-2x256"), "s")
        await until(lambda: app.trainer is not old)
        new = app.trainer.config
        assert (new.cell, new.layers, new.batch, new.optimizer) == ("gru", 2, 32, "adam")
        assert new.seed == old.config.seed and new.sample_every == old.config.sample_every
        await until(lambda: "gru 2×256" in app.main_screen.status.plain)
        await until(lambda: app.trainer.n > 2 and shown(app) is State.RUNNING)


async def test_the_blas_threads_follow_the_model_and_the_controls():
    app = make_app(TEXT * 20, paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 3)
        box = app.query_one("#ctl-threads")
        assert app.trainer.threads == 1 and box.value == "1"
        assert "thread" not in app.main_screen.status.plain  # one is the rule
        await pilot.press("R")
        await until(lambda: isinstance(app.screen, ReinitDialog))
        names = [choice for choice, _ in app.screen.choices]
        await pilot.press(*["m"] * names.index("rnn-256"), "s")
        await until(lambda: app.trainer.config.batch == 32)
        await pilot.press("p")  # an edit then waits for one step at most
        count = threads_for(app.trainer.config)
        assert app.trainer.threads == count == min(preset("rnn-256").threads, MAX_THREADS)
        await until(lambda: box.value == str(count))
        if count > 1:
            await until(lambda: f"it/s · {count} threads" in app.main_screen.status.plain)
        box.focus()
        box.value = str(MAX_THREADS + 1)
        await pilot.press("enter")  # the run refuses it: its machine has fewer cores
        await until(lambda: "threads must be between 1 and" in str(
            app.query_one("#controls-message").render()))
        box.value = "1"
        await pilot.press("enter", "escape")
        await until(lambda: app.trainer.threads == 1)
        await until(lambda: "thread" not in app.main_screen.status.plain)
        assert app.config.threads == 1  # chosen: R keeps it for the next model


async def test_closing_the_gradient_check_of_a_large_model_cancels_it():
    # ~20 s to check; one BLAS thread: on a busy machine two wait for each other, seconds a step
    app = make_app(TEXT * 20, paused=True, threads=1, **preset("gru-2x256").fields)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 2)
        await pilot.press("g")
        view = app.screen
        await until(lambda: "entries" in view.head.plain)  # progress is shown while it runs
        await pilot.press("escape")
        await until(lambda: app.session.grad_checks == 0, timeout=5)  # it stopped
        app.session.control.step(1)  # the trainer thread is free again at once
        await until(lambda: app.trainer.n == 3, timeout=5)
        assert not view.results


async def test_a_slow_validation_pass_shows_progress_and_q_stops_it():
    import time

    app = make_app(TEXT * 20, paused=True, val_fraction=0.2, eval_every=10**6)
    learner = app.trainer.learner
    real = learner.eval_window

    def slow(*args):  # a big model's pass: seconds
        time.sleep(0.05)
        return real(*args)

    learner.eval_window = slow
    async with app.run_test(size=(160, 40)):
        app.session.control.step(1)  # iteration 0 validates
        await until(lambda: "validation" in app.main_screen.status.plain
                    and "q stops it" in app.main_screen.status.plain)
        t0 = time.perf_counter()
        app.simulate_key("q")
        await until(lambda: app.session.control.stopped)
    assert time.perf_counter() - t0 < 2.0  # the pass stopped; it did not run to its end
    assert app.trainer.val_history == []


async def test_the_optimizer_pane_shows_the_cooldown_of_a_budgeted_run():
    app = preset_app("gru-2x256", iters=40)
    async with app.run_test(size=(160, 50)):
        await paused_at(app, 30)  # a budget of 40 with the preset's 0.2 cools from 32 on
        assert "cooldown" not in app.main_screen.optimizer.plain
        app.session.control.step(6)
        await until(lambda: app.session.monitor.latest.stats.iteration == 36)
        factor = app.trainer.lr_scale
        assert factor == 0.625  # iteration 35 trained at (40 - 35) / 40 / 0.2
        await until(lambda: f"cooldown ×{factor:.2f}" in app.main_screen.optimizer.plain)
