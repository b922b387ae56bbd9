"""Checkpoints: a trainer's whole state in one `.npz`, written atomically, read with validation.

A checkpoint holds everything needed to continue bit for bit: parameters, Adagrad memories,
the carried hidden state, data pointer, iteration, smoothed loss, both random streams,
hyperparameters, the vocabulary and the corpus fingerprint. Files are read only with
`np.load(..., allow_pickle=False)`, and every field is checked before anything is used.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from .. import memory
from ..config import MAX_SEQ_LENGTH, Config, ConfigError
from ..data import Corpus, encode
from ..nets.learners import MinCharLearner
from ..nets.min_char import PARAM_NAMES, RNN, param_shapes
from ..nets.network import ModelSpec, Network
from ..text import visible
from ..trainer import Trainer, loss_ceiling
from .files import FileRefused, describe_os_error, open_regular

try:
    import fcntl
except ImportError:  # not on Windows: stale temporary files then go by age
    fcntl = None

# 1: min-char-rnn (its five parameters by name, Adagrad's memories, hprev); still written for
# that model, so older versions read its files. 2: a Network (parameters by layer name, the
# optimizer's state, the (L, S, B, H) state and each stream's position).
FORMAT_VERSION = 1
NETWORK_FORMAT = 2
FORMATS = (FORMAT_VERSION, NETWORK_FORMAT)
KIND = "charrnn-tui checkpoint"
SUFFIX = ".npz"
# a run's files: ckpt-<run>-<iteration>.npz; older versions wrote ckpt-<iteration>.npz
_RUN = re.compile(r"\d{8}-\d{6}-[0-9a-f]{8}")
_NAME = re.compile(r"^ckpt-(?:(?P<run>\d{8}-\d{6}-[0-9a-f]{8})-)?(?P<iteration>\d{9,})\.npz$")
_TMP_SUFFIX = ".tmp"
_TMP = re.compile(r"^\.(ckpt-.*\.npz\..*|write-test-.*)\.tmp$")
_STALE_SECONDS = 3600.0  # where there are no file locks, a temporary file this old is stale
# every setting but the BLAS threads: how one machine trains it, not the model's (its default
# follows the model where it is resumed)
_CONFIG_FIELDS = tuple(f.name for f in fields(Config) if f.name != "threads")


class CheckpointError(ValueError):
    """A checkpoint that cannot be written or trusted; the message is one line naming the file."""


@dataclass(frozen=True)
class CheckpointInfo:
    """What a resume picker shows, read without building a trainer."""

    path: Path
    iteration: int
    smooth_loss: float
    seq_length: int  # the smoothed loss is per window of this many characters
    saved_at: float  # unix time
    run: str  # the run that wrote it ("" for files of older versions)
    seed: int
    hidden_size: int


# -- writing ---------------------------------------------------------------------------------

def _state_arrays(trainer: Trainer) -> dict[str, np.ndarray]:
    network = not isinstance(trainer.learner, MinCharLearner)
    arrays: dict[str, np.ndarray] = {
        "kind": np.array(KIND),
        "format_version": np.array(NETWORK_FORMAT if network else FORMAT_VERSION,
                                   dtype=np.int64),
        "saved_at": np.array(time.time()),
        "corpus_name": np.array(trainer.corpus.name),
        "corpus_fingerprint": np.array(trainer.corpus.fingerprint),
        "vocab": np.array([ord(c) for c in trainer.corpus.vocab], dtype=np.uint32),
        "next_ix": np.array(int(trainer.corpus.ix[trainer.p]), dtype=np.int64),
        "iteration": np.array(trainer.n, dtype=np.int64),
        "position": np.array(trainer.p, dtype=np.int64),
        "epoch": np.array(trainer.epoch, dtype=np.int64),
        "chars_seen": np.array(trainer.chars_seen, dtype=np.int64),
        "smooth_loss": np.array(trainer.smooth_loss),
        "last_loss": np.array(trainer.last_loss),
    }
    learner = trainer.learner
    if network:
        for name, param in zip(learner.names, learner.params.views):
            arrays["param_" + name] = param.copy()
        for name, buf in learner.optimizer_state().items():
            arrays["opt_" + name] = buf.copy()
        arrays["state"] = learner.state.copy()
        arrays["positions"] = trainer._streams.positions.copy()
    else:
        arrays["hprev"] = learner.state.copy()
        for name, param, mem in zip(PARAM_NAMES, learner.params.views,
                                    learner.optimizer.mem.views):
            arrays[name] = param.copy()
            arrays["m" + name] = mem.copy()
    for prefix, rng in (("rng", trainer.rng), ("sample_rng", trainer.sample_rng)):
        _, key, pos, has_gauss, gauss = rng.get_state()
        arrays[f"{prefix}_key"] = np.asarray(key, dtype=np.uint32)
        arrays[f"{prefix}_pos"] = np.array(pos, dtype=np.int64)
        arrays[f"{prefix}_has_gauss"] = np.array(has_gauss, dtype=np.int64)
        arrays[f"{prefix}_gauss"] = np.array(gauss, dtype=np.float64)
    for name in _CONFIG_FIELDS:
        value = getattr(trainer.config, name)
        arrays["config_" + name] = np.array(value)
    return arrays


def save_checkpoint(trainer: Trainer, path: str | os.PathLike[str]) -> Path:
    """Write atomically: a temp file in the same directory, fsync, then os.replace.

    A crash at any point leaves either the old file or the new one, never a torn one.
    Refuses to write non-finite parameters.
    """
    path = Path(path)
    try:
        if not (np.isfinite(trainer.learner.params.flat).all()
                and math.isfinite(trainer.smooth_loss)):
            raise CheckpointError(f"{path}: not saved: the parameters are not finite")
        arrays = _state_arrays(trainer)
    except MemoryError:  # the copies did not fit; the previous checkpoints stay
        raise CheckpointError(f"{path}: not saved: out of memory") from None
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=_TMP_SUFFIX, dir=path.parent)
        if fcntl is not None:  # held until closed: tells remove_stale_temporaries it is live
            fcntl.flock(fd, fcntl.LOCK_EX)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise CheckpointError(describe_os_error(path, exc, "could not save")) from None
    except MemoryError:
        raise CheckpointError(f"{path}: not saved: out of memory") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return path


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (where the platform allows opening a directory)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# -- reading ---------------------------------------------------------------------------------

# a checkpoint is read with nothing but np.load(..., allow_pickle=False), member by member:
# only the members this program knows are ever decoded, and each one's npy header (dtype,
# shape) and declared size are checked before its data is read
MAX_CHECKPOINT_BYTES = 1 << 36  # the file as a whole; members are bounded by their shapes
_ZIP_MAGIC = b"PK\x03\x04"
_INT_RANGE = (0, 2**62)  # counters: far beyond any run, and safe in int64 arithmetic
MAX_VOCAB = 0x110000  # one entry per Unicode code point at the most
_MAX_ENTRY_BYTES = 16  # of a number member (no numeric dtype is wider)


def _open_npz(path: Path):
    """The file as an open NpzFile (lazy: nothing is decoded yet)."""
    try:
        f = open_regular(path, MAX_CHECKPOINT_BYTES, "checkpoint")
    except FileRefused as exc:
        raise CheckpointError(str(exc)) from None
    try:
        if f.read(4) != _ZIP_MAGIC:
            raise CheckpointError(f"{path}: not a checkpoint (not an .npz archive)")
        f.seek(0)
        npz = np.load(f, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise CheckpointError(f"{path}: not a checkpoint (.npz archive expected)")
        npz._owned_file = f  # closed with the archive (see _Fields.close)
        return npz
    except CheckpointError:
        f.close()
        raise
    except Exception as exc:  # a hostile file may trip anything in zip parsing
        f.close()
        raise CheckpointError(f"{path}: damaged or truncated ({_first_line(exc)})") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _Fields:
    """Typed access to the members of one open file, each failure a one-line CheckpointError.

    `get` reads a member's npy header first and refuses it (without decoding) when its dtype,
    shape or declared size is not what the caller expects.
    """

    def __init__(self, path: Path, npz) -> None:
        self.path, self.npz = path, npz
        self.names = set(npz.files)

    def __enter__(self) -> _Fields:
        return self

    def __exit__(self, *exc) -> None:
        self.npz.close()
        self.npz._owned_file.close()

    def fail(self, why: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: {why}")

    def has(self, key: str) -> bool:
        return key in self.names

    def _header(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        member = key + ".npy"
        try:
            info = self.npz.zip.getinfo(member)
            with self.npz.zip.open(member) as m:
                version = np.lib.format.read_magic(m)
                if version == (1, 0):
                    shape, _, dtype = np.lib.format.read_array_header_1_0(m)
                elif version == (2, 0):
                    shape, _, dtype = np.lib.format.read_array_header_2_0(m)
                else:
                    raise self.fail(f"field '{key}' has an unsupported npy version {version}")
                header = m.tell()
        except CheckpointError:
            raise
        except Exception as exc:
            raise self.fail(f"field '{key}' is damaged ({_first_line(exc)})") from None
        if dtype.hasobject:
            raise self.fail(f"field '{key}' holds pickled Python objects; refused")
        if info.file_size != header + math.prod(shape) * dtype.itemsize:
            raise self.fail(f"field '{key}' declares {info.file_size:,} bytes, which does not "
                            f"match its header's shape {shape}")
        return shape, dtype

    def header(self, key: str) -> tuple[tuple[int, ...], np.dtype]:
        """The member's (shape, dtype), read from its npy header alone."""
        if key not in self.names:
            raise self.fail(f"missing field '{key}'")
        return self._header(key)

    def check(self, key: str, kinds: str, shape: tuple[int, ...] | None = None,
              max_size: int | None = None, dtype: str = "float64",
              max_chars: int | None = None) -> None:
        """Refuse the member `key` from its header alone unless it is what the caller expects:
        "f" means floats of `dtype`; the entries are bounded by `shape` or `max_size` and each
        entry's bytes by its kind (a string's by `max_chars`), so its declared size is known to
        be small enough before a byte of it is decoded (a deflated member can claim anything)."""
        found, found_dtype = self.header(key)
        if found_dtype.kind not in kinds or (kinds == "f" and found_dtype != np.dtype(dtype)):
            expected = dtype if kinds == "f" else f"kind {kinds!r}"
            raise self.fail(f"field '{key}' has dtype {found_dtype}, expected {expected}")
        if shape is not None and found != shape:
            raise self.fail(f"field '{key}' has shape {found}, expected {shape}")
        if max_size is not None and math.prod(found) > max_size:
            raise self.fail(f"field '{key}' has {math.prod(found):,} entries, over {max_size:,}")
        if shape is None and max_size is None:
            raise ValueError(f"reading '{key}' needs a shape or a maximum size")
        per_entry = _MAX_ENTRY_BYTES
        if found_dtype.kind in "US":
            per_entry = (max_chars or 0) * (4 if found_dtype.kind == "U" else 1)
        if found_dtype.itemsize > per_entry:
            what = (f"is longer than {max_chars} characters" if found_dtype.kind in "US" else
                    f"has entries of {found_dtype.itemsize} bytes")
            raise self.fail(f"field '{key}' {what} (refused before decoding)")

    def get(self, key: str, kinds: str, shape: tuple[int, ...] | None = None,
            max_size: int | None = None, dtype: str = "float64",
            max_chars: int | None = None) -> np.ndarray:
        """The member `key`, decoded only after `check` accepted its header."""
        self.check(key, kinds, shape, max_size, dtype, max_chars)
        try:
            a = self.npz[key]
        except Exception as exc:
            raise self.fail(f"field '{key}' is damaged ({_first_line(exc)})") from None
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise self.fail(f"field '{key}' holds non-finite values")
        return a

    def scalar(self, key: str, kinds: str):
        return self.get(key, kinds, ()).item()

    def integer(self, key: str, low: int = _INT_RANGE[0], high: int = _INT_RANGE[1]) -> int:
        value = int(self.scalar(key, "iub"))
        if not low <= value <= high:
            raise self.fail(f"field '{key}' is {value}, outside {low}..{high}")
        return value

    def number(self, key: str, low: float, high: float) -> float:
        value = float(self.scalar(key, "f"))
        if not low <= value <= high:
            raise self.fail(f"field '{key}' is {value:.6g}, outside {low:g}..{high:g}")
        return value

    def text(self, key: str, max_chars: int = 4096) -> str:
        """A string member, without control characters (engine/text.py): checkpoint strings
        reach messages and screens."""
        return visible(str(self.get(key, "U", (), max_chars=max_chars).item()))


