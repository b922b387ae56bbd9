"""What a model learned: unit activations over a text, simple text features and the units that
track them, influence of earlier characters on a prediction, and per-character surprisal.

Forward passes only (and one backward from a single prediction for influence), on a float64
copy of the weights: min-char-rnn's `RNN` becomes the one-layer tanh `Network` it equals
(a = x Wx + h Wh + b with Wx = Wxh^T, Wh = Whh^T), so one code path serves both model families
(ARCHITECTURE.md, "Two model families") and every result is in double precision.

A unit is (layer, part, index): part "h" is a layer's hidden state, "c" an LSTM's cell state.
The activation at position t is the state after reading character t.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .. import memory
from ..nets.min_char import RNN
from ..nets.network import ModelSpec, Network, Params
from ..trainer import split_point

PASSAGE = 4000  # characters the explorer reads at most: a bounded cost per request
INFLUENCE_SPAN = 200  # characters back from a position that influence looks at, at most
TOP_UNITS = 3  # units listed per feature
REACH_SHARE = 0.1  # influence under this share of its peak no longer counts as looked at

Progress = Callable[[float], None]  # the share of the work done, 0..1


# -- one code path for both families -------------------------------------------------------

def as_network64(model: RNN | Network) -> Network:
    """A float64 Network with the model's weights (copies), in eval mode (no dropout); it
    keeps one window workspace at a time, so reading a long text costs one chunk's."""
    if isinstance(model, Network):
        spec = dataclasses.replace(model.spec, dtype="float64", dropout=0.0)
        net = Network(model.vocab_size, spec)
        net.params.flat[...] = model.params.flat
        net.workspaces_kept = 1
        return net
    P = model.params
    net = Network(model.vocab_size, ModelSpec("rnn", model.hidden_size, 1, 0.0, "float64"))
    Q = net.params
    Q["l0.Wx"][...] = P.Wxh.T
    Q["l0.Wh"][...] = P.Whh.T
    Q["l0.b"][...] = P.bh
    Q["Why"][...] = P.Why.T
    Q["by"][...] = P.by
    net.workspaces_kept = 1
    return net


def state64(net: Network, state_1: np.ndarray | None) -> np.ndarray:
    """A one-stream state (H,), (L, S, H) or (L, S, 1, H) as a float64 (L, S, 1, H) copy;
    None is the zero state (a new text)."""
    if state_1 is None:
        return net.new_state(1)
    L, S, H = net.layers, net.state_parts, net.hidden_size
    return np.array(state_1, dtype=np.float64).reshape(L, S, 1, H)


# -- reading a text ------------------------------------------------------------------------

@dataclass(frozen=True)
class Reading:
    """What a model computed over a text: per position t, after reading character t."""

    ixes: np.ndarray  # (N,) the text's character indices
    hidden: np.ndarray  # (N-1, L, H) h of each layer after reading ixes[t]
    cells: np.ndarray | None  # (N-1, L, H) an LSTM's c; None for other cells
    losses: np.ndarray  # (N-1,) -log p(ixes[t+1]) in nats

    @property
    def layers(self) -> int:
        return self.hidden.shape[1]

    @property
    def parts(self) -> str:
        """The state parts each layer has: "h", or "hc" for an LSTM."""
        return "h" if self.cells is None else "hc"

    def unit(self, layer: int, part: str, index: int) -> np.ndarray:
        """One unit's activations over the text, (N-1,)."""
        source = self.hidden if part == "h" else self.cells
        return source[:, layer, index]

    def units(self) -> tuple[np.ndarray, list[tuple[int, str, int]]]:
        """Every unit's activations as columns (N-1, U), and each column's (layer, part, index)."""
        columns, labels = [], []
        for layer in range(self.layers):
            for part in self.parts:
                source = self.hidden if part == "h" else self.cells
                columns.append(source[:, layer])
                labels += [(layer, part, k) for k in range(source.shape[2])]
        return np.concatenate(columns, axis=1), labels


