"""The batched network family (engine/nets/network.py, engine/nets/cells.py) and its optimizers.

The oracle is tests/reference_nets.py, a per-stream, per-timestep transcription of the
equations; finite differences check the gradients independently of both.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from engine.nets.network import ModelSpec, ModelSpecError, Network
from engine.nets.optimizers import Adam, AdamConfig, RMSprop, RMSpropConfig

from . import reference_nets

CELLS = ("rnn", "lstm", "gru")
V, H, T, B = 12, 7, 6, 3
CELLS_AND_LAYERS = [(c, n) for c in CELLS for n in (1, 2)]


def make(cell, layers=1, dtype="float64", dropout=0.0, seed=0, hidden=H, vocab=V):
    """A network with non-zero biases, so that every parameter shapes the loss."""
    net = Network.initialised(vocab, ModelSpec(cell, hidden, layers, dropout, dtype),
                              np.random.RandomState(seed))
    rs = np.random.RandomState(seed + 100)
    for view in net.params.views:
        if view.ndim == 1:
            view += rs.uniform(-0.3, 0.3, view.shape)
    return net


def window(seed=1, steps=T, streams=B, vocab=V):
    rs = np.random.RandomState(seed)
    return rs.randint(0, vocab, (steps, streams)), rs.randint(0, vocab, (steps, streams))


def random_state(net, streams=B, seed=2):
    state = net.new_state(streams)
    state[...] = np.random.RandomState(seed).uniform(-0.8, 0.8, state.shape)
    return state


def rel(a, ref):
    """Largest difference relative to the reference's scale."""
    scale = np.abs(ref).max()
    return np.abs(np.asarray(a) - ref).max() / (scale if scale else 1.0)


# -- against the reference --------------------------------------------------------------------

@pytest.mark.parametrize("cell,layers", CELLS_AND_LAYERS)
def test_loss_gradients_and_state_match_the_reference(cell, layers):
    net = make(cell, layers)
    inputs, targets = window()
    state = random_state(net)
    params = {n: net.params[n].copy() for n in net.names}
    ref_loss, ref_grads, ref_state = reference_nets.window(cell, params, inputs, targets, state)
    grads = net.new_grads()
    loss = net.loss_and_grads(inputs, targets, state, grads, clip=None)
    assert abs(loss - ref_loss) <= 1e-12 * ref_loss
    for name in net.names:
        assert rel(grads[name], ref_grads[name]) <= 1e-12, name
    assert rel(state, ref_state) <= 1e-12


def _numerical(net, inputs, targets, state, i, delta=1e-4, rng_seed=None):
    """Five-point central difference of the loss in flat entry i (state and params restored)."""
    flat = net.params.flat
    x0 = flat[i]

    def at(value):
        flat[i] = value
        rng = None if rng_seed is None else np.random.RandomState(rng_seed)
        return net.loss_and_grads(inputs, targets, state.copy(), net.new_grads(), clip=None,
                                  rng=rng)

    d1 = at(x0 + delta) - at(x0 - delta)
    d2 = at(x0 + 2 * delta) - at(x0 - 2 * delta)
    flat[i] = x0
    return (8 * d1 - d2) / (12 * delta)


def _gradient_check(net, rng_seed=None, per_param=6):
    inputs, targets = window()
    state = random_state(net)
    grads = net.new_grads()
    rng = None if rng_seed is None else np.random.RandomState(rng_seed)
    net.loss_and_grads(inputs, targets, state.copy(), grads, clip=None, rng=rng)
    pick = np.random.RandomState(7)
    worst = {}
    for name, sl in zip(net.names, net.params.slices):
        errors = []
        for i in pick.randint(sl.start, sl.stop, per_param):
            num, ana = _numerical(net, inputs, targets, state, i, rng_seed=rng_seed), grads.flat[i]
            errors.append(abs(num - ana) / max(abs(num) + abs(ana), 1e-7))
        worst[name] = max(errors)
    return worst


@pytest.mark.parametrize("cell,layers", CELLS_AND_LAYERS)
def test_gradients_match_finite_differences(cell, layers):
    worst = _gradient_check(make(cell, layers))
    assert all(e < 1e-6 for e in worst.values()), worst


@pytest.mark.parametrize("cell", CELLS)
def test_gradients_with_dropout_are_those_of_the_dropped_out_loss(cell):
    # the same rng seed draws the same masks, so the loss is a fixed function to differentiate
    worst = _gradient_check(make(cell, 2, dropout=0.4), rng_seed=11, per_param=3)
    assert all(e < 1e-6 for e in worst.values()), worst


