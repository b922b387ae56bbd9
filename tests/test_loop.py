"""The shared training loop and its thread-safe Control, driven from another thread."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from engine import Config, Control, Outcome, Trainer, corpus_from_text, run

from .helpers import WRAPPING_TEXT


def _trainer(**config):
    cfg = dict(seed=2, hidden_size=16, seq_length=10, sample_every=0)
    cfg.update(config)
    return Trainer(corpus_from_text(WRAPPING_TEXT * 4), Config(**cfg))


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.002)


def _in_thread(trainer, control, **kwargs):
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("outcome", run(trainer, control,
                                                                              **kwargs)))
    thread.start()
    return thread, result


def test_run_stops_after_the_iteration_budget():
    trainer = _trainer()
    assert run(trainer, iters=37) is Outcome.FINISHED
    assert trainer.n == 37
    assert run(trainer, iters=5) is Outcome.FINISHED
    assert trainer.n == 42


def test_pause_blocks_resume_continues_and_stop_ends():
    trainer, control = _trainer(), Control()
    thread, result = _in_thread(trainer, control)
    _wait_for(lambda: trainer.n > 20)
    control.pause()
    time.sleep(0.05)
    frozen = trainer.n
    time.sleep(0.1)
    assert trainer.n == frozen
    control.resume()
    _wait_for(lambda: trainer.n > frozen + 20)
    control.stop()
    thread.join(2)
    assert not thread.is_alive() and result["outcome"] is Outcome.STOPPED


def test_step_while_paused_runs_exactly_that_many_iterations():
    trainer, control = _trainer(), Control(paused=True)
    thread, _ = _in_thread(trainer, control)
    time.sleep(0.05)
    assert trainer.n == 0
    control.step()
    _wait_for(lambda: trainer.n == 1)
    control.step(3)
    _wait_for(lambda: trainer.n == 4)
    time.sleep(0.05)
    assert trainer.n == 4
    control.stop()
    thread.join(2)
    assert not thread.is_alive()


def test_commands_run_between_steps_even_while_paused():
    trainer, control = _trainer(), Control(paused=True)
    thread, _ = _in_thread(trainer, control)
    seen = []
    control.submit(lambda tr: seen.append(tr.n))
    control.submit(lambda tr: tr.set_config(tr.config.with_changes(learning_rate=0.05)))
    _wait_for(lambda: trainer.config.learning_rate == 0.05)
    assert seen == [0]
    control.stop()
    thread.join(2)


def test_on_tick_is_throttled():
    trainer, ticks = _trainer(), []
    run(trainer, iters=3000, on_tick=lambda tr: ticks.append(tr.n), tick_seconds=0.05)
    assert trainer.n == 3000
    assert len(ticks) < 3000 / 10  # far fewer snapshots than steps


def test_stop_is_seen_within_one_step():
    trainer, control = _trainer(hidden_size=100, seq_length=25), Control()
    thread, _ = _in_thread(trainer, control)
    _wait_for(lambda: trainer.n > 5)
    t0 = time.perf_counter()
    control.stop()
    thread.join(2)
    assert time.perf_counter() - t0 < 0.2


def test_divergence_stops_or_pauses_with_the_parameters_kept():
    trainer = _trainer(exact=True, learning_rate=1e4)
    messages = []
    outcome = run(trainer, iters=2000, on_diverged=lambda tr, exc: messages.append(str(exc)))
    assert outcome is Outcome.DIVERGED and len(messages) == 1
    control = Control()
    trainer = _trainer(exact=True, learning_rate=1e4)
    thread, _ = _in_thread(trainer, control, stop_on_divergence=False)
    _wait_for(lambda: control.paused)
    control.stop()
    thread.join(2)
    assert not thread.is_alive()


def test_the_engine_never_imports_a_ui():
    code = ("import sys, engine, engine.bench, engine.nets.reference; "
            "bad = [m for m in ('textual', 'rich', 'charrnn_tui') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("capacity", [8, 64])
def test_loss_history_stays_bounded_and_keeps_the_whole_run(capacity):
    from engine import LossHistory

    h = LossHistory(capacity)
    for i in range(10_000):
        h.append(float(i))
    points = h.snapshot()
    assert len(points) <= capacity
    assert points[0] < 10_000 / capacity  # the start of the run is still there
    assert points[-1] > 9_000
    assert list(points) == sorted(points)
