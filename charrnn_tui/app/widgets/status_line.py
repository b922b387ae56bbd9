"""One line over the panes: iteration, speed, characters seen, place in the corpus, state."""

from __future__ import annotations

import math
from pathlib import Path

from charrnn_tui.link.monitor import Snapshot, State

from .text_lines import TextLines, line

STATE_STYLE = {
    State.RUNNING: "good",
    State.PAUSED: "warn",
    State.DIVERGED: "bad",
    State.FINISHED: "accent",
    State.STOPPED: "dim",
    State.ERROR: "bad",
}
SEP = ("  │  ", "dim")


def home_relative(path: str) -> str:
    home = str(Path.home())
    return "~" + path[len(home):] if path.startswith(home + "/") else path


def compact_count(n: int) -> str:
    """1234 -> '1234', 123456 -> '123.5k', 12345678 -> '12.35M'."""
    if n < 10_000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1e3:.1f}k"
    if n < 1_000_000_000:
        return f"{n / 1e6:.2f}M"
    return f"{n / 1e9:.2f}G"


class StatusLine(TextLines):
    """`iter N │ R it/s [· T threads] │ C chars │ epoch E · P% │ ● state │ model · corpus (or
    why it stopped)`."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    """

    def show(self, snap: Snapshot, state: State | None = None) -> None:
        """Draw `snap`; `state` overrides its state (a key press shows before the next tick)."""
        st = snap.stats
        state = state or snap.state
        rate = "— it/s" if math.isnan(snap.rate) else f"{snap.rate:.0f} it/s"
        if st.threads > 1:  # BLAS threads (one is the rule, and not shown)
            rate += f" · {st.threads} threads"
        where = 100.0 * st.position / max(1, st.train_chars)
        style = STATE_STYLE[state]
        about = f"{st.model} · {snap.corpus_name}" if st.model else snap.corpus_name
        if snap.saved_at is not None:
            about += f" · saved {snap.saved_at} → {home_relative(snap.saved_path)}"
        self.set_lines([line(
            (f"iter {st.iteration}", "bold"), SEP, rate, SEP,
            f"{compact_count(st.chars_seen)} chars", SEP, f"epoch {st.epoch} · {where:.1f}%",
            SEP, ("● " + state.value, style), SEP,
            (snap.message, style) if snap.message else
            ((f"{snap.activity}… (q stops it)", "warn") if snap.activity else (about, "dim")),
        )])
