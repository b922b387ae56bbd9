"""One line over the panes: iteration, speed, loss, characters seen, place in the text, state,
the model and the corpus; fitted to the terminal's width without cutting a word.

Each field (`Field`) comes in a few forms, longest first, each with a rank (the R_* table):
while the line is too wide, the form with the highest rank gives way to the field's next
form, or past its last the field goes, so the least important detail always goes first and
a field can shorten early and go late (where a checkpoint went: the path early, the iteration
last). Iteration, rate, state and the model's short name never go. Fields are grouped: `│`
between groups, `·` inside one (the model, its details, the corpus and where it was saved
read as one phrase). To add a field, add one `field(...)` to `status_fields` with a rank
placed in the R_* table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from charrnn_tui.link.monitor import Snapshot, State
from engine.units import bits

from .text_lines import Line, TextLines

STATE_STYLE = {
    State.RUNNING: "good",
    State.PAUSED: "warn",
    State.DIVERGED: "bad",
    State.FINISHED: "accent",
    State.STOPPED: "dim",
    State.ERROR: "bad",
}
SEP = (" │ ", "dim")  # between groups
JOIN = (" · ", "dim")  # between the fields of a group
KEEP = 0  # the rank of a form that always stays
MIN_WORDS = 3  # a message shortened at word boundaries keeps at least this many words

Form = tuple[tuple[str, str], ...]  # (text, style key) parts, as a Line


@dataclass(frozen=True)
class Field:
    """One readout in a few forms, longest first, each with a rank: how much it matters to
    keep that form rather than the next (the last form's: to keep the field at all; KEEP
    never goes). Fields of one group are joined by `·`, groups by `│`."""

    forms: tuple[tuple[Form, int], ...]
    group: int


def field(group: int, *forms: tuple[Form | str, int]) -> Field:
    """A Field from (form, rank) pairs; a plain string is a form in the widget's style."""
    return Field(tuple((((f, ""),) if isinstance(f, str) else f, rank) for f, rank in forms),
                 group)


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


def word_forms(text: str, style: str, rank: int,
               min_words: int = MIN_WORDS) -> tuple[tuple[Form, int], ...]:
    """`text`, then shorter prefixes cut at spaces with an ellipsis, down to `min_words`."""
    words = text.split(" ")
    forms = [(((text, style),), rank)]
    for k in range(len(words) - 1, min_words - 1, -1):
        forms.append((((" ".join(words[:k]) + "…", style),), rank))
    forms[-1] = (forms[-1][0], KEEP)
    return tuple(forms)


# Ranks: what goes first when the line is too wide (highest first); KEEP never goes.
R_SAVED_PATH = 90  # where a checkpoint went: the full path, then the file name alone
R_CORPUS = 80
R_EPOCH = 70
R_THREADS = 65  # the BLAS threads, above one
R_SAVED_FILE = 60
R_SAVED = 55  # that one was saved, and at which iteration
R_DETAILS = 50  # the model's batch, precision, optimizer and dropout, from the last
R_CHARS = 40
R_LOSS_UNIT = 30  # "bits/char", then "bpc"
R_LOSS = 20
R_MESSAGE = 10  # why the run stopped, cut at words