@dataclass(frozen=True)
class CheckpointState:
    """A validated checkpoint's training state (everything but the hyperparameters)."""

    vocab: str
    params: dict[str, np.ndarray]  # by the model's parameter names
    optimizer: dict[str, np.ndarray]  # format 1: Adagrad's memory per parameter ("m" + name);
    # format 2: the optimizer's state by its own names (flat)
    state: np.ndarray  # the carried state: hprev (H,), or a network's (L, S, B, H)
    positions: np.ndarray | None  # each stream's position (format 2)
    next_ix: int
    iteration: int
    position: int
    epoch: int
    chars_seen: int
    smooth_loss: float
    last_loss: float  # nan in files from before it was saved
    rng: tuple  # np.random.RandomState.get_state() of the periodic-sample stream
    sample_rng: tuple
    corpus_name: str
    corpus_fingerprint: str
    saved_at: float

    @property
    def hprev(self) -> np.ndarray:
        return self.state


_STRING_FIELDS = {"cell", "dtype", "optimizer"}


def _read_config(f: _Fields, version: int) -> Config:
    raw = {}
    for name in _CONFIG_FIELDS:
        key = "config_" + name
        if not f.has(key) and (name in _NEW_IN_ANY_FORMAT or
                               (version == FORMAT_VERSION and name in _NEW_IN_FORMAT_1)):
            continue  # a file from before the field: its default, which is what it trained with
        raw[name] = (f.text(key, 16) if name in _STRING_FIELDS
                     else f.get(key, "biuf", ()).item())
    try:
        return Config(**raw)
    except (ConfigError, TypeError) as exc:
        raise f.fail(f"bad hyperparameters ({exc})") from None


