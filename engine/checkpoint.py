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
import tempfile
import time
import zipfile
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from .config import Config, ConfigError
from .data import Corpus, encode
from .model import PARAM_NAMES, RNN, param_shapes
from .trainer import Trainer

FORMAT_VERSION = 1
KIND = "charrnn-tui checkpoint"
SUFFIX = ".npz"
_NAME = re.compile(r"^ckpt-(\d{9,})\.npz$")
_CONFIG_FIELDS = tuple(f.name for f in fields(Config))


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


# -- writing ---------------------------------------------------------------------------------

def _state_arrays(trainer: Trainer) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {
        "kind": np.array(KIND),
        "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
        "saved_at": np.array(time.time()),
        "corpus_name": np.array(trainer.corpus.name),
        "corpus_fingerprint": np.array(trainer.corpus.fingerprint),
        "vocab": np.array([ord(c) for c in trainer.corpus.vocab], dtype=np.uint32),
        "hprev": trainer.hprev.copy(),
        "next_ix": np.array(int(trainer.corpus.ix[trainer.p]), dtype=np.int64),
        "iteration": np.array(trainer.n, dtype=np.int64),
        "position": np.array(trainer.p, dtype=np.int64),
        "epoch": np.array(trainer.epoch, dtype=np.int64),
        "chars_seen": np.array(trainer.chars_seen, dtype=np.int64),
        "smooth_loss": np.array(trainer.smooth_loss),
        "last_loss": np.array(trainer.last_loss),
    }
    for name, param, mem in zip(PARAM_NAMES, trainer.model.params.views,
                                trainer.optimizer.mem.views):
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
    if not (np.isfinite(trainer.model.params.flat).all() and math.isfinite(trainer.smooth_loss)):
        raise CheckpointError(f"{path}: not saved: the parameters are not finite")
    arrays = _state_arrays(trainer)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise CheckpointError(f"{path}: could not save ({exc.strerror or exc})") from None
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

