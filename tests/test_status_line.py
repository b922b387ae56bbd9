"""The status line fits any width without cutting a word, giving up its least important
fields first; SVG snapshots at 80 and 120 columns of a snapshot whose every number is set
by hand (no digit that another CPU could round differently)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from charrnn_tui.app.widgets.status_line import KEEP, fit, status_fields
from charrnn_tui.link.monitor import Monitor, State
from engine import Control, Trainer, corpus_from_text
from engine.presets import preset
from engine.units import LN2

from .app_factory import VERSE, StatusLineApp
from .helpers import until

SAVED = "/data/runs/ckpt-20261206-201932-4337ee9a-000000300.npz"


def hand_set(name: str = "gru-2x256", threads: int = 1, **changes):
    """A snapshot of `name` at iteration 327 with round numbers: 6 it/s, 2.5 bits/char, on
    `threads` BLAS threads (set here: the model's own count depends on the machine's cores)."""
    trainer = Trainer(corpus_from_text(VERSE * 40, "tinyshakespeare.txt"),
                      preset(name).config(seed=1, sample_every=0))
    monitor = Monitor(trainer, Control())
    monitor.publish(trainer)
    snap = monitor.latest
    chars = 327 * trainer.config.seq_length * trainer.config.batch
    stats = dataclasses.replace(snap.stats, iteration=327, chars_seen=chars, epoch=1,
                                epoch_progress=0.25, threads=threads)
    fields = dict(stats=stats, rate=6.0, loss_per_char=2.5 * LN2, saved_at=300,
                  saved_path=SAVED, state=State.RUNNING)
    return dataclasses.replace(snap, **{**fields, **changes})


def plain(snap, width: int, state: State | None = None) -> str:
    return "".join(text for text, _ in fit(status_fields(snap, state or snap.state), width))


def words_of(snap, state: State) -> set[str]:
    """Every word any form of any field may show."""
    out = {"│", "·"}
    for f in status_fields(snap, state):
        for form, _ in f.forms:
            out.update("".join(text for text, _ in form).replace("…", "").split())
    return out


CASES = {
    "network": hand_set(),
    "min-char-rnn": hand_set("min-char-rnn"),
    "paused": hand_set(state=State.PAUSED, rate=math.nan),
    "diverged": hand_set(state=State.DIVERGED, message="loss nan at iteration 327 (overflow); "
                         "restored the parameters of iteration 300: lower the learning rate"),
    "validating": hand_set(activity="validation 40%"),
    "threads": hand_set(threads=2),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_width_fits_keeps_the_essentials_and_cuts_no_word(case):
    snap = CASES[case]
    short_name = snap.stats.model.split(" · ")[0]
    words = words_of(snap, snap.state)
    previous = None
    for width in range(46, 220):
        text = plain(snap, width)
        assert len(text) <= width, (width, text)
        assert text.startswith("iter 327 │ ") and (" it/s │ " in text or " it/s · " in text)
        assert f"● {snap.state.value}" in text
        if not (snap.message or snap.activity):
            assert short_name in text
        assert {w.replace("…", "") for w in text.split()} <= words, (width, text)
        if previous is not None:  # a wider line never shows less
            assert len(text) >= len(previous)
        previous = text
    full = plain(snap, 10_000)
    assert snap.stats.model in full or snap.message or snap.activity


def test_the_least_important_fields_go_first():
    snap = CASES["network"]
    wide = plain(snap, 220)
    assert wide == ("iter 327 │ 6 it/s │ 2.500 bits/char │ 669.7k chars │ epoch 1 · 25.0% │ "
                    "● running │ gru 2×256 · B32 · f32 · adam · drop 0.1 · "
                    f"tinyshakespeare.txt · saved 300 → {SAVED}")
    at_120 = plain(snap, 118)  # 120 columns less the padding
    assert "gru 2×256 · B32 · f32 · adam · drop 0.1" in at_120 and "669.7k chars" in at_120
    assert SAVED not in at_120 and "saved 300" in at_120  # the path goes before the model
    at_80 = plain(snap, 78)
    assert at_80.startswith("iter 327 │ 6 it/s │ 2.500 bits/char │ ") and "gru 2×256" in at_80
    assert "drop 0.1" not in at_80 and "tinyshakespeare" not in at_80


def test_the_thread_count_shows_above_one_and_gives_way_before_the_model():
    snap = CASES["threads"]
    assert "│ 6 it/s · 2 threads │ " in plain(snap, 220)
    at_80 = plain(snap, 78)
    assert "threads" not in at_80 and "gru 2×256" in at_80
    assert "thread" not in plain(CASES["network"], 220)  # one is the rule, not shown


def test_kept_forms_are_never_dropped():
    for snap in CASES.values():
        for f in status_fields(snap, snap.state):
            assert all(rank >= 0 for _, rank in f.forms)
            assert KEEP not in [rank for _, rank in f.forms[:-1]] or f.forms[-1][1] == KEEP


@pytest.mark.parametrize("width", [80, 120])
def test_status_line_snapshot(snap_compare, width):
    app = StatusLineApp(CASES["network"])

    async def run_before(pilot) -> None:
        await until(lambda: "iter 327" in app.query_one("StatusLine").plain)

    assert snap_compare(app, terminal_size=(width, 2), run_before=run_before)
