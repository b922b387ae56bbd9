"""engine/inspect/probe.py against the models' forward passes, numpy and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine import RNN, ModelSpec, Network, Trainer, corpus_from_text
from engine.config import Config
from engine.inspect import probe

from .reference_nets import step_forward

TEXT = 'she said "go (now)" and\nThe Cat sat [down].\n"Yes," he said.\n' * 20


def small_rnn(V: int = 7, H: int = 5, seed: int = 0) -> RNN:
    rng = np.random.RandomState(seed)
    model = RNN(V, H)
    for view in model.params.views:
        view[...] = rng.randn(*view.shape) * 0.5
    return model


def small_net(cell: str, layers: int = 1, V: int = 7, H: int = 5, seed: int = 0,
              dtype: str = "float64") -> Network:
    net = Network.initialised(V, ModelSpec(cell, H, layers, 0.0, dtype),
                              np.random.RandomState(seed))
    net.params.flat[...] += np.random.RandomState(seed + 1).randn(net.params.flat.size) * 0.3
    return net


MODELS = {
    "min-char-rnn": lambda: small_rnn(),
    "rnn x2": lambda: small_net("rnn", 2),
    "lstm": lambda: small_net("lstm"),
    "lstm x2": lambda: small_net("lstm", 2),
    "gru": lambda: small_net("gru"),
}


def random_state(model, seed: int = 5) -> np.ndarray:
    rng = np.random.RandomState(seed)
    if isinstance(model, RNN):
        return np.tanh(rng.randn(model.hidden_size))
    return np.tanh(rng.randn(model.layers, model.state_parts, 1, model.hidden_size))


# -- activations and losses equal the model's own forward ---------------------------------

@pytest.mark.parametrize("name", MODELS)
def test_reading_a_passage_equals_the_models_forward_pass_from_the_same_state(name):
    model = MODELS[name]()
    ixes = np.random.RandomState(1).randint(0, 7, size=1234)
    state = random_state(model)
    reading = probe.read(model, ixes, state, chunk=300)
    inputs, targets = ixes[:-1], ixes[1:]
    if isinstance(model, RNN):
        loss = model.forward(inputs, targets, state)
        ws = model.workspace(len(inputs))
        np.testing.assert_allclose(reading.hidden[:, 0], ws.hs[1:], rtol=0, atol=1e-12)
        np.testing.assert_allclose(reading.losses, ws.losses, rtol=1e-12, atol=1e-12)
        assert reading.cells is None
    else:
        s = state.copy()
        loss = model.loss(inputs[:, None], targets[:, None], s)
        record = model.window_record()
        np.testing.assert_allclose(reading.hidden, record.hidden[:, :, 0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(reading.losses, record.losses[:, 0], rtol=1e-12, atol=1e-12)
        if model.spec.cell == "lstm":
            np.testing.assert_allclose(reading.cells, record.cells[:, :, 0], rtol=0, atol=1e-12)
    assert math.isclose(reading.losses.sum(), loss, rel_tol=1e-12)


def test_a_float32_network_reads_in_float64_close_to_its_own_forward():
    net = small_net("lstm", dtype="float32")
    ixes = np.random.RandomState(2).randint(0, 7, size=400)
    state = net.new_state(1)
    net.loss(ixes[:-1, None], ixes[1:, None], state)
    reading = probe.read(net, ixes)
    assert reading.hidden.dtype == np.float64
    np.testing.assert_allclose(reading.hidden, net.window_record().hidden[:, :, 0], atol=2e-5)


def test_surprisal_sums_to_the_models_evaluation_from_h_zero():
    net = small_net("gru")
    ixes = np.random.RandomState(3).randint(0, 7, size=700)
    losses = probe.surprisal(net, ixes)
    assert math.isclose(losses.mean(), net.evaluate_text(ixes), rel_tol=1e-12)


def test_split_known_marks_characters_outside_the_vocabulary():
    known, unknown = probe.split_known("abc ", "ab é c!")
    assert known == [0, 1, 3, 3, 2] and unknown == [3, 6]


# -- features and the ranking -------------------------------------------------------------

def test_features_by_hand():
    f = {k: v.tolist() for k, v in probe.features('a "Bc" (d)\ne').items()}
    assert f["inside quotes"] == [0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    assert f["inside brackets"] == [0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0]
    assert f["since newline"] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 1]
    assert f["word start"] == [1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 1]
    assert f["upper case"] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert f["after newline"] == [0] * 11 + [1]
    assert f["whitespace"] == [0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0]


QUOTED = 'we said "hold the lantern low, and wait" then the river ran on\n' * 30


def quote_latch(vocab: str, H: int = 6, seed: int = 0) -> RNN:
    """min-char-rnn whose unit 0 is +1 inside double quotes and -1 outside, by its weights.

    Unit 3: the input was a space; unit 2: a quote after a space (an opening one); unit 4: a
    quote after anything else (a closing one); unit 0 holds its sign (Whh 4) and is pushed up
    by unit 2 and down by unit 4 one step later. Units 1 and 5 are random."""
    rng = np.random.RandomState(seed)
    V = len(vocab)
    model = RNN(V, H)
    P = model.params
    P.Wxh[...] = rng.randn(H, V) * 0.5
    P.Whh[...] = rng.randn(H, H) * 0.5
    P.Why[...] = rng.randn(V, H) * 0.5
    for u in (0, 2, 3, 4):
        P.Wxh[u], P.Whh[u], P.bh[u] = 0.0, 0.0, 0.0
    quote, space = vocab.index('"'), vocab.index(" ")
    P.Wxh[3] = -6.0
    P.Wxh[3, space] = 6.0
    for u, sign in ((2, 1.0), (4, -1.0)):
        P.Wxh[u] = -6.0
        P.Wxh[u, quote] = 6.0
        P.Whh[u, 3] = 6.0 * sign
        P.bh[u] = -9.0
    P.Whh[0, 0], P.Whh[0, 2], P.Whh[0, 4] = 4.0, 8.0, -8.0
    return model


def test_weights_that_make_unit_0_track_inside_quotes_rank_it_first_with_r_over_0_9():
    corpus = corpus_from_text(QUOTED)
    model = quote_latch(corpus.vocab)
    start = np.zeros(6)
    start[0] = -1.0  # outside quotes
    reading = probe.read(model, corpus.encode(QUOTED), start)
    ranks = {r.feature: r for r in probe.rank_units(reading, QUOTED)}
    best = ranks["inside quotes"].top[0]
    assert (best.layer, best.part, best.index) == (0, "h", 0) and best.r > 0.9
    # every r in the table is numpy's own Pearson r over the passage
    n = len(reading.losses)
    for rank in ranks.values():
        feature = probe.features(QUOTED[:n])[rank.feature]
        assert rank.varies == (feature.min() != feature.max())
        for unit in rank.top:
            column = reading.unit(unit.layer, unit.part, unit.index)
            assert math.isclose(unit.r, np.corrcoef(feature, column)[0, 1], rel_tol=1e-9,
                                abs_tol=1e-12)
    assert not ranks["inside brackets"].varies  # no brackets in the text: nothing to track


def test_pearson_of_a_constant_feature_or_unit_is_zero_and_constant_features_are_flagged():
    A = np.column_stack([np.ones(10), np.arange(10.0)])
    assert probe.pearson(np.arange(10.0), A).tolist() == [0.0, 1.0]
    model = small_rnn(V=3)
    ixes = np.array([0, 1, 2] * 30)
    ranks = {r.feature: r for r in probe.rank_units(probe.read(model, ixes), "abc" * 30)}
    assert not ranks["inside quotes"].varies and ranks["inside quotes"].top == ()


# -- influence against finite differences -------------------------------------------------

def reference_logp(net: Network, inputs, target: int, state, k: int = -1, j: int = 0,
                   eps: float = 0.0, onehot: bool = False) -> float:
    """log p(target) after inputs, with layer 0's embedding row at step k moved by eps in
    column j (or, with onehot, the one-hot input of step k moved by eps at character j),
    through tests/reference_nets' plain per-timestep cells."""
    cell = net.spec.cell
    L, V = net.layers, net.vocab_size
    params = {name: net.params[name] for name in net.names}
    layer = [{n.split(".", 1)[1]: params[n] for n in params if n.startswith(f"l{m}.")}
             for m in range(L)]
    hs = [state[m, 0, 0].copy() for m in range(L)]
    cs = [state[m, 1, 0].copy() if cell == "lstm" else None for m in range(L)]
    for t, ix in enumerate(inputs):
        x = np.zeros(V)
        x[ix] = 1.0
        for m in range(L):
            p = layer[m]
            if m == 0 and t == k:
                if onehot:
                    x[j] += eps
                else:
                    p = dict(p)
                    p["Wx"] = p["Wx"].copy()
                    p["Wx"][ix, j] += eps
            hs[m], cs[m], _ = step_forward(cell, p, x, hs[m], cs[m])
            x = hs[m]
    y = params["Why"].T @ x + params["by"]
    y = y - y.max()
    return float(y[target] - np.log(np.exp(y).sum()))