# fields that files of format 1 written before the model family lack
_NEW_IN_FORMAT_1 = {"cell", "layers", "dropout", "batch", "dtype", "optimizer"}
# fields that files of either format written before the cooldown lack
_NEW_IN_ANY_FORMAT = {"cooldown"}


def _model_members(config: Config, V: int) -> dict[str, tuple[str, tuple[int, ...], str]]:
    """The members that hold the model, as (kinds, shape, dtype) by name: what the file's
    config claims, checked against the headers before any is decoded."""
    H = config.hidden_size
    if config.is_min_char_rnn:
        members = {}
        for name, shape in zip(PARAM_NAMES, param_shapes(V, H)):
            members[name] = members["m" + name] = ("f", shape, "float64")
        members["hprev"] = ("f", (H,), "float64")
        return members
    dt = config.dtype
    names, shapes = Network.layout(V, ModelSpec.of(config))
    members = {"param_" + n: ("f", shape, dt) for n, shape in zip(names, shapes)}
    size = sum(math.prod(shape) for shape in shapes)
    for name in _OPTIMIZER_STATE[config.optimizer]:
        members["opt_" + name] = ("f", (size,), dt)
    if config.optimizer == "adam":
        members["opt_t"] = ("iu", (1,), "int64")
    parts = 2 if config.cell == "lstm" else 1
    members["state"] = ("f", (config.layers, parts, config.batch, H), dt)
    members["positions"] = ("iu", (config.batch,), "int64")
    return members