def status_fields(snap: Snapshot, state: State) -> list[Field]:
    """The status line's fields for `snap` in `state`, in the order they appear."""
    st = snap.stats
    style = STATE_STYLE[state]
    rate = "— it/s" if math.isnan(snap.rate) else f"{snap.rate:.0f} it/s"
    fields = [field(0, (((f"iter {st.iteration}", "bold"),), KEEP)), field(1, (rate, KEEP))]
    if st.threads > 1:  # one is the rule, and not shown
        fields.append(field(1, (f"{st.threads} threads", R_THREADS)))
    if math.isfinite(snap.loss_per_char):
        b = f"{bits(snap.loss_per_char):.3f}"
        fields.append(field(2, (((b, "bold"), (" bits/char", "")), R_LOSS_UNIT),
                            (((b, "bold"), (" bpc", "")), R_LOSS)))
    fields += [
        field(3, (f"{compact_count(st.chars_seen)} chars", R_CHARS)),
        field(4, (f"epoch {st.epoch} · {100 * st.epoch_progress:.1f}%", R_EPOCH),
              (f"ep {st.epoch}", R_EPOCH)),
        field(5, ((("● " + state.value, style),), KEEP)),
    ]
    if snap.message:
        fields.append(Field(word_forms(snap.message, style, R_MESSAGE), 6))
    elif snap.activity:
        fields.append(field(6, (((f"{snap.activity}… (q stops it)", "warn"),), R_MESSAGE),
                            (((snap.activity, "warn"),), KEEP)))
    else:
        parts = st.model.split(" · ") if st.model else []
        if parts:
            fields.append(field(6, (((parts[0], "dim"),), KEEP)))  # the model's short name
        details = parts[1:]  # batch, precision, optimizer, dropout: the last goes first
        if details:
            fields.append(field(6, *((((" · ".join(details[:k]), "dim"),), R_DETAILS)
                                     for k in range(len(details), 0, -1))))
        fields.append(field(6, (((snap.corpus_name, "dim"),), R_CORPUS)))
        if snap.saved_at is not None:
            saved = f"saved {snap.saved_at}"
            fields.append(field(
                6, (((f"{saved} → {home_relative(snap.saved_path)}", "dim"),), R_SAVED_PATH),
                (((f"{saved} → {Path(snap.saved_path).name}", "dim"),), R_SAVED_FILE),
                (((saved, "dim"),), R_SAVED)))
    return fields


def _width(form: Form) -> int:
    return sum(len(text) for text, _ in form)


def fit(fields: Sequence[Field], width: int) -> Line:
    """The fields as one Line at most `width` cells wide (as far as the kept forms allow):
    the form with the highest rank gives way to the next (or the field goes), again and again;
    on a tie the rightmost field first."""
    chosen: list[int | None] = [0] * len(fields)  # form index, None: dropped

    def shown() -> list[tuple[Field, Form]]:
        return [(f, f.forms[i][0]) for f, i in zip(fields, chosen) if i is not None]

    def total() -> int:
        now = shown()
        size = sum(_width(form) for _, form in now)
        for (a, _), (b, _) in zip(now, now[1:]):
            size += len(JOIN[0]) if a.group == b.group else len(SEP[0])
        return size

    taken: list[tuple[int, int, int | None]] = []  # (field, form before, form after)
    while total() > width:
        steps = [(f.forms[i][1], k) for k, (f, i) in enumerate(zip(fields, chosen))
                 if i is not None and f.forms[i][1] != KEEP]
        if not steps:
            break
        _, k = max(steps)
        step = chosen[k] + 1
        taken.append((k, chosen[k], step if step < len(fields[k].forms) else None))
        chosen[k] = taken[-1][2]
    # a later, bigger step may have made room that an earlier one no longer needs: give
    # back what fits, the most important first
    for k, before, after in reversed(taken[:-1]):
        if chosen[k] == after:
            chosen[k] = before
            if total() > width:
                chosen[k] = after
    parts: list[tuple[str, str]] = []
    previous: Field | None = None
    for f, form in shown():
        if previous is not None:
            parts.append(JOIN if previous.group == f.group else SEP)
        parts.extend(form)
        previous = f
    return tuple(parts)


class StatusLine(TextLines):
    """`iter N │ R it/s [· T threads] │ L bits/char │ C chars │ epoch E · P% │ ● state │
    model · corpus` (or why it stopped), fitted to its width."""

    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._shown: tuple[Snapshot, State] | None = None

    def show(self, snap: Snapshot, state: State | None = None) -> None:
        """Draw `snap`; `state` overrides its state (a key press shows before the next tick)."""
        state = state or snap.state
        self._shown = (snap, state)
        width = self.size.width or max(1, self.app.size.width - 2)
        self.set_lines([fit(status_fields(snap, state), width)])

    def on_resize(self) -> None:
        if self._shown is not None:
            self.show(*self._shown)
