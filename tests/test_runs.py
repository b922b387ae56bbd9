"""Run logs read back: the runs table from real short runs, old and corrupt logs, smoothing."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from charrnn_tui.paths import user_paths
from engine import Config, Trainer, corpus_from_text
from engine.store.runlog import MAX_SAMPLE_CHARS, MAX_SAMPLES, MetricsLog, prune_logs
from engine.store.runs import (
    LogCache,
    differing,
    discover,
    ema_debiased,
    overlay,
    parse_log,
    scan,
    sort_runs,
    table_columns,
    write_overlay_csv,
)

from .helpers import bundled, run_cli

TEXT = bundled("records.txt")[:5000]
LEGACY = ('{"iteration": 100, "smooth_loss": 90.0, "loss": 80.0, "bits_per_char": 5.0, '
          '"wall_time": 1.5}\n'
          '{"iteration": 200, "smooth_loss": 85.0, "loss": 70.0, "bits_per_char": 4.8, '
          '"wall_time": 3.0}\n')



@pytest.fixture(scope="module")
def three_runs(tmp_path_factory):
    """Real short runs on one corpus: two seeds at lr 0.1, and seed 1 at lr 0.05."""
    work = tmp_path_factory.mktemp("runs")
    corpus = work / "records.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    logs = work / "logs"
    logs.mkdir()
    for seed, lr in ((1, "0.1"), (2, "0.1"), (1, "0.05")):
        log = logs / f"seed{seed}-lr{lr}.jsonl"
        proc = run_cli(str(corpus), "--headless", "--iters", "300", "--seed", str(seed), "--lr",
                    lr, "--hidden", "16", "--val-fraction", "0.1", "--eval-every", "100",
                    "--sample-every", "100", "--no-save", "--log", str(log), cwd=work)
        assert proc.returncode == 0, proc.stderr
    return work, corpus, logs


def test_a_log_starts_with_a_header_and_keeps_its_samples_bounded(tmp_path):
    trainer = Trainer(corpus_from_text(TEXT, "r.txt"), Config(seed=1, hidden_size=8))
    log = MetricsLog(tmp_path / "20260102-030405-0123abcd-r.txt.jsonl")
    for i in range(MAX_SAMPLES + 5):
        log.sample(trainer, i, "x" * (MAX_SAMPLE_CHARS + 50))
    log.record(trainer)
    log.close()
    lines = [json.loads(s) for s in log.path.read_text().splitlines()]
    head = lines[0]
    assert head["kind"] == "run" and head["run"] == "20260102-030405-0123abcd"
    assert head["corpus"] == "r.txt" and head["fingerprint"] == trainer.corpus.fingerprint
    assert head["config"]["hidden_size"] == 8 and head["config"]["seed"] == 1
    assert head["model"]["cell"] == "rnn" and head["model"]["hidden_size"] == 8
    samples = [r for r in lines if r["kind"] == "sample"]
    assert len(samples) == MAX_SAMPLES and {len(s["text"]) for s in samples} == {
        MAX_SAMPLE_CHARS}
    (run,) = parse_log(log.path)
    assert run.run == "20260102-030405-0123abcd" and not run.legacy
    assert len(run.samples) == MAX_SAMPLES


def test_the_table_of_real_runs_shows_what_differs(three_runs):
    _, _, logs = three_runs
    found = scan(discover(logs))
    assert len(found.runs) == 3 and found.skipped_lines == 0
    assert differing(found.runs) == ("learning_rate", "seed")
    for run in found.runs:
        assert run.iterations == 300 and run.corpus == "records.txt"
        assert run.model_text == "rnn 1×16 b1"
        assert run.chars_seen == 300 * 25
        assert [it for it, _ in run.val] == [1, 101, 201]
        assert run.best_val == min(b for _, b in run.val)
        assert [it for it, _ in run.samples] == [0, 100, 200]
        # the table's numbers are the log's own
        records = [json.loads(s) for s in run.path.read_text().splitlines()]
        last = [r for r in records if r["kind"] == "iter"][-1]
        assert run.last_bits == last["avg_bits"] and run.wall_time == last["wall_time"]
    columns = table_columns(found.runs)
    assert columns[:5] == ("started", "corpus", "model", "learning_rate", "seed")
    by_lr = sort_runs(found.runs, "learning_rate")
    assert [r.config["learning_rate"] for r in by_lr] == [0.05, 0.1, 0.1]
    assert sort_runs(found.runs, "bits")[0].last_bits == min(r.last_bits for r in found.runs)


def test_the_runs_command_prints_the_table(three_runs):
    work, corpus, logs = three_runs
    proc = run_cli("runs", "--log-dir", str(logs), "--sort", "learning_rate", cwd=work)
    assert proc.returncode == 0, proc.stderr
    head, *rows = proc.stdout.splitlines()
    assert head.split()[:6] == ["started", "corpus", "model", "lr", "seed", "iters"]
    assert len(rows) == 3 and all("records.txt" in r and " 300 " in r for r in rows)
    assert rows[0].split()[6] == "0.05"  # sorted by learning rate
    assert "3 runs in" in proc.stderr
    other = run_cli("runs", "other.txt", "--log-dir", str(logs), cwd=work)
    assert other.returncode == 0 and other.stdout == "no runs found\n"


@pytest.mark.parametrize("args, message", [
    (["--sort", "nope"], "--sort 'nope' is not a column"),
    (["--log", "missing.jsonl"], "--log missing.jsonl: no such file"),
    (["--log", ""], "--log is an empty string"),
    (["--bogus"], "unrecognized arguments"),
])
def test_bad_input_to_the_runs_command_is_one_line(tmp_path, args, message):
    proc = run_cli("runs", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_old_logs_load_with_blanks_and_corrupt_lines_are_skipped_and_counted(tmp_path):
    logs = user_paths().logs
    logs.mkdir(parents=True)
    (logs / "20250101-101010-deadbeef-old.txt.jsonl").write_text(LEGACY)
    (logs / "20250102-101010-cafef00d-bad.txt.jsonl").write_text(
        LEGACY + "not json\n[1, 2]\n" + '{"iteration": "x"}\n' + '{"iteration": 300, "smo')
    found = scan(discover(logs))
    old, bad = sorted(found.runs, key=lambda r: r.name)
    assert old.legacy and old.config == {} and old.corpus == "old.txt"
    assert old.run == "20250101-101010-deadbeef" and old.started is not None
    assert old.iterations == 200 and old.last_bits == 4.8 and old.best_val is None
    assert old.chars_seen is None and old.model_text == ""
    # the raw series of an old log: the window loss in the smoothed loss's units
    np.testing.assert_allclose(old.points.loss_bits, [80 / 90 * 5.0, 70 / 85 * 4.8])
    assert bad.skipped == 4 and found.skipped_lines == 4 and bad.iterations == 200
    proc = run_cli("runs", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "4 corrupt lines skipped" in proc.stderr
    assert "old.txt" in proc.stdout and "bad.txt" in proc.stdout


def test_a_reused_log_file_holds_several_runs(tmp_path):
    path = tmp_path / "shared.jsonl"
    corpus = corpus_from_text(TEXT, "r.txt")
    for seed in (1, 2):
        trainer = Trainer(corpus, Config(seed=seed, hidden_size=8, sample_every=0))
        log = MetricsLog(path)
        for _ in range(3):
            trainer.step()
        log.record(trainer)
        log.close()
    runs = parse_log(path)
    assert [r.index for r in runs] == [0, 1]
    assert [r.config["seed"] for r in runs] == [1, 2]


def test_parsing_is_cached_by_size_and_modification_time(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(LEGACY)
    cache = LogCache()
    first = cache.load(path)
    assert cache.load(path) is first and cache.parsed == 1
    with path.open("a") as f:
        f.write('{"iteration": 300, "smooth_loss": 80.0, "loss": 60.0, "bits_per_char": 4.6}\n')
    assert cache.load(path)[0].iterations == 300 and cache.parsed == 2


def test_a_scan_reports_progress_and_can_be_cancelled(tmp_path):
    for i in range(5):
        (tmp_path / f"{i}.jsonl").write_text(LEGACY)
    seen = []
    found = scan(discover(tmp_path), progress=lambda done, total: seen.append((done, total)))
    assert seen == [(i, 5) for i in range(1, 6)] and len(found.runs) == 5
    stopped = scan(discover(tmp_path), cancelled=lambda: len(seen) >= 7,
                   progress=lambda done, total: seen.append((done, total)))
    assert stopped.cancelled and len(stopped.runs) == 2


def test_debiased_smoothing_equals_a_direct_weighted_average():
    rng = np.random.default_rng(0)
    ys = 3.0 + rng.standard_normal(50)
    ys[[7, 20]] = np.nan
    for w in (0.0, 0.6, 0.9, 0.99):
        got = ema_debiased(ys, w)
        finite = ys[np.isfinite(ys)]
        direct = [np.sum(w ** np.arange(k, -1, -1) * finite[:k + 1])
                  / np.sum(w ** np.arange(k, -1, -1)) for k in range(finite.size)]
        np.testing.assert_allclose(got[np.isfinite(ys)], direct, rtol=1e-12)
        assert np.isnan(got[7]) and np.isnan(got[20])
    # the first point is the first value, neither pulled to 0 nor stuck at it
    assert ema_debiased(np.array([4.0, 2.0]), 0.9)[0] == 4.0
    assert ema_debiased(np.array([4.0, 2.0]), 0.9)[1] == pytest.approx((0.9 * 4 + 2) / 1.9)
    with pytest.raises(ValueError):
        ema_debiased(ys, 1.0)


def test_overlay_series_are_the_logs_values_and_export_to_csv(three_runs, tmp_path):
    _, _, logs = three_runs
    runs = scan(discover(logs)).runs
    series = []
    for run in runs:
        records = [json.loads(s) for s in run.path.read_text().splitlines()]
        iters = [r for r in records if r["kind"] == "iter"]
        for axis, field in (("iterations", "iteration"), ("chars", "chars_seen"),
                            ("wall", "wall_time")):
            s = overlay(run, axis, 0.6)
            assert s.x.tolist() == [r[field] for r in iters]
            assert s.raw.tolist() == [r["loss_bits"] for r in iters]
            np.testing.assert_allclose(s.smoothed, ema_debiased(s.raw, 0.6))
            # its validation passes on the same axis (placed by iteration on the others)
            assert s.val.tolist() == [b for _, b in run.val]
            if axis == "chars":  # 25 characters an iteration, the pass at 1 before the first
                assert s.val_x.tolist() == [25 * it for it, _ in run.val]
        series.append(overlay(run, "wall", 0.6))
    out = tmp_path / "overlay.csv"
    assert write_overlay_csv(out, series, "wall") == sum(s.x.size + s.val.size for s in series)
    lines = out.read_text().splitlines()
    assert lines[0] == ("run,iteration,wall,raw_bits_per_char,smoothed_bits_per_char,"
                        "val_bits_per_char")
    first = lines[1].split(",")
    assert float(first[2]) == series[0].x[0] and float(first[3]) == series[0].raw[0]
    val = next(line.split(",") for line in lines if line.endswith(repr(float(series[0].val[0]))))
    assert int(val[1]) == 1 and val[3] == val[4] == ""


def test_the_log_folder_keeps_only_the_newest_logs(tmp_path):
    names = [f"2026010{i}-101010-0000000{i}-c.txt.jsonl" for i in range(1, 6)]
    for name in names:
        (tmp_path / name).write_text(LEGACY)
    (tmp_path / "mine.jsonl").write_text(LEGACY)  # not a run log by name: never removed
    removed = prune_logs(tmp_path, 2)
    assert sorted(p.name for p in removed) == names[:3]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[3:], "mine.jsonl"])


def test_a_long_run_thins_its_records(tmp_path, monkeypatch):
    import engine.store.runlog as runlog

    monkeypatch.setattr(runlog, "MAX_RECORDS", 4)
    trainer = Trainer(corpus_from_text(TEXT, "r.txt"), Config(seed=1, hidden_size=8,
                                                               sample_every=0))
    log = MetricsLog(tmp_path / "l.jsonl")
    for _ in range(16):
        trainer.step()
        log.record(trainer)
    log.close()
    (run,) = parse_log(log.path)
    assert run.points.iteration.tolist() == [1, 2, 3, 4, 5, 7, 9, 11, 13]  # stride 1, 2, 4
    assert math.isfinite(run.last_bits)