_OPTIMIZER_STATE = {"adagrad": ("memory",), "rmsprop": ("cache",), "adam": ("m", "v")}


def _member(f: _Fields, members: dict, key: str) -> np.ndarray:
    kinds, shape, dtype = members[key]
    return f.get(key, kinds, shape, dtype=dtype)


def _read_min_char(f: _Fields, config: Config, members: dict):
    params, memories = {}, {}
    for name in PARAM_NAMES:
        params[name] = _member(f, members, name)
        mem = _member(f, members, "m" + name)
        if (mem < 0).any():
            raise f.fail(f"field 'm{name}' has negative Adagrad memory")
        memories["m" + name] = mem
    return params, memories, _member(f, members, "hprev"), None


def _read_network(f: _Fields, config: Config, members: dict):
    params = {key.removeprefix("param_"): _member(f, members, key) for key in members
              if key.startswith("param_")}
    names = _OPTIMIZER_STATE[config.optimizer]
    optimizer = {name: _member(f, members, "opt_" + name) for name in names}
    for name in set(names) & {"memory", "cache", "v"}:
        if (optimizer[name] < 0).any():
            raise f.fail(f"field 'opt_{name}' has negative entries")
    if config.optimizer == "adam":
        t = _member(f, members, "opt_t")
        if not 0 <= int(t[0]) <= _INT_RANGE[1]:
            raise f.fail("field 'opt_t' is out of range")
        optimizer["t"] = t.astype(np.int64)
    state = _member(f, members, "state")
    positions = _member(f, members, "positions")
    if positions.size and (positions.min() < 0 or positions.max() > _INT_RANGE[1]):
        raise f.fail("field 'positions' is out of range")  # the corpus is checked on load
    return params, optimizer, state, positions.astype(np.int64)


