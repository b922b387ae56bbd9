"""The recurrent cells of the batched network: one layer's forward and backward over a window.

Conventions (row vectors, as numpy's matmul reads them): a window holds T timesteps of B
streams; x_t is (B, I), h_t is (B, H), weights multiply on the right (x Wx, h Wh), and the G
gate blocks of a layer sit side by side in its (., G*H) matrices and biases. The first layer's
input is one character index per stream, so its x Wx is a row gather of Wx (V, G*H).

Only the recurrence runs step by step: the input projections of the whole window are one
product before the time loop, and the weight gradients one product each after it. Every array
a loop touches lives in a workspace allocated once per (T, B); the per-step views are made
once with it (indexing a row costs as much as the ufunc it feeds).

A cell holds shapes, not parameters: `forward` and `backward` take the layer's parameter views
(and gradient views) as tuples in `param_names` order, so one cell serves any buffer.
"""

from __future__ import annotations

import numpy as np


class _Work:
    """What every cell's workspace holds: pre-activations, hidden states, their gradients."""

    def __init__(self, T: int, B: int, I: int, H: int, G: int, first: bool, dtype) -> None:
        self.T, self.B = T, B
        self.a = np.empty((T, B, G * H), dtype)  # x Wx + b, then (in place) the activations
        self.da = np.empty((T, B, G * H), dtype)  # gradient of the input-side pre-activations
        self.hs = np.empty((T + 1, B, H), dtype)  # hs[0] = carried state, hs[t+1] = h_t
        self.dh = np.empty((T, B, H), dtype)  # gradient of h_t from above (written by the caller)
        self.hw = np.empty((B, G * H), dtype)  # h_{t-1} Wh of the current step
        self.dhnext = np.empty((B, H), dtype)
        self.WhT = np.empty((G * H, H), dtype)  # contiguous Wh^T: per-step products 1.5x faster
        self.a2, self.da2 = self.a.reshape(T * B, G * H), self.da.reshape(T * B, G * H)
        self.dh2 = self.dh.reshape(T * B, H)
        self.hs_prev2 = self.hs[:-1].reshape(T * B, H)  # h_{t-1} for every t, one row per stream
        self.out = self.hs[1:]  # h_t, t = 0..T-1: the layer's output
        if first:  # the window's inputs as one-hot rows, for dWx as one product; zero between uses
            self.onehot = np.zeros((T * B, I), dtype)
            self.row_starts = np.arange(T * B) * I
            self.onehot_ix = np.empty(T * B, dtype=np.intp)


class _Cell:
    """Shapes and the parts of the window math that all cells share."""

    kind: str
    gates: int  # G: gate blocks per layer
    state_parts: int  # S: what a layer carries between windows (h, or h and c)
    param_names: tuple[str, ...] = ("Wx", "Wh", "b")

    def __init__(self, input_size: int, hidden_size: int, first: bool, dtype) -> None:
        self.input_size = input_size  # V for the first layer (character indices), else H
        self.hidden_size = hidden_size
        self.first = first
        self.dtype = np.dtype(dtype)

    def param_shapes(self) -> tuple[tuple[int, ...], ...]:
        I, GH = self.input_size, self.gates * self.hidden_size
        return ((I, GH), (self.hidden_size, GH), (GH,))

    def init_biases(self, params: tuple[np.ndarray, ...]) -> None:
        """Biases start at zero (the buffer already is); cells that differ override this."""

    def _project(self, Wx: np.ndarray, b: np.ndarray, x: np.ndarray, ws: _Work) -> None:
        """a = x Wx + b for the whole window: one gather (first layer) or one product."""
        if self.first:  # x: (T, B) intp indices, already range-checked by the network
            Wx.take(x.reshape(-1), axis=0, out=ws.a2, mode="clip")  # "clip" writes unbuffered
        else:
            np.dot(x.reshape(-1, self.input_size), Wx, out=ws.a2)
        np.add(ws.a2, b, ws.a2)

    def _input_grads(self, Wx: np.ndarray, x: np.ndarray, ws: _Work, da2: np.ndarray,
                     dWx: np.ndarray, db: np.ndarray, dx: np.ndarray | None) -> None:
        """dWx = x^T da, db = sum of da, dx = da Wx^T: one product each over the window."""
        if self.first:
            onehot = ws.onehot.reshape(-1)
            flat = np.add(ws.row_starts, x.reshape(-1), ws.onehot_ix)
            onehot[flat] = 1.0
            np.dot(ws.onehot.T, da2, out=dWx)
            onehot[flat] = 0.0
        else:
            np.dot(x.reshape(-1, self.input_size).T, da2, out=dWx)
        np.add.reduce(da2, axis=0, out=db)
        if dx is not None:
            np.dot(da2, Wx.T, out=dx)

    @staticmethod
    def _transposed(Wh: np.ndarray, ws: _Work) -> np.ndarray:
        """Wh^T as a contiguous copy for the backward loop's per-step products."""
        np.copyto(ws.WhT, Wh.T)
        return ws.WhT

    @staticmethod
    def _sigmoid(a: np.ndarray) -> None:
        """a <- sigma(a) in place, as (1 + tanh(a/2)) / 2: no exp overflow, no temporaries."""
        np.multiply(a, 0.5, a)
        np.tanh(a, a)
        np.multiply(a, 0.5, a)
        np.add(a, 0.5, a)


