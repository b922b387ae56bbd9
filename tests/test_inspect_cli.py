"""`charrnn-tui score` and `charrnn-tui neurons`, run for real in a subprocess."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from charrnn_tui.cli.inspect import coloured
from engine import Config, Trainer, corpus_from_text
from engine.inspect import probe
from engine.store.checkpoint import load_model, save_checkpoint
from engine.units import bits

from .helpers import bundled
from .test_cli import assert_usage_error, run_cli

TEXT = "the heron knows the way; (we carried salt) along the shore\nand sang until the day.\n" * 8


def checkpoint(tmp_path: Path, name: str = "shore.txt", text: str = TEXT, **config) -> Path:
    trainer = Trainer(corpus_from_text(text, name),
                      Config(**{"seed": 2, "hidden_size": 12, "seq_length": 16, **config}))
    for _ in range(30):
        trainer.step()
    return save_checkpoint(trainer, tmp_path / "model.npz")


def env_without_colour() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    return env


@pytest.mark.parametrize("config", [{}, {"cell": "lstm", "optimizer": "adam",
                                         "learning_rate": 2e-3}], ids=["min-char-rnn", "lstm"])
def test_score_prints_the_mean_of_the_models_own_per_character_losses(tmp_path, config):
    ck = checkpoint(tmp_path, **config)
    scored = "the shore and the salt\nthe day.\n"
    (tmp_path / "mine.txt").write_text(scored, encoding="utf-8")
    proc = run_cli("score", str(ck), "mine.txt", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    saved = load_model(ck)
    ixes = [saved.vocab.index(c) for c in scored]
    model = saved.model
    if config:  # the network's own eval-mode forward, from a zero state
        state = model.new_state(1)
        model.loss(np.array(ixes[:-1])[:, None], np.array(ixes[1:])[:, None], state)
        losses = model.window_record().losses[:, 0]
    else:  # min-char-rnn's own forward from h = 0
        model.forward(np.array(ixes[:-1]), np.array(ixes[1:]), np.zeros(model.hidden_size))
        losses = model.workspace(len(ixes) - 1).losses
    expected = bits(float(losses.sum()) / len(losses))
    assert proc.stdout == (f"{expected:.4f} bits/char over {len(scored) - 1} predicted "
                           "characters (read from h = 0)\n")
    assert math.isclose(probe.surprisal(model, ixes).sum(), losses.sum(), rel_tol=1e-6)


def test_score_refuses_a_character_outside_the_vocabulary_and_can_skip_it(tmp_path):
    ck = checkpoint(tmp_path)
    (tmp_path / "odd.txt").write_text("the shore\nthe Zera\n", encoding="utf-8")
    line = assert_usage_error(run_cli("score", str(ck), "odd.txt", cwd=tmp_path), "vocabulary")
    assert "'Z' at line 2, column 5" in line and "--skip-unknown" in line
    proc = run_cli("score", str(ck), "odd.txt", "--skip-unknown", "--color", cwd=tmp_path,
                   env=env_without_colour())
    assert proc.returncode == 0, proc.stderr
    # stdout is a pipe: the text comes plain, then the score without the skipped character
    text, summary = proc.stdout.rsplit("the Zera\n", 1)[0], proc.stdout.splitlines()[-1]
    assert text == "the shore\n" and "\x1b[" not in proc.stdout
    assert summary.endswith("over 17 predicted characters (read from h = 0, 1 unknown "
                            "characters skipped)")


@pytest.mark.parametrize("args, names", [
    (["score", "missing.npz", "x.txt"], ("no such file",)),
    (["score", "MODEL", "missing.txt"], ("no such file",)),
    (["score", "MODEL", "/dev/zero"], ("character device",)),
    (["score", "MODEL", "binary.txt"], ("UTF-8",)),
    (["score", "MODEL"], ("FILE", "required")),
    (["neurons", "MODEL"], ("CORPUS",)),
    (["neurons", "MODEL", "missing.txt"], ("no such file",)),
    (["neurons", "MODEL", "other.txt"], ("vocabulary",)),
    (["neurons", "MODEL", "x.txt", "--top", "0"], ("--top",)),
], ids=["no-checkpoint", "no-file", "device", "binary", "no-file-arg", "no-bundled-corpus",
        "no-corpus", "corpus-outside-vocabulary", "top"])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, names):
    ck = checkpoint(tmp_path)
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00abc")
    (tmp_path / "other.txt").write_text("QQQ XYZ\n" * 10, encoding="utf-8")
    (tmp_path / "x.txt").write_text(TEXT, encoding="utf-8")
    args = [str(ck) if a == "MODEL" else a for a in args]
    assert_usage_error(run_cli(*args, cwd=tmp_path), *names)


def test_score_help_says_the_text_is_read_from_h_zero(tmp_path):
    proc = run_cli("score", "--help", cwd=tmp_path)
    assert proc.returncode == 0 and "h = 0" in proc.stdout and "NO_COLOR" in proc.stdout


def test_coloured_text_uses_the_heat_scale_and_marks_unknown_characters():
    out = coloured("ab\nc?", [4], np.array([0.0, 10.0, 0.0]), 4, colour=True)
    assert "\x1b[" in out and out.count("\n") == 2
    assert "7m?" in out or ";7m?" in out or "\x1b[1;7m?" in out  # reverse video: unknown
    assert coloured("ab", [], np.array([1.0]), 4, colour=False) == "ab\n"


def test_neurons_prints_the_feature_ranking_of_the_passage(tmp_path):
    ck = checkpoint(tmp_path, val_fraction=0.2)
    (tmp_path / "shore.txt").write_text(TEXT, encoding="utf-8")
    proc = run_cli("neurons", str(ck), "shore.txt", "--top", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "the held-out part" in lines[0]
    rows = {line.split("  ")[0].strip(): line for line in lines[2:]}
    assert set(rows) == set(probe.FEATURES)
    assert "absent from the text" in rows["inside quotes"]
    # the numbers are engine.inspect.probe's over the same passage and state
    saved = load_model(ck)
    corpus = corpus_from_text(TEXT, "shore.txt")
    start, ix = probe.passage(corpus.ix, 0.2)
    assert start == len(TEXT) - round(0.2 * len(TEXT))
    text = corpus.decode(ix.tolist())
    ranks = probe.rank_units(probe.read(saved.model, [saved.vocab.index(c) for c in text],
                                        saved.hprev), text, 2)
    for rank in ranks:
        for unit in rank.top:
            assert f"{unit.label}: {unit.r:+.3f}" in rows[rank.feature]


def test_neurons_finds_the_bundled_corpus_by_the_checkpoints_corpus_name(tmp_path):
    ck = checkpoint(tmp_path, name="verse.txt", text=bundled("verse.txt"))
    proc = run_cli("neurons", str(ck), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "of verse.txt from position 0 (the start of the text)" in proc.stdout