def _check_bounded(f: _Fields, config: Config, params: dict[str, np.ndarray],
                   state: np.ndarray) -> None:
    """Finite is not sane: weights of 1e308 make every forward pass overflow. A weight's
    magnitude is at most the square root of the dtype's largest number and a hidden state
    (tanh's, a GRU's mix of them, an LSTM's o * tanh c) lies in [-1, 1]; then every product of
    a forward pass (at most H + 2 terms of weight x activation) stays finite, so no command
    turns a loaded model into nan."""
    bound = math.sqrt(float(np.finfo(np.dtype(config.dtype)).max))
    for name, p in params.items():
        if p.size and max(-float(p.min()), float(p.max())) > bound:
            raise f.fail(f"the weights '{name}' reach {max(-float(p.min()), float(p.max())):.3g},"
                         f" over {bound:.3g}: no forward pass through them stays finite")
    h = state if config.is_min_char_rnn else state[:, 0]  # an LSTM's c (part 1) is unbounded
    if h.size and max(-float(h.min()), float(h.max())) > _MAX_HIDDEN:
        raise f.fail("the carried hidden state lies outside [-1, 1], which no cell produces")


_MAX_HIDDEN = 1.0 + 1e-6  # a hidden state's bound, with room for a float32 mix's rounding


Plan = Callable[[Config, int], memory.Estimate]  # what a caller allocates for (config, V)


