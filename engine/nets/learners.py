"""What the Trainer steps: a model, its gradients, its optimizer and its carried state.

Two families share one interface, so `Trainer` keeps one data walk, one schedule of samples,
validation and rollbacks, and one set of statistics:

- `MinCharLearner`: min-char-rnn itself (min_char.py's `RNN`, batch 1, float64, Adagrad),
  with the original's arithmetic on demand (`--exact` and the warm-up). It is kept apart
  because the exact path needs its own operation order and batch-1 layout, which a batched
  network cannot give bit for bit (ARCHITECTURE.md, "Two model families").
- `NetworkLearner`: engine/nets/network.py's `Network` (tanh, LSTM or GRU layers, B streams,
  float32 or float64) with Adagrad, RMSprop or Adam.

The carried state is one array: (H,) for min-char-rnn, (L, S, B, H) for a network. A
"one-stream state" is what sampling and evaluation read: (H,), or (L, S, 1, H).
"""

from __future__ import annotations

import math

import numpy as np

from ..config import Config
from .adagrad import EPS, Adagrad
from .min_char import PARAM_NAMES, RNN, FlatParams
from .network import ModelSpec, Network
from .optimizers import Adam, AdamConfig, RMSprop, RMSpropConfig

MEDIAN_SAMPLE = 4096  # entries per parameter that the pane's median step is taken over


