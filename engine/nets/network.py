"""A batched, multi-layer recurrent network (tanh, LSTM or GRU layers) with a softmax output.

The model family beyond min-char-rnn (engine/nets/min_char.py, which stays as it is). B streams are
trained at once; the returned loss is the mean over streams of the summed cross-entropy over
the window, so a batch of 1 has the scale of min-char-rnn's window loss.

Order, as in the original: the spec (hyperparameters), parameters in one flat buffer, loss
and gradients over a window, sampling, then evaluation over a long text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import DTYPES, MAX_DROPOUT, MAX_HIDDEN, MAX_LAYERS
from .cells import GRUCell, LSTMCell, TanhCell

CELLS = {"rnn": TanhCell, "lstm": LSTMCell, "gru": GRUCell}  # the names are config.CELLS
_WORKSPACES_KEPT = 4  # (T, B) shapes kept at once: training, evaluation, a prime, a tail
PRIME_CHUNK = 256  # characters of a prime read at once (engine/memory.py counts its workspace)


class ModelSpecError(ValueError):
    """A model spec field is out of range; the message names the field and what it allows."""


@dataclass(frozen=True)
class ModelSpec:
    """What defines a network apart from its vocabulary: cell kind, size, dropout, precision."""

    cell: str = "lstm"  # "rnn" (tanh), "lstm" or "gru"
    hidden_size: int = 128
    layers: int = 1
    dropout: float = 0.0  # inverted-dropout probability on each layer's output, training only
    dtype: str = "float32"  # of parameters, gradients, states and workspaces

    @classmethod
    def of(cls, config) -> ModelSpec:
        """The network a Config (engine.config) describes."""
        return cls(config.cell, config.hidden_size, config.layers, config.dropout,
                   config.dtype)

    def __post_init__(self) -> None:
        if self.cell not in CELLS:
            raise ModelSpecError(f"cell must be one of {', '.join(CELLS)} (got {self.cell!r})")
        for name, top in (("hidden_size", MAX_HIDDEN), ("layers", MAX_LAYERS)):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool) \
                    or not 1 <= value <= top:
                raise ModelSpecError(f"{name} must be an integer from 1 to {top} (got {value!r})")
        p = self.dropout
        if (not isinstance(p, (int, float)) or isinstance(p, bool) or not math.isfinite(p)
                or not 0.0 <= p <= MAX_DROPOUT):
            raise ModelSpecError(f"dropout must be a number from 0 to {MAX_DROPOUT} (got {p!r})")
        if self.dtype not in DTYPES:
            raise ModelSpecError(f"dtype must be one of {', '.join(DTYPES)} (got {self.dtype!r})")


class Params:
    """One flat buffer and a named view per parameter, in `names` order (grads: same layout)."""

    def __init__(self, names: tuple[str, ...], shapes: tuple[tuple[int, ...], ...],
                 dtype) -> None:
        self.names, self.shapes = names, shapes
        sizes = [math.prod(s) for s in shapes]
        self.flat = np.zeros(sum(sizes), dtype)
        self.slices = []
        at = 0
        for size in sizes:
            self.slices.append(slice(at, at + size))
            at += size
        self.views = tuple(self.flat[sl].reshape(s) for sl, s in zip(self.slices, shapes))
        self._by_name = dict(zip(names, self.views))

    def __getitem__(self, name: str) -> np.ndarray:
        return self._by_name[name]

    def segments(self) -> tuple[np.ndarray, ...]:
        """1-D views of each parameter, for per-parameter norms."""
        return tuple(self.flat[sl] for sl in self.slices)


@dataclass(frozen=True)
class WindowRecord:
    """Copies of what the last window computed, for inspection views."""

    inputs: np.ndarray  # (T, B) character indices
    targets: np.ndarray  # (T, B)
    losses: np.ndarray  # (T, B) -log p(target), nats (float64)
    probs: np.ndarray  # (T, B, V)
    hidden: np.ndarray  # (T, L, B, H) h_t of each layer (before dropout)
    cells: np.ndarray | None  # (T, L, B, H) LSTM c_t; None for other cells
    gates: np.ndarray | None  # (T, L, B, G, H) LSTM (i, f, g, o), GRU (r, z, n); None for rnn


class _Workspace:
    """Everything one (T, B) window needs beyond the cells' own workspaces, allocated once."""

    def __init__(self, net: Network, T: int, B: int) -> None:
        V, H, L, dt = net.vocab_size, net.hidden_size, net.layers, net.dtype
        self.T, self.B = T, B
        self.cells = [cell.workspace(T, B) for cell in net.cells]
        self.inputs = np.empty((T, B), np.intp)
        self.targets = np.empty((T, B), np.intp)
        self.ys = np.empty((T * B, V), dt)  # logits, then max-shifted
        self.ps = np.empty((T * B, V), dt)
        self.dy = np.empty((T * B, V), dt)
        self.rowmax, self.sums = np.empty(T * B, dt), np.empty(T * B, dt)
        self.rowmax_col, self.sums_col = self.rowmax[:, None], self.sums[:, None]
        self.losses = np.empty(T * B, np.float64)
        self.row_starts = np.arange(T * B) * V  # flat index of (row, c) in a (T*B, V) array
        self.target_ix = np.empty(T * B, np.intp)
        self.y_target = np.empty(T * B, dt)  # the shifted logit of each target
        self.dropped = net.spec.dropout > 0.0  # whether this workspace holds dropout buffers
        if self.dropped:
            self.keep = np.empty((L, T, B, H), bool)
            self.mask = np.empty((L, T, B, H), dt)  # keep / (1 - P): inverted dropout
            self.xs = np.empty((L, T, B, H), dt)  # each layer's output after dropout
        self.top = None  # what the output layer read in the last forward (T*B, H)
        self.trained = False  # whether the last forward used dropout