@pytest.mark.parametrize("name", MODELS)
def test_influence_equals_finite_differences_to_1e_6(name):
    model = MODELS[name]()
    net = probe.as_network64(model)
    rng = np.random.RandomState(7)
    inputs, targets = rng.randint(0, 7, size=9), rng.randint(0, 7, size=9)
    state = random_state(model)
    s64 = probe.state64(net, state)
    position = 6
    inf = probe.influence(model, inputs, targets, position, state)
    assert inf.grads.shape == (position + 1, net.cells[0].gates * net.hidden_size)
    logp = reference_logp(net, inputs[:position + 1], targets[position], s64)
    assert math.isclose(inf.logp, logp, rel_tol=1e-12)
    eps = 1e-5
    for k in range(position + 1):
        for j in range(inf.grads.shape[1]):
            up = reference_logp(net, inputs[:position + 1], targets[position], s64, k, j, eps)
            down = reference_logp(net, inputs[:position + 1], targets[position], s64, k, j, -eps)
            assert abs((up - down) / (2 * eps) - inf.grads[k, j]) < 1e-6, (k, j)
        for v in range(net.vocab_size):
            up = reference_logp(net, inputs[:position + 1], targets[position], s64, k, v, eps,
                                onehot=True)
            down = reference_logp(net, inputs[:position + 1], targets[position], s64, k, v,
                                  -eps, onehot=True)
            assert abs((up - down) / (2 * eps) - inf.onehot_grads[k, v]) < 1e-6, (k, v)


