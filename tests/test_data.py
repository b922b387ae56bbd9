"""`engine.data`: vocabulary order, index dtypes, UTF-8 decoding in chunks, and corpus errors."""

from __future__ import annotations

import codecs
from pathlib import Path

import numpy as np
import pytest

import engine.data
from engine.data import Corpus, CorpusError, corpus_from_text, load_corpus

ASCII = "the cat sat on the mat; THE DOG? 42!\n"
MULTI = "café naïve Ωμέγα λόγος 漢字かな 한국어 🙂🚀 e\u0301 zebra\n"  # 1- to 4-byte characters


def write(tmp_path: Path, data: bytes, name: str = "corpus.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def assert_one_line(exc: pytest.ExceptionInfo[CorpusError]) -> str:
    message = str(exc.value)
    assert message and "\n" not in message
    return message


# -- vocabulary and indices ---------------------------------------------------------------


@pytest.mark.parametrize("text", [ASCII, MULTI], ids=["ascii", "multi-byte"])
def test_vocab_is_sorted_by_code_point(text: str) -> None:
    corpus = corpus_from_text(text)
    assert corpus.vocab == "".join(sorted(set(text)))
    assert [ord(c) for c in corpus.vocab] == sorted(ord(c) for c in corpus.vocab)
    assert corpus.vocab_size == len(set(text))


def test_multi_byte_vocab_ends_with_the_highest_code_point() -> None:
    # an emoji sorts after CJK, which sorts after Greek, whatever the order in the text
    corpus = corpus_from_text("🙂漢Ωé a")
    assert corpus.vocab == " aéΩ漢🙂"


@pytest.mark.parametrize("text", [ASCII, MULTI], ids=["ascii", "multi-byte"])
def test_decode_of_ix_is_the_text(text: str) -> None:
    corpus = corpus_from_text(text)
    assert len(corpus) == len(text)
    assert corpus.decode(corpus.ix) == text
    assert corpus.text(0, len(corpus)) == text
    assert corpus.encode(text) == corpus.ix.tolist()


def distinct_chars(count: int, first: int = 0x4E00) -> str:
    return "".join(chr(first + i) for i in range(count))


@pytest.mark.parametrize(("count", "first", "dtype"), [
    (60, 0x20, np.uint8),
    (256, 0x4E00, np.uint8),  # the largest vocabulary a byte can index
    (257, 0x4E00, np.uint16),
    (65536, 0x10000, np.uint16),
    (65537, 0x10000, np.uint32),
])
def test_ix_dtype_is_the_smallest_that_fits_the_vocab(count: int, first: int,
                                                      dtype: type) -> None:
    text = distinct_chars(count, first) * 2
    corpus = corpus_from_text(text)
    assert corpus.vocab_size == count
    assert corpus.ix.dtype == dtype
    assert corpus.decode(corpus.ix) == text


def test_ix_is_read_only() -> None:
    corpus = corpus_from_text(MULTI)
    assert not corpus.ix.flags.writeable
    with pytest.raises(ValueError):
        corpus.ix[0] = 1


def test_encode_of_unknown_character_raises() -> None:
    corpus = corpus_from_text(ASCII)
    with pytest.raises(CorpusError) as exc:
        corpus.encode("cat€")
    assert "€" in assert_one_line(exc)


# -- decoding -----------------------------------------------------------------------------


def test_utf8_bom_is_dropped(tmp_path: Path) -> None:
    corpus = load_corpus(write(tmp_path, codecs.BOM_UTF8 + MULTI.encode("utf-8")))
    assert "\ufeff" not in corpus.vocab
    assert corpus.decode(corpus.ix) == MULTI
    in_memory = corpus_from_text("\ufeff" + ASCII)
    assert in_memory.decode(in_memory.ix) == ASCII


def test_bom_only_counts_as_empty(tmp_path: Path) -> None:
    with pytest.raises(CorpusError) as exc:
        load_corpus(write(tmp_path, codecs.BOM_UTF8))
    assert "empty" in assert_one_line(exc)


def same_corpus(a: Corpus, b: Corpus) -> bool:
    return (a.vocab == b.vocab and a.ix.dtype == b.ix.dtype and np.array_equal(a.ix, b.ix)
            and a.fingerprint == b.fingerprint)


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 7])
@pytest.mark.parametrize("text", [MULTI * 3, ASCII * 3], ids=["multi-byte", "ascii"])
def test_chunked_decoding_matches_whole(monkeypatch: pytest.MonkeyPatch, text: str,
                                        chunk: int) -> None:
    # small chunks split 2-, 3- and 4-byte characters at every possible byte
    whole = corpus_from_text(text)
    monkeypatch.setattr(engine.data, "_CHUNK", chunk)
    chunked = corpus_from_text(text)
    assert same_corpus(chunked, whole)
    assert chunked.decode(chunked.ix) == text


