"""The live monitor driven through Textual's pilot: keys, controls, states and the worker.

Apps are built by `app_factory.make_app` with a fixed seed and a small model. While the
trainer runs, keys go in with `app.simulate_key` (as the terminal delivers them) and tests
wait for a condition: `pilot.press` and `pilot.pause` wait for the process to go idle, which a
training thread never lets happen. While paused, `pilot.press` is fine.
"""

from __future__ import annotations

import asyncio
import math
import time

import numpy as np
import pytest
from textual.command import CommandList, CommandPalette
from textual.widgets import Input, Static

from charrnn_tui.app.app import CharRNNApp
from charrnn_tui.app.commands import palette_entries
from charrnn_tui.app.messages import SnapshotReady
from charrnn_tui.app.widgets.loss_sparkline import bar_rows, fit
from charrnn_tui.app.widgets.status_line import StatusLine
from charrnn_tui.cli.main import run_app
from charrnn_tui.link.monitor import Monitor, Sample, State
from engine import Config, Control, LossHistory, Trainer, corpus_from_text

from .app_factory import TEXT, make_app, make_trainer, paused_at, shown, state_tuple
from .helpers import until

# -- running, pausing, stepping ------------------------------------------------------------


async def test_pause_stops_the_iteration_count_and_resume_continues_it():
    app = make_app()
    async with app.run_test(size=(120, 40)):
        trainer = app.trainer
        await until(lambda: trainer.n > 30)
        app.simulate_key("p")
        await until(lambda: shown(app) is State.PAUSED)  # published just before it blocks
        frozen = trainer.n
        await asyncio.sleep(0.2)
        assert trainer.n == frozen
        assert app.state is State.PAUSED and "paused" in app.main_screen.status.plain
        app.simulate_key("space")
        await until(lambda: trainer.n > frozen + 30)
        await until(lambda: shown(app) is State.RUNNING)


async def test_n_advances_exactly_one_iteration_while_paused():
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        trainer = app.trainer
        await until(lambda: shown(app) is State.PAUSED)
        assert trainer.n == 0
        for expected in (1, 2, 3):
            await pilot.press("n")
            await until(lambda n=expected: app.session.monitor.latest.stats.iteration == n)
        await asyncio.sleep(0.1)
        assert trainer.n == 3
        # the screen's next frame (4 Hz)
        await until(lambda: "iter 3" in app.main_screen.status.plain)


async def test_n_does_nothing_while_running():
    app = make_app()
    async with app.run_test():
        await until(lambda: app.trainer.n > 10)
        assert app.check_action("step", ()) is None  # shown dimmed in the footer
        assert app.check_action("pause", ()) is True
        assert app.check_action("resume", ()) is False


async def test_sample_now_while_paused_adds_a_sample_and_disturbs_nothing():
    app = make_app(paused=True, sample_every=0)
    async with app.run_test() as pilot:
        trainer = app.trainer
        await paused_at(app, 7)
        before = state_tuple(trainer)
        rng = trainer.rng.get_state()[1].copy()
        await pilot.press("s")
        await until(lambda: app.main_screen.samples.last_serial == 1)
        sample = app.session.monitor.latest.samples[-1]
        assert sample.on_demand and sample.iteration == 7
        assert state_tuple(trainer) == before  # weights, Adagrad memory, hidden: bit-identical
        assert np.array_equal(trainer.rng.get_state()[1], rng)  # the training stream too
        assert trainer.n == 7
        assert any("iter 7 · sample now" in line for line in app.main_screen.samples.lines)


async def test_sample_now_while_running_shows_within_100_ms():
    app = make_app(sample_every=0)
    async with app.run_test():
        await until(lambda: app.trainer.n > 20)
        delays = []
        for serial in range(1, 6):
            t0 = time.perf_counter()
            app.simulate_key("s")
            await until(lambda n=serial: app.main_screen.samples.last_serial == n)
            delays.append(time.perf_counter() - t0)
        assert sorted(delays)[2] < 0.1  # the median: one slow press is the machine, not us


async def test_r_zeroes_the_hidden_state_and_keeps_the_weights():
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        trainer = app.trainer
        await paused_at(app, 5)
        assert trainer.hprev.any()
        weights = trainer.model.params.flat.copy()
        await pilot.press("r")
        await until(lambda: not trainer.hprev.any())
        assert np.array_equal(trainer.model.params.flat, weights)
        assert trainer.n == 5
        assert any("hidden state reset" in line for line in app.main_screen.samples.lines)


# -- settings --------------------------------------------------------------------------------


