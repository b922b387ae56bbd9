"""The vanilla RNN of min-char-rnn: parameters, loss and gradients (BPTT), and sampling.

Parameters, gradients and Adagrad memories live in flat preallocated float64 buffers;
`Wxh`, `Whh`, `Why`, `bh`, `by` are reshaped views into them, so clipping and the update
are a handful of whole-buffer calls. Only the recurrence runs step by step.

Two numeric modes share this code:
- exact: the original's arithmetic bit for bit (per-timestep output products, weight
  gradients summed in reversed time order, unshifted softmax);
- fast (default): whole-window matrix products and a max-shifted softmax.
"""

from __future__ import annotations

import numpy as np

PARAM_NAMES = ("Wxh", "Whh", "Why", "bh", "by")


def param_shapes(vocab_size: int, hidden_size: int) -> tuple[tuple[int, ...], ...]:
    V, H = vocab_size, hidden_size
    return ((H, V), (H, H), (V, H), (H,), (V,))


class FlatParams:
    """One flat buffer and its five named views, in the original's order.

    Wxh is stored transposed (one contiguous row per character), so gathering the columns
    of a window's inputs and adding into them are contiguous; `Wxh` itself is the (H, V) view.
    """

    def __init__(self, vocab_size: int, hidden_size: int) -> None:
        shapes = param_shapes(vocab_size, hidden_size)
        sizes = [int(np.prod(s)) for s in shapes]
        self.flat = np.zeros(sum(sizes))
        self.slices = []
        at = 0
        for size in sizes:
            self.slices.append(slice(at, at + size))
            at += size
        self.WxhT = self.flat[self.slices[0]].reshape(vocab_size, hidden_size)
        rest = tuple(self.flat[sl].reshape(shape) for sl, shape in zip(self.slices[1:], shapes[1:]))
        self.views = (self.WxhT.T, *rest)
        self.Wxh, self.Whh, self.Why, self.bh, self.by = self.views

    def segments(self) -> tuple[np.ndarray, ...]:
        """1-D views of each parameter, for per-parameter norms."""
        return tuple(self.flat[sl] for sl in self.slices)


class _Workspace:
    """Per-window scratch arrays for one seq_length, allocated once."""

    def __init__(self, T: int, V: int, H: int) -> None:
        self.T, self.V, self.H = T, V, H
        self.xw = np.empty((T, H))  # Wxh x_t, gathered rows of Wxh^T
        self.hs = np.empty((T + 1, H))  # hs[0] = hprev, hs[t+1] = h_t
        self.a = np.empty(H)  # pre-activation scratch
        self.ys = np.empty((T, V))
        self.ps = np.empty((T, V))
        self.dy = np.empty((T, V))
        self.dy_rev = np.empty((T, V))  # exact mode: dy in reversed time order, contiguous
        self.wy = np.empty((T, H))  # Why^T dy_t
        self.dtanh = np.empty((T, H))  # 1 - h_t^2
        self.dhraw = np.empty((T, H))
        self.dhraw_rev = np.empty((T, H))  # exact mode: dhraw in reversed time order, contiguous
        self.dh = np.empty(H)
        self.dhnext = np.empty(H)
        self.losses = np.empty(T)
        self.cumloss = np.empty(T)
        self.rowmax, self.sums = np.empty(T), np.empty(T)
        self.rowmax_col, self.sums_col = self.rowmax[:, None], self.sums[:, None]
        self.row_starts = np.arange(T) * V  # flat index of (t, c) in a (T, V) array: t*V + c
        self.flat_targets = np.empty(T, dtype=np.intp)
        self.flat_inputs = np.empty(T, dtype=np.intp)
        self.onehot = np.zeros((T, V))  # fast mode's dWxh as one product; all zero between uses
        self.hs_rev = np.empty((T + 1, H))  # exact mode: hs in reversed time order, contiguous
        # per-step operands, made once: indexing a row costs as much as the add it feeds
        hs_rows = list(self.hs)
        self.forward_rows = tuple(zip(hs_rows[:-1], list(self.xw), hs_rows[1:]))
        self.backward_rows = tuple(zip(list(self.wy), list(self.dtanh), list(self.dhraw)))[::-1]