class TanhCell(_Cell):
    """The vanilla RNN layer of min-char-rnn, batched.

        a_t = x_t Wx + h_{t-1} Wh + b
        h_t = tanh(a_t)

    Backward: da_t = (dh_t + dhnext) * (1 - h_t^2), dhnext = da_t Wh^T.
    """

    kind = "rnn"
    gates = 1
    state_parts = 1

    def workspace(self, T: int, B: int) -> _Work:
        ws = _Work(T, B, self.input_size, self.hidden_size, 1, self.first, self.dtype)
        ws.dtanh = np.empty((T, B, self.hidden_size), self.dtype)  # 1 - h_t^2
        ws.forward_rows = tuple(zip(ws.hs[:-1], ws.a, ws.hs[1:]))
        ws.backward_rows = tuple(zip(ws.dh, ws.dtanh, ws.da))[::-1]
        return ws

    def forward(self, params: tuple[np.ndarray, ...], x: np.ndarray, state: np.ndarray,
                ws: _Work) -> None:
        """Run the window from `state` (S, B, H); the state after it is written back there."""
        Wx, Wh, b = params
        self._project(Wx, b, x, ws)
        ws.hs[0] = state[0]
        hw, dot, add, tanh = ws.hw, np.dot, np.add, np.tanh  # locals: this loop is the hot path
        for h_prev, a, h in ws.forward_rows:
            dot(h_prev, Wh, hw)
            add(a, hw, a)
            tanh(a, h)
        state[0] = ws.hs[-1]

    def backward(self, params: tuple[np.ndarray, ...], grads: tuple[np.ndarray, ...],
                 x: np.ndarray, ws: _Work, dx: np.ndarray | None = None) -> None:
        """Gradients of the window `forward` ran, given ws.dh; dx (T*B, I) gets dL/dx if given."""
        Wx, Wh, b = params
        dWx, dWh, db = grads
        np.multiply(ws.out, ws.out, ws.dtanh)
        np.subtract(1.0, ws.dtanh, ws.dtanh)
        dhnext, WhT = ws.dhnext, self._transposed(Wh, ws)
        dhnext.fill(0.0)
        dot, add, multiply = np.dot, np.add, np.multiply
        for dh, dtanh, da in ws.backward_rows:  # t = T-1 down to 0
            add(dh, dhnext, dh)
            multiply(dh, dtanh, da)
            dot(da, WhT, dhnext)
        np.dot(ws.hs_prev2.T, ws.da2, out=dWh)
        self._input_grads(Wx, x, ws, ws.da2, dWx, db, dx)


