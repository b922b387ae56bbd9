"""BLAS threads per model (engine/threads.py): the process's count, each model's, the
environment's, where the loop sets them, and that the count changes numbers only by rounding."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

from engine import (
    Config,
    ConfigError,
    Control,
    Trainer,
    check_fits,
    corpus_from_text,
    run,
    threads_for,
)
from engine.config import MAX_THREADS
from engine.nets.network import ModelSpec, Network
from engine.nets.reference import ReferenceRNN
from engine.presets import preset
from engine.threads import BLAS, PROCESS_THREADS, default_threads

from .helpers import bundled, run_cli

TEXT = bundled("verse.txt")[:20_000]


def clean_env(**extra: str) -> dict[str, str]:
    """os.environ (without the BLAS thread variables: tests/conftest.py) plus `extra`."""
    return {**os.environ, **extra}


# -- the process's count and the environment's -------------------------------------------

@pytest.mark.parametrize(("extra", "count"), [
    ({}, "1"), ({"OPENBLAS_NUM_THREADS": "2"}, "2"), ({"OMP_NUM_THREADS": "2"}, "2"),
    ({"OPENBLAS_NUM_THREADS": "junk"}, "1"),
], ids=["unset", "openblas", "omp", "junk"])
def test_importing_the_engine_sets_one_thread_unless_the_environment_sets_a_count(extra, count):
    # and it writes nothing to the environment, so a process it starts chooses for itself
    code = ("import os, engine; from engine.threads import BLAS; "
            "print(BLAS.actual(), os.environ.get('OPENBLAS_NUM_THREADS'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=clean_env(**extra))
    assert out.stdout.split() == [count, extra.get("OPENBLAS_NUM_THREADS", "None")], out.stderr


def test_the_environment_wins_for_every_model(monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "3,1")  # OpenMP's nesting: the outer count
    for config in (Config(), preset("rnn-256").config(), Config(threads=1)):
        assert threads_for(config) == 3
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "5")  # read before OMP_NUM_THREADS
    assert threads_for(Config()) == 5


# -- each model's count ----------------------------------------------------------------------

def test_each_model_has_its_measured_default_and_a_setting_overrides_it():
    for name in ("min-char-rnn", "rnn-256", "gru-2x256"):
        made = preset(name)
        assert threads_for(made.config(seed=4)) == min(made.threads, MAX_THREADS)
    # not a preset: batch 1 is too small to share; a batched network takes the presets' count
    assert default_threads(Config(hidden_size=512)) == 1
    assert default_threads(Config(cell="gru", batch=1, optimizer="adam")) == 1
    batched = Config(cell="lstm", layers=2, batch=16, optimizer="adam")
    assert default_threads(batched) == min(2, MAX_THREADS)
    assert threads_for(batched.with_changes(threads=1)) == 1
    assert threads_for(preset("rnn-256").config(threads=1)) == 1


def test_the_default_never_exceeds_the_cores(monkeypatch):
    monkeypatch.setattr("engine.threads.MAX_THREADS", 1)
    assert threads_for(preset("gru-2x256").config()) == 1


@pytest.mark.parametrize("count", [0, -1, 10**6, 1.5, True, "2"])
def test_a_count_that_is_no_count_is_refused(count):
    with pytest.raises(ConfigError, match="threads"):
        Config(threads=count)


def test_more_threads_than_the_cores_are_refused_where_the_model_trains():
    config = Config(threads=MAX_THREADS + 1)  # another machine's (an attached client reads it)
    with pytest.raises(ConfigError, match="the cores this process may use"):
        check_fits(corpus_from_text(TEXT), config)
    with pytest.raises(ConfigError, match="the cores this process may use"):
        Trainer(corpus_from_text(TEXT), config)


def test_a_checkpoint_does_not_hold_the_count(tmp_path):
    from engine.store.checkpoint import load_checkpoint, save_checkpoint

    corpus = corpus_from_text(TEXT)
    trainer = Trainer(corpus, Config(seed=1, threads=1, hidden_size=16))
    trainer.step()
    path = save_checkpoint(trainer, tmp_path / "ckpt-000000001.npz")
    assert load_checkpoint(path, corpus).config.threads is None  # how this machine trains


# -- where the count is set ----------------------------------------------------------------

def test_the_loop_sets_the_models_count_in_its_thread_and_the_process_count_after():
    trainer = Trainer(corpus_from_text(TEXT), preset("rnn-256").config(
        seed=1, hidden_size=32, batch=4, seq_length=16, sample_every=0))
    trainer.threads = 2  # as a setting would; allowed on any number of cores
    seen = []

    def on_step(result) -> None:
        seen.append(BLAS.actual())
        if result.iteration == 1:  # another loop sets its own count: the next step resets it
            BLAS.use(1)

    # a thread other than the main one, which set the process's count first (threadpoolctl
    # lets only one thread set OpenBLAS unless told otherwise)
    worker = threading.Thread(target=run, args=(trainer,), kwargs=dict(iters=4, on_step=on_step))
    worker.start()
    worker.join(60)
    assert seen == [2, 2, 2, 2]
    assert BLAS.actual() == PROCESS_THREADS


def test_a_changed_setting_takes_effect_at_the_next_step():
    if MAX_THREADS < 2:
        pytest.skip("one core: no second count to set")
    trainer = Trainer(corpus_from_text(TEXT), Config(seed=1, hidden_size=16, sample_every=0))
    control = Control()
    seen = []

    def on_step(result) -> None:
        seen.append(BLAS.actual())
        if result.iteration == 2:
            control.submit(lambda tr: tr.set_config(tr.config.with_changes(threads=2)))

    run(trainer, control, iters=5, on_step=on_step)
    assert seen == [1, 1, 1, 2, 2]


# -- numbers do not depend on the count --------------------------------------------------

def test_one_window_is_the_same_at_one_and_two_threads():
    """A float64 network's loss and gradients from one state, at 1 and at 2 BLAS threads,
    within 1e-10 relative (products big enough that OpenBLAS splits them)."""
    V, B, T = 65, 32, 16
    rng = np.random.RandomState(0)
    net = Network.initialised(V, ModelSpec("gru", 256, 2, 0.0, "float64"), rng)
    inputs, targets = rng.randint(V, size=(T, B)), rng.randint(V, size=(T, B))
    start = rng.uniform(-0.5, 0.5, net.new_state(B).shape)
    results = []
    try:
        for count in (1, 2):
            BLAS.use(count)
            assert BLAS.actual() == count
            state, grads = start.copy(), net.new_grads()
            loss = net.loss_and_grads(inputs, targets, state, grads, clip=None)
            results.append((loss, grads.flat.copy(), state))
    finally:
        BLAS.use(PROCESS_THREADS)
    (loss1, g1, s1), (loss2, g2, s2) = results
    assert abs(loss2 - loss1) <= 1e-10 * abs(loss1)
    for name, sl in zip(net.names, net.params.slices):
        assert np.linalg.norm(g2[sl] - g1[sl]) <= 1e-10 * np.linalg.norm(g1[sl]), name
    assert np.linalg.norm(s2 - s1) <= 1e-10 * np.linalg.norm(s1)


@pytest.mark.parametrize("how", ["environment", "flag"])
def test_the_exact_trace_is_untouched_at_two_threads(tmp_path, how):
    """`--exact` asked to run on two threads prints the original's trace bit for bit."""
    if how == "flag" and MAX_THREADS < 2:
        pytest.skip("one core: --threads 2 is refused")
    corpus = tmp_path / "verse.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    flag = ["--threads", "2"] if how == "flag" else []
    env = clean_env(**({"OPENBLAS_NUM_THREADS": "2"} if how == "environment" else {}))
    proc = run_cli(corpus, "--headless", "--exact", "--seed", "11", "--iters", "501",
                   "--hidden", "128", "--no-save", *flag, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    out = io.StringIO()
    for _ in ReferenceRNN(TEXT, hidden_size=128, seed=11).run(501, out=out):
        pass
    assert proc.stdout == out.getvalue()


# -- the benchmarks run (their figures come from a quiet machine, not from tests) ----------

def test_the_threads_benchmark_prints_each_presets_rates_by_count(tmp_path):
    corpus = tmp_path / "verse.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "engine.bench", "threads", str(corpus), "--seconds", "0.05",
         "--rounds", "1", "--models", "min-char-rnn,rnn-256"],
        capture_output=True, text=True, timeout=300, env=clean_env())
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    head = next(line for line in lines if line.startswith("preset"))
    assert "1 thread" in head and (MAX_THREADS == 1 or f"{MAX_THREADS} threads" in head)
    for name in ("min-char-rnn", "rnn-256"):
        row = next(line for line in lines if line.startswith(name)).split()
        assert row[2] == "1.00x"  # one thread against itself
        assert f"({preset(name).threads})" in row  # beside the engine's default


def test_the_app_benchmark_compares_thread_counts_side_by_side(tmp_path):
    corpus = tmp_path / "verse.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    counts = "1,2" if MAX_THREADS >= 2 else "1"
    proc = subprocess.run(
        [sys.executable, "-m", "charrnn_tui.bench", str(corpus), "--pairs", "1", "--seconds",
         "0.1", "--model", "min-char-rnn", "--hidden", "16", "--threads", counts],
        capture_output=True, text=True, timeout=300, env=clean_env())
    assert proc.returncode in (0, 1), proc.stderr  # 1: under the bar, on a busy machine
    lines = proc.stdout.splitlines()
    rows = lines[lines.index(next(ln for ln in lines if ln.startswith("model"))) + 1:]
    assert [row.split()[:3] for row in rows] == [
        ["min-char-rnn", "main", n] for n in counts.split(",")]
    assert MAX_THREADS < 2 or rows[1].endswith("x")  # the app at 2 threads against 1
