"""Checkpoints: exact resume, atomic writes, and validated loads of hostile files."""

from __future__ import annotations

import errno
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from engine import Config, Trainer, corpus_from_text
from engine.store.checkpoint import (
    CheckpointError,
    CheckpointStore,
    load_checkpoint,
    load_model,
    save_checkpoint,
)

from .helpers import WRAPPING_TEXT, bundled, run_cli

TEXT = bundled("verse.txt")[:6000]


def _trainer(text=TEXT, **config):
    cfg = dict(seed=5, hidden_size=32, seq_length=20, sample_every=7, sample_length=25)
    cfg.update(config)
    return Trainer(corpus_from_text(text), Config(**cfg))


def _steps(trainer, n):
    return [trainer.step() for _ in range(n)]


@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("text", [TEXT, WRAPPING_TEXT * 3], ids=["verse", "wrapping"])
def test_resume_is_exact_in_process(tmp_path, exact, text):
    whole = _trainer(text, exact=exact)
    expected = _steps(whole, 230)
    first = _trainer(text, exact=exact)
    head = _steps(first, 117)
    first.sample(40)  # on-demand samples are part of the saved state too
    whole.sample(40)
    path = save_checkpoint(first, tmp_path / "a.npz")
    resumed = load_checkpoint(path, corpus_from_text(text))
    assert head + _steps(resumed, 113) == expected  # losses, positions and samples
    assert np.array_equal(resumed.model.params.flat, whole.model.params.flat)
    assert np.array_equal(resumed.optimizer.mem.flat, whole.optimizer.mem.flat)
    assert np.array_equal(resumed.hprev, whole.hprev)
    assert resumed.sample(60) == whole.sample(60)



@pytest.mark.parametrize("mode", [[], ["--exact"]], ids=["fast", "exact"])
def test_resume_in_a_fresh_process_continues_the_trace_bit_for_bit(tmp_path, mode):
    corpus = tmp_path / "verse.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    common = [str(corpus), "--headless", "--hidden", "32", "--sample-every", "50",
              "--sample-length", "30", "--print-every", "25", *mode]
    full = run_cli(*common, "--seed", "8", "--iters", "300", "--checkpoint-dir",
                str(tmp_path / "full"), cwd=tmp_path)
    part1 = run_cli(*common, "--seed", "8", "--iters", "130", "--checkpoint-dir",
                 str(tmp_path / "split"), cwd=tmp_path)
    part2 = run_cli(*common, "--resume", "latest", "--iters", "170", "--checkpoint-dir",
                 str(tmp_path / "split"), cwd=tmp_path)
    for proc in (full, part1, part2):
        assert proc.returncode == 0, proc.stderr
    assert part1.stdout + part2.stdout == full.stdout
    assert "iter 275, loss:" in part2.stdout
    ends = [next(d.rglob("ckpt-*-000000300.npz")) for d in (tmp_path / "full", tmp_path / "split")]
    a, b = (np.load(p, allow_pickle=False) for p in ends)
    for key in ("Wxh", "Whh", "Why", "bh", "by", "mWhh", "hprev", "smooth_loss", "rng_key"):
        assert np.array_equal(a[key], b[key]), key


def test_store_keeps_the_newest_n_and_latest_finds_the_newest(tmp_path):
    trainer = _trainer()
    store = CheckpointStore(tmp_path, keep=3)
    for _ in range(5):
        _steps(trainer, 10)
        store.save(trainer)
    names = [p.name for p in store.paths()]
    assert names == [store.path_for(n).name for n in (30, 40, 50)]
    assert store.latest() == store.path_for(50)
    assert [i.iteration for i in store.infos()] == [50, 40, 30]
    store.path_for(60).write_bytes(b"garbage")  # unreadable files are skipped
    assert store.latest() == store.path_for(50)


def test_a_failed_write_leaves_the_previous_checkpoint_and_no_temp_file(tmp_path, monkeypatch):
    trainer = _trainer()
    _steps(trainer, 5)
    path = save_checkpoint(trainer, tmp_path / "c.npz")
    good = path.read_bytes()
    _steps(trainer, 5)

    def disk_full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(CheckpointError, match="No space left"):
        save_checkpoint(trainer, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]