# -- batching, precision, state -----------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
def test_a_batch_is_the_mean_of_its_streams(cell):
    net = make(cell, 2)
    inputs, targets = window()
    state = random_state(net)
    grads = net.new_grads()
    batch_state = state.copy()
    loss = net.loss_and_grads(inputs, targets, batch_state, grads, clip=None)
    losses, mean_grads = [], np.zeros_like(grads.flat)
    for s in range(B):
        one, g = state[:, :, s:s + 1].copy(), net.new_grads()
        losses.append(net.loss_and_grads(inputs[:, s:s + 1], targets[:, s:s + 1], one, g,
                                         clip=None))
        mean_grads += g.flat / B
        assert rel(batch_state[:, :, s:s + 1], one) <= 1e-12
    assert abs(loss - np.mean(losses)) <= 1e-12 * loss
    for name, sl in zip(net.names, grads.slices):
        assert rel(grads.flat[sl], mean_grads[sl]) <= 1e-12, name


@pytest.mark.parametrize("cell", CELLS)
def test_float32_agrees_with_float64_on_the_first_window(cell):
    net64 = make(cell, 2)
    net32 = Network(V, ModelSpec(cell, H, 2, 0.0, "float32"))
    net32.params.flat[...] = net64.params.flat
    inputs, targets = window()
    results = []
    for net in (net64, net32):
        grads = net.new_grads()
        loss = net.loss_and_grads(inputs, targets, random_state(net), grads, clip=None)
        results.append((loss, [np.linalg.norm(s.astype(np.float64)) for s in grads.segments()]))
    (loss64, norms64), (loss32, norms32) = results
    assert abs(loss32 - loss64) <= 1e-4 * loss64
    for name, n64, n32 in zip(net64.names, norms64, norms32):
        assert abs(n32 - n64) <= 1e-4 * n64, name


@pytest.mark.parametrize("cell", CELLS)
def test_two_windows_in_a_row_are_one_double_window(cell):
    net = make(cell, 2)
    inputs, targets = window(steps=2 * T)
    start = random_state(net)
    split = start.copy()
    first = net.loss(inputs[:T], targets[:T], split)
    second = net.loss(inputs[T:], targets[T:], split)
    whole_state = start.copy()
    whole = net.loss(inputs, targets, whole_state)
    assert abs(first + second - whole) <= 1e-12 * whole
    assert rel(split, whole_state) <= 1e-12


def test_reset_streams_zeroes_only_those_streams():
    net = make("lstm", 2)
    state = random_state(net)
    before = state.copy()
    Network.reset_streams(state, np.array([True, False, True]))
    assert not state[:, :, [0, 2]].any()
    assert np.array_equal(state[:, :, 1], before[:, :, 1])


def test_clipping_bounds_every_entry():
    net = make("gru", 2)
    inputs, targets = window()
    free, clipped = net.new_grads(), net.new_grads()
    net.loss_and_grads(inputs, targets, random_state(net), free, clip=None)
    net.loss_and_grads(inputs, targets, random_state(net), clipped, clip=0.01)
    assert np.array_equal(clipped.flat, np.clip(free.flat, -0.01, 0.01))
    assert (np.abs(free.flat) > 0.01).any()  # the bound was reached


# -- dropout ----------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
def test_dropout_is_off_when_evaluating_and_sampling(cell):
    net = make(cell, 2, dropout=0.5)
    plain = Network(V, ModelSpec(cell, H, 2, 0.0, "float64"), net.params)  # same weights
    inputs, targets = window()
    state = random_state(net)
    losses = [n.loss(inputs, targets, state.copy()) for n in (net, net, plain)]
    assert losses[0] == losses[1] == losses[2]
    samples = [n.sample(state[:, :, 0], 3, 30, np.random.RandomState(4)) for n in (net, net, plain)]
    assert samples[0] == samples[1] == samples[2]