class LSTMCell(_Cell):
    """Long short-term memory, gates in PyTorch's order (i, f, g, o).

        a_t = x_t Wx + h_{t-1} Wh + b, split into blocks a_i, a_f, a_g, a_o
        i, f, o = sigma(a_i), sigma(a_f), sigma(a_o);  g = tanh(a_g)
        c_t = f * c_{t-1} + i * g
        h_t = o * tanh(c_t)

    The forget-gate bias starts at 1 (remember by default). Backward, per step:
        dh = dh_t + dhnext;  dc = dh * o * (1 - tanh^2 c_t) + dcnext
        da_i = dc * g * i(1-i);  da_f = dc * c_{t-1} * f(1-f);  da_g = dc * i * (1-g^2)
        da_o = dh * tanh(c_t) * o(1-o);  dcnext = dc * f;  dhnext = da Wh^T
    The factors that do not depend on dh (K = o (1 - tanh^2 c), F = the four gate factors) are
    computed for the whole window before the backward loop.
    """

    kind = "lstm"
    gates = 4
    state_parts = 2

    def init_biases(self, params: tuple[np.ndarray, ...]) -> None:
        H = self.hidden_size
        params[2][H:2 * H] = 1.0  # forget gate

    def workspace(self, T: int, B: int) -> _Work:
        H, dt = self.hidden_size, self.dtype
        ws = _Work(T, B, self.input_size, H, 4, self.first, dt)
        ws.cs = np.empty((T + 1, B, H), dt)  # cs[0] = carried cell state, cs[t+1] = c_t
        ws.tc = np.empty((T, B, H), dt)  # tanh(c_t)
        ws.ig = np.empty((B, H), dt)  # i * g of the current step
        ws.F = np.empty((T, B, 4 * H), dt)  # backward factors of da_i, da_f, da_g, da_o
        ws.K = np.empty((T, B, H), dt)  # o * (1 - tanh^2 c_t)
        ws.dc, ws.dcnext = np.empty((B, H), dt), np.empty((B, H), dt)
        a4, F4, da4 = (m.reshape(T, B, 4, H) for m in (ws.a, ws.F, ws.da))
        ws.i, ws.f, ws.g, ws.o = (a4[:, :, k] for k in range(4))
        ws.Fi, ws.Ff, ws.Fg, ws.Fo = (F4[:, :, k] for k in range(4))
        ws.forward_rows = tuple(zip(ws.hs[:-1], ws.a, ws.i, ws.f, ws.g, ws.o, ws.cs[:-1],
                                    ws.cs[1:], ws.tc, ws.hs[1:]))
        ws.dc3 = ws.dc[:, None, :]  # dc against the i, f, g blocks at once
        ws.backward_rows = tuple(zip(ws.dh, ws.K, F4[:, :, :3], ws.Fo, da4[:, :, :3],
                                     da4[:, :, 3], ws.f, ws.da))[::-1]
        # per-column scale (1/2 on i, f, o; 1 on g) and shift (1/2 on i, f, o; 0 on g), one row
        # per stream: same-shape operands take numpy's fast unbuffered loop (2x a broadcast)
        ws.gate_scale = np.full((B, 4 * H), 0.5, dt)
        ws.gate_scale[:, 2 * H:3 * H] = 1.0
        ws.gate_shift = np.full((B, 4 * H), 0.5, dt)
        ws.gate_shift[:, 2 * H:3 * H] = 0.0
        return ws

    def forward(self, params: tuple[np.ndarray, ...], x: np.ndarray, state: np.ndarray,
                ws: _Work) -> None:
        """Run the window from `state` (S, B, H) = (h, c); the state after it is written back."""
        Wx, Wh, b = params
        self._project(Wx, b, x, ws)
        ws.hs[0], ws.cs[0] = state[0], state[1]
        hw, ig, dot, add, multiply, tanh = ws.hw, ws.ig, np.dot, np.add, np.multiply, np.tanh
        gate_scale, gate_shift = ws.gate_scale, ws.gate_shift
        for h_prev, a, i, f, g, o, c_prev, c, tc, h in ws.forward_rows:
            dot(h_prev, Wh, hw)
            add(a, hw, a)
            # sigma on i, f, o and tanh on g in one tanh: a/2 on the sigmoid blocks, then
            # (1 + tanh)/2 there; the scale is exact (a power of two)
            multiply(a, gate_scale, a)
            tanh(a, a)
            multiply(a, gate_scale, a)
            add(a, gate_shift, a)
            multiply(f, c_prev, c)
            multiply(i, g, ig)
            add(c, ig, c)
            tanh(c, tc)
            multiply(o, tc, h)
        state[0], state[1] = ws.hs[-1], ws.cs[-1]

    def backward(self, params: tuple[np.ndarray, ...], grads: tuple[np.ndarray, ...],
                 x: np.ndarray, ws: _Work, dx: np.ndarray | None = None) -> None:
        """Gradients of the window `forward` ran, given ws.dh; dx (T*B, I) gets dL/dx if given."""
        Wx, Wh, b = params
        dWx, dWh, db = grads
        multiply, subtract = np.multiply, np.subtract
        # the window's factors: sigma' = s(1-s) on all blocks, then each gate's own factor
        subtract(1.0, ws.a, ws.F)
        multiply(ws.F, ws.a, ws.F)
        multiply(ws.Fi, ws.g, ws.Fi)
        multiply(ws.Ff, ws.cs[:-1], ws.Ff)
        multiply(ws.g, ws.g, ws.Fg)
        subtract(1.0, ws.Fg, ws.Fg)
        multiply(ws.Fg, ws.i, ws.Fg)
        multiply(ws.Fo, ws.tc, ws.Fo)
        multiply(ws.tc, ws.tc, ws.K)
        subtract(1.0, ws.K, ws.K)
        multiply(ws.K, ws.o, ws.K)
        dhnext, dc, dcnext, dc3 = ws.dhnext, ws.dc, ws.dcnext, ws.dc3
        WhT = self._transposed(Wh, ws)
        dhnext.fill(0.0)
        dcnext.fill(0.0)
        dot, add = np.dot, np.add
        for dh, K, F_ifg, F_o, da_ifg, da_o, f, da in ws.backward_rows:  # t = T-1 down to 0
            add(dh, dhnext, dh)
            multiply(dh, K, dc)
            add(dc, dcnext, dc)
            multiply(dc3, F_ifg, da_ifg)
            multiply(dh, F_o, da_o)
            multiply(dc, f, dcnext)
            dot(da, WhT, dhnext)
        np.dot(ws.hs_prev2.T, ws.da2, out=dWh)
        self._input_grads(Wx, x, ws, ws.da2, dWx, db, dx)


