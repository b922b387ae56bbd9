"""Text from a file never reaches a terminal or a widget with its control characters.

One rule (engine/text.py): C0 (but a sample's newlines and tabs), DEL, C1 and so ESC show as
U+FFFD. It covers a checkpoint's strings, corpus names, what a model generates from a corpus
that holds controls, a text being scored, every line `say` writes, and the app's literal-text
widgets. Escape sequences the program means (colour on a terminal) are its own.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from engine import Config, Trainer, corpus_from_text
from engine.store.checkpoint import load_model, save_checkpoint
from engine.text import printable, visible

from .app_factory import make_app, paused_at
from .crafted_npz import arrays_of
from .helpers import run_cli, until

CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SGR = re.compile("\x1b\\[[0-9;]*m")  # the colours `score --color` itself writes
# a corpus whose characters include ESC, BEL, a C1 CSI and a carriage return
TEXT = ("the heron \x1b[2J knows\x07 the way;\r\n (we \x9b31m carried salt)\n" * 30)


def clean(text: str) -> bool:
    return not CONTROLS.search(text.replace("\n", "").replace("\t", ""))


@pytest.mark.parametrize(("text", "shown"), [
    ("plain", "plain"), ("a\x1b]0;title\x07b", "a\u241b]0;title\u2407b"),
    ("\x9b2J", "\ufffd2J"), ("tab\tline\nend", "tab\u2409line\u240aend"), ("\x7f", "\u2421"),
    ("crlf\r\n", "crlf\u240d\u240a"), ("\x85", "\ufffd"),
])
def test_visible_replaces_every_control_one_for_one(text, shown):
    assert visible(text) == shown and len(visible(text)) == len(text)
    assert visible("tab\tline\n\x1b", multiline=True) == "tab\tline\n\u241b"
    assert printable("\x1b") == "\u241b" and printable("\n") == "⏎" and printable("é") == "é"


def checkpoint(tmp_path: Path, name: str = "shore.txt") -> Path:
    trainer = Trainer(corpus_from_text(TEXT, name),
                      Config(seed=2, hidden_size=16, seq_length=16, sample_every=10))
    for _ in range(40):
        trainer.step()
    (tmp_path / "shore.txt").write_text(TEXT, encoding="utf-8")
    return save_checkpoint(trainer, tmp_path / "model.npz")


def test_a_models_text_from_a_corpus_with_controls_is_printed_without_them(tmp_path):
    ck = checkpoint(tmp_path)
    assert "\x1b" in load_model(ck).vocab
    for args in (("sample", ck, "--length", "400"), ("sample", ck, "--prime", "the"),
                 ("score", ck, "shore.txt", "--color"),
                 ("--headless", "--iters", "60", "--sample-every", "20", "--seed", "1",
                  "--hidden", "16", "--no-save", "shore.txt")):
        proc = run_cli(*args, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert clean(proc.stdout) and clean(proc.stderr), args
    assert "\u241b" in run_cli("sample", ck, "--length", "2000", cwd=tmp_path).stdout


def test_coloured_scores_keep_their_own_colours_only():
    from charrnn_tui.cli.inspect import coloured

    out = coloured("a\x1b[2Jb\n", [], np.array([0.1, 5.0, 0.2, 0.3, 0.4, 0.5, 0.6]), 10, True)
    assert SGR.sub("", out) == "a\u241b[2Jb\n"  # the text's ESC is shown, not sent


def test_checkpoint_strings_and_file_names_are_shown_without_controls(tmp_path):
    ck = checkpoint(tmp_path)
    arrays = arrays_of(ck)
    arrays["corpus_name"] = np.array("\x1b]0;pwned\x07nowhere.txt")
    hostile = tmp_path / "hostile.npz"
    np.savez(hostile, **arrays)
    assert load_model(hostile).corpus_name == "\u241b]0;pwned\u2407nowhere.txt"
    proc = run_cli("neurons", hostile, cwd=tmp_path)  # names the checkpoint's corpus
    assert proc.returncode == 2 and "nowhere.txt" in proc.stderr and clean(proc.stderr)
    named = tmp_path / "\x1b[2Jname.txt"
    named.write_text("the heron knows the way\n" * 20, encoding="utf-8")
    for args in (("neurons", ck, named.name), ("score", ck, "\x1b[2Jmissing.txt"),
                 ("--headless", "\x1b]0;x\x07missing.txt")):
        proc = run_cli(*args, cwd=tmp_path)
        assert clean(proc.stdout) and clean(proc.stderr), (args, proc.stdout, proc.stderr)


async def test_the_app_shows_file_text_without_controls():
    app = make_app(TEXT, name="\x1b]0;pwned\x07[b]c[/b].txt", paused=True, sample_every=2)
    async with app.run_test(size=(200, 40)) as pilot:  # wide: the status line keeps the name
        await paused_at(app, 6)
        screen = app.main_screen
        await until(lambda: screen.samples.lines)
        assert "[b]c[/b].txt" in screen.status.plain and clean(screen.status.plain)
        assert all(clean(line) for line in screen.samples.lines)
        await pilot.press("ctrl+c")
