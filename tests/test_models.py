"""The model family through the Trainer: streams, resume, gradient checks, presets, bad input.

The math of each cell is checked against plain references in test_network.py; here the same
models are trained the way the app and the CLI train them.
"""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest

from engine import Config, ConfigError, Diverged, Trainer, check_trainer, corpus_from_text
from engine.nets.network import Network
from engine.presets import DEFAULT_PRESET, PRESETS, preset
from engine.store.checkpoint import load_checkpoint, load_model, save_checkpoint

from .helpers import bundled

TEXT = bundled("verse.txt")[:12000]
CELLS = ("rnn", "lstm", "gru")
OPTIMIZERS = ("adagrad", "rmsprop", "adam")


def small(**fields) -> Config:
    # the whole text is walked (a network holds out 5% by default: test_validation.py)
    base = dict(seed=4, hidden_size=12, layers=2, batch=3, seq_length=10, sample_every=7,
                sample_length=20, dtype="float64", optimizer="adam", cell="lstm",
                val_fraction=0.0)
    return Config(**{**base, **fields})


def trainer(**fields) -> Trainer:
    return Trainer(corpus_from_text(TEXT), small(**fields))


def steps(t: Trainer, n: int):
    return [t.step() for _ in range(n)]


# -- the streams ---------------------------------------------------------------------------

