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
    """One flat buffer and its five named views, in the original's order."""

    def __init__(self, vocab_size: int, hidden_size: int) -> None:
        shapes = param_shapes(vocab_size, hidden_size)
        sizes = [int(np.prod(s)) for s in shapes]
        self.flat = np.zeros(sum(sizes))
        self.slices = []
        at = 0
        for size in sizes:
            self.slices.append(slice(at, at + size))
            at += size
        self.views = tuple(self.flat[sl].reshape(shape) for sl, shape in zip(self.slices, shapes))
        self.Wxh, self.Whh, self.Why, self.bh, self.by = self.views

    def segments(self) -> tuple[np.ndarray, ...]:
        """1-D views of each parameter, for per-parameter norms."""
        return tuple(self.flat[sl] for sl in self.slices)


class _Workspace:
    """Per-window scratch arrays for one seq_length, allocated once."""

    def __init__(self, T: int, V: int, H: int) -> None:
        self.T, self.V, self.H = T, V, H
        self.xw = np.empty((T, H))  # Wxh x_t, gathered columns
        self.hs = np.empty((T + 1, H))  # hs[0] = hprev, hs[t+1] = h_t
        self.a = np.empty(H)  # pre-activation scratch
        self.ys = np.empty((T, V))
        self.ps = np.empty((T, V))
        self.dy = np.empty((T, V))
        self.wy = np.empty((T, H))  # Why^T dy_t
        self.dtanh = np.empty((T, H))  # 1 - h_t^2
        self.dhraw = np.empty((T, H))
        self.dh = np.empty(H)
        self.dhnext = np.empty(H)
        self.losses = np.empty(T)
        self.rows = np.arange(T)
        self.hprev_rev = np.empty((T, H))  # h_{t-1} in reversed time order
        self.h_rev = np.empty((T, H))  # h_t in reversed time order
        self._outer_hh: np.ndarray | None = None
        self._outer_vh: np.ndarray | None = None

    # exact mode only: every rank-1 product of the window, allocated on first use
    @property
    def outer_hh(self) -> np.ndarray:
        if self._outer_hh is None:
            self._outer_hh = np.empty((self.T, self.H, self.H))
        return self._outer_hh

    @property
    def outer_vh(self) -> np.ndarray:
        if self._outer_vh is None:
            self._outer_vh = np.empty((self.T, self.V, self.H))
        return self._outer_vh