@pytest.mark.parametrize("data", [
    b"caf\xe9 au lait " * 10,  # latin-1
    b"abc\xc3",  # a 2-byte character cut off at the end
    b"abc\xff def",  # a byte that never occurs in UTF-8
    b"ab\xc0\xafcd",  # overlong encoding of '/'
    b"ab\xed\xa0\x80cd",  # an encoded surrogate
], ids=["latin-1", "truncated", "0xff", "overlong", "surrogate"])
def test_invalid_utf8_raises(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(CorpusError) as exc:
        load_corpus(write(tmp_path, data))
    assert "UTF-8" in assert_one_line(exc)


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 22])
def test_invalid_utf8_offset_is_the_same_in_chunks(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   chunk: int) -> None:
    # the reported offset is the byte's position in the file, wherever a chunk starts
    data = "héllo wörld ".encode() + b"\xe9" + b" tail"
    bad = len("héllo wörld ".encode())
    monkeypatch.setattr(engine.data, "_CHUNK", chunk)
    with pytest.raises(CorpusError) as exc:
        load_corpus(write(tmp_path, data))
    assert f"offset {bad}" in assert_one_line(exc)


def test_nul_bytes_raise_as_binary(tmp_path: Path) -> None:
    with pytest.raises(CorpusError) as exc:
        load_corpus(write(tmp_path, b"text\x00more text"))
    assert "binary" in assert_one_line(exc)


def test_empty_raises(tmp_path: Path) -> None:
    with pytest.raises(CorpusError) as exc:
        load_corpus(write(tmp_path, b""))
    assert "empty" in assert_one_line(exc)
    with pytest.raises(CorpusError):
        corpus_from_text("")


# -- paths --------------------------------------------------------------------------------


def test_directory_raises_one_line(tmp_path: Path) -> None:
    with pytest.raises(CorpusError) as exc:
        load_corpus(tmp_path)
    assert "directory" in assert_one_line(exc)


def test_missing_path_raises_one_line(tmp_path: Path) -> None:
    with pytest.raises(CorpusError) as exc:
        load_corpus(tmp_path / "missing.txt")
    assert "no such file" in assert_one_line(exc)


def test_path_under_a_file_raises_one_line(tmp_path: Path) -> None:
    # NotADirectoryError is neither FileNotFoundError nor PermissionError
    parent = write(tmp_path, b"plain file")
    with pytest.raises(CorpusError) as exc:
        load_corpus(parent / "child.txt")
    assert_one_line(exc)


def test_load_corpus_names_the_corpus_after_the_file(tmp_path: Path) -> None:
    assert load_corpus(write(tmp_path, ASCII.encode(), name="cats.txt")).name == "cats.txt"


# -- fingerprint --------------------------------------------------------------------------


def test_fingerprint_is_equal_for_equal_content(tmp_path: Path) -> None:
    a = load_corpus(write(tmp_path, MULTI.encode(), name="a.txt"))
    b = load_corpus(write(tmp_path, MULTI.encode(), name="b.txt"))
    assert a.fingerprint == b.fingerprint
    assert corpus_from_text(MULTI).fingerprint == a.fingerprint


@pytest.mark.parametrize("at", [0, 17, -1])
def test_fingerprint_changes_when_one_byte_changes(tmp_path: Path, at: int) -> None:
    data = bytearray(ASCII.encode())
    original = load_corpus(write(tmp_path, bytes(data), name="a.txt"))
    data[at] ^= 0x01  # stays ASCII, same length
    changed = load_corpus(write(tmp_path, bytes(data), name="b.txt"))
    assert changed.fingerprint != original.fingerprint