def read(model: RNN | Network, ixes, state_1: np.ndarray | None = None,
         progress: Progress | None = None, chunk: int | None = None) -> Reading:
    """Read `ixes` from `state_1` (None: h = 0) and keep every state and loss.

    Chunks of `chunk` characters (default: engine.memory.read_chunk's for the vocabulary)
    carry the state from one to the next, so the result does not depend on the chunk (up to
    rounding); `progress(share)` is called after each. Only the states and losses are kept,
    copied into arrays allocated once: not a chunk's probabilities or gates.
    """
    ixes = np.asarray(ixes, dtype=np.intp)
    n = len(ixes) - 1
    if n < 1:
        raise ValueError("reading needs at least two characters")
    net = as_network64(model)
    state = state64(net, state_1)
    chunk = chunk or memory.read_chunk(net.vocab_size)
    L, H = net.layers, net.hidden_size
    hidden = np.empty((n, L, H))
    cells = np.empty((n, L, H)) if net.spec.cell == "lstm" else None
    losses = np.empty(n)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        net.loss(ixes[start:stop, None], ixes[start + 1:stop + 1, None], state)
        hs, cs, window_losses = net.window_states()
        for layer in range(L):
            hidden[start:stop, layer] = hs[layer][:, 0]
            if cells is not None:
                cells[start:stop, layer] = cs[layer][:, 0]
        losses[start:stop] = window_losses
        if progress is not None:
            progress(stop / n)
    return Reading(ixes, hidden, cells, losses)


class Scorer:
    """-log p of each character of a text that arrives in pieces, read from `state_1` (None:
    h = 0, as a new text starts). Memory is one chunk's, however long the text: `score`
    streams a file through it."""

    def __init__(self, model: RNN | Network, state_1: np.ndarray | None = None) -> None:
        self.net = as_network64(model)
        self.state = state64(self.net, state_1)
        self.chunk = memory.read_chunk(self.net.vocab_size)
        self._last: int | None = None  # the previous piece's last character: read, not scored

    def feed(self, ixes) -> np.ndarray:
        """The losses (nats) of each of `ixes` given everything before it; the text's very
        first character has none (it is only read), so the first piece yields one fewer."""
        ixes = np.asarray(ixes, dtype=np.intp)
        if self._last is not None:
            ixes = np.concatenate(([self._last], ixes))
        if len(ixes) == 0:
            return np.empty(0)
        self._last = int(ixes[-1])
        n = len(ixes) - 1
        losses = np.empty(n)
        for start in range(0, n, self.chunk):
            stop = min(start + self.chunk, n)
            self.net.loss(ixes[start:stop, None], ixes[start + 1:stop + 1, None], self.state)
            losses[start:stop] = self.net.window_states()[2]
        return losses


def surprisal(model: RNN | Network, ixes, state_1: np.ndarray | None = None) -> np.ndarray:
    """-log p of each character after the first, in nats, read from `state_1` (None: h = 0)."""
    return Scorer(model, state_1).feed(ixes)