async def submit(pilot, app: CharRNNApp, field: str, text: str) -> None:
    box = app.query_one(f"#ctl-{field}", Input)
    box.focus()
    await pilot.pause()
    box.value = text
    await pilot.press("enter")


def controls_message(app: CharRNNApp) -> str:
    return str(app.query_one("#controls-message", Static).render())


async def test_a_control_edit_changes_the_hyperparameter_between_steps():
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        trainer = app.trainer
        await until(lambda: shown(app) is State.PAUSED)
        await submit(pilot, app, "learning_rate", "0.05")
        await until(lambda: trainer.config.learning_rate == 0.05)
        assert "✓" in controls_message(app)
        box = app.query_one("#ctl-learning_rate", Input)
        assert app.focused is box  # the user may still be typing: keys must not steer now
        await pilot.press("-", "q")
        assert app.is_running and app.config.learning_rate == 0.05
        await submit(pilot, app, "seq_length", "12")
        await until(lambda: trainer.config.seq_length == 12)
        await submit(pilot, app, "sample_every", "0")
        await until(lambda: trainer.config.sample_every == 0)


@pytest.mark.parametrize(("field", "text", "reason"), [
    ("learning_rate", "-1", "learning rate must be"),
    ("learning_rate", "fast", "must be a number"),
    ("seq_length", "2.5", "must be an integer"),
    ("seq_length", "100000", "needs at least"),  # longer than the corpus
    ("temperature", "0", "temperature must be"),
    ("sample_length", "0", "sample length must be"),
])
async def test_a_bad_control_value_is_rejected_with_a_message(field, text, reason):
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        trainer = app.trainer
        await until(lambda: shown(app) is State.PAUSED)
        before = trainer.config
        await submit(pilot, app, field, text)
        await pilot.pause()
        assert reason in controls_message(app) and "✗" in controls_message(app)
        box = app.query_one(f"#ctl-{field}", Input)
        assert app.focused is box and box.has_class("-invalid")  # readable while still typing
        assert reason in str(box.tooltip)
        app.session.control.step(2)  # commands run before steps: any edit would be in by now
        await until(lambda: trainer.n == 2)
        assert trainer.config == before
        assert app.config == before


async def test_typing_in_a_control_does_not_trigger_the_keys():
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        box = app.query_one("#ctl-temperature", Input)
        box.focus()
        await pilot.press("s", "p", "n", "r", "q")
        assert box.value == "spnrq"
        assert app.main_screen.samples.last_serial == 0 and app.trainer.n == 0
        assert app.is_running and shown(app) is State.PAUSED
        await pilot.press("escape")  # leaves the input; the text goes back to the value
        assert app.focused is None and box.value == "1"


async def test_keys_scale_the_learning_rate_and_step_the_temperature():
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        trainer = app.trainer
        await until(lambda: shown(app) is State.PAUSED)
        await pilot.press("plus", "plus", "minus")
        await until(lambda: trainer.config.learning_rate == pytest.approx(0.2))
        await pilot.press("t", "t")
        await until(lambda: trainer.config.temperature == pytest.approx(0.8))
        await pilot.press("T")
        await until(lambda: trainer.config.temperature == pytest.approx(0.9))
        assert app.query_one("#ctl-learning_rate", Input).value == "0.2"
        assert app.query_one("#ctl-temperature", Input).value == "0.9"


async def test_temperature_keys_never_reach_zero():
    app = make_app(paused=True, temperature=0.2)
    async with app.run_test() as pilot:
        await pilot.press("t", "t", "t", "t")
        await until(lambda: app.trainer.config.temperature == pytest.approx(0.0125))
        assert app.trainer.config.temperature > 0


async def test_lr_key_beyond_the_limit_is_rejected():
    app = make_app(paused=True, learning_rate=8000.0)
    async with app.run_test() as pilot:
        await pilot.press("plus")
        await pilot.pause()
        assert "learning rate must be" in controls_message(app)
        assert app.config.learning_rate == 8000.0


async def test_the_footer_shows_how_to_leave_at_80_columns():
    from textual.widgets._footer import FooterKey

    app = make_app(paused=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: app.main_screen.query(FooterKey))
        await pilot.pause()
        keys = list(app.main_screen.query(FooterKey))
        palette = next(k for k in keys if k.has_class("-command-palette"))
        quit_key = next(k for k in keys if k.key == "q")
        assert quit_key.region.x == 0 and quit_key.region.right < palette.region.x
        assert palette.region.right == 80  # no cell after it for the keys scrolled beneath


# -- end of a run, divergence, errors ------------------------------------------------------