def test_influence_shares_peak_and_reach():
    inf = probe.Influence(4, 0, -1.0, np.array([[0.05], [0.2], [0.01], [1.0], [0.5]]),
                          np.zeros((5, 2)))
    np.testing.assert_allclose(inf.shares, [0.05, 0.2, 0.01, 1.0, 0.5])
    assert inf.peak_distance == 1
    assert inf.reach == 3  # 0.2 at distance 3 is the farthest at >= 10% of the peak


def test_influence_on_a_trainers_last_window_runs_for_both_families():
    for config in (Config(seed=1, hidden_size=8, seq_length=10),
                   Config(seed=1, hidden_size=8, seq_length=10, cell="lstm", layers=2,
                          batch=2, optimizer="adam", learning_rate=2e-3)):
        trainer = Trainer(corpus_from_text(TEXT), config)
        for _ in range(3):
            trainer.step()
        win = trainer.last_window
        inputs = win.inputs if win.inputs.ndim == 1 else win.inputs[:, 0]
        targets = win.targets if win.targets.ndim == 1 else win.targets[:, 0]
        h = win.h_start if win.h_start.ndim == 1 else win.h_start[:, :, :1]
        inf = probe.influence(trainer.model, inputs, targets, 9, h)
        assert inf.norms.shape == (10,) and np.isfinite(inf.norms).all()
