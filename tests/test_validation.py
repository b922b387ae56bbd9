"""The held-out validation split: off for min-char-rnn and 5% for a network by default, on a
schedule in training time unless --eval-every; never disturbs training; in bits/char."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from engine import Config, CorpusError, Trainer, corpus_from_text
from engine.presets import preset
from engine.schedule import MAX_VALIDATION_INTERVAL, MIN_VALIDATION_INTERVAL, VALIDATION_SHARE

from .helpers import bundled

TEXT = bundled("verse.txt")[:30_000]


def _trainer(**config):
    cfg = dict(seed=1, hidden_size=48, sample_every=0)
    cfg.update(config)
    return Trainer(corpus_from_text(TEXT), Config(**cfg))


def test_off_by_default_and_the_trace_is_unchanged_by_the_machinery():
    plain = _trainer()
    assert plain.stats().val_bits is None and plain.stats().train_chars == len(TEXT)
    results = [plain.step() for _ in range(300)]
    assert all(r.val_bits is None for r in results)


def test_training_walks_only_the_first_part_and_evaluation_disturbs_nothing():
    t = _trainer(val_fraction=0.2, eval_every=50, seq_length=25)
    cut = len(TEXT) - round(0.2 * len(TEXT))
    assert t.stats().train_chars == cut
    positions = []
    for _ in range(400):
        r = t.step()
        positions.append(r.position)
        if r.val_bits is not None:
            assert r.iteration % 50 == 0
    assert max(positions) + 25 + 1 < cut
    assert [n for n, _ in t.val_history] == list(range(0, 400, 50))
    before = (t.model.params.flat.copy(), t.hprev.copy(), t.rng.get_state()[1].copy())
    bits = t.evaluate()
    assert bits == t.evaluate()  # a fixed sample: the same number twice
    after = (t.model.params.flat, t.hprev, t.rng.get_state()[1])
    assert all(np.array_equal(b, a) for b, a in zip(before, after))
    assert 0 < bits < 8


def test_validation_tracks_training_on_text_of_the_same_kind():
    t = _trainer(val_fraction=0.1, eval_every=1000, hidden_size=100)
    for _ in range(3001):
        t.step()
    train_bits = t.smooth_loss / t.config.seq_length / math.log(2)
    assert t.val_history[-1][1] == pytest.approx(train_bits, abs=0.6)
    assert t.val_history[-1][1] < t.val_history[0][1] - 1.0  # it learned


def test_a_split_too_small_for_a_window_is_refused():
    with pytest.raises(CorpusError, match="validation"):
        Trainer(corpus_from_text(TEXT[:100]), Config(seed=1, val_fraction=0.1))


def test_the_cli_prints_val_lines_in_bits_per_char(tmp_path):
    corpus = tmp_path / "verse.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "charrnn_tui", str(corpus), "--headless",
                           "--seed", "1", "--iters", "201", "--hidden", "16", "--no-save",
                           "--sample-every", "0", "--val-fraction", "0.1", "--eval-every", "100"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert [line.split(",")[0] for line in lines] == ["iter 0", "val 0", "iter 100", "val 100",
                                                       "iter 200", "val 200"]
    assert all(float(line.rsplit(" ", 1)[1]) > 0 for line in lines if line.startswith("val"))


# -- the defaults and the schedule in time --------------------------------------------------

NETWORK = dict(cell="gru", layers=2, hidden_size=8, batch=2, seq_length=10, optimizer="adam")


class Clock:
    """A clock that moves `tick` seconds at every reading: each step then trains `tick`
    seconds; `evaluate` may add `pass_extra` seconds to a validation pass."""

    def __init__(self, tick: float) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def timed_trainer(clock: Clock, pass_extra: float = 0.0, **config) -> Trainer:
    t = Trainer(corpus_from_text(TEXT), Config(**{"seed": 1, "sample_every": 0, **NETWORK,
                                                  **config}), clock=clock)
    evaluate = t.evaluate

    def slow_evaluate(*args, **kwargs):
        clock.now += pass_extra
        return evaluate(*args, **kwargs)

    t.evaluate = slow_evaluate
    return t


def validated_at(t: Trainer, steps: int) -> list[int]:
    for _ in range(steps):
        t.step()
    return [n for n, _ in t.val_history]


def test_a_network_holds_out_five_percent_and_min_char_rnn_none():
    network = _trainer(**NETWORK)
    assert network.config.val_fraction == 0.05 and network.config.eval_every == 0
    assert network.stats().train_chars == len(TEXT) - round(0.05 * len(TEXT))
    for cell in ("rnn", "lstm"):  # every cell, and the presets
        assert _trainer(**{**NETWORK, "cell": cell}).config.val_fraction == 0.05
    for name in ("rnn-256", "gru-2x256"):
        assert Trainer(corpus_from_text(TEXT), preset(name).config(seed=1)).config.val_fraction \
            == 0.05
    original = _trainer()
    assert original.config.val_fraction == 0.0 and original.stats().train_chars == len(TEXT)
    assert Config().val_fraction is None  # "the model's default" until a trainer settles it


def test_the_default_never_refuses_a_short_text_but_an_asked_fraction_does():
    short = corpus_from_text(TEXT[:300])  # 5% is 15 characters: no window of 10 fits there
    t = Trainer(short, Config(seed=1, **{**NETWORK, "seq_length": 20}))
    assert t.config.val_fraction == 0.0
    with pytest.raises(CorpusError, match="validation"):
        Trainer(short, Config(seed=1, val_fraction=0.05, **{**NETWORK, "seq_length": 20}))


def test_the_time_schedule_validates_every_ten_seconds_of_training_at_the_least():
    # a step trains 0.25 s and a pass takes 0.25 s: 5% of the time would allow a pass every
    # 5 s; the floor is 10 s, so every 40 steps, from iteration 0
    t = timed_trainer(Clock(0.25))
    assert validated_at(t, 130) == [0, 40, 80, 120]
    assert t.validation.interval == MIN_VALIDATION_INTERVAL


def test_a_slow_pass_is_at_most_five_percent_and_at_least_once_a_minute():
    # a 2 s pass: every 40 s of training (5%), 160 steps of 0.25 s
    t = timed_trainer(Clock(0.25), pass_extra=1.75)
    assert validated_at(t, 400) == [0, 160, 320]
    assert t.validation.interval == pytest.approx(2.0 / VALIDATION_SHARE)
    # a 5 s pass would want 100 s: once a minute wins, every 240 steps
    t = timed_trainer(Clock(0.25), pass_extra=4.75)
    assert validated_at(t, 500) == [0, 240, 480]
    assert t.validation.interval == MAX_VALIDATION_INTERVAL


def test_eval_every_wins_over_the_clock_and_a_new_split_validates_at_once():
    t = timed_trainer(Clock(100.0), eval_every=7)
    assert validated_at(t, 20) == [0, 7, 14]
    t = timed_trainer(Clock(0.25), val_fraction=0.0)
    assert validated_at(t, 5) == []
    t.set_config(t.config.with_changes(val_fraction=0.1))
    assert validated_at(t, 45) == [5, 45]  # at once, then 10 s of training later


def test_min_char_rnn_asked_for_validation_uses_the_time_schedule_too():
    t = Trainer(corpus_from_text(TEXT), Config(seed=1, hidden_size=16, sample_every=0,
                                               val_fraction=0.1), clock=Clock(0.5))
    assert validated_at(t, 45) == [0, 20, 40]


def test_resuming_keeps_the_split_and_the_schedule(tmp_path):
    from engine.store.checkpoint import load_checkpoint, save_checkpoint

    t = timed_trainer(Clock(0.25))
    validated_at(t, 12)
    path = save_checkpoint(t, tmp_path / "c.npz")
    resumed = load_checkpoint(path, t.corpus)
    assert (resumed.config.val_fraction, resumed.config.eval_every) == (0.05, 0)
    assert resumed.stats().train_chars == t.stats().train_chars
    assert resumed.step().val_bits is not None  # a reading right after the resume
    # a checkpoint of a run that validated every 1000 iterations (as every run did before
    # the time schedule) keeps doing so
    t = _trainer(val_fraction=0.1, eval_every=1000)
    t.step()
    old = load_checkpoint(save_checkpoint(t, tmp_path / "old.npz"), t.corpus)
    assert (old.config.val_fraction, old.config.eval_every) == (0.1, 1000)


def test_switching_model_follows_the_new_models_default_unless_it_was_set():
    from_original = preset("gru-2x256").carrying(_trainer().config)
    assert from_original.val_fraction is None  # the network's default, settled at start
    chosen = preset("gru-2x256").carrying(_trainer(val_fraction=0.2).config)
    assert chosen.val_fraction == 0.2
    assert preset("min-char-rnn").carrying(_trainer(**NETWORK).config).val_fraction is None


def test_a_network_prints_val_lines_headless_by_default(tmp_path):
    corpus = tmp_path / "verse.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "charrnn_tui", str(corpus), "--headless",
                           "--seed", "1", "--iters", "3", "--model", "gru-2x256", "--hidden",
                           "8", "--batch", "2", "--no-save", "--sample-every", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("iter 0, loss: ") and lines[1].startswith("val 0, bits/char: ")
    original = subprocess.run([sys.executable, "-m", "charrnn_tui", str(corpus), "--headless",
                               "--seed", "1", "--iters", "201", "--hidden", "16", "--no-save",
                               "--sample-every", "0"], capture_output=True, text=True,
                              timeout=60)
    assert [line.split(",")[0] for line in original.stdout.splitlines()] == [
        "iter 0", "iter 100", "iter 200"]  # min-char-rnn: the original's lines only
