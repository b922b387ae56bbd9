"""Where a run's files go, the run log, settings, and saving when the disk misbehaves."""

from __future__ import annotations

import errno
import json
import os
import re
from pathlib import Path

import pytest

from charrnn_tui.paths import user_paths
from charrnn_tui.run_files import RunRecorder
from charrnn_tui.settings import Settings, load_settings
from engine import Config, Trainer, corpus_from_text
from engine.store.checkpoint import CheckpointStore, load_checkpoint

from .helpers import bundled, run_cli

TEXT = bundled("records.txt")[:5000]



@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "records.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_paths_come_from_the_user_dirs_and_printing_them_creates_nothing(tmp_path,
                                                                         isolated_user_dirs):
    proc = run_cli("--paths", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(None, 1) for line in proc.stdout.splitlines())
    assert set(lines) == {"data", "checkpoints", "settings", "logs", "sockets"}
    assert lines["sockets"] == os.path.join(os.environ["XDG_RUNTIME_DIR"], "charrnn-tui")
    assert lines["checkpoints"] == str(isolated_user_dirs / "data" / "charrnn-tui" / "checkpoints")
    assert not (isolated_user_dirs / "data").exists()


@pytest.mark.parametrize("value", ["", "relative/dir", "  "])
def test_empty_or_relative_xdg_variables_never_create_folders_here(tmp_path, corpus, value):
    work = tmp_path / "work"
    work.mkdir()
    env = dict(os.environ, XDG_DATA_HOME=value, XDG_STATE_HOME=value, XDG_CONFIG_HOME=value)
    proc = run_cli(str(corpus), "--headless", "--iters", "3", "--seed", "1", "--hidden", "8",
                cwd=work, env=env)
    assert proc.returncode == 0, proc.stderr
    assert list(work.iterdir()) == []
    assert all(p.is_absolute() for p in vars(user_paths()).values())


def test_a_run_logs_metrics_as_json_lines_every_100_iterations(tmp_path, corpus):
    log = tmp_path / "run.jsonl"
    proc = run_cli(str(corpus), "--headless", "--iters", "250", "--seed", "1", "--hidden", "16",
                "--log", str(log), "--no-save", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    everything = [json.loads(line) for line in log.read_text().splitlines()]
    assert everything[0]["kind"] == "run"  # the header, then records and samples
    records = [r for r in everything if r["kind"] == "iter"]
    assert [r["iteration"] for r in records] == [100, 200, 250]
    for key in ("smooth_loss", "loss", "iters_per_s", "wall_time", "grad_norm_Whh",
                "param_norm_Why", "mem_norm_bh", "bits_per_char"):
        assert key in records[-1]
    assert records[1]["iters_per_s"] > 0


def test_no_save_writes_no_checkpoint(tmp_path, corpus, isolated_user_dirs):
    proc = run_cli(str(corpus), "--headless", "--iters", "20", "--seed", "1", "--hidden", "8",
                "--no-save", cwd=tmp_path)
    assert proc.returncode == 0 and "saved" not in proc.stderr
    assert not list(isolated_user_dirs.rglob("*.npz"))


def test_a_corrupt_settings_file_means_defaults_a_warning_and_an_untouched_file(tmp_path, corpus):
    settings = user_paths().settings
    settings.parent.mkdir(parents=True)
    garbage = b'{"keep_checkpoints": 3, "save_every": [oops\n\xff'
    settings.write_bytes(garbage)
    proc = run_cli(str(corpus), "--headless", "--iters", "5", "--seed", "1", "--hidden", "8",
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "settings file" in proc.stderr and "using defaults" in proc.stderr
    assert settings.read_bytes() == garbage
    settings.write_text('{"keep_checkpoints": 0}')
    assert load_settings(settings)[0] == Settings()
    settings.write_text('{"keep_checkpoints": 2, "save_every": 10}')
    assert load_settings(settings) == (Settings(keep_checkpoints=2, save_every=10), None)


def test_settings_and_flags_set_autosave_and_retention(tmp_path, corpus):
    ckpts = tmp_path / "ck"
    proc = run_cli(str(corpus), "--headless", "--iters", "95", "--seed", "1", "--hidden", "8",
                "--save-every", "20", "--keep", "2", "--checkpoint-dir", str(ckpts),
                cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    names = sorted(p.name for p in ckpts.rglob("*.npz"))
    assert [re.sub(r"-\d{8}-\d{6}-[0-9a-f]{8}-", "-", n) for n in names] == [
        "ckpt-000000080.npz", "ckpt-000000095.npz"]


def test_a_full_or_read_only_disk_reports_and_training_goes_on(tmp_path, monkeypatch):
    corpus = corpus_from_text(TEXT)
    trainer = Trainer(corpus, Config(seed=1, hidden_size=8, sample_every=0))
    store = CheckpointStore(tmp_path, keep=5)
    messages = []
    recorder = RunRecorder(store, save_every=10, log=None, log_every=100, report=messages.append)
    for _ in range(10):
        trainer.step()
        recorder.after_step(trainer)
    first = store.paths()
    assert first == [store.path_for(10)]
    good = first[0].read_bytes()

    for error in (errno.ENOSPC, errno.EROFS):
        def failing_replace(src, dst, error=error):
            raise OSError(error, os.strerror(error))

        monkeypatch.setattr(os, "replace", failing_replace)
        for _ in range(10):
            trainer.step()
            recorder.after_step(trainer)
        assert "checkpoint not saved" in messages[-1] and os.strerror(error) in messages[-1]
        monkeypatch.undo()
    assert trainer.n == 30  # training went on
    assert store.paths() == first and first[0].read_bytes() == good
    assert list(tmp_path.iterdir()) == [store.path_for(10)]  # no temp files left
    load_checkpoint(first[0], corpus)