class RNN:
    """Parameters of the network and the loss/gradient and sampling routines."""

    def __init__(self, vocab_size: int, hidden_size: int) -> None:
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.params = FlatParams(vocab_size, hidden_size)
        self._ws: _Workspace | None = None

    @classmethod
    def initialised(cls, vocab_size: int, hidden_size: int, rng: np.random.RandomState) -> RNN:
        """Weights drawn as the original: Wxh, Whh, Why from randn*0.01 in that order, zero biases."""
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
        P = self.params
        Wxh, Whh, Why, bh, by = P.views
        T = inputs.shape[0]
        ws = self.workspace(T)
        xw, hs, a, ys, ps = ws.xw, ws.hs, ws.a, ws.ys, ws.ps

        # forward: Wxh x_t is a column gather (exact: a one-hot product adds only zeros)
        np.take(Wxh.T, inputs, axis=0, out=xw)
        if not exact:
            xw += bh  # fold the bias in once; the original adds it after Whh h
        hs[0] = hprev
        for t in range(T):
            np.dot(Whh, hs[t], out=a)
            a += xw[t]
            if exact:
                a += bh
            np.tanh(a, out=hs[t + 1])
        H1 = hs[1:]
        if exact:
            for t in range(T):
                np.dot(Why, H1[t], out=ys[t])
        else:
            np.dot(H1, Why.T, out=ys)
        ys += by
        if not exact:
            ys -= ys.max(axis=1, keepdims=True)  # stable softmax; exact keeps exp(y)/sum(exp(y))
        np.exp(ys, out=ps)
        sums = ps.sum(axis=1)
        ps /= sums[:, None]
        rows = ws.rows
        if exact:
            np.log(ps[rows, targets], out=ws.losses)
            np.negative(ws.losses, out=ws.losses)
        else:
            np.log(sums, out=ws.losses)
            ws.losses -= ys[rows, targets]
        loss = 0.0
        for lt in ws.losses.tolist():  # summed in time order, as the original
            loss += lt

        # backward
        G = grads
        dy = ws.dy
        dy[...] = ps
        dy[rows, targets] -= 1
        np.subtract(1.0, H1 * H1, out=ws.dtanh)
        wy, dh, dhnext, dhraw = ws.wy, ws.dh, ws.dhnext, ws.dhraw
        if exact:
            for t in range(T):
                np.dot(Why.T, dy[t], out=wy[t])
        else:
            np.dot(dy, Why, out=wy)
        # the recurrence runs backwards in time; dhraw is stored in that (reversed) order
        dhnext[...] = 0.0
        WhhT = Whh.T
        for k, t in enumerate(range(T - 1, -1, -1)):
            np.add(wy[t], dhnext, out=dh)
            np.multiply(ws.dtanh[t], dh, out=dhraw[k])
            np.dot(WhhT, dhraw[k], out=dhnext)
        G.flat[G.slices[0]] = 0.0
        # dWxh: each step adds dhraw_t to the column of its input, in reversed time order
        np.add.at(G.Wxh.T, inputs[::-1], dhraw)
        hprev_rev, h_rev = ws.hprev_rev, ws.h_rev
        np.copyto(hprev_rev, hs[-2::-1])
        np.copyto(h_rev, hs[:0:-1])
        if exact:
            # rank-1 products summed in reversed time order, each rounded, no FMA
            np.einsum("ti,tj->tij", dy[::-1], h_rev, out=ws.outer_vh)
            np.add.reduce(ws.outer_vh, axis=0, out=G.Why)
            np.einsum("ti,tj->tij", dhraw, hprev_rev, out=ws.outer_hh)
            np.add.reduce(ws.outer_hh, axis=0, out=G.Whh)
            np.add.reduce(dy[::-1], axis=0, out=G.by)
            np.add.reduce(dhraw, axis=0, out=G.bh)
        else:
            np.dot(dy.T, H1, out=G.Why)
            np.dot(dhraw.T, hprev_rev, out=G.Whh)
            np.add.reduce(dy, axis=0, out=G.by)
            np.add.reduce(dhraw, axis=0, out=G.bh)
        if clip is not None:
            np.clip(G.flat, -clip, clip, out=G.flat)
        self.h_last = hs[T]
        return loss

    def sample(self, h: np.ndarray, seed_ix: int, n: int, rng: np.random.RandomState,
               temperature: float = 1.0, greedy: bool = False) -> list[int]:
        """n indices drawn from the model, starting from hidden state `h` and `seed_ix`.

        Uses the original's arithmetic and the same draw as `rng.choice(V, p=p)`, so with the
        same stream it produces the same text; `h` is not modified.
        """
        Wxh, Whh, Why, bh, by = self.params.views
        WxhT = Wxh.T
        h = np.array(h, dtype=np.float64).reshape(-1)
        a = np.empty_like(h)
        y = np.empty(self.vocab_size)
        cdf = np.empty(self.vocab_size)
        ix = seed_ix
        ixes = []
        random_sample, searchsorted = rng.random_sample, cdf.searchsorted
        for _ in range(n):
            np.dot(Whh, h, out=a)
            np.add(WxhT[ix], a, out=h)
            h += bh
            np.tanh(h, out=h)
            np.dot(Why, h, out=y)
            y += by
            if temperature != 1.0:
                y /= temperature
            if greedy:
                ix = int(y.argmax())
            else:
                if y.max() > 700.0:  # exp would overflow: shift (the original would emit nan)
                    y -= y.max()
                np.exp(y, out=y)
                y /= y.sum()
                np.cumsum(y, out=cdf)
                cdf /= cdf[-1]
                ix = int(searchsorted(random_sample(), side="right"))
            ixes.append(ix)
        return ixes

    def hidden_after(self, h: np.ndarray, ixes: list[int]) -> np.ndarray:
        """The hidden state after reading `ixes` from `h` (priming a sample); `h` is not modified."""
        Wxh, Whh, Why, bh, by = self.params.views
        h = np.array(h, dtype=np.float64).reshape(-1)
        for ix in ixes:
            h = np.tanh(Wxh[:, ix] + Whh @ h + bh)
        return h
