"""Finite is not the same as sane: weights of 1e308 pass a finiteness check, then every forward
pass overflows. A loaded model's weights are bounded by the square root of its dtype's
largest number and its hidden state by [-1, 1] (engine/store/checkpoint.py), which keeps any
forward pass finite; anything past that is refused in one line by every command that loads a
model, and no command prints `nan` as a result.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from engine import Config, Trainer, corpus_from_text
from engine.store.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint

from .crafted_npz import arrays_of
from .test_cli import assert_usage_error, run_cli

TEXT = "the heron knows the way; (we carried salt) along the shore\nand sang until the day.\n" * 8
MODELS = {
    "min-char": dict(),
    "lstm-f32": dict(cell="lstm", layers=2, dtype="float32", optimizer="adam",
                     learning_rate=2e-3),
    "gru-f64": dict(cell="gru", optimizer="rmsprop", learning_rate=2e-3, batch=2),
}


def checkpoint(tmp_path: Path, model: str) -> Path:
    trainer = Trainer(corpus_from_text(TEXT, "shore.txt"),
                      Config(seed=2, hidden_size=12, seq_length=16, **MODELS[model]))
    for _ in range(20):
        trainer.step()
    (tmp_path / "shore.txt").write_text(TEXT, encoding="utf-8")
    return save_checkpoint(trainer, tmp_path / "model.npz")


def edited(path: Path, key: str, change) -> Path:
    arrays = arrays_of(path)
    arrays[key] = change(arrays[key].copy())
    out = path.with_name("edited.npz")
    np.savez(out, **arrays)
    return out


def _set(value: float, where: slice = slice(None)):
    def change(a: np.ndarray) -> np.ndarray:
        a.reshape(-1)[where] = value
        return a
    return change


INSANE = [  # (model, member, change): finite, and each breaks a forward pass
    ("min-char", "Why", _set(1e308)),
    ("min-char", "Wxh", _set(1e200, slice(0, 5))),
    ("min-char", "bh", _set(-1e160)),
    ("min-char", "hprev", _set(5.0)),  # no tanh gives that
    ("lstm-f32", "param_l1.Wh", _set(1e30)),
    ("lstm-f32", "param_by", _set(3e38)),
    ("gru-f64", "param_l0.Wx", _set(1e308, slice(3, 4))),
    ("gru-f64", "state", _set(-2.0)),
]


@pytest.mark.parametrize(("model", "key", "change"), INSANE,
                         ids=[f"{m}-{k}" for m, k, _ in INSANE])
def test_insane_weights_are_refused_by_every_loader(tmp_path, model, key, change):
    path = edited(checkpoint(tmp_path, model), key, change)
    corpus = corpus_from_text(TEXT, "shore.txt")
    for load in (load_model, lambda p: load_checkpoint(p, corpus)):
        with pytest.raises(CheckpointError) as exc:
            load(path)
        text = str(exc.value)
        assert "\n" not in text and ("stays finite" in text or "[-1, 1]" in text), text


@pytest.mark.parametrize("command", ["sample", "score", "neurons", "resume"])
def test_each_command_refuses_them_in_one_line(tmp_path, command):
    path = edited(checkpoint(tmp_path, "lstm-f32"), "param_Why", _set(1e30))
    args = {"sample": ("sample", path), "score": ("score", path, "shore.txt"),
            "neurons": ("neurons", path, "shore.txt"),
            "resume": ("--headless", "--iters", "1", "--resume", path, "shore.txt")}[command]
    proc = run_cli(*args, cwd=tmp_path)
    assert_usage_error(proc, "stays finite")
    assert "nan" not in proc.stdout.lower()


@pytest.mark.parametrize("model", list(MODELS))
def test_weights_at_the_bound_still_give_finite_results(tmp_path, model):
    """Just under the bound everything is extreme but finite: a number, never nan."""
    ck = checkpoint(tmp_path, model)
    saved = load_model(ck)
    bound = math.sqrt(float(np.finfo(np.dtype(saved.config.dtype)).max))
    key = "Why" if model == "min-char" else "param_Why"
    path = edited(ck, key, _set(bound * 0.999))
    score = run_cli("score", path, "shore.txt", cwd=tmp_path)
    assert score.returncode == 0, score.stderr
    value = float(score.stdout.split()[0])
    assert math.isfinite(value) and "nan" not in score.stdout.lower()
    for args in (("sample", path, "--length", "50"),
                 ("sample", path, "--length", "50", "--temperature", "0.001"),
                 ("neurons", path, "shore.txt")):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 0 and "nan" not in proc.stdout.lower(), proc.stderr
