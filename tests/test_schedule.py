"""The learning-rate cooldown: its factor, how the run loop drives it over an iteration budget,
that a resumed run keeps the schedule bit for bit, and that checkpoints carry it."""

from __future__ import annotations

import numpy as np
import pytest

from engine import Config, Control, Trainer, corpus_from_text, run
from engine.presets import DEFAULT_PRESET, PRESETS
from engine.schedule import cooldown_factor
from engine.store.checkpoint import load_checkpoint, save_checkpoint

from .helpers import bundled

TEXT = bundled("verse.txt")[:6000]


def trainer(**fields) -> Trainer:
    base = dict(seed=3, cell="gru", hidden_size=10, layers=2, batch=2, seq_length=8,
                optimizer="adam", sample_every=0, dtype="float64")
    return Trainer(corpus_from_text(TEXT), Config(**{**base, **fields}))


def scales_of_run(t: Trainer, iters: int | None, stop_after: int | None = None) -> list[float]:
    """The factor each step of run() trained with."""
    seen: list[float] = []
    control = Control()

    def on_step(result) -> None:
        seen.append(t.stats().lr_scale)
        if stop_after is not None and len(seen) >= stop_after:
            control.stop()

    run(t, control, iters=iters, on_step=on_step)
    return seen


@pytest.mark.parametrize("done, factor", [(0, 1.0), (80, 1.0), (90, 0.5), (95, 0.25),
                                          (100, 0.0), (120, 0.0)])
def test_the_factor_is_constant_then_falls_linearly_to_zero_at_the_budgets_end(done, factor):
    assert cooldown_factor(0.2, done, 100) == pytest.approx(factor)


def test_no_cooldown_or_no_budget_is_a_constant_rate():
    assert cooldown_factor(0.0, 99, 100) == 1.0
    assert cooldown_factor(0.2, 5, 0) == 1.0
    assert cooldown_factor(1.0, 0, 10) == 1.0 and cooldown_factor(1.0, 5, 10) == 0.5


def test_the_run_loop_anneals_over_the_last_share_of_its_iterations():
    t = trainer(cooldown=0.5)
    assert scales_of_run(t, 10) == pytest.approx([1, 1, 1, 1, 1, 1, 0.8, 0.6, 0.4, 0.2])
    assert t.stats().learning_rate == pytest.approx(t.config.learning_rate * 0.2)


def test_without_a_budget_the_rate_stays_constant():
    t = trainer(cooldown=0.5)
    assert scales_of_run(t, None, stop_after=6) == [1.0] * 6


def test_a_zero_factor_leaves_the_parameters_where_they_are():
    t = trainer()
    t.step()
    before = t.learner.params.flat.copy()
    t.lr_scale = 0.0
    t.step()
    assert np.array_equal(t.learner.params.flat, before)


def test_the_cooldown_changes_training_only_inside_its_share():
    plain, cooled = trainer(), trainer(cooldown=0.25)
    run(plain, iters=12)
    run(cooled, iters=12)
    assert not np.array_equal(plain.learner.params.flat, cooled.learner.params.flat)
    early_plain, early_cooled = trainer(), trainer(cooldown=0.25)
    run(early_plain, iters=9)  # a budget of 12 cools from iteration 9 on
    for _ in range(9):
        early_cooled.lr_scale = cooldown_factor(0.25, early_cooled.n, 12)
        early_cooled.step()
    assert np.array_equal(early_plain.learner.params.flat, early_cooled.learner.params.flat)


def test_a_run_resumed_with_the_iterations_it_had_left_keeps_the_schedule(tmp_path):
    whole = trainer(cooldown=0.5)
    run(whole, iters=14)
    first = trainer(cooldown=0.5)
    assert len(scales_of_run(first, 14, stop_after=9)) == 9  # Ctrl+C at 9 of a budget of 14
    resumed = load_checkpoint(save_checkpoint(first, tmp_path / "c.npz"), first.corpus)
    assert resumed.config.cooldown == 0.5
    # what it had left: the budget's end is 9 + 5 = 14, as in the whole run
    run(resumed, iters=5)
    assert np.array_equal(resumed.learner.params.flat, whole.learner.params.flat)


def test_a_checkpoint_from_before_the_cooldown_loads_with_a_constant_rate(tmp_path):
    t = trainer()
    t.step()
    path = save_checkpoint(t, tmp_path / "n.npz")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files if k != "config_cooldown"}
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    assert load_checkpoint(old, t.corpus).config.cooldown == 0.0


def test_the_batched_presets_cool_down_and_the_original_does_not():
    assert PRESETS[DEFAULT_PRESET].config().cooldown == 0.0
    assert all(p.config().cooldown == 0.2 for name, p in PRESETS.items()
               if name != DEFAULT_PRESET)


def test_the_quality_benchmark_cools_a_preset_down_over_its_budget_of_cpu_seconds():
    import json
    import subprocess
    import sys

    from .helpers import REPO

    proc = subprocess.run([sys.executable, "-m", "engine.bench", "quality-run",
                           str(REPO / "sample_corpora" / "verse.txt"), "rnn-256", "1.5", "1"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    (mark,) = [json.loads(line) for line in proc.stdout.splitlines()]
    assert mark["mark"] == 1.5 and mark["val"] < 4.0 and mark["diverged"] is None
    assert mark["lr_scale"] < 1.0  # the last share of the budget anneals


def test_a_cooldown_flag_without_a_budget_is_one_line_and_exit_2(tmp_path):
    from .helpers import run_cli

    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    proc = run_cli(corpus, "--headless", "--cooldown", "0.3", "--no-save", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "--iters" in proc.stderr


def test_a_cooldown_flag_with_a_budget_trains_headless(tmp_path):
    from .helpers import run_cli

    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    proc = run_cli(corpus, "--headless", "--model", "rnn-256", "--hidden", "8", "--batch", "2",
                   "--cooldown", "0.5", "--iters", "20", "--print-every", "10", "--seed", "1",
                   "--sample-every", "0", "--no-save", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("iter ") == 2