def _read_all(path: Path) -> dict[str, np.ndarray]:
    try:
        if path.is_dir():
            raise CheckpointError(f"{path}: is a directory, not a checkpoint")
        with np.load(path, allow_pickle=False) as npz:
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise CheckpointError(f"{path}: not a checkpoint (.npz archive expected)")
            return {key: npz[key] for key in npz.files}
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError(f"{path}: no such checkpoint") from None
    except PermissionError:
        raise CheckpointError(f"{path}: permission denied") from None
    except ValueError as exc:  # object arrays (pickles) are refused by allow_pickle=False
        if "pickle" in str(exc):
            raise CheckpointError(f"{path}: not a checkpoint, or holds pickled Python objects; "
                                  f"refused") from None
        raise CheckpointError(f"{path}: not a valid checkpoint ({_first_line(exc)})") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise CheckpointError(f"{path}: damaged or truncated ({_first_line(exc)})") from None
    except Exception as exc:  # a hostile file may trip anything in zip/npy parsing
        raise CheckpointError(f"{path}: damaged ({type(exc).__name__}: {_first_line(exc)})") \
            from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _Fields:
    """Typed access to the arrays of one file, each failure a one-line CheckpointError."""

    def __init__(self, path: Path, arrays: dict[str, np.ndarray]) -> None:
        self.path, self.arrays = path, arrays

    def fail(self, why: str) -> CheckpointError:
        return CheckpointError(f"{self.path}: {why}")

    def get(self, key: str, kinds: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
        if key not in self.arrays:
            raise self.fail(f"missing field '{key}'")
        a = self.arrays[key]
        if a.dtype.kind not in kinds or (kinds == "f" and a.dtype != np.float64):
            expected = "float64" if kinds == "f" else f"kind {kinds!r}"
            raise self.fail(f"field '{key}' has dtype {a.dtype}, expected {expected}")
        if shape is not None and a.shape != shape:
            raise self.fail(f"field '{key}' has shape {a.shape}, expected {shape}")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise self.fail(f"field '{key}' holds non-finite values")
        return a

    def scalar(self, key: str, kinds: str):
        return self.get(key, kinds, ()).item()

    def text(self, key: str) -> str:
        return str(self.scalar(key, "U"))


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[Config, dict[str, object]]:
    """Validate a file completely; return its config and state (no corpus needed)."""
    path = Path(path)
    f = _Fields(path, _read_all(path))
    if "kind" not in f.arrays or f.arrays["kind"].dtype.kind != "U" or f.text("kind") != KIND:
        raise f.fail("not a charrnn-tui checkpoint")
    version = f.scalar("format_version", "iu")
    if version != FORMAT_VERSION:
        raise f.fail(f"unknown format version {version} (this program reads version "
                     f"{FORMAT_VERSION})")
    raw = {}
    for name in _CONFIG_FIELDS:
        a = f.get("config_" + name, "biuf", ())
        raw[name] = a.item()
    try:
        config = Config(**raw)
    except (ConfigError, TypeError) as exc:
        raise f.fail(f"bad hyperparameters ({exc})") from None
    vocab_codes = f.get("vocab", "u")
    if vocab_codes.ndim != 1 or vocab_codes.size == 0 or vocab_codes.max() > 0x10FFFF:
        raise f.fail("field 'vocab' is not a list of characters")
    if np.any(np.diff(vocab_codes.astype(np.int64)) <= 0):
        raise f.fail("field 'vocab' is not sorted by code point")
    vocab = "".join(map(chr, vocab_codes.tolist()))
    V, H = len(vocab), config.hidden_size
    state: dict[str, object] = {"vocab": vocab}
    for name, shape in zip(PARAM_NAMES, param_shapes(V, H)):
        state[name] = f.get(name, "f", shape)
        mem = f.get("m" + name, "f", shape)
        if (mem < 0).any():
            raise f.fail(f"field 'm{name}' has negative Adagrad memory")
        state["m" + name] = mem
    state["hprev"] = f.get("hprev", "f", (H,))
    next_ix = f.scalar("next_ix", "iu")
    if not 0 <= next_ix < V:
        raise f.fail("field 'next_ix' is outside the vocabulary")
    state["next_ix"] = int(next_ix)
    for key in ("iteration", "position", "epoch", "chars_seen"):
        value = f.scalar(key, "iu")
        if value < 0:
            raise f.fail(f"field '{key}' is negative")
        state[key] = int(value)
    state["smooth_loss"] = float(f.scalar("smooth_loss", "f"))
    last = f.get("last_loss", "f", ()) if "last_loss" in f.arrays else None
    state["last_loss"] = float(last.item()) if last is not None else math.nan
    for prefix in ("rng", "sample_rng"):
        key = f.get(f"{prefix}_key", "u", (624,))
        pos = f.scalar(f"{prefix}_pos", "iu")
        if not 0 <= pos <= 624:
            raise f.fail(f"field '{prefix}_pos' is out of range")
        state[prefix] = ("MT19937", key.astype(np.uint32), int(pos),
                         int(f.scalar(f"{prefix}_has_gauss", "iub")),
                         float(f.scalar(f"{prefix}_gauss", "f")))
    state["corpus_name"] = f.text("corpus_name")
    state["corpus_fingerprint"] = f.text("corpus_fingerprint")
    state["saved_at"] = float(f.scalar("saved_at", "f"))
    return config, state


def load_checkpoint(path: str | os.PathLike[str], corpus: Corpus) -> Trainer:
    """A trainer that continues exactly where the checkpoint left off, on this corpus."""
    path = Path(path)
    config, state = read_checkpoint(path)
    if state["corpus_fingerprint"] != corpus.fingerprint or state["vocab"] != corpus.vocab:
        raise CheckpointError(f"{path}: trained on a different text ({state['corpus_name']}, "
                              f"{state['corpus_fingerprint']}), not {corpus.name} "
                              f"({corpus.fingerprint})")
    if not state["position"] < len(corpus):
        raise CheckpointError(f"{path}: data position is past the end of the corpus")
    trainer = Trainer(corpus, config)
    restore(trainer, state)
    return trainer


def restore(trainer: Trainer, state: dict[str, object]) -> None:
    """Overwrite a freshly built trainer's state with a validated checkpoint's."""
    for name, param, mem in zip(PARAM_NAMES, trainer.model.params.views,
                                trainer.optimizer.mem.views):
        param[...] = state[name]
        mem[...] = state["m" + name]
    trainer.hprev[...] = state["hprev"]
    trainer.n = state["iteration"]
    trainer.p = state["position"]
    trainer.epoch = state["epoch"]
    trainer.chars_seen = state["chars_seen"]
    trainer.smooth_loss = state["smooth_loss"]
    trainer.last_loss = state["last_loss"]
    trainer.rng.set_state(state["rng"])
    trainer.sample_rng.set_state(state["sample_rng"])
    trainer.keep_rollback()


@dataclass
class SavedModel:
    """A checkpoint's network and vocabulary, enough to sample without the corpus."""

    config: Config
    vocab: str
    model: RNN
    hprev: np.ndarray
    next_ix: int
    iteration: int
    sample_rng: np.random.RandomState

    def sample(self, length: int, prime: str | None = None, temperature: float | None = None,
               greedy: bool | None = None, rng: np.random.RandomState | None = None) -> str:
        ixes = encode(self.vocab, prime) if prime else [self.next_ix]
        out = self.model.continue_from(
            self.hprev, ixes, length, rng or self.sample_rng,
            self.config.temperature if temperature is None else temperature,
            self.config.greedy if greedy is None else greedy)
        return "".join(self.vocab[i] for i in out)


def load_model(path: str | os.PathLike[str]) -> SavedModel:
    config, state = read_checkpoint(path)
    vocab = state["vocab"]
    model = RNN(len(vocab), config.hidden_size)
    for name, param in zip(PARAM_NAMES, model.params.views):
        param[...] = state[name]
    rng = np.random.RandomState()
    rng.set_state(state["sample_rng"])
    return SavedModel(config, vocab, model, state["hprev"].copy(), state["next_ix"],
                      state["iteration"], rng)


def checkpoint_info(path: str | os.PathLike[str]) -> CheckpointInfo:
    config, state = read_checkpoint(path)
    return CheckpointInfo(Path(path), state["iteration"], state["smooth_loss"], config.seq_length,
                          state["saved_at"])


# -- a directory of checkpoints --------------------------------------------------------------

class CheckpointStore:
    """`ckpt-<iteration>.npz` files in one directory; keeps the newest `keep`."""

    def __init__(self, directory: str | os.PathLike[str], keep: int = 5) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.directory = Path(directory)
        self.keep = keep

    def path_for(self, iteration: int) -> Path:
        return self.directory / f"ckpt-{iteration:09d}{SUFFIX}"

    def save(self, trainer: Trainer) -> Path:
        path = save_checkpoint(trainer, self.path_for(trainer.n))
        self._prune(keep_path=path)  # only once the new file is safely in place
        return path

    def paths(self) -> list[Path]:
        """Checkpoint files, oldest first by write time (then iteration): a re-initialised or
        resumed model saves lower iterations after higher ones, and those are the newer."""
        try:
            found = [p for p in self.directory.iterdir() if _NAME.match(p.name) and p.is_file()]
        except OSError:
            return []
        return sorted(found, key=lambda p: (_mtime(p), int(_NAME.match(p.name).group(1))))

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
        paths = [p for p in self.paths() if p != keep_path]
        for old in paths[:max(0, len(paths) - (self.keep - 1))]:
            try:
                old.unlink()
            except OSError:
                pass


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0
