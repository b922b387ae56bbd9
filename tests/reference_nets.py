"""Plain transcriptions of the network family, one stream and one timestep at a time (float64).

The oracle for engine/nets/network.py: column vectors, one matrix per gate, one-hot input vectors,
dicts of per-step values and np.outer for every weight gradient. Written from the equations,
not from the engine; deliberately naive. Do not optimise it.

Parameters come in the engine's layout (a dict name -> array, gate blocks side by side along
the last axis, x on the left: a = x Wx + h Wh + b); each is split into per-gate blocks here and
the gradients are put back together in the same layout.
"""

from __future__ import annotations

import numpy as np

GATES = {"rnn": ("a",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def blocks(M, cell):
    """Per-gate blocks of a (., G*H) matrix or (G*H,) bias, by gate name."""
    names = GATES[cell]
    H = M.shape[-1] // len(names)
    return {g: M[..., k * H:(k + 1) * H] for k, g in enumerate(names)}


def step_forward(cell, p, x, h_prev, c_prev):
    """One timestep of one layer for one stream; returns h, c and what backward needs."""
    Wx, Wh, b = blocks(p["Wx"], cell), blocks(p["Wh"], cell), blocks(p["b"], cell)
    if cell == "rnn":
        h = np.tanh(Wx["a"].T @ x + Wh["a"].T @ h_prev + b["a"])
        return h, None, {"x": x, "h_prev": h_prev, "h": h}
    if cell == "lstm":
        i = sigmoid(Wx["i"].T @ x + Wh["i"].T @ h_prev + b["i"])
        f = sigmoid(Wx["f"].T @ x + Wh["f"].T @ h_prev + b["f"])
        g = np.tanh(Wx["g"].T @ x + Wh["g"].T @ h_prev + b["g"])
        o = sigmoid(Wx["o"].T @ x + Wh["o"].T @ h_prev + b["o"])
        c = f * c_prev + i * g
        h = o * np.tanh(c)
        return h, c, {"x": x, "h_prev": h_prev, "c_prev": c_prev, "i": i, "f": f, "g": g,
                      "o": o, "c": c}
    # gru
    r = sigmoid(Wx["r"].T @ x + Wh["r"].T @ h_prev + b["r"])
    z = sigmoid(Wx["z"].T @ x + Wh["z"].T @ h_prev + b["z"])
    hn = Wh["n"].T @ h_prev + p["bhn"]
    n = np.tanh(Wx["n"].T @ x + b["n"] + r * hn)
    h = (1 - z) * n + z * h_prev
    return h, None, {"x": x, "h_prev": h_prev, "r": r, "z": z, "n": n, "hn": hn}


def step_backward(cell, p, cache, dh, dc_next, grads):
    """Gradients of one timestep: adds into grads; returns dx, dh_prev, dc_prev."""
    x, h_prev = cache["x"], cache["h_prev"]
    Wx, Wh = blocks(p["Wx"], cell), blocks(p["Wh"], cell)
    gWx, gWh, gb = blocks(grads["Wx"], cell), blocks(grads["Wh"], cell), blocks(grads["b"], cell)
    if cell == "rnn":
        da = {"a": dh * (1 - cache["h"] ** 2)}
        dh_prev_extra, dc_prev = 0.0, None
        dah = da
    elif cell == "lstm":
        i, f, g, o, c = cache["i"], cache["f"], cache["g"], cache["o"], cache["c"]
        do = dh * np.tanh(c)
        dc = dh * o * (1 - np.tanh(c) ** 2) + dc_next
        di, df, dg = dc * g, dc * cache["c_prev"], dc * i
        da = {"i": di * i * (1 - i), "f": df * f * (1 - f), "g": dg * (1 - g ** 2),
              "o": do * o * (1 - o)}
        dh_prev_extra, dc_prev = 0.0, dc * f
        dah = da
    else:
        r, z, n, hn = cache["r"], cache["z"], cache["n"], cache["hn"]
        dn = dh * (1 - z)
        dz = dh * (h_prev - n)
        dan = dn * (1 - n ** 2)
        dr = dan * hn
        da = {"r": dr * r * (1 - r), "z": dz * z * (1 - z), "n": dan}
        dhn = dan * r
        dah = {"r": da["r"], "z": da["z"], "n": dhn}
        grads["bhn"] += dhn
        dh_prev_extra, dc_prev = dh * z, None
    dx = np.zeros_like(x)
    dh_prev = np.zeros_like(h_prev) + dh_prev_extra
    for gate in GATES[cell]:
        gWx[gate] += np.outer(x, da[gate])
        gWh[gate] += np.outer(h_prev, dah[gate])
        gb[gate] += da[gate]
        dx += Wx[gate] @ da[gate]
        dh_prev += Wh[gate] @ dah[gate]
    return dx, dh_prev, dc_prev


def window(cell, params, inputs, targets, state):
    """Mean over streams of the summed cross-entropy, its gradients, and the final state.

    params: the engine's names -> float64 arrays; inputs, targets: (T, B); state (L, S, B, H).
    """
    T, B = inputs.shape
    L = state.shape[0]
    V = params["by"].shape[0]
    layer_params = [{k.split(".", 1)[1]: v for k, v in params.items() if k.startswith(f"l{n}.")}
                    for n in range(L)]
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    layer_grads = [{k.split(".", 1)[1]: grads[k] for k in grads if k.startswith(f"l{n}.")}
                   for n in range(L)]
    Why, by = params["Why"], params["by"]
    final = np.zeros_like(state)
    total = 0.0
    for s in range(B):
        hs = {(n, -1): state[n, 0, s].copy() for n in range(L)}
        cs = {(n, -1): state[n, 1, s].copy() if cell == "lstm" else None for n in range(L)}
        caches, ps = {}, {}
        for t in range(T):
            x = np.zeros(V)
            x[inputs[t, s]] = 1.0
            for n in range(L):
                h, c, caches[n, t] = step_forward(cell, layer_params[n], x, hs[n, t - 1],
                                                  cs[n, t - 1])
                hs[n, t], cs[n, t] = h, c
                x = h
            y = Why.T @ x + by
            e = np.exp(y - y.max())
            ps[t] = e / e.sum()
            total += -np.log(ps[t][targets[t, s]])
        dhnext = [np.zeros(state.shape[-1]) for _ in range(L)]
        dcnext = [np.zeros(state.shape[-1]) for _ in range(L)]
        for t in reversed(range(T)):
            dy = ps[t].copy()
            dy[targets[t, s]] -= 1.0
            grads["Why"] += np.outer(hs[L - 1, t], dy)
            grads["by"] += dy
            dh = Why @ dy
            for n in reversed(range(L)):
                dh, dhnext[n], dcnext[n] = step_backward(
                    cell, layer_params[n], caches[n, t], dh + dhnext[n], dcnext[n],
                    layer_grads[n])
        for n in range(L):
            final[n, 0, s] = hs[n, T - 1]
            if cell == "lstm":
                final[n, 1, s] = cs[n, T - 1]
    for g in grads.values():
        g /= B
    return total / B, grads, final
