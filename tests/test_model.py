"""Gradients, clipping, sampling and divergence of the model itself."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import (
    EXACT_WARMUP,
    Config,
    Diverged,
    FlatParams,
    Trainer,
    check_trainer,
    corpus_from_text,
    gradient_check,
)
from engine.nets.reference import ReferenceRNN

from .helpers import WRAPPING_TEXT, bundled


def _trained(text=WRAPPING_TEXT, steps=40, **config):
    cfg = dict(seed=3, hidden_size=24, seq_length=12, sample_every=0)
    cfg.update(config)
    trainer = Trainer(corpus_from_text(text), Config(**cfg))
    for _ in range(steps):
        trainer.step()
    return trainer


@pytest.mark.parametrize("exact", [False, True])
def test_gradient_check_passes_with_clipping_off(exact):
    trainer = _trained()
    ix = trainer.corpus.ix
    results = gradient_check(trainer.model, ix[5:17], ix[6:18], trainer.hprev, exact=exact,
                             entries_per_param=40)
    for r in results:
        assert r.passed(1e-6), (r.name, r.max_rel_error)
    assert [r.name for r in results] == ["Wxh", "Whh", "Why", "bh", "by"]


def test_gradient_check_catches_a_wrong_gradient(monkeypatch):
    # a check that cannot fail proves nothing: break dWhh and expect a failure
    trainer = _trained()
    model = trainer.model
    original = model.loss_and_grads

    def broken(*args, **kwargs):
        loss = original(*args, **kwargs)
        args[3].Whh[...] *= 1.01
        return loss

    monkeypatch.setattr(model, "loss_and_grads", broken)
    ix = trainer.corpus.ix
    results = {r.name: r for r in gradient_check(model, ix[:12], ix[1:13], trainer.hprev)}
    assert not results["Whh"].passed(1e-6)


def test_gradients_are_clipped_elementwise_to_plus_minus_clip():
    trainer = _trained(steps=1, learning_rate=0.1)
    model, ix = trainer.model, trainer.corpus.ix
    model.params.Why[...] *= 500  # force large gradients
    grads = FlatParams(trainer.corpus.vocab_size, 24)
    model.loss_and_grads(ix[:12], ix[1:13], trainer.hprev, grads, clip=None)
    assert np.abs(grads.flat).max() > 5
    model.loss_and_grads(ix[:12], ix[1:13], trainer.hprev, grads, clip=5.0)
    assert np.abs(grads.flat).max() == 5.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sample_equals_the_original_sample_with_the_same_stream(seed):
    text = bundled("verse.txt")[:5000]
    trainer = _trained(text=text, steps=150, hidden_size=100, seq_length=25)
    ref = ReferenceRNN(text, seed=0)
    P = trainer.model.params
    ref.Wxh, ref.Whh, ref.Why = P.Wxh.copy(), P.Whh.copy(), P.Why.copy()
    ref.bh, ref.by = P.bh.reshape(-1, 1).copy(), P.by.reshape(-1, 1).copy()
    np.random.seed(seed)
    expected = ref.sample(trainer.hprev.reshape(-1, 1).copy(), 3, 2000)
    rng = np.random.RandomState(seed)
    got = trainer.model.sample(trainer.hprev, 3, 2000, rng)
    assert got == [int(i) for i in expected]
    # and the stream is left where the original leaves it (the next periodic sample depends on it)
    assert rng.random_sample() == np.random.random_sample()


def test_sampling_disturbs_no_training_state():
    trainer = _trained()
    before = (trainer.model.params.flat.copy(), trainer.hprev.copy(),
              trainer.optimizer.mem.flat.copy(), trainer.rng.get_state()[1].copy(), trainer.p)
    trainer.sample(500)
    trainer.sample(50, prime="the ", temperature=0.5)
    trainer.sample(50, greedy=True)
    after = (trainer.model.params.flat, trainer.hprev, trainer.optimizer.mem.flat,
             trainer.rng.get_state()[1], trainer.p)
    for b, a in zip(before[:4], after[:4]):
        assert np.array_equal(b, a)
    assert before[4] == after[4]


def test_on_demand_samples_do_not_change_the_periodic_ones():
    def periodic(extra_samples):
        t = Trainer(corpus_from_text(WRAPPING_TEXT), Config(seed=4, hidden_size=16, sample_every=10,
                                                          sample_length=30))
        out = []
        for _ in range(50):
            out.append(t.step().sample)
            if extra_samples:
                t.sample(20)
        return out

    assert periodic(False) == periodic(True)


def test_greedy_sampling_is_deterministic_and_low_temperature_concentrates():
    trainer = _trained(text=bundled("verse.txt")[:8000], steps=300, hidden_size=64, seq_length=25)
    assert trainer.sample(80, greedy=True) == trainer.sample(80, greedy=True)
    cold = trainer.sample(2000, temperature=0.2)
    hot = trainer.sample(2000, temperature=2.0)
    assert len(set(cold)) < len(set(hot))


def test_prime_must_use_the_vocabulary():
    trainer = _trained()
    with pytest.raises(ValueError, match="not in the corpus vocabulary"):
        trainer.sample(10, prime="XYZ\u2603")


def test_exact_mode_reports_divergence_instead_of_nan():
    trainer = _trained(steps=0, exact=True, learning_rate=1e4, hidden_size=16)
    initial = trainer.model.params.flat.copy()
    with pytest.raises(Diverged, match="restored the parameters of iteration 0"):
        for _ in range(500):
            trainer.step()
    assert np.array_equal(initial, trainer.model.params.flat)  # the last good state
    assert math.isfinite(trainer.smooth_loss)


@pytest.mark.parametrize("exact", [False, True])
def test_a_live_learning_rate_of_1e3_diverges_and_restores_the_weights_before_the_change(exact):
    trainer = _trained(text=bundled("verse.txt")[:20_000], steps=150, exact=exact,
                       hidden_size=100, seq_length=25)
    before = (trainer.model.params.flat.copy(), trainer.optimizer.mem.flat.copy())
    trainer.set_config(trainer.config.with_changes(learning_rate=1e3))
    with pytest.raises(Diverged, match="lower the learning rate"):
        for _ in range(100):
            trainer.step()
    assert np.array_equal(before[0], trainer.model.params.flat)
    assert np.array_equal(before[1], trainer.optimizer.mem.flat)


def test_fast_mode_softmax_survives_logits_that_overflow_exp():
    trainer = _trained(steps=EXACT_WARMUP)  # past the warm-up in the original's arithmetic
    model, ix = trainer.model, trainer.corpus.ix
    model.params.by[...] = 0.0
    model.params.by[0] = 800.0  # exp(800) overflows float64
    grads = FlatParams(trainer.corpus.vocab_size, 24)
    loss = model.loss_and_grads(ix[:12], ix[1:13], trainer.hprev, grads)
    assert math.isfinite(loss) and np.isfinite(grads.flat).all()
    with pytest.raises(Diverged, match="uniform guessing"):  # absurd, so training stops
        trainer.step()


@pytest.mark.parametrize("exact", [False, True])
def test_warmup_falls_back_to_the_stable_softmax_where_the_original_overflows(exact):
    trainer = _trained(steps=1, exact=exact)
    assert trainer.exact_at(trainer.n)  # the default mode is still in its warm-up
    trainer.model.params.by[0] = 800.0  # exp(800) overflows float64
    why = "exp overflowed in the exact softmax" if exact else "uniform guessing"
    with pytest.raises(Diverged, match=why):  # the default mode's softmax is the stable one
        trainer.step()


def test_stats_are_plain_values_describing_the_last_step():
    trainer = _trained(steps=10)
    s = trainer.stats()
    assert s.iteration == 10 and s.chars_seen == 120
    assert len(s.grad_norm) == len(s.mem_norm) == len(s.param_norm) == len(s.step_median) == 5
    for value in (*s.grad_norm, *s.mem_norm, *s.param_norm, *s.step_median, s.clipped_fraction):
        assert type(value) is float and math.isfinite(value)
    mem = trainer.optimizer.mem.segments()[1]
    assert s.mem_norm[1] == pytest.approx(float(np.linalg.norm(mem)))
    assert s.step_median[1] == pytest.approx(0.1 / math.sqrt(float(np.median(mem)) + 1e-8))
    assert 0.0 <= s.clipped_fraction <= 1.0


@pytest.mark.parametrize("exact", [False, True])
def test_adagrad_update_is_the_originals(exact):
    # mem += g*g; p += -lr * g / sqrt(mem + 1e-8): bit for bit in exact mode, to rounding in fast
    from engine.nets.adagrad import Adagrad

    rng = np.random.RandomState(5)
    V, H, lr = 7, 5, 0.1
    params, grads = FlatParams(V, H), FlatParams(V, H)
    opt = Adagrad(V, H)
    params.flat[...] = rng.randn(params.flat.size)
    mem0 = rng.rand(params.flat.size) * 10.0 ** rng.randint(-12, 2, params.flat.size)
    opt.mem.flat[...] = mem0
    grads.flat[...] = rng.randn(grads.flat.size) * 10.0 ** rng.randint(-9, 1, grads.flat.size)
    expected_params, expected_mem = params.flat.copy(), mem0.copy()
    for sl in params.slices:  # the original's arithmetic, parameter by parameter
        g = grads.flat[sl]
        expected_mem[sl] += g * g
        expected_params[sl] += -lr * g / np.sqrt(expected_mem[sl] + 1e-8)
    opt.update(params, grads, lr, exact)
    assert np.array_equal(opt.mem.flat, expected_mem)
    if exact:
        assert np.array_equal(params.flat, expected_params)
    else:
        update = np.abs(lr * grads.flat / np.sqrt(expected_mem + 1e-8))
        off = np.abs(expected_params - params.flat)  # divide-then-scale rounds differently
        assert (off <= 4 * np.finfo(np.float64).eps * (update + np.abs(expected_params))).all()


def test_the_last_window_survives_evaluation_gradient_checks_and_samples():
    """window_view reads the trainer model's workspace: only a training step may write it."""
    trainer = _trained(steps=30, val_fraction=0.3, eval_every=1)
    before = trainer.window_view()
    h_start = trainer.last_window.h_start.copy()
    trainer.evaluate()
    check = check_trainer(trainer)
    trainer.sample(length=50)
    trainer.sample(length=20, prime="the ")
    after = trainer.window_view()
    assert after.iteration == before.iteration == 29
    for a, b in ((after.probs, before.probs), (after.losses, before.losses),
                 (after.hidden, before.hidden)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(trainer.last_window.h_start, h_start)
    assert "window of iteration 29" in check.source and check.iteration == 30
    assert all(r.passed(1e-6) for r in check.results)


def test_the_last_window_records_the_hidden_state_it_started_from():
    trainer = _trained(steps=12)
    while trainer.next_window()[3]:  # a window that carries h over (no wrap to h = 0)
        trainer.step()
    n, before = trainer.n, trainer.hprev.copy()
    trainer.step()
    last = trainer.last_window
    assert last.iteration == n
    np.testing.assert_array_equal(last.h_start, before)
    assert not np.array_equal(trainer.hprev, before)  # the step moved on; the record did not