class GRUCell(_Cell):
    """Gated recurrent unit in PyTorch's convention, gates in its order (r, z, n).

        r = sigma(x Wxr + h_{t-1} Whr + br)
        z = sigma(x Wxz + h_{t-1} Whz + bz)
        n = tanh(x Wxn + bxn + r * (h_{t-1} Whn + bhn))
        h_t = (1 - z) * n + z * h_{t-1}

    b holds (br, bz, bxn); bhn is separate because r multiplies the hidden part with its bias.
    Backward, per step (hn = h_{t-1} Whn + bhn; da: input side, dhw: hidden side):
        dh = dh_t + dhnext
        da_n = dh * (1-z)(1-n^2);  da_z = dh * (h_{t-1} - n) z(1-z);  da_r = da_n * hn r(1-r)
        dhw = (da_r, da_z, da_n * r);  dhnext = dhw Wh^T + dh * z
    """

    kind = "gru"
    gates = 3
    state_parts = 1
    param_names = ("Wx", "Wh", "b", "bhn")

    def param_shapes(self) -> tuple[tuple[int, ...], ...]:
        return (*super().param_shapes(), (self.hidden_size,))

    def workspace(self, T: int, B: int) -> _Work:
        H, dt = self.hidden_size, self.dtype
        ws = _Work(T, B, self.input_size, H, 3, self.first, dt)
        ws.hws = np.empty((T, B, 3 * H), dt)  # h_{t-1} Wh per step (n block: + bhn)
        ws.dhw = np.empty((T, B, 3 * H), dt)  # gradient of the hidden-side pre-activations
        ws.F = np.empty((T, B, 3 * H), dt)  # backward factors of da_r, da_z, da_n
        ws.tmp = np.empty((T, B, H), dt)  # scratch for the factors
        ws.rhn = np.empty((B, H), dt)  # r * hn of the current step
        ws.dhz = np.empty((B, H), dt)  # dh * z of the current step
        ws.dhw2 = ws.dhw.reshape(T * B, 3 * H)
        a3, hw3, F3, da3, dhw3 = (m.reshape(T, B, 3, H) for m in
                                  (ws.a, ws.hws, ws.F, ws.da, ws.dhw))
        ws.a_rz, ws.hw_rz = ws.a[:, :, :2 * H], ws.hws[:, :, :2 * H]
        ws.r, ws.z, ws.n = (a3[:, :, k] for k in range(3))
        ws.hn = hw3[:, :, 2]
        ws.Fr, ws.Fz, ws.Fn = (F3[:, :, k] for k in range(3))
        ws.F_rz = ws.F[:, :, :2 * H]
        ws.da_n, ws.dhw_rz, ws.da_rz = da3[:, :, 2], ws.dhw[:, :, :2 * H], ws.da[:, :, :2 * H]
        ws.forward_rows = tuple(zip(ws.hs[:-1], ws.a_rz, ws.hws, ws.hw_rz, ws.hn, ws.r, ws.z,
                                    ws.n, ws.hs[1:]))
        ws.backward_rows = tuple(zip(ws.dh, ws.Fr, ws.Fz, ws.Fn, ws.r, ws.z, ws.da_n, ws.dhw,
                                     dhw3[:, :, 0], dhw3[:, :, 1], dhw3[:, :, 2]))[::-1]
        return ws

    def forward(self, params: tuple[np.ndarray, ...], x: np.ndarray, state: np.ndarray,
                ws: _Work) -> None:
        """Run the window from `state` (S, B, H); the state after it is written back there."""
        Wx, Wh, b, bhn = params
        self._project(Wx, b, x, ws)
        ws.hs[0] = state[0]
        rhn, sigmoid = ws.rhn, self._sigmoid
        dot, add, subtract, multiply, tanh = np.dot, np.add, np.subtract, np.multiply, np.tanh
        for h_prev, a_rz, hw, hw_rz, hn, r, z, n, h in ws.forward_rows:
            dot(h_prev, Wh, hw)
            add(hn, bhn, hn)
            add(a_rz, hw_rz, a_rz)
            sigmoid(a_rz)
            multiply(r, hn, rhn)
            add(n, rhn, n)  # n holds x Wxn + bxn until here
            tanh(n, n)
            subtract(h_prev, n, h)  # h = n + z * (h_{t-1} - n)
            multiply(h, z, h)
            add(h, n, h)
        state[0] = ws.hs[-1]

    def backward(self, params: tuple[np.ndarray, ...], grads: tuple[np.ndarray, ...],
                 x: np.ndarray, ws: _Work, dx: np.ndarray | None = None) -> None:
        """Gradients of the window `forward` ran, given ws.dh; dx (T*B, I) gets dL/dx if given."""
        Wx, Wh, b, bhn = params
        dWx, dWh, db, dbhn = grads
        multiply, subtract = np.multiply, np.subtract
        # the window's factors, computed once: Fr = hn r(1-r), Fz = (h_{t-1} - n) z(1-z),
        # Fn = (1-z)(1-n^2)
        F, tmp = ws.F, ws.tmp
        subtract(1.0, ws.a, F)  # (1-r, 1-z, 1-n)
        multiply(ws.n, ws.n, tmp)
        subtract(1.0, tmp, tmp)
        multiply(tmp, ws.Fz, ws.Fn)
        multiply(ws.F_rz, ws.a_rz, ws.F_rz)  # r(1-r), z(1-z)
        multiply(ws.Fr, ws.hn, ws.Fr)
        subtract(ws.hs[:-1], ws.n, tmp)
        multiply(ws.Fz, tmp, ws.Fz)
        dhnext, dhz, WhT = ws.dhnext, ws.dhz, self._transposed(Wh, ws)
        dhnext.fill(0.0)
        dot, add = np.dot, np.add
        for dh, Fr, Fz, Fn, r, z, da_n, dhw, dhw_r, dhw_z, dhw_n in ws.backward_rows:
            add(dh, dhnext, dh)
            multiply(dh, Fz, dhw_z)
            multiply(dh, Fn, da_n)
            multiply(da_n, Fr, dhw_r)
            multiply(da_n, r, dhw_n)
            dot(dhw, WhT, dhnext)
            multiply(dh, z, dhz)
            add(dhnext, dhz, dhnext)
        np.copyto(ws.da_rz, ws.dhw_rz)  # r and z see the same gradient from both sides
        np.dot(ws.hs_prev2.T, ws.dhw2, out=dWh)
        np.add.reduce(ws.dhw2[:, 2 * self.hidden_size:], axis=0, out=dbhn)
        self._input_grads(Wx, x, ws, ws.da2, dWx, db, dx)