async def test_an_iteration_budget_finishes_and_the_app_stays_usable():
    app = make_app(iters=120)
    async with app.run_test() as pilot:
        await until(lambda: shown(app) is State.FINISHED)
        assert app.trainer.n == 120
        await until(lambda: app.state is State.FINISHED)  # the screen's next frame shows it
        assert "finished" in app.main_screen.status.plain
        shown_text = "".join(app.main_screen.samples.lines)  # the pane wraps its lines
        assert "finished at iter 120 (s still samples, q quits)" in shown_text
        app.main_screen.note_state(app.session.monitor.latest, attached=True)
        assert "finished at iter 120 (s still samples, q leaves)" in "".join(
            app.main_screen.samples.lines)
        assert app.check_action("pause", ()) is None
        await pilot.press("s")  # the worker still answers commands
        await until(lambda: any(s.on_demand for s in app.session.monitor.latest.samples))
        assert app.trainer.n == 120


async def test_divergence_pauses_with_an_explanation():
    app = make_app(learning_rate=10_000.0)
    async with app.run_test():
        await until(lambda: shown(app) is State.DIVERGED)
        assert app.session.control.paused
        message = app.session.monitor.latest.message
        assert "lower the learning rate" in message
        await until(lambda: app.state is State.DIVERGED)
        assert "diverged" in app.main_screen.status.plain
        assert any("diverged at iter" in line for line in app.main_screen.samples.lines)
        assert np.isfinite(app.trainer.model.params.flat).all()  # rolled back
        assert app.check_action("resume", ()) is True


class Exploding(Trainer):
    def step(self):
        if self.n == 25:
            raise RuntimeError("boom")
        return super().step()


async def test_an_exception_in_the_trainer_shows_an_error_state():
    app = make_app(trainer=Exploding(corpus_from_text(TEXT), Config(seed=1, hidden_size=8)))
    async with app.run_test() as pilot:
        await until(lambda: app.state is State.ERROR)
        assert "RuntimeError: boom" in app.main_screen.status.plain
        assert app.is_running
        await pilot.press("q")
    assert app.return_value == 1


# -- quitting, re-initialising, sizes -------------------------------------------------------


async def test_quit_stops_the_worker_at_once():
    app = make_app()
    async with app.run_test():
        await until(lambda: app.trainer.n > 20)
        worker = next(w for w in app.workers if w.group == "trainer")  # not another worker
        t0 = time.perf_counter()
        app.simulate_key("q")
        await until(lambda: app.session.control.stopped)
    assert time.perf_counter() - t0 < 1.0
    await until(lambda: worker.is_finished, timeout=1.0)  # its function returned
    n = app.trainer.n
    await asyncio.sleep(0.05)
    assert app.trainer.n == n


async def test_ctrl_c_quits_too():
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        await pilot.press("ctrl+c")
    assert app.session.control.stopped and app.return_value == 0


@pytest.mark.parametrize("choice", ["s", "n"])
async def test_reinitialise_after_confirming(choice):
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        old = app.trainer
        app.session.control.step(10)
        await until(lambda: old.n == 10)
        await pilot.press("R")
        await pilot.pause()
        assert type(app.screen).__name__ == "ReinitDialog"
        await pilot.press(choice)
        await until(lambda: app.trainer is not old and app.trainer.n > 20)
        app.simulate_key("p")
        await until(lambda: shown(app) is State.PAUSED)
        new = app.trainer
        assert old.n == 10  # the old worker stopped
        assert any("re-initialised" in line for line in app.main_screen.samples.lines)
        if choice == "s":  # the same seed retraces the same run from the same weights
            assert new.config.seed == old.config.seed
            fresh = make_trainer()
            for _ in range(new.n):
                fresh.step()
            assert state_tuple(fresh) == state_tuple(new)
        else:
            assert new.config.seed != old.config.seed


async def test_reinitialise_can_be_cancelled():
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        old = app.trainer
        await pilot.press("R")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert app.trainer is old


@pytest.mark.parametrize("size", [(40, 12), (80, 24), (120, 40)])
async def test_small_and_large_terminals_do_not_crash(size):
    app = make_app()
    async with app.run_test(size=size):
        await until(lambda: app.trainer.n > 60)
        for key in ("s", "p", "n", "r", "plus", "minus", "t", "T", "p"):
            app.simulate_key(key)
        await until(lambda: app.main_screen.samples.last_serial >= 1)
        await asyncio.sleep(0.3)
        assert app.is_running


# -- what is drawn ---------------------------------------------------------------------------