class RNN:
    """Parameters of the network and the loss/gradient and sampling routines."""

    def __init__(self, vocab_size: int, hidden_size: int, params: FlatParams | None = None) -> None:
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.params = params if params is not None else FlatParams(vocab_size, hidden_size)
        self._ws: _Workspace | None = None

    def sharing_params(self) -> RNN:
        """Another view of the same weights with its own workspace (evaluation, inspection)."""
        return RNN(self.vocab_size, self.hidden_size, self.params)

    @classmethod
    def initialised(cls, vocab_size: int, hidden_size: int, rng: np.random.RandomState) -> RNN:
        """Weights as the original draws them: Wxh, Whh, Why from randn*0.01, zero biases."""
        model = cls(vocab_size, hidden_size)
        P = model.params
        P.Wxh[...] = rng.randn(hidden_size, vocab_size) * 0.01
        P.Whh[...] = rng.randn(hidden_size, hidden_size) * 0.01
        P.Why[...] = rng.randn(vocab_size, hidden_size) * 0.01
        return model

    def workspace(self, T: int) -> _Workspace:
        if self._ws is None or self._ws.T != T:
            self._ws = _Workspace(T, self.vocab_size, self.hidden_size)
        return self._ws

    def loss_and_grads(self, inputs: np.ndarray, targets: np.ndarray, hprev: np.ndarray,
                       grads: FlatParams, exact: bool = False, clip: float | None = 5.0) -> float:
        """Forward and backward over one window; fills `grads`, returns the summed loss.

        The last hidden state is `self.h_last` afterwards (a view into the workspace).
        With `clip=None` the gradients are left unclipped (gradient checking).
        """
        loss = self.forward(inputs, targets, hprev, exact)
        self.backward(inputs, targets, grads, exact, clip)
        return loss

    def forward(self, inputs: np.ndarray, targets: np.ndarray, hprev: np.ndarray,
                exact: bool = False) -> float:
        """The window's summed loss; hidden states and probabilities stay in the workspace."""
        P = self.params
        T = inputs.shape[0]
        ws = self.workspace(T)
        hs, a, ys, ps, bh = ws.hs, ws.a, ws.ys, ws.ps, P.bh
        add, tanh = np.add, np.tanh  # locals: this loop is the hot path

        # forward: Wxh x_t is a row gather of Wxh^T (exact: a one-hot product adds only zeros)
        P.WxhT.take(inputs, axis=0, out=ws.xw)
        if not exact:
            add(ws.xw, bh, ws.xw)  # fold the bias in once; the original adds it after Whh h
        hs[0] = hprev
        Whh_dot = P.Whh.dot
        if exact:
            for h, xw, h_next in ws.forward_rows:
                Whh_dot(h, a)
                add(xw, a, a)  # (Wxh x + Whh h) + bh, the original's order
                add(a, bh, a)
                tanh(a, h_next)
        else:
            for h, xw, h_next in ws.forward_rows:
                Whh_dot(h, a)
                add(a, xw, a)
                tanh(a, h_next)
        H1 = hs[1:]
        if exact:  # one gemv per step (a stacked matmul runs the same kernel per step)
            np.matmul(P.Why, H1[:, :, None], out=ys[:, :, None])
        else:
            np.dot(H1, P.Why.T, out=ys)
        add(ys, P.by, ys)
        losses = ws.losses
        target_ix = ws.flat_targets
        add(ws.row_starts, targets, target_ix)
        if exact:  # the original's exp(y)/sum(exp(y)); an overflow shows as a non-finite loss
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                np.exp(ys, out=ps)
                sums = ps.sum(axis=1)
                ps /= sums[:, None]
                np.log(ps.reshape(-1).take(target_ix), out=losses)
            np.negative(losses, out=losses)
        else:
            np.maximum.reduce(ys, axis=1, out=ws.rowmax)  # stable softmax
            np.subtract(ys, ws.rowmax_col, ys)
            np.exp(ys, ps)
            np.add.reduce(ps, axis=1, out=ws.sums)
            np.divide(ps, ws.sums_col, ps)
            np.log(ws.sums, losses)  # -log p = log(sum) - (y - max): finite even if p underflows
            np.subtract(losses, ys.reshape(-1).take(target_ix), losses)
        # summed in time order, as the original's loop (accumulate is sequential; 0.0 + keeps +0)
        self.h_last = hs[T]
        return 0.0 + float(np.add.accumulate(losses, out=ws.cumloss)[-1])

    def backward(self, inputs: np.ndarray, targets: np.ndarray, grads: FlatParams,
                 exact: bool = False, clip: float | None = 5.0) -> None:
        """Gradients of the window `forward` just ran, into `grads` (clipped unless clip=None)."""
        P, G = self.params, grads
        T = inputs.shape[0]
        ws = self.workspace(T)
        hs, dy, dhraw, dh, dhnext = ws.hs, ws.dy, ws.dhraw, ws.dh, ws.dhnext
        add, multiply = np.add, np.multiply
        H1 = hs[1:]
        # dy for every step at once, then the recurrence backwards in time
        np.copyto(dy, ws.ps)
        dy.reshape(-1)[ws.flat_targets] -= 1  # flat fancy index: 3x cheaper than [rows, targets]
        multiply(H1, H1, ws.dtanh)
        np.subtract(1.0, ws.dtanh, ws.dtanh)
        if exact:
            np.matmul(P.Why.T, dy[:, :, None], out=ws.wy[:, :, None])
        else:
            np.dot(dy, P.Why, out=ws.wy)
        dhnext.fill(0.0)
        WhhT_dot = P.Whh.T.dot
        for wy, dtanh, dhraw_t in ws.backward_rows:  # t = T-1 down to 0
            add(wy, dhnext, dh)
            multiply(dtanh, dh, dhraw_t)
            WhhT_dot(dhraw_t, dhnext)
        if exact:
            # the original accumulates in reversed time order: contiguous reversed copies
            # (einsum would iterate a reversed view forwards)
            dhraw_rev, hs_rev, dy_rev = ws.dhraw_rev, ws.hs_rev, ws.dy_rev
            np.copyto(dhraw_rev, dhraw[::-1])
            np.copyto(hs_rev, hs[::-1])
            np.copyto(dy_rev, dy[::-1])
            h_rev, hprev_rev = hs_rev[:-1], hs_rev[1:]  # h_t and h_{t-1}, t = T-1 down to 0
            # dWxh: dhraw_t added to its input's row of dWxh^T
            GxhT = G.WxhT
            GxhT.fill(0.0)
            for ix, dhraw_t in zip(inputs[::-1].tolist(), dhraw_rev):  # (np.add.at: 2x slower)
                row = GxhT[ix]
                row += dhraw_t
            # rank-1 products summed in order, each product rounded (no FMA): einsum's own
            # loop does exactly that
            np.einsum("ti,tj->ij", dy_rev, h_rev, out=G.Why)
            np.einsum("ti,tj->ij", dhraw_rev, hprev_rev, out=G.Whh)
            np.add.reduce(dy_rev, axis=0, out=G.by)
            np.add.reduce(dhraw_rev, axis=0, out=G.bh)
        else:
            onehot = ws.onehot.reshape(-1)  # the inputs as one-hot rows
            flat_in = add(ws.row_starts, inputs, ws.flat_inputs)
            onehot[flat_in] = 1.0
            np.dot(ws.onehot.T, dhraw, out=G.WxhT)
            onehot[flat_in] = 0.0
            np.dot(dy.T, H1, out=G.Why)
            np.dot(dhraw.T, hs[:-1], out=G.Whh)
            np.add.reduce(dy, axis=0, out=G.by)
            np.add.reduce(dhraw, axis=0, out=G.bh)
        g = G.flat
        if clip is not None and (g.max() > clip or g.min() < -clip):  # two fast reductions
            np.clip(g, -clip, clip, out=g)  # (clip itself is slower and usually a no-op)

    def sample(self, h: np.ndarray, seed_ix: int, n: int, rng: np.random.RandomState,
               temperature: float = 1.0, greedy: bool = False) -> list[int]:
        """n indices drawn from the model, starting from hidden state `h` and `seed_ix`.

        Uses the original's arithmetic and the same draw as `rng.choice(V, p=p)`, so with the
        same stream it produces the same text; `h` is not modified.
        """
        Wxh, Whh, Why, bh, by = self.params.views
        WxhT_rows = list(Wxh.T)  # row views made once: indexing a row costs as much as the add
        h = np.array(h, dtype=np.float64).reshape(-1)
        a = np.empty_like(h)
        y = np.empty(self.vocab_size)
        cdf = np.empty(self.vocab_size)
        add, divide, exp, tanh = np.add, np.divide, np.exp, np.tanh
        add_reduce, add_accumulate = add.reduce, add.accumulate
        Whh_dot, Why_dot, searchsorted = Whh.dot, Why.dot, cdf.searchsorted
        # rng.choice draws one random_sample() per call; drawing them all at once is the same
        # stream (and leaves rng in the same state)
        uniforms = [] if greedy else rng.random_sample(n).tolist()
        ix = seed_ix
        ixes = []
        with np.errstate(over="ignore"):  # an overflowing exp is detected and shifted below
            for k in range(n):
                Whh_dot(h, a)
                add(WxhT_rows[ix], a, h)  # (Wxh x + Whh h) + bh, the original's order
                add(h, bh, h)
                tanh(h, h)
                Why_dot(h, y)
                add(y, by, y)
                if temperature != 1.0:
                    divide(y, temperature, y)
                if greedy:
                    ix = int(y.argmax())
                    ixes.append(ix)
                    continue
                total = add_reduce(exp(y, cdf))  # np.sum's pairwise sum, without its wrapper
                if not 0.0 < total < np.inf:  # exp over/underflowed: shift (the original emits nan)
                    y -= y.max()
                    total = add_reduce(exp(y, cdf))
                divide(cdf, total, y)  # p = exp(y) / sum(exp(y))
                # as rng.choice(V, p=y): normalised cdf, then searchsorted(u, side='right')
                add_accumulate(y, 0, None, cdf)
                divide(cdf, cdf[-1], cdf)
                ix = int(searchsorted(uniforms[k], "right"))
                ixes.append(ix)
        return ixes

    def continue_from(self, h: np.ndarray, ixes: list[int], n: int, rng: np.random.RandomState,
                      temperature: float = 1.0, greedy: bool = False) -> list[int]:
        """Read `ixes[:-1]` from hidden state `h`, then sample n indices after `ixes[-1]`."""
        return self.sample(self.hidden_after(h, ixes[:-1]), ixes[-1], n, rng, temperature, greedy)

    def hidden_after(self, h: np.ndarray, ixes: list[int]) -> np.ndarray:
        """The hidden state after reading `ixes` from `h` (priming a sample); `h` is unchanged."""
        Wxh, Whh, Why, bh, by = self.params.views
        h = np.array(h, dtype=np.float64).reshape(-1)
        for ix in ixes:
            h = np.tanh(Wxh[:, ix] + Whh @ h + bh)
        return h