@pytest.mark.parametrize("cell", CELLS)
def test_dropout_is_on_in_training_and_follows_the_rng(cell):
    net = make(cell, 2, dropout=0.5)
    plain = Network(V, ModelSpec(cell, H, 2, 0.0, "float64"), net.params)
    inputs, targets = window()
    state = random_state(net)

    def train(n, seed):
        g = n.new_grads()
        rng = None if seed is None else np.random.RandomState(seed)
        return n.loss_and_grads(inputs, targets, state.copy(), g, rng=rng), g.flat.copy()

    (l0, g0), (la, ga), (lb, gb), (lc, _) = (train(plain, None), train(net, 5), train(net, 5),
                                             train(net, 6))
    assert la != l0 and not np.array_equal(ga, g0)
    assert la == lb and np.array_equal(ga, gb)
    assert lc != la
    with pytest.raises(ValueError, match="rng"):
        net.loss_and_grads(inputs, targets, state.copy(), net.new_grads())


# -- optimizers -------------------------------------------------------------------------------

def _random_run(steps, seed=0, size=50, dtype=np.float64):
    rs = np.random.RandomState(seed)
    return rs.randn(size).astype(dtype), [rs.randn(size).astype(dtype) for _ in range(steps)]


def test_rmsprop_is_its_formula():
    p0, gs = _random_run(5)
    opt, p = RMSprop(p0.size), p0.copy()
    cfg = RMSpropConfig()
    ref, cache = p0.copy(), np.zeros_like(p0)
    for g in gs:
        opt.update(p, g, 0.01)
        cache = cfg.decay * cache + (1 - cfg.decay) * g * g
        ref = ref - 0.01 * g / (np.sqrt(cache) + cfg.eps)
    assert rel(p, ref) <= 1e-12 and rel(opt.state["cache"], cache) <= 1e-12
    assert cfg == RMSpropConfig(2e-3, 0.95, 1e-8)


def test_adam_is_its_formula():
    p0, gs = _random_run(5)
    opt, p = Adam(p0.size), p0.copy()
    b1, b2, eps = 0.9, 0.999, 1e-8
    ref, m, v = p0.copy(), np.zeros_like(p0), np.zeros_like(p0)
    for t, g in enumerate(gs, start=1):
        opt.update(p, g)  # the default learning rate, 2e-3
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        ref = ref - 2e-3 * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    assert rel(p, ref) <= 1e-12 and rel(opt.state["m"], m) <= 1e-12
    assert rel(opt.state["v"], v) <= 1e-12 and opt.t == len(gs)
    assert AdamConfig() == AdamConfig(2e-3, 0.9, 0.999, 1e-8)


@pytest.mark.parametrize("kind", [RMSprop, Adam])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_optimizer_state_restores_bit_for_bit(kind, dtype):
    p0, gs = _random_run(8, dtype=dtype)
    a, p = kind(p0.size, dtype), p0.copy()
    for g in gs[:4]:
        a.update(p, g, 1e-2)
    saved = {k: v.copy() for k, v in a.state.items()}
    p_saved = p.copy()
    b = kind(p0.size, dtype)
    b.load_state(saved)
    q = p_saved.copy()
    for g in gs[4:]:
        a.update(p, g, 1e-2)
        b.update(q, g, 1e-2)
    assert np.array_equal(p, q) and p.dtype == np.dtype(dtype)
    for k in a.state:
        assert np.array_equal(a.state[k], b.state[k]) and a.state[k].dtype == b.state[k].dtype
    with pytest.raises(ValueError):
        b.load_state({})


# -- sampling ---------------------------------------------------------------------------------

def _logits_after(net, state_1, ixes):
    h_top = net.hidden_after(state_1, ixes)[-1, 0, 0]
    return h_top @ net.params["Why"] + net.params["by"]


@pytest.mark.parametrize("cell", CELLS)
def test_sampling_repeats_with_the_seed_and_leaves_the_state(cell):
    net = make(cell, 2)
    state_1 = random_state(net, streams=1)[:, :, 0]
    before = state_1.copy()
    a = net.sample(state_1, 2, 40, np.random.RandomState(9))
    b = net.sample(state_1[:, :, None], 2, 40, np.random.RandomState(9))
    assert a == b and np.array_equal(state_1, before)
    assert net.sample(state_1, 2, 40, np.random.RandomState(10)) != a


@pytest.mark.parametrize("cell", CELLS)
def test_sampling_draws_as_model_py(cell):
    # one random_sample(n) up front; per character the normalised cdf and searchsorted right
    net = make(cell, 2)
    state_1 = random_state(net, streams=1)[:, :, 0]
    ixes = net.sample(state_1, 5, 12, np.random.RandomState(3), temperature=0.7)
    uniforms = np.random.RandomState(3).random_sample(12)
    read = [5]
    for k, ix in enumerate(ixes):
        y = _logits_after(net, state_1, read) / 0.7
        p = np.exp(y - y.max())
        p /= p.sum()
        cdf = np.cumsum(p)
        cdf /= cdf[-1]
        assert ix == int(cdf.searchsorted(uniforms[k], side="right"))
        read.append(ix)


