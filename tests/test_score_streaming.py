"""`score` streams: the text is decoded, checked and read through the model in pieces, so its
memory is one piece's and one chunk's whatever the text's length (it used to keep every
character's state of every layer); the neuron explorer keeps the states it shows and nothing
else. The pieces change nothing in what is printed.
"""

from __future__ import annotations

import io
import math
import re
import sys
import tracemalloc
from pathlib import Path

import pytest

from charrnn_tui.cli import inspect as cli_inspect
from engine import Config, Trainer, corpus_from_text
from engine.inspect import probe
from engine.store.checkpoint import load_model, save_checkpoint

SGR = re.compile("\x1b\\[[0-9;]*m")
TEXT = "the heron knows the way; (we carried salt) along the shore\nand sang until the day.\n"


def checkpoint(tmp_path: Path, **config) -> Path:
    trainer = Trainer(corpus_from_text(TEXT * 20, "shore.txt"),
                      Config(**{"seed": 2, "hidden_size": 12, "seq_length": 16, **config}))
    for _ in range(10):
        trainer.step()
    return save_checkpoint(trainer, tmp_path / "model.npz")


def score(monkeypatch, *args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = cli_inspect.score_main([str(a) for a in args])
    return code, out.getvalue(), err.getvalue()


def one_line_text(chars: int) -> str:
    """A text without a newline, as the issue's 117 KiB file."""
    return (TEXT.replace("\n", " ") * (chars // len(TEXT) + 1))[:chars]


def test_score_memory_does_not_grow_with_the_text(tmp_path, monkeypatch):
    ck = checkpoint(tmp_path, layers=8, optimizer="adam", learning_rate=2e-3)
    monkeypatch.setattr(cli_inspect, "TEXT_PIECE", 4096)  # so both texts span many pieces
    peaks = {}
    for chars in (10_000, 80_000):
        path = tmp_path / f"{chars}.txt"
        path.write_text(one_line_text(chars), encoding="utf-8")
        tracemalloc.start()
        try:
            code, out, err = score(monkeypatch, ck, path)
            peaks[chars] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert code == 0, err
        assert f"over {chars - 1} predicted characters" in out
    print(f"\nscore peaks: {peaks}")
    assert peaks[80_000] < peaks[10_000] + (256 << 10)  # 8x the text, not 8x the memory


@pytest.mark.parametrize("config", [{}, {"cell": "lstm", "layers": 2, "optimizer": "adam",
                                         "learning_rate": 2e-3}], ids=["min-char", "lstm"])
def test_the_pieces_change_nothing(tmp_path, monkeypatch, config):
    ck = checkpoint(tmp_path, **config)
    text = "the shore ü and the salt\n\nthe day. " * 40  # ü: two bytes a piece may split
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    saved = load_model(ck)
    whole = probe.surprisal(saved.model, [saved.vocab.index(c) for c in text if c in saved.vocab])
    results = []
    for piece in (7, 64, 1 << 16):
        monkeypatch.setattr(cli_inspect, "TEXT_PIECE", piece)
        code, out, err = score(monkeypatch, ck, tmp_path / "t.txt", "--skip-unknown")
        assert code == 0, err
        results.append(float(out.split()[0]))
    expected = whole.mean() / math.log(2)
    assert all(math.isclose(r, expected, abs_tol=2e-4) for r in results), (results, expected)


def test_coloured_pieces_show_the_whole_text_once(tmp_path, monkeypatch):
    ck = checkpoint(tmp_path)
    text = "ZZ£Z the shore\nand Z the salt\n" * 5  # starts with characters the model lacks
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    monkeypatch.setattr(cli_inspect, "TEXT_PIECE", 3)
    monkeypatch.setattr(cli_inspect, "_colour_on", lambda stream: True)
    code, out, err = score(monkeypatch, ck, tmp_path / "t.txt", "--color", "--skip-unknown")
    assert code == 0, err
    body, _, summary = out.rpartition("\n")[0].rpartition("\n")
    assert SGR.sub("", body + "\n") == text
    known = sum(c not in "Z£" for c in text)
    assert f"over {known - 1} predicted characters" in summary


def test_the_first_unknown_character_is_found_across_pieces(tmp_path, monkeypatch):
    ck = checkpoint(tmp_path)
    text = "the shore\nand the salt\nthe dayQ and the\n" * 3
    (tmp_path / "t.txt").write_text(text, encoding="utf-8")
    monkeypatch.setattr(cli_inspect, "TEXT_PIECE", 5)
    code, out, err = score(monkeypatch, ck, tmp_path / "t.txt")
    assert code == 2 and out == ""
    assert "'Q' at line 3, column 8" in err and "(3 characters in all)" in err


def test_the_explorer_keeps_the_states_it_shows_and_ranks_them_a_layer_at_a_time():
    corpus = corpus_from_text(TEXT * 60, "shore.txt")
    trainer = Trainer(corpus, Config(seed=1, cell="lstm", layers=8, hidden_size=32,
                                     optimizer="adam", learning_rate=2e-3))
    trainer.step()
    start, ix = probe.passage(corpus.ix, 0.0)
    reading = probe.read(trainer.model, ix, trainer.learner.one_stream())
    assert reading.hidden.shape == (len(ix) - 1, 8, 32) and reading.cells.shape == (
        len(ix) - 1, 8, 32)
    for a in (reading.hidden, reading.cells, reading.losses):
        assert a.base is None  # its own arrays: no window record or chunk behind them
    tracemalloc.start()
    try:
        probe.rank_units(reading, corpus.decode(ix[:-1].tolist()))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < reading.hidden.nbytes // 2  # one layer's block, not all units at once
    exploration = probe.explore(trainer)
    assert set(vars(exploration.reading)) == {"ixes", "hidden", "cells", "losses"}
