"""The app's checkpoint keys and its robustness: ctrl+s, the resume picker, R, random keys."""

from __future__ import annotations

import asyncio
import random
import threading

import numpy as np

from charrnn_tui.app.app import CharRNNApp
from charrnn_tui.app.dialogs.resume_dialog import ResumeDialog
from charrnn_tui.link.monitor import State
from charrnn_tui.run_files import RunRecorder
from engine.store.checkpoint import CheckpointStore, load_checkpoint

from .app_factory import make_app, make_trainer, paused_at, shown
from .helpers import until


def _app(tmp_path, paused=True, **kwargs):
    store = CheckpointStore(tmp_path / "ckpts", keep=3)

    def factory(trainer):
        return RunRecorder(store, save_every=0, log=None, log_every=100)

    trainer = make_trainer(**kwargs)
    return make_app(trainer=trainer, paused=paused, recorder=factory(trainer),
                    recorder_factory=factory, store=store), store


async def test_ctrl_s_saves_now_and_the_status_line_says_where(tmp_path):
    app, store = _app(tmp_path)
    async with app.run_test(size=(160, 40)) as pilot:
        await paused_at(app, 12)
        await pilot.press("ctrl+s")
        await until(lambda: store.paths())
        assert store.paths() == [store.path_for(12)]
        await until(lambda: "saved 12" in app.main_screen.status.plain)
        assert store.path_for(12).name in app.main_screen.status.plain
        resumed = load_checkpoint(store.paths()[0], app.trainer.corpus)
        assert np.array_equal(resumed.model.params.flat, app.trainer.model.params.flat)


async def test_ctrl_s_without_saving_says_so(tmp_path):
    app = make_app(paused=True)
    async with app.run_test() as pilot:
        await pilot.press("ctrl+s")
        await until(lambda: any("saving is off" in text for text in app.notified))


async def test_the_resume_picker_lists_checkpoints_and_resumes_the_chosen_one(tmp_path):
    app, store = _app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        for n in (5, 9):
            app.session.control.step(n - app.trainer.n)
            await until(lambda n=n: app.trainer.n == n and shown(app) is State.PAUSED)
            await pilot.press("ctrl+s")
            await until(lambda n=n: len(store.paths()) == (1 if n == 5 else 2))
        app.session.control.step(20)
        await until(lambda: app.trainer.n == 29 and shown(app) is State.PAUSED)
        old = app.trainer
        await pilot.press("o")
        await until(lambda: isinstance(app.screen, ResumeDialog))
        listing = app.screen.query_one("#resume-list")
        assert listing.option_count == 2
        newest = str(listing.get_option_at_index(0).prompt)
        assert "iter         9" in newest
        assert f"run {store.run} (this run)" in newest and "seed 3" in newest  # whose it is
        await pilot.press("down", "enter")  # the older one: iteration 5
        await until(lambda: app.trainer is not old)
        trainer = app.trainer
        assert trainer.n >= 5
        expected = load_checkpoint(store.paths()[0], trainer.corpus)
        assert trainer is not expected and trainer.config == expected.config
        await until(lambda: trainer.n > 40)  # it trains on, from iteration 5
        assert app.session.recorder is not None


async def test_a_resumed_model_keeps_the_thread_count_chosen_on_this_machine(tmp_path):
    app, store = _app(tmp_path, threads=1)  # as --threads 1 sets it
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 4)
        await pilot.press("ctrl+s")
        await until(lambda: store.paths())
        assert load_checkpoint(store.paths()[0], app.trainer.corpus).config.threads is None
        old = app.trainer
        await pilot.press("o")
        await until(lambda: isinstance(app.screen, ResumeDialog))
        await pilot.press("enter")
        await until(lambda: app.trainer is not old)
        assert app.trainer.config.threads == 1 and app.config.threads == 1


async def test_re_initialising_gives_the_new_model_its_own_recorder(tmp_path):
    app, _ = _app(tmp_path, paused=False)
    async with app.run_test(size=(120, 40)) as pilot:
        first = app.session
        await until(lambda: app.trainer.n > 20)
        app.simulate_key("R")
        await until(lambda: app.screen.__class__.__name__ == "ReinitDialog")
        await pilot.press("s")
        await until(lambda: app.session is not first and app.trainer.n > 5)
        assert app.session.recorder is not None and app.session.recorder is not first.recorder
        assert app.trainer.config.seed == first.trainer.config.seed


async def settle(app: CharRNNApp, quiet: float = 0.5, timeout: float = 30) -> None:
    """Wait until queued key events stop changing what the app shows (they pass through
    several message queues, so no single sentinel marks the end)."""
    def look():
        return (app.config, app.session.control.paused, len(app.screen_stack), app.focused,
                app.session)
    deadline = asyncio.get_running_loop().time() + timeout
    last, since = look(), asyncio.get_running_loop().time()
    while asyncio.get_running_loop().time() - since < quiet:
        assert asyncio.get_running_loop().time() < deadline, "the keys never settled"
        await asyncio.sleep(0.05)
        now = look()
        if now != last:
            last, since = now, asyncio.get_running_loop().time()


async def test_a_thousand_random_key_presses_leave_one_consistent_trainer(tmp_path):
    app, _ = _app(tmp_path, paused=False, sample_every=20)
    keys = ["p", "space", "s", "n", "r", "plus", "minus", "t", "T", "ctrl+s", "o", "R",
            "escape", "tab", "enter", "down", "up", "1", "0", ".", "backspace", "x"]
    rng = random.Random(1234)
    async with app.run_test(size=(100, 30)):
        await until(lambda: app.trainer.n > 5)
        for _ in range(1000):  # about as fast as a terminal delivers a held-down key
            app.simulate_key(rng.choice(keys))
            await asyncio.sleep(0.003)
        # on a loaded machine the app handles the storm seconds after it was typed: wait
        # until every key has passed through the app's own queue (a callback queued behind
        # them), so none is left to reach an app that the test harness is closing
        handled = asyncio.Event()
        app.call_later(handled.set)
        await asyncio.wait_for(handled.wait(), 120)
        await settle(app)
        for _ in range(5):  # close a dialog the storm left open, as a user would
            if len(app.screen_stack) == 1:
                break
            app.simulate_key("escape")
            await settle(app)
        assert len(app.screen_stack) == 1
        app.screen.set_focus(None)
        for _ in range(40):  # late keys may still swap the model: judge the current one
            if app.config.learning_rate > 1:  # the storm may have doubled it into divergence
                app.main_screen.apply_setting("learning_rate", 0.1)
            app.session.control.resume()
            trainer, start = app.trainer, app.trainer.n
            await asyncio.sleep(0.25)
            if app.trainer is trainer and trainer.n > start + 20:
                break
        else:
            raise AssertionError("training did not go on after the storm")
        workers = [w for w in app.workers if w.group == "trainer" and w.is_running]
        assert len(workers) == 1
        assert np.isfinite(trainer.model.params.flat).all()
        config = trainer.config
        assert 0 < config.learning_rate and 0 < config.temperature
        drained = asyncio.Event()  # no key the storm left queued may reach a closing app
        app.call_later(drained.set)
        await asyncio.wait_for(drained.wait(), 120)
    alive = [t for t in threading.enumerate() if t is not threading.main_thread()
             and "trainer" in t.name.lower()]
    assert not alive
    await asyncio.sleep(0)