@pytest.mark.parametrize("cell", CELLS)
def test_greedy_sampling_is_the_argmax(cell):
    net = make(cell, 2)
    state_1 = random_state(net, streams=1)[:, :, 0]
    rng = np.random.RandomState(0)
    ixes = net.sample(state_1, 1, 10, rng, greedy=True)
    assert np.array_equal(rng.get_state()[1], np.random.RandomState(0).get_state()[1])
    read = [1]
    for ix in ixes:
        assert ix == int(np.argmax(_logits_after(net, state_1, read)))
        read.append(ix)


def test_hidden_after_is_the_state_after_reading_the_prime():
    net = make("lstm", 2)
    state_1 = random_state(net, streams=1)
    before = state_1.copy()
    prime = [3, 1, 4, 1, 5]
    after = net.hidden_after(state_1[:, :, 0], prime)
    read = state_1.copy()
    net.loss(np.array(prime)[:, None], np.zeros((5, 1), int), read)
    assert np.array_equal(after, read) and np.array_equal(state_1, before)


# -- evaluation and inspection ----------------------------------------------------------------

def test_evaluate_text_is_the_mean_loss_from_a_zero_state_for_any_chunk():
    net = make("gru", 2)
    ix = np.random.RandomState(5).randint(0, V, 200)
    whole = net.loss(ix[:-1, None], ix[1:, None], net.new_state(1)) / 199
    for chunk in (7, 64, 500):
        assert abs(net.evaluate_text(ix, chunk=chunk) - whole) <= 1e-12 * whole


@pytest.mark.parametrize("cell", CELLS)
def test_window_record_is_copies_of_the_last_window(cell):
    net = make(cell, 2)
    assert net.window_record() is None
    inputs, targets = window()
    state = random_state(net)
    loss = net.loss_and_grads(inputs, targets, state, net.new_grads())
    rec = net.window_record()
    assert rec.losses.shape == (T, B) and rec.probs.shape == (T, B, V)
    assert rec.hidden.shape == (T, 2, B, H)
    assert abs(rec.losses.sum() / B - loss) <= 1e-12 * loss
    assert np.allclose(rec.probs.sum(axis=2), 1.0)
    assert np.array_equal(rec.hidden[-1], state[:, 0]) and np.array_equal(rec.inputs, inputs)
    if cell == "lstm":
        assert np.array_equal(rec.cells[-1], state[:, 1]) and rec.gates.shape == (T, 2, B, 4, H)
    elif cell == "gru":
        assert rec.cells is None and rec.gates.shape == (T, 2, B, 3, H)
    else:
        assert rec.cells is None and rec.gates is None
    kept = rec.hidden.copy()
    rec.hidden[...] = 0.0
    net.loss_and_grads(inputs, targets, random_state(net), net.new_grads())
    assert np.array_equal(net.window_record().hidden, kept)  # the record was a copy


# -- precision and allocation --------------------------------------------------------------

def _arrays(obj):
    return [v for v in vars(obj).values() if isinstance(v, np.ndarray)]


@pytest.mark.parametrize("cell", CELLS)
def test_float32_stays_float32(cell):
    net = make(cell, 2, dtype="float32", dropout=0.3)
    inputs, targets = window()
    state, grads = net.new_state(B), net.new_grads()
    opt = Adam(grads.flat.size, "float32")
    for _ in range(2):
        loss = net.loss_and_grads(inputs, targets, state, grads, rng=np.random.RandomState(0))
        opt.update(net.params.flat, grads.flat)
    assert isinstance(loss, float)
    floats = [net.params.flat, grads.flat, state, *opt.state.values()]
    for ws in net._train_ws.values():
        floats += _arrays(ws) + [a for c in ws.cells for a in _arrays(c)]
    floats = [a for a in floats if a.dtype.kind == "f" and a is not ws.losses]
    assert floats and all(a.dtype == np.float32 for a in floats)
    rec = net.window_record()
    assert rec.probs.dtype == rec.hidden.dtype == np.float32
    assert rec.gates is None or rec.gates.dtype == np.float32
    assert net.hidden_after(state[:, :, 0], [1, 2]).dtype == np.float32