async def test_samples_are_shown_literally_and_headed_by_their_iteration():
    app = make_app(paused=True, sample_every=1)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await until(lambda: app.main_screen.samples.last_serial == 1)
        assert any("── iter 0 · sample · T 1 ─" in line for line in app.main_screen.samples.lines)
        markup = "[b]not bold[/b] [red]x\tand [link=y]z\x1b[0m"
        app.main_screen.samples.add((Sample(2, 9, markup, True, 0.5, False),))
        lines = app.main_screen.samples.lines
        assert lines[-2].startswith("── iter 9 · sample now · T 0.5 ─")
        assert lines[-1] == "[b]not bold[/b] [red]x  and [link=y]z\u241b[0m"  # tab expanded


def test_a_queued_frame_gives_way_to_a_newer_one_but_never_loses_an_urgent_one():
    urgent, regular = SnapshotReady(True), SnapshotReady(False)
    # Textual asks the queued (older) message whether the pending one may replace it
    assert regular.can_replace(SnapshotReady(False))
    assert regular.can_replace(SnapshotReady(True))
    assert urgent.can_replace(SnapshotReady(True))
    assert not urgent.can_replace(SnapshotReady(False))


def test_monitor_snapshot_is_a_value():
    trainer = make_trainer(sample_every=10)
    monitor = Monitor(trainer, Control(), history=8)
    for _ in range(40):
        monitor.on_step(trainer.step())
    monitor.publish(trainer)
    snap = monitor.latest
    assert snap.stats.iteration == 40 and snap.state is State.RUNNING
    assert len(snap.loss_history) <= 8
    assert [s.iteration for s in snap.samples] == [0, 10, 20, 30]
    # the per-character loss is the trainer's debiased average (test_readouts.py checks it)
    assert snap.loss_per_char == trainer.average.value
    trainer.step()
    assert monitor.latest is snap and snap.stats.iteration == 40  # nothing live in it
    with pytest.raises(AttributeError):
        snap.version = 0


def test_loss_curve_fits_any_history_into_its_width():
    history = LossHistory(64)
    for v in np.linspace(4.0, 2.0, 1000):
        history.append(float(v))
    points = fit(history.snapshot() + (math.nan,), 20)
    assert len(points) == 20 and all(math.isfinite(v) for v in points)
    rows = bar_rows(points, 3)
    assert len(rows) == 3 and all(len(r) == 20 for r in rows)
    assert rows[0][0] == "█" and rows[-1][-1] != " "  # falls from full to the lowest eighth


async def test_status_line_shows_plain_iteration_digits():
    app = make_app(iters=1234, sample_every=0)
    async with app.run_test(size=(120, 40)):
        await until(lambda: shown(app) is State.FINISHED, timeout=20)
        await until(lambda: "iter 1234 " in app.query_one(StatusLine).plain)
        assert "epoch" in app.main_screen.status.plain and "chars" in app.main_screen.status.plain


async def test_command_palette_lists_the_training_actions():
    titles = {title for title, _, _ in palette_entries()}
    assert {"Pause / resume training", "Sample now", "One training step", "Reset hidden state",
            "Re-initialise the model"} <= titles
    app = make_app(paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await until(lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"sample now")
        await until(lambda: app.screen.query_one(CommandList).option_count > 0)
        first = app.screen.query_one(CommandList).get_option_at_index(0)
        assert "Sample now" in str(first.prompt)
        await pilot.press("enter")
        await until(lambda: app.main_screen.samples.last_serial == 1)  # the same as `s`


class FakeRecorder:
    def __init__(self):
        self.steps, self.finished = 0, []
        self.report = print
        self.on_saved = None

    def after_step(self, trainer, result=None):
        self.steps += 1
        if trainer.n == 30:
            self.on_saved("ckpt")

    def finish(self, trainer, save=True):
        self.finished.append((trainer.n, save))


async def test_the_run_recorder_is_driven_from_the_trainer_thread():
    recorder = FakeRecorder()
    app = make_app(iters=50, recorder=recorder)
    async with app.run_test():
        await until(lambda: shown(app) is State.FINISHED)
        assert recorder.steps == 50
        assert recorder.finished == [(50, True)]
        assert app.session.monitor.latest.saved_at == 30
        recorder.report("disk full")  # goes to a notification, not to stderr
        await until(lambda: "disk full" in app.notified)


def test_run_app_returns_an_exit_code(monkeypatch):
    calls = []

    def fake_run(self):
        calls.append(self)
        return None

    monkeypatch.setattr(CharRNNApp, "run", fake_run)
    assert run_app(make_trainer(), iters=5, listen=False) == 0
    assert calls and calls[0].session.control.stopped
