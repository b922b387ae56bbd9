"""The engine against a plain transcription of the original min-char-rnn loop (the oracle).

Exact mode must equal the oracle bit for bit: losses, smoothed losses, weights and the
printed samples. Fast mode must compute the same window (loss and gradients) to rounding
error from any state the original passes through; over a free run it can only be compared
for a few iterations, because training amplifies one ulp exponentially (see README).
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from engine import Config, FlatParams, Trainer, corpus_from_text
from engine.reference import ReferenceRNN

from .helpers import WRAPPING_TEXT, bundled, shared_text

CASES = [
    pytest.param(lambda: bundled("verse.txt")[:40_000], 1, 100, 25, id="verse-seed1"),
    pytest.param(lambda: bundled("code.txt")[:40_000], 7, 100, 25, id="code-seed7"),
    pytest.param(lambda: bundled("multilingual.txt"), 123, 64, 16, id="unicode-seed123-h64"),
    pytest.param(lambda: WRAPPING_TEXT, 5, 32, 25, id="wrapping-seed5"),
    pytest.param(lambda: WRAPPING_TEXT, 0, 20, 7, id="wrapping-seed0-seq7"),
    pytest.param(lambda: shared_text(50_000), 42, 100, 25, id="tinyshakespeare-seed42"),
]


def _oracle_losses(text, seed, hidden, seq, iters):
    ref = ReferenceRNN(text, hidden_size=hidden, seq_length=seq, seed=seed)
    trace = [(smooth, loss) for _, smooth, loss in ref.run(iters, sample_every=0)]
    return ref, trace


@pytest.mark.parametrize(("make_text", "seed", "hidden", "seq"), CASES)
def test_exact_mode_equals_the_original_bit_for_bit(make_text, seed, hidden, seq):
    text = make_text()
    iters = 400
    ref, trace = _oracle_losses(text, seed, hidden, seq, iters)
    trainer = Trainer(corpus_from_text(text), Config(seed=seed, hidden_size=hidden,
                                                     seq_length=seq, exact=True, sample_every=0))
    got = [(r.smooth_loss, r.loss) for r in (trainer.step() for _ in range(iters))]
    assert got == trace  # float equality: bit for bit
    P = trainer.model.params
    for name, ours, theirs in [("Wxh", P.Wxh, ref.Wxh), ("Whh", P.Whh, ref.Whh),
                               ("Why", P.Why, ref.Why), ("bh", P.bh, ref.bh[:, 0]),
                               ("by", P.by, ref.by[:, 0])]:
        assert np.array_equal(ours, theirs), name


def test_exact_mode_prints_what_the_original_prints():
    text = bundled("verse.txt")[:20_000]
    out = io.StringIO()
    ref = ReferenceRNN(text, seed=11)
    for _ in ref.run(1001, sample_every=100, sample_length=200, out=out):
        pass
    trainer = Trainer(corpus_from_text(text), Config(seed=11, exact=True))
    lines = []
    for _ in range(1001):
        r = trainer.step()
        if r.sample is not None:
            lines.append("----\n %s \n----\n" % (r.sample,))
        if r.iteration % 100 == 0:
            lines.append("iter %d, loss: %f\n" % (r.iteration, r.smooth_loss))
    assert "".join(lines) == out.getvalue()


@pytest.mark.parametrize(("make_text", "seed", "hidden", "seq"), CASES)
def test_fast_mode_computes_the_same_window_from_every_state_of_the_original(
        make_text, seed, hidden, seq):
    # exact mode walks the original's trajectory (test above); at each state the fast
    # mode's loss and gradients must agree to rounding error
    text = make_text()
    corpus = corpus_from_text(text)
    trainer = Trainer(corpus, Config(seed=seed, hidden_size=hidden, seq_length=seq,
                                     exact=True, sample_every=0))
    fast = FlatParams(corpus.vocab_size, hidden)
    worst_loss, worst_grad = 0.0, 0.0
    for _ in range(300):
        p = 0 if trainer.p + seq + 1 >= len(corpus) or trainer.n == 0 else trainer.p
        h = np.zeros(hidden) if p == 0 else trainer.hprev.copy()
        inputs, targets = corpus.ix[p:p + seq], corpus.ix[p + 1:p + seq + 1]
        loss_fast = trainer.model.loss_and_grads(inputs, targets, h, fast, exact=False)
        loss = trainer.step().loss
        worst_loss = max(worst_loss, abs(loss_fast - loss) / loss)
        scale = np.abs(trainer.grads.flat).max()
        worst_grad = max(worst_grad, np.abs(fast.flat - trainer.grads.flat).max() / scale)
    assert worst_loss < 1e-12
    assert worst_grad < 1e-12


@pytest.mark.parametrize(("make_text", "seed", "hidden", "seq"), CASES)
def test_fast_mode_free_run_tracks_the_original(make_text, seed, hidden, seq):
    text = make_text()
    _, trace = _oracle_losses(text, seed, hidden, seq, 300)
    trainer = Trainer(corpus_from_text(text), Config(seed=seed, hidden_size=hidden,
                                                     seq_length=seq, sample_every=0))
    got = [(r.smooth_loss, r.loss) for r in (trainer.step() for _ in range(300))]
    # the first windows agree to rounding; later only statistically (chaos)
    for (_, l_ref), (_, l) in zip(trace[:3], got[:3]):
        assert abs(l - l_ref) / l_ref < 1e-12
    s_ref, s = trace[-1][0], got[-1][0]
    assert abs(s - s_ref) / s_ref < 0.02


def test_initialisation_matches_np_random_seed_then_randn_in_order():
    text = WRAPPING_TEXT
    V = len(set(text))
    np.random.seed(9)
    Wxh = np.random.randn(30, V) * 0.01
    Whh = np.random.randn(30, 30) * 0.01
    Why = np.random.randn(V, 30) * 0.01
    P = Trainer(corpus_from_text(text), Config(seed=9, hidden_size=30)).model.params
    assert np.array_equal(P.Wxh, Wxh) and np.array_equal(P.Whh, Whh)
    assert np.array_equal(P.Why, Why)
    assert not P.bh.any() and not P.by.any()


def test_initial_smoothed_loss_is_uniform_cross_entropy_over_a_window():
    corpus = corpus_from_text(WRAPPING_TEXT)
    t = Trainer(corpus, Config(seed=1, seq_length=10))
    assert t.smooth_loss == -np.log(1.0 / corpus.vocab_size) * 10
