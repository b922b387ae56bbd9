"""Reading a text corpus into a vocabulary sorted by code point and a compact index array."""

from __future__ import annotations

import codecs
import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .store.files import FileRefused, describe_os_error, open_regular

_CHUNK = 1 << 22  # decode 4 MiB at a time so a huge corpus never exists as UTF-32 in full
_SNIFF = 1 << 16  # bytes read first to refuse binary content before reading the rest
MAX_CORPUS_BYTES = 1 << 30  # 1 GiB of text; its index array alone takes as much again


class CorpusError(ValueError):
    """A corpus that cannot be trained on; the message is one line for the user."""


@dataclass(frozen=True, eq=False)
class Corpus:
    """A text as integers: `ix[i]` is the index of character i in `vocab`."""

    name: str
    vocab: str  # every distinct character, sorted by code point
    ix: np.ndarray  # uint8 / uint16 / uint32, read-only
    fingerprint: str  # "<bytes>-<sha256 prefix>": identifies the exact file contents

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def __len__(self) -> int:
        return int(self.ix.shape[0])

    def encode(self, text: str) -> list[int]:
        return encode(self.vocab, text)

    def decode(self, ixes) -> str:
        vocab = self.vocab
        return "".join([vocab[i] for i in ixes])

    def text(self, start: int, stop: int) -> str:
        return self.decode(self.ix[start:stop].tolist())


def encode(vocab: str, text: str) -> list[int]:
    """Indices of `text`'s characters in `vocab`; CorpusError names the first unknown one."""
    out = []
    for ch in text:
        i = vocab.find(ch)
        if i < 0:
            raise CorpusError(f"character {ch!r} is not in the corpus vocabulary")
        out.append(i)
    return out


def corpus_from_text(text: str, name: str = "text") -> Corpus:
    """A corpus from an in-memory string (tests, the app's demo text)."""
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise CorpusError(f"{name}: text holds a lone surrogate at index {exc.start}") from None
    return _from_bytes(raw, name)


Progress = Callable[[float], None]  # the share of the work done, 0..1


def load_corpus(path: str | os.PathLike[str], progress: Progress | None = None) -> Corpus:
    """Read `path` as UTF-8; raise CorpusError with a one-line reason on any problem.

    Only a regular file of at most MAX_CORPUS_BYTES is read, and its first chunk is checked
    for binary content before the rest is read, so a device, a FIFO or a huge binary file is
    refused at once. `progress(share)` is called every chunk (reading, then two passes over
    the text), for a large corpus that takes seconds.
    """
    p = Path(path)
    where = str(p)
    try:
        with open_regular(path, MAX_CORPUS_BYTES, "text file") as f:
            head = f.read(_SNIFF)
            _refuse_binary(head, where)
            if progress is None:
                raw = head + f.read()
            else:
                size = max(1, os.fstat(f.fileno()).st_size)
                parts = [head]
                got = len(head)
                while chunk := f.read(_CHUNK):
                    parts.append(chunk)
                    got += len(chunk)
                    progress(min(1.0, got / size) / 3)
                raw = b"".join(parts)
    except FileRefused as exc:
        raise CorpusError(str(exc)) from None
    except OSError as exc:
        raise CorpusError(describe_os_error(p, exc)) from None
    return _from_bytes(raw, p.name or str(p), where=where, progress=progress)


def _refuse_binary(head: bytes, where: str) -> None:
    """Binary content shows in the first chunk: a NUL byte, or bytes that are not UTF-8."""
    if b"\x00" in head:
        raise CorpusError(f"{where}: looks like a binary file (contains NUL bytes), not UTF-8 text")
    try:
        codecs.getincrementaldecoder("utf-8")("strict").decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise CorpusError(f"{where}: not valid UTF-8 (bad byte near offset {exc.start})") from None


def _from_bytes(raw: bytes, name: str, where: str | None = None,
                progress: Progress | None = None) -> Corpus:
    where = where or name
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8):]
    if not raw:
        raise CorpusError(f"{where}: the corpus is empty")
    if b"\x00" in raw:
        raise CorpusError(f"{where}: looks like a binary file (contains NUL bytes), not UTF-8 text")
    # two passes over the bytes, so that only one small chunk is ever held as UTF-32
    vocab_codes = np.unique(np.concatenate([np.unique(c) for c in _code_points(
        raw, where, _share(progress, 1 / 3, 2 / 3))]))
    n = len(raw) if raw.isascii() else sum(c.shape[0] for c in _code_points(raw, where))
    size = vocab_codes.size
    dtype = np.uint8 if size <= 256 else (np.uint16 if size <= 65536 else np.uint32)
    ix = np.empty(n, dtype=dtype)
    at = 0
    for c in _code_points(raw, where, _share(progress, 2 / 3, 1.0)):
        ix[at:at + c.shape[0]] = np.searchsorted(vocab_codes, c)
        at += c.shape[0]
    ix.setflags(write=False)
    vocab = "".join(map(chr, vocab_codes.tolist()))
    digest = hashlib.sha256(raw).hexdigest()[:16]
    return Corpus(name=name, vocab=vocab, ix=ix, fingerprint=f"{len(raw)}-{digest}")


def _share(progress: Progress | None, low: float, high: float
           ) -> Callable[[float], None] | None:
    """A phase's own 0..1 progress as the whole load's `low..high`."""
    if progress is None:
        return None
    return lambda done: progress(low + (high - low) * done)


def _code_points(raw: bytes, where: str, progress: Callable[[float], None] | None = None):
    """Yield the text's code points as uint32 (or uint8 for ASCII) arrays, chunk by chunk."""
    for chunk in _code_point_chunks(raw, where):
        yield chunk[0]
        if progress is not None:
            progress(min(1.0, chunk[1] / max(1, len(raw))))


def _code_point_chunks(raw: bytes, where: str):
    """(code points, bytes consumed so far) per chunk."""
    if raw.isascii():
        for start in range(0, len(raw), _CHUNK):
            count = min(_CHUNK, len(raw) - start)
            yield np.frombuffer(raw, dtype=np.uint8, count=count, offset=start), start + count
        return
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    mv = memoryview(raw)
    for start in range(0, len(raw), _CHUNK):
        final = start + _CHUNK >= len(raw)
        try:
            text = decoder.decode(mv[start:start + _CHUNK], final=final)
        except UnicodeDecodeError as exc:
            offset = max(0, start + exc.start - len(exc.object) + len(mv[start:start + _CHUNK]))
            raise CorpusError(f"{where}: not valid UTF-8 (bad byte near offset {offset})") from None
        if text:
            yield (np.frombuffer(text.encode("utf-32-le"), dtype="<u4"),
                   min(len(raw), start + _CHUNK))