class Network:
    """L layers of one cell kind and a softmax output layer, over B streams at once.

        x^0 = the characters; h^l = cell(x^l, carried state of layer l), l = 0..L-1
        x^{l+1} = dropout(h^l)  (training only; inverted: kept units scaled by 1/(1-P))
        y = x^L Why + by;  p = softmax(y);  loss = mean over streams of sum_t -log p_t[target]

    Parameter names: "l{k}.Wx", "l{k}.Wh", "l{k}.b" (GRU also "l{k}.bhn") for each layer k,
    then "Why", "by". Layer 0's Wx is (V, G*H), the others' (H, G*H); Why is (H, V).
    """

    def __init__(self, vocab_size: int, spec: ModelSpec, params: Params | None = None) -> None:
        self.vocab_size, self.spec = vocab_size, spec
        self.hidden_size, self.layers = spec.hidden_size, spec.layers
        self.dtype = np.dtype(spec.dtype)
        self.cells = self._cells(vocab_size, spec)
        self.state_parts = CELLS[spec.cell].state_parts
        self.names, self.shapes, self._layer_slices = self._layout(self.cells)
        if params is None:
            params = Params(self.names, self.shapes, self.dtype)
        elif params.names != self.names or params.shapes != self.shapes or \
                params.flat.dtype != self.dtype:
            raise ValueError("params do not have this network's layout and dtype")
        self.params = params
        self._train_ws: dict[tuple[int, int], _Workspace] = {}  # loss_and_grads and loss
        self._aux_ws: dict[tuple[int, int], _Workspace] = {}  # sampling, priming, evaluation
        self._last: _Workspace | None = None
        # (T, B) shapes each cache keeps; a reader of long texts keeps one (its chunks are all
        # of one size but the last), so its memory is one chunk's (engine/inspect/probe.py)
        self.workspaces_kept = _WORKSPACES_KEPT

    @staticmethod
    def _cells(vocab_size: int, spec: ModelSpec) -> tuple:
        """The layers' cells: shapes only (a cell holds no arrays)."""
        H, dtype = spec.hidden_size, np.dtype(spec.dtype)
        return tuple(CELLS[spec.cell](vocab_size if k == 0 else H, H, k == 0, dtype)
                     for k in range(spec.layers))

    @staticmethod
    def _layout(cells: tuple) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...], list]:
        """Parameter names, shapes and each layer's slice of them, in the flat buffer's order."""
        names, shapes, layer_slices = [], [], []
        for k, cell in enumerate(cells):
            start = len(names)
            names += [f"l{k}.{n}" for n in cell.param_names]
            shapes += cell.param_shapes()
            layer_slices.append(slice(start, len(names)))
        H, V = cells[0].hidden_size, cells[0].input_size
        return (*names, "Why", "by"), (*shapes, (H, V), (V,)), layer_slices

    @classmethod
    def layout(cls, vocab_size: int, spec: ModelSpec
               ) -> tuple[tuple[str, ...], tuple[tuple[int, ...], ...]]:
        """(names, shapes) of the parameters such a network has, without allocating them: what
        a checkpoint's members are checked against and what memory estimates count."""
        names, shapes, _ = cls._layout(cls._cells(vocab_size, spec))
        return names, shapes

    # -- parameters ------------------------------------------------------------------------

    @classmethod
    def initialised(cls, vocab_size: int, spec: ModelSpec,
                    rng: np.random.RandomState) -> Network:
        """Weights drawn from `rng` in a fixed order, so a seed reproduces them.

        Order: for each layer 0..L-1, Wx then Wh; then Why. Each is one
        rng.uniform(-k, k, shape) call in float64 (cast to the dtype), k = 1/sqrt(fan-in) =
        1/sqrt(H) for all of them (PyTorch's default for recurrent layers). Biases are zero
        except the LSTM forget gate's, 1.
        """
        net = cls(vocab_size, spec)
        k = 1.0 / math.sqrt(spec.hidden_size)
        for layer, cell in enumerate(net.cells):
            views = net._layer(net.params, layer)
            for view in views[:2]:  # Wx, Wh
                view[...] = rng.uniform(-k, k, view.shape)
            cell.init_biases(views)
        net.params["Why"][...] = rng.uniform(-k, k, net.params["Why"].shape)
        return net

    def sharing_params(self) -> Network:
        """Another view of the same weights with its own workspaces (evaluation, inspection)."""
        return Network(self.vocab_size, self.spec, self.params)

    def new_grads(self) -> Params:
        """A zeroed buffer in the parameters' layout, for loss_and_grads to fill."""
        return Params(self.names, self.shapes, self.dtype)

    def _layer(self, P: Params, layer: int) -> tuple[np.ndarray, ...]:
        return P.views[self._layer_slices[layer]]

    # -- state -----------------------------------------------------------------------------

    def new_state(self, B: int) -> np.ndarray:
        """Zero carried state for B streams: (L, S, B, H), S = 2 for LSTM (h, c), else 1."""
        return np.zeros((self.layers, self.state_parts, B, self.hidden_size), self.dtype)

    @staticmethod
    def reset_streams(state: np.ndarray, mask) -> None:
        """Zero the carried state of the streams selected by `mask` (B bools, or indices)."""
        state[:, :, mask] = 0.0

    # -- loss and gradients ----------------------------------------------------------------

    def loss_and_grads(self, inputs, targets, state: np.ndarray, grads: Params,
                       clip: float | None = 5.0, train: bool = True,
                       rng: np.random.RandomState | None = None) -> float:
        """Forward and backward over one (T, B) window; returns the loss, fills `grads`.

        The loss is the mean over streams of the window's summed cross-entropy (nats) and the
        gradients are its gradient; each entry is clipped to +-clip (None: no clipping).
        `state` is updated in place to the state after the window. With dropout and
        train=True, `rng` draws the masks: one rng.random_sample((T, B, H)) per layer, in order.
        """
        ws = self._last = self._forward(inputs, targets, state, train, rng, self._train_ws)
        self._backward(ws, grads)
        g = grads.flat
        if clip is not None and (g.max() > clip or g.min() < -clip):  # two fast reductions
            np.clip(g, -clip, clip, out=g)
        return self._window_loss(ws)

    def loss(self, inputs, targets, state: np.ndarray) -> float:
        """The window's loss in eval mode (no dropout, no gradients); updates `state`."""
        ws = self._last = self._forward(inputs, targets, state, False, None, self._train_ws)
        return self._window_loss(ws)

    def _workspace(self, cache: dict, T: int, B: int) -> _Workspace:
        ws = cache.get((T, B))
        if ws is None:
            while len(cache) >= self.workspaces_kept:  # the oldest shape goes first
                oldest = next(iter(cache))
                if self._last is cache[oldest]:  # let it go before the new one is allocated
                    self._last = None
                del cache[oldest]
            ws = cache[(T, B)] = _Workspace(self, T, B)
        return ws

    def _check_state(self, state: np.ndarray, B: int) -> None:
        want = (self.layers, self.state_parts, B, self.hidden_size)
        if state.shape != want or state.dtype != self.dtype:
            raise ValueError(f"state must be {self.dtype} of shape {want}, "
                             f"not {state.dtype} {state.shape}")

    def _read_window(self, ws: _Workspace, inputs, targets) -> None:
        """Copy the window's indices into the workspace, after checking their range."""
        for name, src, dst in (("inputs", inputs, ws.inputs), ("targets", targets, ws.targets)):
            if src is None:
                continue
            src = np.asarray(src)
            if src.shape != dst.shape or src.dtype.kind not in "iu":
                raise ValueError(f"{name} must be integers of shape {dst.shape}")
            if src.size and (src.min() < 0 or src.max() >= self.vocab_size):
                raise ValueError(f"{name} must be character indices from 0 to "
                                 f"{self.vocab_size - 1}")
            np.copyto(dst, src, casting="unsafe")

    def _forward(self, inputs, targets, state: np.ndarray, train: bool,
                 rng: np.random.RandomState | None, cache: dict) -> _Workspace:
        """Run the layers and, if targets are given, the output layer and the loss."""
        if np.ndim(inputs) != 2:
            raise ValueError("inputs must be a (T, B) array of character indices")
        T, B = np.shape(inputs)
        ws = self._workspace(cache, T, B)
        self._check_state(state, B)
        self._read_window(ws, inputs, targets)
        drop = train and self.spec.dropout > 0.0
        if drop and rng is None:
            raise ValueError("training with dropout needs an rng for the masks")
        P = self.spec.dropout
        x = ws.inputs
        for layer, cell in enumerate(self.cells):
            cws = ws.cells[layer]
            cell.forward(self._layer(self.params, layer), x, state[layer], cws)
            x = cws.out
            if drop:  # RandomState has no out=: one (T, B, H) draw per layer and window
                np.greater_equal(rng.random_sample(x.shape), P, out=ws.keep[layer])
                np.multiply(ws.keep[layer], 1.0 / (1.0 - P), out=ws.mask[layer])
                x = np.multiply(x, ws.mask[layer], out=ws.xs[layer])
        ws.top = x.reshape(T * B, self.hidden_size)
        ws.trained = drop
        if targets is not None:
            self._output(ws)
        return ws

    def _logits(self, ws: _Workspace) -> np.ndarray:
        np.dot(ws.top, self.params["Why"], out=ws.ys)
        return np.add(ws.ys, self.params["by"], ws.ys)

    def _output(self, ws: _Workspace) -> None:
        """Stable softmax and the per-position losses -log p = log(sum exp) - (y - max)."""
        ys, ps = self._logits(ws), ws.ps
        np.maximum.reduce(ys, axis=1, out=ws.rowmax)
        np.subtract(ys, ws.rowmax_col, ys)
        np.exp(ys, ps)
        np.add.reduce(ps, axis=1, out=ws.sums)
        np.divide(ps, ws.sums_col, ps)
        np.add(ws.row_starts, ws.targets.reshape(-1), ws.target_ix)
        np.log(ws.sums, out=ws.losses, dtype=np.float64)  # finite even if p underflows
        ws.losses -= ys.reshape(-1).take(ws.target_ix, out=ws.y_target, mode="clip")

    @staticmethod
    def _window_loss(ws: _Workspace) -> float:
        return float(np.add.reduce(ws.losses)) / ws.B  # float64 pairwise sum

    def _backward(self, ws: _Workspace, grads: Params) -> None:
        """Gradients of the last forward's mean loss into `grads` (unclipped)."""
        P, G, B = self.params, grads, ws.B
        if G.names != self.names or G.flat.dtype != self.dtype:
            raise ValueError("grads do not have this network's layout and dtype")
        dy = ws.dy
        np.copyto(dy, ws.ps)
        dy.reshape(-1)[ws.target_ix] -= 1.0
        np.divide(dy, B, dy)  # the gradient of the mean over streams
        np.dot(ws.top.T, dy, out=G["Why"])
        np.add.reduce(dy, axis=0, out=G["by"])
        top = ws.cells[-1]
        np.dot(dy, P["Why"].T, out=top.dh2)
        for layer in range(self.layers - 1, -1, -1):
            cws = ws.cells[layer]
            if ws.trained:  # through the dropout of this layer's output
                np.multiply(cws.dh, ws.mask[layer], cws.dh)
            x = ws.inputs if layer == 0 else self._layer_input(ws, layer)
            dx = ws.cells[layer - 1].dh2 if layer > 0 else None
            self.cells[layer].backward(self._layer(P, layer), self._layer(G, layer), x, cws, dx)

    @staticmethod
    def _layer_input(ws: _Workspace, layer: int) -> np.ndarray:
        """What layer `layer` (> 0) read: the output of the layer below, after dropout."""
        return ws.xs[layer - 1] if ws.trained else ws.cells[layer - 1].out

    # -- inspection ------------------------------------------------------------------------

    def window_record(self, stream: int | None = None) -> WindowRecord | None:
        """Copies of the last window of loss_and_grads or loss (None before the first): of
        every stream, or of one (B = 1 in the record: a view copies no more than it shows)."""
        ws = self._last
        if ws is None:
            return None
        T, B, H = ws.T, ws.B, self.hidden_size
        pick = slice(None) if stream is None else slice(stream, stream + 1)
        cws = ws.cells
        hidden = np.stack([c.out[:, pick] for c in cws], axis=1)
        cells = (np.stack([c.cs[1:, pick] for c in cws], axis=1) if self.spec.cell == "lstm"
                 else None)
        gates = None
        if self.spec.cell != "rnn":
            G = self.cells[0].gates
            gates = np.stack([c.a.reshape(T, B, G, H)[:, pick] for c in cws], axis=1)
        return WindowRecord(ws.inputs[:, pick].copy(), ws.targets[:, pick].copy(),
                            ws.losses.reshape(T, B)[:, pick].copy(),
                            ws.ps.reshape(T, B, self.vocab_size)[:, pick].copy(), hidden, cells,
                            gates)

    def window_states(self) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...] | None,
                                     np.ndarray]:
        """Views (no copies) of the last forward's per-layer h (T, B, H), an LSTM's c (else
        None) and the per-position losses (T * B,): valid until the next forward. A reader
        that keeps a few of them copies only those (engine/inspect/probe.py)."""
        ws = self._last
        if ws is None:
            raise ValueError("no window has been read yet")
        cells = tuple(c.cs[1:] for c in ws.cells) if self.spec.cell == "lstm" else None
        return tuple(c.out for c in ws.cells), cells, ws.losses

    # -- sampling --------------------------------------------------------------------------

    def _one_stream(self, state_1: np.ndarray) -> np.ndarray:
        """A private (L, S, 1, H) copy of a one-stream state given as (L, S, H) or (L, S, 1, H)."""
        L, S, H = self.layers, self.state_parts, self.hidden_size
        state = np.array(state_1, dtype=self.dtype)
        if state.shape not in ((L, S, H), (L, S, 1, H)):
            raise ValueError(f"a one-stream state is ({L}, {S}, {H}) or ({L}, {S}, 1, {H}), "
                             f"not {state.shape}")
        return state.reshape(L, S, 1, H)

    def sample(self, state_1: np.ndarray, seed_ix: int, n: int, rng: np.random.RandomState,
               temperature: float = 1.0, greedy: bool = False) -> list[int]:
        """n indices drawn from the model (eval mode) after `seed_ix`, from one stream's state.

        The draw is engine/nets/min_char.py's: one rng.random_sample(n) up front, then per character
        the normalised cdf of softmax(y / temperature) and searchsorted(u, side='right').
        Greedy takes the argmax and draws nothing. `state_1` is not modified.
        """
        state = self._one_stream(state_1)
        if not 0 <= seed_ix < self.vocab_size:
            raise ValueError(f"seed_ix must be from 0 to {self.vocab_size - 1}")
        uniforms = [] if greedy else rng.random_sample(n).tolist()
        ws = self._workspace(self._aux_ws, 1, 1)
        y, cdf = np.empty(self.vocab_size), np.empty(self.vocab_size)  # float64 for the draw
        x = ws.inputs
        ix, ixes = seed_ix, []
        for k in range(n):
            x[0, 0] = ix
            self._run_layers(ws, state)
            np.copyto(y, self._logits(ws)[0])
            if temperature != 1.0:
                y /= temperature
            if greedy:
                ix = int(y.argmax())
            else:
                y -= y.max()
                np.exp(y, cdf)
                np.divide(cdf, np.add.reduce(cdf), y)  # p
                np.add.accumulate(y, out=cdf)
                cdf /= cdf[-1]
                ix = int(cdf.searchsorted(uniforms[k], "right"))
            ixes.append(ix)
        return ixes

    def _run_layers(self, ws: _Workspace, state: np.ndarray) -> None:
        """Eval-mode layers over ws.inputs, updating `state`; ws.top is the top layer's output."""
        x = ws.inputs
        for layer, cell in enumerate(self.cells):
            cell.forward(self._layer(self.params, layer), x, state[layer], ws.cells[layer])
            x = ws.cells[layer].out
        ws.top = x.reshape(ws.T * ws.B, self.hidden_size)
        ws.trained = False

    def hidden_after(self, state_1: np.ndarray, ixes) -> np.ndarray:
        """The one-stream state (L, S, 1, H) after reading `ixes` (a prime); `state_1` unchanged.
        A long prime is read PRIME_CHUNK characters at a time: a workspace of bounded size."""
        state = self._one_stream(state_1)
        ixes = np.asarray(ixes, dtype=np.intp).reshape(-1, 1)
        for start in range(0, len(ixes), PRIME_CHUNK):
            part = ixes[start:start + PRIME_CHUNK]
            ws = self._workspace(self._aux_ws, len(part), 1)
            self._read_window(ws, part, None)
            self._run_layers(ws, state)
        return state

    # -- evaluation ------------------------------------------------------------------------

    def evaluate_text(self, ix: np.ndarray, chunk: int = 256) -> float:
        """Mean nats per predicted character over `ix`, read from a zero state (batch 1).

        Windows of `chunk` characters carry the state from one to the next, so the result is
        the same for any chunk (up to rounding) and memory stays bounded.
        """
        ix = np.asarray(ix)
        n = len(ix) - 1
        if n < 1:
            raise ValueError("evaluate_text needs at least two characters")
        state = self.new_state(1)
        total = 0.0
        for start in range(0, n, chunk):
            stop = min(start + chunk, n)
            ws = self._forward(ix[start:stop, None], ix[start + 1:stop + 1, None], state,
                               False, None, self._aux_ws)
            total += float(np.add.reduce(ws.losses))
        return total / n
