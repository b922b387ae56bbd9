"""Long work shows progress: loading a corpus reports its share done; the stderr line."""

from __future__ import annotations

import io

import engine.data as data
from charrnn_tui.cli import progress_line
from charrnn_tui.cli.progress_line import ProgressLine
from engine import load_corpus


def test_loading_a_corpus_reports_rising_progress_up_to_one(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_CHUNK", 1 << 12)  # many chunks from a small file
    for text in ("the cat sat on the mat\n" * 3000, "ünïcödé text ✓\n" * 3000):
        path = tmp_path / "c.txt"
        path.write_text(text, encoding="utf-8")
        seen: list[float] = []
        corpus = load_corpus(path, progress=seen.append)
        assert len(seen) > 10 and seen == sorted(seen) and seen[-1] == 1.0
        assert corpus.fingerprint == load_corpus(path).fingerprint  # the same result


def test_the_progress_line_shows_only_after_half_a_second_and_clears(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress_line.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    line = ProgressLine("loading", stream=out, force=True)
    line(0.1)
    assert out.getvalue() == ""  # quick work shows nothing
    now[0] += 0.6
    line(0.5)
    assert out.getvalue() == "\rloading  50% (Ctrl+C cancels)"
    line.done()
    assert out.getvalue().endswith("\r\x1b[K")
    assert not ProgressLine("x", stream=io.StringIO()).enabled  # not a terminal: nothing