def indices(vocab: str, text: str) -> np.ndarray:
    """The index in `vocab` of each character of `text` (its first, as str.find gives), -1 for
    a character it lacks: one vectorised lookup, no Python loop over the text."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    table = np.frombuffer(vocab.encode("utf-32-le", "surrogatepass"), dtype="<u4")
    if table.size == 0:
        return np.full(codes.size, -1, np.int64)
    order = np.argsort(table, kind="stable")  # a vocabulary is sorted already: cheap
    at = order[np.minimum(np.searchsorted(table[order], codes), table.size - 1)]
    return np.where(table[at] == codes, at, -1).astype(np.int64)


def split_known(vocab: str, text: str) -> tuple[list[int], list[int]]:
    """(indices of the characters of `text` that are in `vocab`, positions of those that are
    not): scoring reads the known characters as if the others were absent."""
    ix = indices(vocab, text)
    known = ix >= 0
    return ix[known].tolist(), np.flatnonzero(~known).tolist()


# -- text features and the units that track them ------------------------------------------

OPENERS, CLOSERS = "([{", ")]}"
FEATURES = ("inside quotes", "inside brackets", "since newline", "word start", "upper case",
            "after newline", "whitespace")


def features(text: str) -> dict[str, np.ndarray]:
    """Per character of `text`, float64: the features of the state after reading it.

    inside quotes: an odd number of '"' so far (the opening quote is inside, the closing one
    not); inside brackets: more of ( [ { than of ) ] } so far (a stray closer counts as none);
    since newline: characters since the last newline (0 on the newline); word start: a letter
    after a non-letter; upper case; after newline: the first character of a line; whitespace.
    """
    n = len(text)
    out = {name: np.zeros(n) for name in FEATURES}
    quotes, depth, column, prev = False, 0, 0, ""
    for t, ch in enumerate(text):
        if ch == '"':
            quotes = not quotes
        if ch in OPENERS:
            depth += 1
        elif ch in CLOSERS:
            depth = max(0, depth - 1)
        column = 0 if ch == "\n" else column + 1
        out["inside quotes"][t] = quotes
        out["inside brackets"][t] = depth > 0
        out["since newline"][t] = column
        out["word start"][t] = ch.isalpha() and not prev.isalpha()
        out["upper case"][t] = ch.isupper()
        out["after newline"][t] = prev == "\n"
        out["whitespace"][t] = ch.isspace()
        prev = ch
    return out


def pearson(feature: np.ndarray, activations: np.ndarray) -> np.ndarray:
    """Pearson r of one feature (N,) with each column of activations (N, U); 0 for a column
    (or a feature) that does not vary."""
    f = feature - feature.mean()
    A = activations - activations.mean(axis=0)
    scale = np.sqrt((f @ f) * np.einsum("nu,nu->u", A, A))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (f @ A) / scale
    return np.where(scale > 0, r, 0.0)


@dataclass(frozen=True)
class UnitScore:
    layer: int
    part: str  # "h" or "c"
    index: int
    r: float

    @property
    def label(self) -> str:
        return f"L{self.layer} {self.part}{self.index}"


@dataclass(frozen=True)
class FeatureRank:
    """The units that track one feature best over a text."""

    feature: str
    share: float  # mean of the feature over the text (a binary feature: how often it holds)
    varies: bool  # False: constant over the text, so no unit can track it (top is empty)
    top: tuple[UnitScore, ...]  # by |r|, largest first


def rank_units(reading: Reading, text: str, top: int = TOP_UNITS) -> tuple[FeatureRank, ...]:
    """Per feature of FEATURES, the `top` units whose activations correlate with it most.

    `text` is the text the reading read; each position t pairs the state after character t
    with the features of characters 0..t (the last character is never read: no target).
    Correlations are taken one (layer, part) block of units at a time, so the temporaries are
    one layer's, not the whole reading's."""
    n = len(reading.losses)
    feats = features(text[:n])
    blocks, labels = [], []
    for layer in range(reading.layers):
        for part in reading.parts:
            block = (reading.hidden if part == "h" else reading.cells)[:, layer]
            blocks.append(block)
            labels += [(layer, part, k) for k in range(block.shape[1])]
    ranks = []
    for name, values in feats.items():
        varies = bool(values.size) and values.min() != values.max()
        best: tuple[UnitScore, ...] = ()
        if varies:
            r = np.concatenate([pearson(values, block) for block in blocks])
            order = np.argsort(-np.abs(r), kind="stable")[:top]
            best = tuple(UnitScore(*labels[k], float(r[k])) for k in order.tolist())
        ranks.append(FeatureRank(name, float(values.mean()) if values.size else 0.0, varies,
                                 best))
    return tuple(ranks)


# -- influence: how much each earlier character moves one prediction ----------------------

@dataclass(frozen=True)
class Influence:
    """For the prediction at `position` of a window: per earlier input k <= position, the
    gradient of log p(target) with respect to that input's embedding row (the row of layer 0's
    Wx, min-char-rnn's column of Wxh, that the character selects), through BPTT."""

    position: int  # t, in the window
    target: int
    logp: float  # log p(target) at t
    grads: np.ndarray  # (t+1, G*H) d log p / d embedding row of input k
    onehot_grads: np.ndarray  # (t+1, V) d log p / d one-hot x_k = Wx @ grads[k]

    @property
    def norms(self) -> np.ndarray:
        return np.sqrt(np.einsum("kj,kj->k", self.grads, self.grads))

    @property
    def shares(self) -> np.ndarray:
        """The norms over their peak: 1 at the most influential input, 0 for none."""
        norms = self.norms
        peak = norms.max()
        return norms / peak if peak > 0 else np.zeros_like(norms)

    @property
    def peak_distance(self) -> int:
        """How far back (0: the input at t itself) the most influential input is."""
        return int(self.position - np.argmax(self.norms))

    @property
    def reach(self) -> int:
        """The largest distance back whose influence is at least REACH_SHARE of the peak: past
        it, influence stays under 10% of the peak."""
        far = np.nonzero(self.shares >= REACH_SHARE)[0]
        return int(self.position - far.min()) if far.size else 0


