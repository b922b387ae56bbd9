"""RMSprop and Adam over a flat parameter buffer of any float dtype (network.py's Params).

Like engine/nets/adagrad.py's Adagrad (which min-char-rnn keeps using): the optimizer's memory is
flat buffers of the parameters' size, scratch is allocated once, and `update` is a handful
of whole-buffer calls. `state` maps names to the live buffers, so a checkpoint can save them
and `load_state` put them back; training then continues bit for bit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class RMSpropConfig:
    """char-rnn's defaults."""

    learning_rate: float = 2e-3
    decay: float = 0.95
    eps: float = 1e-8


@dataclass(frozen=True)
class AdamConfig:
    """Kingma and Ba's defaults, with char-rnn's learning rate."""

    learning_rate: float = 2e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8


class _FlatOptimizer:
    def __init__(self, size: int, dtype, names: tuple[str, ...]) -> None:
        self.dtype = np.dtype(dtype)
        self._state = {name: np.zeros(size, self.dtype) for name in names}
        self._tmp = np.empty(size, self.dtype)

    @property
    def state(self) -> dict[str, np.ndarray]:
        """The optimizer's memory by name: the live buffers (copy them to keep a snapshot)."""
        return dict(self._state)

    def load_state(self, state: Mapping[str, np.ndarray]) -> None:
        """Restore what `state` held (same names, shapes and dtypes), e.g. from a checkpoint."""
        if set(state) != set(self._state):
            raise ValueError(f"optimizer state needs {sorted(self._state)}, got {sorted(state)}")
        for name, buf in self._state.items():
            src = np.asarray(state[name])
            if src.shape != buf.shape or src.dtype != buf.dtype:
                raise ValueError(f"optimizer state {name!r} must be {buf.dtype} {buf.shape}, "
                                 f"not {src.dtype} {src.shape}")
        for name, buf in self._state.items():
            np.copyto(buf, state[name])

    def _check(self, params: np.ndarray, grads: np.ndarray) -> None:
        size = self._tmp.shape
        if params.shape != size or grads.shape != size or \
                params.dtype != self.dtype or grads.dtype != self.dtype:
            raise ValueError(f"params and grads must be flat {self.dtype} buffers of {size[0]}")


class RMSprop(_FlatOptimizer):
    """cache = decay * cache + (1 - decay) * g^2;  p -= lr * g / (sqrt(cache) + eps)

    As char-rnn's (torch optim.rmsprop): eps is added after the square root.
    """

    def __init__(self, size: int, dtype="float64", config: RMSpropConfig = RMSpropConfig()) -> None:
        super().__init__(size, dtype, ("cache",))
        self.config = config
        self.cache = self._state["cache"]

    def update(self, params: np.ndarray, grads: np.ndarray,
               learning_rate: float | None = None) -> None:
        """One step on the flat buffers; learning_rate defaults to the config's."""
        self._check(params, grads)
        cfg, cache, tmp, g = self.config, self.cache, self._tmp, grads
        lr = cfg.learning_rate if learning_rate is None else learning_rate
        np.multiply(g, g, tmp)
        tmp *= 1.0 - cfg.decay
        cache *= cfg.decay
        cache += tmp
        np.sqrt(cache, tmp)
        tmp += cfg.eps
        np.divide(g, tmp, tmp)
        tmp *= lr
        params -= tmp


class Adam(_FlatOptimizer):
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  t += 1
    p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

    The step count t is state too ("t", a one-entry int64 array), so bias correction resumes.
    """

    def __init__(self, size: int, dtype="float64", config: AdamConfig = AdamConfig()) -> None:
        super().__init__(size, dtype, ("m", "v"))
        self._state["t"] = np.zeros(1, np.int64)
        self.config = config
        self.m, self.v = self._state["m"], self._state["v"]
        self._tmp2 = np.empty(size, self.dtype)

    @property
    def t(self) -> int:
        """Updates made so far."""
        return int(self._state["t"][0])

    def update(self, params: np.ndarray, grads: np.ndarray,
               learning_rate: float | None = None) -> None:
        """One step on the flat buffers; learning_rate defaults to the config's."""
        self._check(params, grads)
        cfg, m, v, tmp, tmp2, g = self.config, self.m, self.v, self._tmp, self._tmp2, grads
        lr = cfg.learning_rate if learning_rate is None else learning_rate
        self._state["t"] += 1
        t = self.t
        m *= cfg.beta1
        np.multiply(g, 1.0 - cfg.beta1, tmp)
        m += tmp
        v *= cfg.beta2
        np.multiply(g, g, tmp)
        tmp *= 1.0 - cfg.beta2
        v += tmp
        np.divide(v, 1.0 - cfg.beta2 ** t, tmp)  # v-hat
        np.sqrt(tmp, tmp)
        tmp += cfg.eps
        np.divide(m, 1.0 - cfg.beta1 ** t, tmp2)  # m-hat
        np.divide(tmp2, tmp, tmp2)
        tmp2 *= lr
        params -= tmp2