def test_streams_start_evenly_spaced_and_the_loss_is_the_mean_over_streams():
    t = trainer(batch=4, dropout=0.0)
    N = len(t.corpus)
    starts, inputs, targets, reset = t.next_window()
    assert starts.tolist() == [b * (N // 4) for b in range(4)] and reset.all()
    net = Network(t.corpus.vocab_size, t.model.spec)
    net.params.flat[...] = t.model.params.flat
    losses = []
    for b in range(4):  # each stream alone, from zero, is one term of the mean
        state = net.new_state(1)
        losses.append(net.loss(inputs[:, b:b + 1], targets[:, b:b + 1], state))
    result = t.step()
    assert math.isclose(result.loss, sum(losses) / 4, rel_tol=1e-12)
    assert t.chars_seen == 4 * 10 and t.p == 10


def test_a_stream_that_reaches_the_end_starts_over_at_0_from_a_zero_state():
    text = TEXT[:400]
    t = Trainer(corpus_from_text(text), small(batch=2, seq_length=10, sample_every=0))
    N = len(t.corpus)
    seen = []
    for _ in range(40):
        starts, *_ = t.next_window()
        seen.append(starts.tolist())
        t.step()
    assert seen[0] == [0, N // 2]
    wrapped = next(k for k, s in enumerate(seen) if s[1] == 0)  # stream 1 ran out first
    assert seen[wrapped - 1][1] + 10 + 1 + 10 >= N
    assert t.epoch >= 1  # stream 0 wrapped too, within 40 windows of 10 over ~400 characters


def test_an_epoch_of_b_streams_is_one_texts_worth_of_characters(tmp_path):
    # 4 streams of 10 read 40 characters a step: 10 steps are one pass over 400 characters,
    # though stream 0 itself wraps only every 40 steps (what the counter used to count)
    t = Trainer(corpus_from_text(TEXT[:400]), small(batch=4, seq_length=10, sample_every=0))
    N = t.stats().train_chars
    for k in range(1, 26):
        t.step()
        assert (t.epoch, t.stats().epoch_progress) == (k * 40 // N, k * 40 % N / N)
    resumed = load_checkpoint(save_checkpoint(t, tmp_path / "c.npz"), t.corpus)
    assert (resumed.epoch, resumed.stats().epoch_progress) == (t.epoch, t.stats().epoch_progress)
    # min-char-rnn's counter is the original's pointer wrapping, and its progress the pointer's
    original = Trainer(corpus_from_text(TEXT[:400]), Config(seed=1, hidden_size=8,
                                                            seq_length=10, sample_every=0))
    for _ in range(45):
        original.step()
    assert original.epoch == 1 and original.stats().epoch_progress == original.p / 400


def test_batch_1_of_a_network_walks_the_text_as_the_original_does():
    t = trainer(batch=1)
    for n in range(5):
        starts, inputs, _, _ = t.next_window()
        assert starts.tolist() == [10 * n]
        assert inputs[:, 0].tolist() == t.corpus.ix[10 * n:10 * n + 10].tolist()
        t.step()


# -- exact resume, every cell and optimizer ------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_resume_is_bitwise_for_every_cell_and_optimizer(tmp_path, cell, optimizer):
    t = trainer(cell=cell, optimizer=optimizer, dropout=0.25, dtype="float32",
                val_fraction=0.1, eval_every=9)
    steps(t, 23)
    path = save_checkpoint(t, tmp_path / "c.npz")
    resumed = load_checkpoint(path, t.corpus)
    assert resumed.config == t.config
    assert steps(resumed, 17) == steps(t, 17)  # losses, samples, positions, validation
    assert np.array_equal(resumed.learner.params.flat, t.learner.params.flat)
    assert np.array_equal(resumed.state, t.state)
    for name, buf in t.learner.optimizer_state().items():
        assert np.array_equal(resumed.learner.optimizer_state()[name], buf)


def test_the_sample_command_reads_a_network_checkpoint(tmp_path):
    t = trainer(cell="gru")
    steps(t, 12)
    path = save_checkpoint(t, tmp_path / "g.npz")
    saved = load_model(path)
    text = saved.sample(30, prime="The ")
    assert len(text) == 30 and set(text) <= set(TEXT)
    assert saved.sample(30, greedy=True) == saved.sample(30, greedy=True)


def test_min_char_rnn_checkpoints_keep_format_1_and_old_ones_still_load(tmp_path):
    t = Trainer(corpus_from_text(TEXT), Config(seed=2, hidden_size=8))
    steps(t, 5)
    path = save_checkpoint(t, tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    assert int(arrays["format_version"]) == 1
    for field in ("cell", "layers", "dropout", "batch", "dtype", "optimizer"):
        del arrays["config_" + field]  # as a file from before the model family
    old = tmp_path / "old.npz"
    np.savez(old, **arrays)
    resumed = load_checkpoint(old, t.corpus)
    assert resumed.config == t.config and resumed.n == 5


# -- gradients, precision, dropout ---------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
def test_the_gradient_check_covers_every_parameter_of_every_layer(cell):
    t = trainer(cell=cell, dtype="float32", dropout=0.3)
    steps(t, 6)
    check = check_trainer(t)
    assert [r.name for r in check.results] == list(t.model.names)
    assert any(name.startswith("l1.") for name in t.model.names)
    assert all(r.passed(1e-6) for r in check.results), check.results
    assert all(r.max_rel_error < 1e-4 for r in check.results)


def test_float32_agrees_with_float64_on_the_first_window():
    a, b = trainer(dtype="float64"), trainer(dtype="float32")
    b.learner.params.flat[...] = a.learner.params.flat  # the same weights, cast
    ra, rb = a.step(), b.step()
    assert math.isclose(ra.loss, rb.loss, rel_tol=1e-4)
    for ga, gb in zip(a.grads.segments(), b.grads.segments()):
        assert math.isclose(float(np.linalg.norm(ga)), float(np.linalg.norm(gb)), rel_tol=1e-4)
    assert b.learner.params.flat.dtype == np.float32 and b.state.dtype == np.float32


def test_dropout_is_off_when_evaluating_and_sampling():
    t = trainer(dropout=0.5, val_fraction=0.2, eval_every=10**6, sample_every=0)
    steps(t, 8)
    twin = trainer(dropout=0.0, val_fraction=0.2, eval_every=10**6, sample_every=0)
    twin.learner.params.flat[...] = t.learner.params.flat
    twin.learner.state[...] = t.state
    assert t.evaluate() == t.evaluate() == twin.evaluate()
    assert t.evaluate_text(t._val) == twin.evaluate_text(twin._val)
    t.sample_rng.seed(3)
    twin.sample_rng.seed(3)
    assert t.sample(40) == twin.sample(40)


def test_a_validation_worse_than_guessing_is_a_divergence(monkeypatch):
    import engine.trainer

    monkeypatch.setattr(engine.trainer, "VALIDATION_GRACE", 4)
    t = trainer(val_fraction=0.2, eval_every=5, sample_every=0)
    steps(t, 5)
    t.learner.params["by"][...] = np.where(np.arange(t.corpus.vocab_size) == 0, 60.0, -60.0)
    with pytest.raises(Diverged, match="worse than uniform guessing"):
        steps(t, 6)


# -- presets and the command line ----------------------------------------------------------

def test_the_default_preset_is_exactly_min_char_rnn():
    assert preset(DEFAULT_PRESET).config() == Config()
    assert Config().is_min_char_rnn


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_trains(name):
    t = Trainer(corpus_from_text(TEXT), preset(name).config(seed=1, sample_every=0))
    results = steps(t, 3)
    assert all(math.isfinite(r.loss) for r in results)
    assert t.stats().model == t.config.describe_model()


@pytest.mark.parametrize("fields, says", [
    (dict(cell="lstm", exact=True), "exact"),
    (dict(batch=0), "batch"),
    (dict(layers=0), "layers"),
    (dict(cell="transformer"), "cell"),
    (dict(dropout=1.5), "dropout"),
    (dict(dtype="float16"), "dtype"),
    (dict(optimizer="sgd"), "optimizer"),
    (dict(cooldown=1.5), "cooldown"),
    (dict(cooldown=-0.1), "cooldown"),
    (dict(exact=True, cooldown=0.2), "cooldown"),
])
def test_bad_model_settings_are_one_clear_error(fields, says):
    with pytest.raises(ConfigError, match=says):
        Config(**fields)


@pytest.mark.parametrize("args, says", [
    (["--exact", "--cell", "lstm"], "exact"),
    (["--batch", "0"], "batch"),
    (["--layers", "0"], "layers"),
    (["--cell", "transformer"], "--cell"),
    (["--model", "gpt-5"], "unknown model"),
    (["--dropout", "2"], "dropout"),
    (["--cooldown", "2"], "cooldown"),
    (["--cooldown", "nan"], "--cooldown"),
])
def test_bad_model_flags_are_one_line_and_exit_2(tmp_path, args, says):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "charrnn_tui", str(corpus), "--headless",
                           "--iters", "1", *args], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and says in proc.stderr and "Traceback" not in proc.stderr


def test_a_preset_runs_headless_with_the_originals_output_layout(tmp_path):
    corpus = tmp_path / "c.txt"
    corpus.write_text(TEXT, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "charrnn_tui", str(corpus), "--headless",
                           "--model", "gru-2x256", "--hidden", "16", "--iters", "101",
                           "--seed", "1", "--sample-length", "30", "--no-save"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("iter ") == 2 and proc.stdout.count("----\n") == 4


def test_a_network_that_diverges_is_rolled_back_to_its_last_good_state():
    t = trainer(cell="gru", sample_every=0)
    steps(t, 100)  # a rollback point at iteration 100
    good = t.learner.params.flat.copy(), t.state.copy()
    t.learner.params["Why"][...] *= 1e6  # any next window's loss is far past the ceiling
    with pytest.raises(Diverged, match="restored the parameters of iteration 100"):
        t.step()
    assert np.array_equal(t.learner.params.flat, good[0])
    assert np.array_equal(t.state, good[1])


def test_a_long_gradient_check_reports_progress_and_can_be_cancelled():
    from engine.inspect.gradcheck import CheckCancelled

    t = trainer(cell="lstm")
    steps(t, 3)
    before = t.learner.params.flat.copy()
    seen = []

    def progress(done, total):
        seen.append((done, total))
        return True

    check_trainer(t, entries_per_param=3, progress=progress)
    total = seen[-1][1]
    assert [d for d, _ in seen] == list(range(1, total + 1)) and total == 3 * len(t.model.names)

    with pytest.raises(CheckCancelled):
        check_trainer(t, progress=lambda done, total: done < 5)
    assert np.array_equal(t.learner.params.flat, before)  # every perturbed entry restored


def test_a_validation_pass_reports_progress_and_stops_when_asked():
    t = trainer(val_fraction=0.2, eval_every=10**6, sample_every=0)
    calls = []
    t.progress = lambda what, done, total: calls.append((what, done, total)) or True
    t.evaluate()
    assert calls[0][0] == "validation" and [c[1] for c in calls] == list(range(1, calls[0][2] + 1))
    t.progress = lambda what, done, total: done < 3  # e.g. the user quits during the pass
    result = t.step()  # iteration 0 validates
    assert result.val_bits is None and t.val_history == [] and t.n == 1