def influence(model: RNN | Network, inputs, targets, position: int,
              state_1: np.ndarray | None = None) -> Influence:
    """The influence of inputs[0..position] on log p(targets[position]), read from `state_1`.

    One forward over the window up to `position` and one backward from that prediction alone:
    the cells' own backward, with the loss gradient at the last step only, leaves layer 0's
    input-side pre-activation gradients in its workspace, which is the gradient with respect to
    each step's embedding row."""
    inputs = np.asarray(inputs, dtype=np.intp)
    t = int(position)
    if not 0 <= t < len(inputs):
        raise ValueError(f"position must be from 0 to {len(inputs) - 1}")
    net = as_network64(model)
    state = state64(net, state_1)
    x = inputs[:t + 1].reshape(t + 1, 1)
    P, G = net.params, net.new_grads()
    works = [cell.workspace(t + 1, 1) for cell in net.cells]

    def layer(buffer: Params, k: int) -> tuple[np.ndarray, ...]:
        return tuple(buffer[f"l{k}.{name}"] for name in net.cells[k].param_names)

    below = x
    for k, cell in enumerate(net.cells):
        cell.forward(layer(P, k), below, state[k], works[k])
        below = works[k].out
    y = works[-1].out[t, 0] @ P["Why"] + P["by"]
    y = y - y.max()
    logp_all = y - math.log(float(np.exp(y).sum()))
    target = int(targets[t])
    dy = -np.exp(logp_all)  # d log p(target) / dy = onehot(target) - p
    dy[target] += 1.0
    for ws in works:
        ws.dh.fill(0.0)
    works[-1].dh[t, 0] = P["Why"] @ dy
    for k in range(net.layers - 1, -1, -1):
        lower = works[k - 1].dh2 if k > 0 else None
        x_k = x if k == 0 else works[k - 1].out
        net.cells[k].backward(layer(P, k), layer(G, k), x_k, works[k], lower)
    grads = works[0].da[:, 0].copy()
    return Influence(t, target, float(logp_all[target]), grads, grads @ P["l0.Wx"].T)


def passage(ix: np.ndarray, val_fraction: float, length: int = PASSAGE) -> tuple[int, np.ndarray]:
    """(start, indices) of the text the explorer reads: the start of the held-out part when
    there is one (text the model has not trained on), else the start of the training text."""
    cut = split_point(len(ix), val_fraction)
    start = cut if len(ix) - cut >= 2 else 0
    return start, np.asarray(ix[start:start + length], dtype=np.intp)


# -- what the views ask of a trainer (run in the trainer thread) ---------------------------

@dataclass(frozen=True)
class Exploration:
    """The neuron explorer's passage, read from a trainer's current weights and carried state."""

    iteration: int
    start: int  # where the passage starts in the corpus
    held_out: bool  # it is the held-out part (else the start of the training text)
    text: str  # the characters read (the passage without its last character)
    reading: Reading
    features: dict[str, np.ndarray]  # of `text`
    ranks: tuple[FeatureRank, ...]


def explore(trainer, progress: Progress | None = None) -> Exploration:
    """Read the passage (`passage`) from stream 0's carried state; rank units by feature."""
    start, ix = passage(trainer.corpus.ix, trainer.config.val_fraction)
    memory.check(memory.reading(trainer.config, trainer.corpus.vocab_size, kept_chars=len(ix)),
                 "reading the passage")
    reading = read(trainer.model, ix, trainer.learner.one_stream(), progress)
    text = trainer.corpus.decode(ix[:-1].tolist())
    return Exploration(trainer.n, start, start > 0, text, reading, features(text),
                       rank_units(reading, text))


@dataclass(frozen=True)
class Window:
    """A window to take influence over: its inputs, targets and the state it started from."""

    iteration: int  # the step that ran it (or the trainer's iteration, for a passage window)
    inputs: np.ndarray  # (T,)
    targets: np.ndarray  # (T,)
    start: np.ndarray  # one-stream state before inputs[0]
    where: str  # "the last window" or "the passage"


def last_window(trainer) -> Window | None:
    """Stream 0 of the trainer's last training window (None before the first step)."""
    win = trainer.last_window
    if win is None:
        return None
    if win.inputs.ndim == 1:
        return Window(win.iteration, win.inputs.copy(), win.targets.copy(), win.h_start.copy(),
                      "the last window")
    return Window(win.iteration, win.inputs[:, 0].copy(), win.targets[:, 0].copy(),
                  win.h_start[:, :, :1].copy(), "the last window")


def passage_window(trainer, at: int, span: int = INFLUENCE_SPAN) -> Window:
    """The `span` characters of the explorer's passage that end at position `at` (its input
    index), with the state read from the carried state up to there."""
    _, ix = passage(trainer.corpus.ix, trainer.config.val_fraction)
    at = max(0, min(int(at), len(ix) - 2))
    first = max(0, at + 1 - span)
    state = trainer.learner.one_stream()
    if first > 0:
        state = trainer.learner.hidden_after(state, ix[:first].tolist())
    return Window(trainer.n, ix[first:at + 1].copy(), ix[first + 1:at + 2].copy(),
                  np.array(state), "the passage")