def read_checkpoint(path: str | os.PathLike[str], plan: Plan = memory.reading
                    ) -> tuple[Config, CheckpointState]:
    """Validate a file completely; return its config and state (no corpus needed).

    What the file's config claims is checked against the members' headers, and the members
    with what the caller will allocate for the model (`plan`: reading it, by default) against
    the memory there is (engine/memory.py), before any array is decoded."""
    path = Path(path)
    with _Fields(path, _open_npz(path)) as f:
        shape, kind = f.header("kind") if f.has("kind") else (None, None)
        if kind is None or kind.kind != "U" or shape != () or kind.itemsize > 4 * len(KIND) \
                or f.text("kind", len(KIND)) != KIND:  # so a long kind is not decoded either
            raise f.fail("not a charrnn-tui checkpoint")
        version = f.integer("format_version", 0, 2**31)
        if version not in FORMATS:
            raise f.fail(f"unknown format version {version} (this program reads versions "
                         f"{', '.join(map(str, FORMATS))})")
        config = _read_config(f, version)
        if (version == FORMAT_VERSION) != config.is_min_char_rnn:
            raise f.fail(f"format {version} does not hold a {config.describe_model()} model")
        vocab_codes = f.get("vocab", "u", max_size=MAX_VOCAB)
        if vocab_codes.ndim != 1 or vocab_codes.size == 0 or vocab_codes.max() > 0x10FFFF:
            raise f.fail("field 'vocab' is not a list of characters")
        if np.any(np.diff(vocab_codes.astype(np.int64)) <= 0):
            raise f.fail("field 'vocab' is not sorted by code point")
        try:  # one decode, not a million chr() calls; a surrogate is no character
            vocab = vocab_codes.astype("<u4").tobytes().decode("utf-32-le")
        except UnicodeDecodeError:
            raise f.fail("field 'vocab' is not a list of characters") from None
        V = len(vocab)
        members = _model_members(config, V)
        for key, (kinds, shape, dtype) in members.items():
            f.check(key, kinds, shape, dtype=dtype)
        try:
            memory.check(memory.checkpoint_arrays(config, V) + plan(config, V),
                         f"its model ({config.describe_model()}, vocabulary {V})")
        except memory.MemoryBudgetError as exc:
            raise f.fail(str(exc)) from None
        read = _read_min_char if version == FORMAT_VERSION else _read_network
        params, optimizer, hidden, positions = read(f, config, members)
        _check_bounded(f, config, params, hidden)
        # a smoothed loss is at most the divergence ceiling of the longest window
        ceiling = loss_ceiling(V, MAX_SEQ_LENGTH)
        rngs = {}
        for prefix in ("rng", "sample_rng"):
            key = f.get(f"{prefix}_key", "u", (624,))
            rngs[prefix] = ("MT19937", key.astype(np.uint32), f.integer(f"{prefix}_pos", 0, 624),
                            f.integer(f"{prefix}_has_gauss", 0, 1),
                            float(f.scalar(f"{prefix}_gauss", "f")))
        state = CheckpointState(
            vocab=vocab, params=params, optimizer=optimizer, state=hidden, positions=positions,
            next_ix=f.integer("next_ix", 0, V - 1),
            iteration=f.integer("iteration"), position=f.integer("position"),
            epoch=f.integer("epoch"), chars_seen=f.integer("chars_seen"),
            smooth_loss=f.number("smooth_loss", 0.0, ceiling),
            last_loss=f.number("last_loss", 0.0, ceiling) if f.has("last_loss") else math.nan,
            rng=rngs["rng"], sample_rng=rngs["sample_rng"],
            corpus_name=f.text("corpus_name"), corpus_fingerprint=f.text("corpus_fingerprint"),
            saved_at=f.number("saved_at", 0.0, 1e11))
    return config, state


def load_checkpoint(path: str | os.PathLike[str], corpus: Corpus) -> Trainer:
    """A trainer that continues exactly where the checkpoint left off, on this corpus."""
    path = Path(path)
    config, state = read_checkpoint(path, memory.training)
    if state.corpus_fingerprint != corpus.fingerprint or state.vocab != corpus.vocab:
        raise CheckpointError(f"{path}: trained on a different text ({state.corpus_name}, "
                              f"{state.corpus_fingerprint}), not {corpus.name} "
                              f"({corpus.fingerprint})")
    if not state.position < len(corpus) or (
            state.positions is not None and state.positions.size
            and state.positions.max() >= len(corpus)):
        raise CheckpointError(f"{path}: data position is past the end of the corpus")
    trainer = Trainer(corpus, config)
    restore(trainer, state)
    return trainer