def test_kill_9_during_saves_never_leaves_a_torn_checkpoint(tmp_path):
    script = (
        "import sys; from engine import *; from engine.store.checkpoint import save_checkpoint\n"
        "t = Trainer(corpus_from_text(open(sys.argv[1]).read()), Config(seed=1, hidden_size=64))\n"
        "while True:\n    t.step(); save_checkpoint(t, sys.argv[2])\n    print(t.n, flush=True)\n")
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT)
    target = tmp_path / "ckpt.npz"
    for delay in (0.4, 0.55, 0.7):
        proc = subprocess.Popen([sys.executable, "-c", script, str(corpus), str(target)],
                                stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # one save has completed
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        load_checkpoint(target, corpus_from_text(TEXT))  # whole, whatever the moment


def test_non_finite_parameters_are_never_saved(tmp_path):
    trainer = _trainer()
    trainer.model.params.Whh[0, 0] = np.nan
    with pytest.raises(CheckpointError, match="not finite"):
        save_checkpoint(trainer, tmp_path / "x.npz")
    assert not list(tmp_path.iterdir())


# -- hostile and damaged files --------------------------------------------------------------

def _good(tmp_path) -> tuple[Path, dict[str, np.ndarray]]:
    trainer = _trainer()
    _steps(trainer, 3)
    path = save_checkpoint(trainer, tmp_path / "good.npz")
    with np.load(path, allow_pickle=False) as npz:
        return path, {k: npz[k] for k in npz.files}


def _variant(tmp_path, name, arrays):
    path = tmp_path / name
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def _edited(key, value):
    def edit(arrays):
        arrays = dict(arrays)
        if value is None:
            del arrays[key]
        else:
            arrays[key] = value(arrays[key]) if callable(value) else value
        return arrays
    return edit


HOSTILE = {
    "missing-key": (_edited("Whh", None), "missing field 'Whh'"),
    "wrong-shape": (_edited("Whh", lambda a: a[:, :-1]), "shape"),
    "wrong-dtype": (_edited("Why", lambda a: a.astype(np.float32)), "dtype"),
    "int-params": (_edited("bh", lambda a: a.astype(np.int64)), "dtype"),
    "non-finite": (_edited("Wxh", lambda a: np.where(a == a.max(), np.inf, a)), "non-finite"),
    "negative-memory": (_edited("mWhh", lambda a: a - 1.0), "negative"),
    "unknown-version": (_edited("format_version", np.array(99)), "unknown format version 99"),
    "object-array": (_edited("hprev", lambda a: np.array([{"x": 1}], dtype=object)), "pickle"),
    "bad-hyperparameter": (_edited("config_learning_rate", np.array(-1.0)), "learning rate"),
    "not-a-checkpoint": (lambda a: {"x": np.zeros(3)}, "not a charrnn-tui checkpoint"),
    "rng-state": (_edited("rng_key", lambda a: a[:100]), "rng_key"),
    "position": (_edited("next_ix", np.array(10**6)), "next_ix"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_invalid_checkpoints_are_one_line_errors_naming_the_file(tmp_path, case):
    _, arrays = _good(tmp_path)
    edit, message = HOSTILE[case]
    path = _variant(tmp_path, f"{case}.npz", edit(arrays))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, corpus_from_text(TEXT))
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_truncated_random_and_pickled_files_are_refused_without_running_code(tmp_path):
    good, _ = _good(tmp_path)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    noise = tmp_path / "noise.npz"
    noise.write_bytes(os.urandom(4096))
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    pickled = tmp_path / "pickled.npz"
    pickled.write_bytes(pickle.dumps(Payload()))
    in_zip = tmp_path / "pickle-in-zip.npz"
    with zipfile.ZipFile(in_zip, "w") as z:
        z.writestr("Whh.npy", pickle.dumps(Payload()))
    for path in (truncated, noise, pickled, in_zip, tmp_path, tmp_path / "missing.npz"):
        with pytest.raises(CheckpointError) as info:
            load_checkpoint(path, corpus_from_text(TEXT))
        assert str(path) in str(info.value) and "\n" not in str(info.value)
    assert not marker.exists()


def test_a_checkpoint_is_never_applied_to_another_text(tmp_path):
    good, _ = _good(tmp_path)
    with pytest.raises(CheckpointError, match="different text"):
        load_checkpoint(good, corpus_from_text(TEXT.replace("e", "E", 1)))


@pytest.mark.parametrize("bad", ["noise", "truncated"])
def test_the_cli_reports_a_bad_checkpoint_in_one_line(tmp_path, bad):
    good, _ = _good(tmp_path)
    path = tmp_path / f"{bad}.npz"
    data = os.urandom(999) if bad == "noise" else good.read_bytes()[:500]
    path.write_bytes(data)
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT)
    for args in (["sample", str(path)], [str(corpus), "--headless", "--resume", str(path)]):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
        assert str(path) in proc.stderr


def test_sample_command_prints_from_a_saved_model(tmp_path):
    good, _ = _good(tmp_path)
    one = run_cli("sample", str(good), "--length", "80", "--seed", "3", cwd=tmp_path)
    two = run_cli("sample", str(good), "--length", "80", "--seed", "3", cwd=tmp_path)
    assert one.returncode == 0 and one.stdout == two.stdout and len(one.stdout) == 81
    primed = run_cli("sample", str(good), "--prime", "The ", "--length", "20", "--temperature",
                  "0.5", cwd=tmp_path)
    assert primed.returncode == 0 and primed.stdout.startswith("The ")
    assert len(primed.stdout) == 4 + 20 + 1
    model = load_model(good)
    assert set(model.sample(300)) <= set(model.vocab)
    bad = run_cli("sample", str(good), "--prime", "\u2603", cwd=tmp_path)
    assert bad.returncode == 2 and "not in the corpus vocabulary" in bad.stderr


def test_retention_and_the_picker_go_by_write_time_not_iteration(tmp_path):
    store = CheckpointStore(tmp_path, keep=2)
    old = _trainer()
    _steps(old, 30)
    store.save(old)
    new = _trainer(seed=6)  # a re-initialised model: lower iterations, written later
    for _ in range(2):
        _steps(new, 5)
        time.sleep(0.01)
        store.save(new)
    assert store.paths() == [store.path_for(5), store.path_for(10)]
    assert [i.iteration for i in store.infos()] == [10, 5]
    assert store.latest() == store.path_for(10)
