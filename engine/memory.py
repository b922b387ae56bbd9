"""Memory budgets: what a model will take, estimated from its Config before anything is
allocated, and what this process may still allocate.

One estimate serves every way a model comes to be: a new run (the command line, a preset, the
app's `R`), a resume, a live edit (only what the edit adds), and the checkpoint readers
(`sample`, `score`, `neurons`), which check what a file's config claims before they decode a
member. The sizes mirror what engine/nets allocates (parameters, gradients, the optimizer's
buffers and their rollback and checkpoint copies, the carried state, the window workspaces of
engine/nets/cells.py, network.py and min_char.py); tests/test_memory.py holds the estimate
to tracemalloc's count of real allocations so it cannot drift far from them.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from .config import Config, ConfigError
from .nets.network import PRIME_CHUNK, ModelSpec, Network

SHARE = 0.8  # of what is free, a plan may take: the rest is for temporaries, the UI and others
VIEW_BYTES = 130  # one numpy view and its share of a tuple: workspaces keep a few per timestep
# views a workspace keeps per timestep and layer (its forward_rows and backward_rows)
STEP_VIEWS = {"min-char": 5, "rnn": 6, "lstm": 18, "gru": 20}
SAMPLE_BYTES_PER_CHAR = 96  # a draw, its index and its character, as Python objects
OPTIMIZER_BUFFERS = {"adagrad": 1, "rmsprop": 1, "adam": 2}  # state kept (and checkpointed)
OPTIMIZER_SCRATCH = {"adagrad": 1, "rmsprop": 1, "adam": 2}  # update temporaries, kept
READ_WORKSPACE_BYTES = 32 << 20  # a model read for scoring takes chunks of about this size
READ_CHUNK = 256  # characters per chunk, unless the vocabulary makes that too much


class MemoryBudgetError(ConfigError):
    """A plan that needs more memory than there is; the message is one line for the user."""


@dataclass(frozen=True)
class Part:
    """One item of an estimate: what it is, its size, and the settings that drive it."""

    what: str
    nbytes: int
    drivers: str  # e.g. "--batch 32 × --seq-length 64 × --hidden 256 × --layers 2"


@dataclass(frozen=True)
class Estimate:
    parts: tuple[Part, ...]

    @property
    def total(self) -> int:
        return sum(p.nbytes for p in self.parts)

    @property
    def largest(self) -> Part:
        return max(self.parts, key=lambda p: p.nbytes)

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(self.parts + other.parts)

    def beyond(self, current: Estimate) -> Estimate:
        """What this plan adds to one already allocated: the parts it does not share (a new
        seq length's workspace is allocated while the old one is still held)."""
        return Estimate(tuple(p for p in self.parts if p not in current.parts))


def size_text(nbytes: float) -> str:
    """1536 -> '1.5 KiB'."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(nbytes) < 1024 or unit == "PiB":
            return f"{nbytes:.0f} {unit}" if unit == "B" else f"{nbytes:.1f} {unit}"
        nbytes /= 1024
    return f"{nbytes:.1f} PiB"


# -- the estimate ------------------------------------------------------------------------------

def _itemsize(config: Config) -> int:
    return 8 if config.dtype == "float64" else 4


def parameter_count(config: Config, vocab_size: int) -> int:
    """How many weights the model has (min-char-rnn's five, or a network's layout)."""
    V, H = vocab_size, config.hidden_size
    if config.is_min_char_rnn:
        return 2 * V * H + H * H + H + V
    _, shapes = Network.layout(V, ModelSpec.of(config))
    return sum(math.prod(s) for s in shapes)


def _flags(config: Config, *names: str) -> str:
    """'--batch 32 × --seq-length 64 × ...': the flags of `names`; a batch or a layer count of
    1 is left out (it is no lever)."""
    value = {"batch": config.batch, "seq-length": config.seq_length,
             "hidden": config.hidden_size, "layers": config.layers,
             "sample-length": config.sample_length}
    return " × ".join(f"--{n} {value[n]}" for n in names
                      if not (n in ("batch", "layers") and value[n] == 1))


def _gates(config: Config) -> tuple[int, int]:
    """(gate blocks G, state parts S) of a layer."""
    return {"rnn": (1, 1), "lstm": (4, 2), "gru": (3, 1)}[config.cell]


def workspace_bytes(config: Config, vocab_size: int, T: int, B: int) -> int:
    """One (T, B) window's workspace of the model `config` trains (min-char-rnn's, or a
    network's)."""
    V, H = vocab_size, config.hidden_size
    if config.is_min_char_rnn:  # engine/nets/min_char.py's _Workspace
        views = T * STEP_VIEWS["min-char"] * VIEW_BYTES
        return 8 * (5 * T * V + 7 * T * H + 11 * T + 4 * H) + views
    return network_workspace_bytes(config.cell, V, H, config.layers, T, B, _itemsize(config),
                                   config.dropout > 0)


def network_workspace_bytes(cell: str, V: int, H: int, L: int, T: int, B: int, itemsize: int,
                            dropout: bool = False) -> int:
    """A network's (T, B) workspace: each layer's (engine/nets/cells.py), then the output
    layer's and dropout's (engine/nets/network.py)."""
    z, TB = itemsize, T * B
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    per_layer = (2 * TB * G * H + (T + 1) * B * H + TB * H + B * G * H + B * H + G * H * H)
    per_layer += {"rnn": TB * H,
                  "lstm": (T + 1) * B * H + TB * H + B * H + TB * 4 * H + TB * H + 2 * B * H
                  + 2 * B * 4 * H,
                  "gru": 3 * TB * 3 * H + TB * H + 2 * B * H}[cell]
    total = L * per_layer * z + TB * V * z + 2 * TB * 8  # layer 0's one-hot rows and indices
    total += L * T * STEP_VIEWS[cell] * VIEW_BYTES
    total += 3 * TB * V * z + 3 * TB * z + 6 * TB * 8  # logits, p, dy; row sums; indices
    if dropout:
        total += L * TB * H * (1 + 2 * z) + TB * H * 8  # keep, mask, x; one layer's draw
    return total


def _sampling(config: Config, V: int) -> int:
    """Drawing a sample after a prime: a network reads the prime PRIME_CHUNK characters at a
    time, then one; both draw through two float64 rows of V."""
    if config.is_min_char_rnn:
        return 4 * V * 8
    return (workspace_bytes(config, V, PRIME_CHUNK, 1) + workspace_bytes(config, V, 1, 1)
            + 2 * V * 8)


def training(config: Config, vocab_size: int | None) -> Estimate:
    """Everything training `config` on a vocabulary of `vocab_size` allocates (None: not known
    yet, before the corpus is read; the least any vocabulary takes)."""
    V, H, L, B, T = (vocab_size or 1, config.hidden_size, config.layers, config.batch,
                     config.seq_length)
    vocab = "" if vocab_size is None else f", vocabulary {vocab_size}"
    z = _itemsize(config)
    P = parameter_count(config, V) * z
    kept = OPTIMIZER_BUFFERS[config.optimizer]
    scratch = OPTIMIZER_SCRATCH[config.optimizer] + (1 if config.is_min_char_rnn else 0)
    _, S = _gates(config)
    state = L * S * B * H * z
    model = _flags(config, "hidden", "layers")
    window = _flags(config, "batch", "seq-length", "hidden", "layers")
    parts = [
        Part("the weights, their gradients and the optimizer's buffers",
             P * (2 + kept + scratch), model + vocab),
        # the last good copy (rollback) and the copy a checkpoint is written from
        Part("the rollback and checkpoint copies", 2 * (P * (1 + kept) + state), model + vocab),
        Part("the carried state", 3 * state + B * 8, _flags(config, "batch", "hidden", "layers")),
        Part("the window workspace", workspace_bytes(config, V, T, B)
             + (T + 1) * (B * 12 + 8) + 2 * T * B * 4, window + vocab),
        Part("a sample", config.sample_length * SAMPLE_BYTES_PER_CHAR + _sampling(config, V),
             _flags(config, "sample-length")),
    ]
    if config.val_fraction:
        parts.append(Part("the validation workspace", workspace_bytes(config, V, T, 1),
                          _flags(config, "seq-length", "hidden", "layers")))
    return Estimate(tuple(parts))


def read_chunk(vocab_size: int) -> int:
    """Characters per forward pass when a saved model reads a long text (score, the explorer):
    READ_CHUNK, fewer for a vocabulary so large that the logits would dominate."""
    return max(8, min(READ_CHUNK, READ_WORKSPACE_BYTES // (24 * max(1, vocab_size))))


def reading(config: Config, vocab_size: int, kept_chars: int = 0,
            sample_length: int = 0) -> Estimate:
    """A saved model used without training (sample, score, neurons): its weights, the float64
    copy engine/inspect/probe.py reads with, one chunk's workspace, the states the explorer
    keeps for `kept_chars` characters, and a sample of `sample_length`."""
    V, H, L = vocab_size, config.hidden_size, config.layers
    P = parameter_count(config, V)
    _, S = _gates(config)
    model = _flags(config, "hidden", "layers")
    parts = [
        Part("the weights and their float64 copy", P * (_itemsize(config) + 8),
             f"{model}, vocabulary {V}"),
        # probe.py reads through a float64 Network (min-char-rnn's as a one-layer tanh one)
        Part("the reading workspace", network_workspace_bytes(config.cell, V, H, L,
                                                              read_chunk(V), 1, 8),
             f"{model}, vocabulary {V}"),
    ]
    if kept_chars:
        parts.append(Part("the states read", kept_chars * (L * S * H * 8 + 16),
                          f"{kept_chars} characters × {model}"))
    if sample_length:
        parts.append(Part("a sample", sample_length * SAMPLE_BYTES_PER_CHAR
                          + _sampling(config, V), f"--length {sample_length}"))
    return Estimate(tuple(parts))


def checkpoint_arrays(config: Config, vocab_size: int) -> Estimate:
    """A checkpoint's decoded members: weights, optimizer buffers and carried state."""
    z = _itemsize(config)
    P = parameter_count(config, vocab_size) * z
    _, S = _gates(config)
    state = config.layers * S * config.batch * config.hidden_size * z
    return Estimate((Part("the checkpoint's arrays",
                          P * (1 + OPTIMIZER_BUFFERS[config.optimizer]) + state,
                          f"{_flags(config, 'hidden', 'layers')}, vocabulary {vocab_size}"),))


# -- what this process may still allocate ----------------------------------------------------

def _read_kib(path: str, key: str) -> int | None:
    """A 'Key:  N kB' line of a /proc file, in bytes."""
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _read_int(path: str) -> int | None:
    try:
        with open(path, encoding="ascii") as f:
            text = f.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _machine() -> int | None:
    """Free memory: MemAvailable where the kernel says it, else free (or half of all) pages."""
    free = _read_kib("/proc/meminfo", "MemAvailable")
    if free is not None:
        return free
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        try:
            return os.sysconf("SC_AVPHYS_PAGES") * page
        except (ValueError, OSError):
            return os.sysconf("SC_PHYS_PAGES") * page // 2
    except (ValueError, OSError, AttributeError):
        return None


def _cgroup() -> int | None:
    """Room left under a container's memory limit (cgroup v2, then v1)."""
    for limit, usage in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                         ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                          "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        cap, used = _read_int(limit), _read_int(usage)
        if cap is not None and used is not None and cap < 1 << 60:
            return max(0, cap - used)
    return None


def _rlimits() -> list[int]:
    """Room left under this process's address-space and data limits (ulimit -v, -d)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return []
    out = []
    for name, status in (("RLIMIT_AS", "VmSize"), ("RLIMIT_DATA", "VmData")):
        which = getattr(resource, name, None)
        if which is None:
            continue
        soft, _ = resource.getrlimit(which)
        if soft != resource.RLIM_INFINITY and soft > 0:
            out.append(max(0, soft - (_read_kib("/proc/self/status", status) or 0)))
    return out


def available_bytes() -> int | None:
    """What this process may still allocate: the machine's free memory, within a container's
    limit and the process's own limits; None where none of them can be read."""
    found = [n for n in (_machine(), _cgroup(), *_rlimits()) if n is not None]
    return min(found) if found else None


def check(estimate: Estimate, what: str = "this model",
          available: int | None = None) -> None:
    """Raise MemoryBudgetError (one line: how much, mostly what, which flags) when `estimate`
    is over SHARE of `available` (default: `available_bytes()`, read now)."""
    room = available_bytes() if available is None else available
    if room is None:
        return
    budget = int(room * SHARE)
    need = estimate.total
    if need <= budget:
        return
    big = estimate.largest
    raise MemoryBudgetError(
        f"{what} needs about {size_text(need)} of memory, mostly {big.what} "
        f"({size_text(big.nbytes)}: {big.drivers}), but only {size_text(budget)} can be "
        f"spared here")


__all__ = ["Estimate", "MemoryBudgetError", "Part", "available_bytes", "check",
           "checkpoint_arrays", "parameter_count", "read_chunk", "reading", "size_text",
           "network_workspace_bytes", "training", "workspace_bytes"]