def restore(trainer: Trainer, state: CheckpointState) -> None:
    """Overwrite a freshly built trainer's state with a validated checkpoint's."""
    learner = trainer.learner
    for name, param in zip(learner.names, learner.params.views):
        param[...] = state.params[name]
    if isinstance(learner, MinCharLearner):
        for name, mem in zip(PARAM_NAMES, learner.optimizer.mem.views):
            mem[...] = state.optimizer["m" + name]
    else:
        for name, buf in learner.optimizer_state().items():
            buf[...] = state.optimizer[name]
        trainer._streams.positions[...] = state.positions
    learner.state[...] = state.state
    trainer.n = state.iteration
    trainer.p = state.position
    trainer.epoch = state.epoch
    trainer.chars_seen = state.chars_seen
    trainer.restore_epochs()
    trainer.smooth_loss = state.smooth_loss
    trainer.last_loss = state.last_loss
    trainer.rng.set_state(state.rng)
    trainer.sample_rng.set_state(state.sample_rng)
    trainer.keep_rollback()


@dataclass
class SavedModel:
    """A checkpoint's network and vocabulary, enough to sample without the corpus."""

    config: Config
    vocab: str
    model: RNN | Network
    hprev: np.ndarray  # the carried state of stream 0: (H,), or (L, S, 1, H)
    next_ix: int
    iteration: int
    sample_rng: np.random.RandomState
    corpus_name: str = ""  # the file name of the corpus it was trained on

    def sample(self, length: int, prime: str | None = None, temperature: float | None = None,
               greedy: bool | None = None, rng: np.random.RandomState | None = None) -> str:
        ixes = encode(self.vocab, prime) if prime else [self.next_ix]
        out = self.model.sample(
            self.model.hidden_after(self.hprev, ixes[:-1]), ixes[-1], length,
            rng or self.sample_rng,
            self.config.temperature if temperature is None else temperature,
            self.config.greedy if greedy is None else greedy)
        return "".join(self.vocab[i] for i in out)


def load_model(path: str | os.PathLike[str], kept_chars: int = 0,
               sample_length: int = 0) -> SavedModel:
    """The checkpoint's model for sampling, scoring or reading, budgeted for a reading that
    keeps the states of `kept_chars` characters and a sample of `sample_length`."""
    config, state = read_checkpoint(path, lambda config, V: memory.reading(
        config, V, kept_chars, sample_length))
    V = len(state.vocab)
    if config.is_min_char_rnn:
        model: RNN | Network = RNN(V, config.hidden_size)
        hprev = state.state.copy()
    else:
        model = Network(V, ModelSpec.of(config))
        hprev = state.state[:, :, :1].copy()
    for name, param in zip(model.names if isinstance(model, Network) else PARAM_NAMES,
                           model.params.views):
        param[...] = state.params[name]
    rng = np.random.RandomState()
    rng.set_state(state.sample_rng)
    return SavedModel(config, state.vocab, model, hprev, state.next_ix, state.iteration, rng,
                      state.corpus_name)


def checkpoint_info(path: str | os.PathLike[str]) -> CheckpointInfo:
    """What a listing shows; the file is validated (its arrays decoded, then dropped)."""
    config, state = read_checkpoint(path, lambda config, V: memory.Estimate(()))
    return CheckpointInfo(Path(path), state.iteration, state.smooth_loss, config.seq_length,
                          state.saved_at, run_of(path), config.seed, config.hidden_size)


def run_of(path: str | os.PathLike[str]) -> str:
    """The run a checkpoint file belongs to, from its name ("" for older versions' files)."""
    match = _NAME.match(Path(path).name)
    return (match.group("run") if match else None) or ""