def _median(v: np.ndarray) -> float:
    """The median of a parameter-sized buffer, over an even subsample (snapshots are 4 Hz)."""
    stride = max(1, v.shape[0] // MEDIAN_SAMPLE)
    return float(np.median(v[::stride]))


class MinCharLearner:
    """min-char-rnn: one tanh layer, one stream, float64, Adagrad (exact when asked)."""

    optimizer_name = "adagrad"
    memory_label = "|mem|"  # what the optimizer pane calls the accumulated state

    def __init__(self, vocab_size: int, config: Config, rng: np.random.RandomState) -> None:
        V, H = vocab_size, config.hidden_size
        self.names = PARAM_NAMES
        self.model = RNN.initialised(V, H, rng)
        self.params = self.model.params
        self.grads = FlatParams(V, H)
        self.optimizer = Adagrad(V, H)
        self.state = np.zeros(H)  # hprev
        self.batch = 1
        self._evaluator = self.model.sharing_params()

    # -- one step --------------------------------------------------------------------------

    def loss_and_grads(self, inputs, targets, exact: bool, strict: bool, clip: float,
                       rng) -> tuple[float, bool]:
        """The window's loss and gradients from `state`; the state is not advanced yet.
        Returns (loss, exact): a warm-up step (`exact` but not `strict`) whose unshifted
        softmax overflows is redone in the stable fast arithmetic."""
        loss = self.model.loss_and_grads(inputs, targets, self.state, self.grads, exact=exact,
                                         clip=clip)
        if exact and not strict and not math.isfinite(loss):
            exact = False
            loss = self.model.loss_and_grads(inputs, targets, self.state, self.grads,
                                             exact=False, clip=clip)
        return loss, exact

    def update(self, learning_rate: float, exact: bool) -> None:
        self.optimizer.update(self.params, self.grads, learning_rate, exact)
        self.state[...] = self.model.h_last

    # -- state -----------------------------------------------------------------------------

    def reset(self, streams=None) -> None:
        self.state[...] = 0.0

    def top_hidden(self) -> np.ndarray:
        """h of the top layer, stream 0 (a view)."""
        return self.state

    def one_stream(self, stream: int = 0) -> np.ndarray:
        return self.state.copy()

    def zero_stream(self) -> np.ndarray:
        return np.zeros_like(self.state)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        """The optimizer's memory by name (live buffers)."""
        return {"memory": self.optimizer.mem.flat}

    def memory_segments(self) -> tuple[np.ndarray, ...]:
        return self.optimizer.mem.segments()

    def moment_segments(self) -> tuple[np.ndarray, ...]:
        return ()

    def step_medians(self, learning_rate: float) -> tuple[float, ...]:
        """Median of lr / sqrt(mem + 1e-8) per parameter: Adagrad's effective step size."""
        return tuple(learning_rate / math.sqrt(_median(m) + EPS) for m in self.memory_segments())

    # -- reading without training ----------------------------------------------------------

    def eval_window(self, inputs, targets, state_1: np.ndarray) -> float:
        """Forward only, on a model sharing the weights; `state_1` is advanced in place."""
        loss = self._evaluator.forward(inputs, targets, state_1)
        state_1[...] = self._evaluator.h_last
        return loss

    def sample(self, state_1, seed_ix: int, n: int, rng, temperature: float,
               greedy: bool) -> list[int]:
        return self.model.sample(state_1, seed_ix, n, rng, temperature, greedy)

    def hidden_after(self, state_1, ixes) -> np.ndarray:
        return self.model.hidden_after(state_1, ixes)


class NetworkLearner:
    """A Network of L layers over B streams, with its optimizer."""

    def __init__(self, vocab_size: int, config: Config, rng: np.random.RandomState) -> None:
        self.model = Network.initialised(vocab_size, ModelSpec.of(config), rng)
        self.names = self.model.names
        self.params = self.model.params
        self.grads = self.model.new_grads()
        self.optimizer_name = config.optimizer
        size, dtype = self.params.flat.size, self.params.flat.dtype
        if config.optimizer == "adagrad":
            self.optimizer = Adagrad(mem=self.model.new_grads())
            self.memory_label = "|mem|"
        elif config.optimizer == "rmsprop":
            self.optimizer = RMSprop(size, dtype, RMSpropConfig())
            self.memory_label = "|cache|"
        else:
            self.optimizer = Adam(size, dtype, AdamConfig())
            self.memory_label = "|v|"
        self.batch = config.batch
        self.state = self.model.new_state(config.batch)
        self._evaluator = self.model.sharing_params()

    # -- one step --------------------------------------------------------------------------

    def loss_and_grads(self, inputs, targets, exact: bool, strict: bool, clip: float,
                       rng) -> tuple[float, bool]:
        """The window's loss and gradients; the state is advanced in place (a divergence
        rolls it back with the weights)."""
        return self.model.loss_and_grads(inputs, targets, self.state, self.grads, clip=clip,
                                         train=True, rng=rng), False

    def update(self, learning_rate: float, exact: bool) -> None:
        if isinstance(self.optimizer, Adagrad):
            self.optimizer.update(self.params, self.grads, learning_rate)
        else:
            self.optimizer.update(self.params.flat, self.grads.flat, learning_rate)

    # -- state -----------------------------------------------------------------------------

    def reset(self, streams=None) -> None:
        """Zero the state of the streams selected (all when None)."""
        if streams is None:
            self.state[...] = 0.0
        else:
            self.model.reset_streams(self.state, streams)

    def top_hidden(self) -> np.ndarray:
        return self.state[-1, 0, 0]

    def one_stream(self, stream: int = 0) -> np.ndarray:
        return self.state[:, :, stream:stream + 1].copy()

    def zero_stream(self) -> np.ndarray:
        return self.model.new_state(1)

    def optimizer_state(self) -> dict[str, np.ndarray]:
        if isinstance(self.optimizer, Adagrad):
            return {"memory": self.optimizer.mem.flat}
        return self.optimizer.state

    def _memory(self) -> np.ndarray:
        opt = self.optimizer
        if isinstance(opt, Adagrad):
            return opt.mem.flat
        return opt.cache if isinstance(opt, RMSprop) else opt.v

    def memory_segments(self) -> tuple[np.ndarray, ...]:
        flat = self._memory()
        return tuple(flat[sl] for sl in self.params.slices)

    def moment_segments(self) -> tuple[np.ndarray, ...]:
        """Adam's first moment per parameter (other optimizers keep none)."""
        if not isinstance(self.optimizer, Adam):
            return ()
        return tuple(self.optimizer.m[sl] for sl in self.params.slices)

    def step_medians(self, learning_rate: float) -> tuple[float, ...]:
        """The median effective step size per parameter, from the optimizer's memory."""
        opt, segs = self.optimizer, self.memory_segments()
        if isinstance(opt, Adagrad):
            return tuple(learning_rate / math.sqrt(_median(m) + EPS) for m in segs)
        if isinstance(opt, RMSprop):
            eps = opt.config.eps
            return tuple(learning_rate / (math.sqrt(max(_median(m), 0.0)) + eps) for m in segs)
        t, cfg = max(opt.t, 1), opt.config
        out = []
        for sl in self.params.slices:  # |m-hat| / (sqrt(v-hat) + eps), sampled
            stride = max(1, (sl.stop - sl.start) // MEDIAN_SAMPLE)
            m = np.abs(opt.m[sl][::stride].astype(np.float64)) / (1 - cfg.beta1 ** t)
            v = opt.v[sl][::stride].astype(np.float64) / (1 - cfg.beta2 ** t)
            out.append(learning_rate * float(np.median(m / (np.sqrt(v) + cfg.eps))))
        return tuple(out)

    # -- reading without training ----------------------------------------------------------

    def eval_window(self, inputs, targets, state_1: np.ndarray) -> float:
        return self._evaluator.loss(np.asarray(inputs)[:, None], np.asarray(targets)[:, None],
                                    state_1)

    def sample(self, state_1, seed_ix: int, n: int, rng, temperature: float,
               greedy: bool) -> list[int]:
        return self.model.sample(state_1, seed_ix, n, rng, temperature, greedy)

    def hidden_after(self, state_1, ixes) -> np.ndarray:
        return self.model.hidden_after(state_1, ixes)


def make_learner(vocab_size: int, config: Config,
                 rng: np.random.RandomState) -> MinCharLearner | NetworkLearner:
    """min-char-rnn's own code for its model; a Network for everything else."""
    cls = MinCharLearner if config.is_min_char_rnn else NetworkLearner
    return cls(vocab_size, config, rng)