@pytest.mark.parametrize("cell", CELLS)
def test_a_training_step_allocates_nothing_per_timestep(cell):
    net = make(cell, 2, hidden=64)
    inputs, targets = window(steps=32, streams=8)
    state, grads = net.new_state(8), net.new_grads()
    net.loss_and_grads(inputs, targets, state, grads)  # allocates the workspace
    # numpy's iterator takes a scratch buffer of `bufsize` elements for strided operands;
    # shrunk, it cannot hide an array of ours
    bufsize = np.setbufsize(16)
    tracemalloc.start()
    try:
        net.loss_and_grads(inputs, targets, state, grads)
        net.loss(inputs, targets, state)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        np.setbufsize(bufsize)
    assert peak < 8 * 64 * 8  # less than one (B, H) float64 array alive at any time


# -- spec and layout --------------------------------------------------------------------------

@pytest.mark.parametrize("field,value", [
    ("cell", "transformer"), ("hidden_size", 0), ("hidden_size", 4097), ("hidden_size", 2.0),
    ("layers", 0), ("layers", 9), ("dropout", -0.1), ("dropout", 0.95),
    ("dropout", float("nan")), ("dtype", "float16"),
])
def test_model_spec_names_the_bad_field(field, value):
    with pytest.raises(ModelSpecError, match=field) as caught:
        ModelSpec(**{field: value})
    assert isinstance(caught.value, ValueError) and "\n" not in str(caught.value)


def test_parameter_layout_and_names():
    net = make("gru", 2)
    assert net.names == ("l0.Wx", "l0.Wh", "l0.b", "l0.bhn", "l1.Wx", "l1.Wh", "l1.b", "l1.bhn",
                         "Why", "by")
    assert net.shapes == ((V, 3 * H), (H, 3 * H), (3 * H,), (H,), (H, 3 * H), (H, 3 * H),
                          (3 * H,), (H,), (H, V), (V,))
    seg = net.params.segments()[1]
    seg[0] = 42.0
    assert net.params["l0.Wh"][0, 0] == 42.0  # segments are views of the one buffer
    assert net.new_state(4).shape == (2, 1, 4, H)
    assert make("lstm", 3).new_state(2).shape == (3, 2, 2, H)


@pytest.mark.parametrize("cell", CELLS)
def test_initialisation_is_reproducible_and_as_documented(cell):
    spec = ModelSpec(cell, H, 2, dtype="float64")

    def init(seed, s=spec):
        return Network.initialised(V, s, np.random.RandomState(seed)).params

    a, b, c = init(0), init(0), init(1)
    assert np.array_equal(a.flat, b.flat) and not np.array_equal(a.flat, c.flat)
    f32 = init(0, ModelSpec(cell, H, 2, dtype="float32"))
    assert np.array_equal(f32.flat, a.flat.astype(np.float32))
    bound = 1 / np.sqrt(H)
    for name in a.names:
        w = a[name]
        if w.ndim == 2:
            assert np.abs(w).max() <= bound and np.abs(w).max() > 0.5 * bound
        elif cell == "lstm" and name.endswith(".b"):
            assert np.array_equal(w, np.r_[np.zeros(H), np.ones(H), np.zeros(2 * H)])
        else:
            assert not w.any()
    # the documented draw order: layer by layer Wx then Wh, then Why
    rs = np.random.RandomState(0)
    for name in a.names:
        if name.endswith(("Wx", "Wh")) or name == "Why":
            assert np.array_equal(a[name], rs.uniform(-bound, bound, a[name].shape)), name


def test_bad_windows_are_refused():
    net = make("rnn")
    state, grads = net.new_state(B), net.new_grads()
    inputs, targets = window()
    with pytest.raises(ValueError, match="character indices"):
        net.loss_and_grads(inputs + V, targets, state, grads)
    with pytest.raises(ValueError, match="state"):
        net.loss_and_grads(inputs, targets, net.new_state(B + 1), grads)
    with pytest.raises(ValueError, match="shape"):
        net.loss_and_grads(inputs, targets[:-1], state, grads)
    with pytest.raises(ValueError, match=r"\(T, B\)"):
        net.loss_and_grads(inputs[:, 0], targets[:, 0], state, grads)
    assert ModelSpec(hidden_size=np.int64(16)).hidden_size == 16  # numpy integers are fine
