"""The held-out validation split: off by default, never disturbs training, reported in bits/char."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from engine import Config, CorpusError, Trainer, corpus_from_text

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