# -- a directory of checkpoints --------------------------------------------------------------

def new_run_id() -> str:
    """A name no other run has: the start time, to the second, and 32 random bits."""
    return f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}"


class CheckpointStore:
    """The checkpoints of one directory: `ckpt-<run>-<iteration>.npz`, one run's files each.

    A store writes the files of its `run` (a new one unless given) and keeps that run's newest
    `keep`; it never deletes or replaces a file of another run. Listing (`paths`, `infos`,
    `latest`) covers every run's files, and the files of older versions
    (`ckpt-<iteration>.npz`, owned by no run).
    """

    def __init__(self, directory: str | os.PathLike[str], keep: int = 5,
                 run: str | None = None) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        if run is not None and not _RUN.fullmatch(run):
            raise ValueError(f"not a run id: {run!r}")
        self.directory = Path(directory)
        self.keep = keep
        self.run = run or new_run_id()  # the run whose files this store writes and prunes

    def open_for_writing(self) -> None:
        """Create the directory, prove a file can be written there, and remove the temporary
        files that a killed save left behind. Raises CheckpointError with one line."""
        d = self.directory
        try:
            d.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix=".write-test-", suffix=_TMP_SUFFIX, dir=d)
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise CheckpointError(
                describe_os_error(d, exc, "cannot write checkpoints here")) from None
        remove_stale_temporaries(d)

    def path_for(self, iteration: int) -> Path:
        return self.directory / f"ckpt-{self.run}-{iteration:09d}{SUFFIX}"

    def save(self, trainer: Trainer) -> Path:
        path = save_checkpoint(trainer, self.path_for(trainer.n))
        self._prune(keep_path=path)  # only once the new file is safely in place
        return path

    def paths(self, run: str | None = None) -> list[Path]:
        """Checkpoint files (of one run, if given), oldest first by write time (then
        iteration): a re-initialised or resumed model saves lower iterations after higher ones,
        and those are the newer."""
        try:
            entries = list(self.directory.iterdir())
        except OSError:
            return []
        found = []
        for p in entries:
            match = _NAME.match(p.name)
            if match and (run is None or match.group("run") == run) and p.is_file():
                found.append((_mtime(p), int(match.group("iteration")), p))
        return [p for _, _, p in sorted(found)]

    def infos(self) -> list[CheckpointInfo]:
        """Readable checkpoints, newest first; damaged files are skipped."""
        out = []
        for p in reversed(self.paths()):
            try:
                out.append(checkpoint_info(p))
            except CheckpointError:
                continue
        return out

    def latest(self) -> Path | None:
        """The newest checkpoint here that validates, or None."""
        infos = self.infos()
        return max(infos, key=lambda i: (i.saved_at, i.iteration)).path if infos else None

    def _prune(self, keep_path: Path) -> None:
        paths = [p for p in self.paths(self.run) if p != keep_path]
        for old in paths[:max(0, len(paths) - (self.keep - 1))]:
            try:
                old.unlink()
            except OSError:
                pass


def remove_stale_temporaries(directory: Path) -> list[Path]:
    """Delete the temporary files of saves that never finished (a kill -9 mid-write).

    A save holds an exclusive lock on its temporary file until it is renamed into place, so a
    file of our naming that can be locked belongs to no live save. Returns what was removed.
    """
    removed = []
    try:
        entries = [p for p in directory.iterdir() if _TMP.match(p.name)]
    except OSError:
        return removed
    for p in entries:
        try:
            if _is_abandoned(p):
                p.unlink()
                removed.append(p)
        except OSError:
            continue
    return removed


def _is_abandoned(p: Path) -> bool:
    if fcntl is None:  # no advisory locks: go by age
        return time.time() - p.stat().st_mtime > _STALE_SECONDS
    fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False  # a live save holds it
        return True
    finally:
        os.close(fd)


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0
