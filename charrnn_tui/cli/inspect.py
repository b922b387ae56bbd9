"""`charrnn-tui score CHECKPOINT FILE` and `charrnn-tui neurons CHECKPOINT [CORPUS]`.

`score` prints how many bits per character a saved model needs for a text, read from h = 0 as
a new text starts (and, with --color, the text coloured by each character's surprisal on the
views' heat scale). `neurons` prints the feature ranking of the neuron explorer: for each
simple text feature, the units whose activations correlate with it most (engine/inspect/probe.py).
"""

from __future__ import annotations

import argparse
import codecs
import io
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from engine.data import CorpusError, load_corpus
from engine.inspect import probe
from engine.store.checkpoint import CheckpointError, SavedModel, load_model
from engine.store.files import FileRefused, describe_os_error, open_regular
from engine.text import visible
from engine.units import bits

from .arguments import Parser, examples, refuse_empty_paths
from .exit_status import Exit
from .output import PROG, Output, say

MAX_SCORE_BYTES = 16 << 20  # 16 MiB: about a minute of forward passes for a small model


class InputError(Exception):
    """Bad input; one line for the user, exit status 2."""


def build_score_parser() -> argparse.ArgumentParser:
    p = Parser(prog=f"{PROG} score",
                description="Print the bits per character a saved model needs for a text. "
                            "The model reads FILE from h = 0, as a new text starts (not from "
                            "the checkpoint's carried state); the first character is read, "
                            "every later one is predicted and scored.",
                epilog=examples(
                    (f"{PROG} score CKPT.npz held_out.txt", "bits/char of a text"),
                    (f"{PROG} score CKPT.npz poem.txt --color", "and the text, coloured"),
                    (f"{PROG} score CKPT.npz notes.txt --skip-unknown",
                     "leave out characters it never saw"),
                ))
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .npz checkpoint")
    p.add_argument("file", metavar="FILE", help="a UTF-8 text file (at most 16 MiB)")
    p.add_argument("--color", action="store_true",
                   help="also print the text, each character coloured by its surprisal "
                        "(green: expected, red: -log p = ln V or more); off when NO_COLOR is "
                        "set or stdout is not a terminal (then the text is printed plain)")
    p.add_argument("--skip-unknown", action="store_true",
                   help="read the text without the characters the model has never seen "
                        "(default: refuse such a text)")
    return p


def build_neurons_parser() -> argparse.ArgumentParser:
    p = Parser(prog=f"{PROG} neurons",
                description="Print which units of a saved model track simple text features "
                            "(inside quotes or brackets, characters since a newline, word "
                            "start, upper case, after a newline, whitespace): Pearson r of "
                            f"each unit's activation over up to {probe.PASSAGE} characters of "
                            "CORPUS (its held-out part when the run held one out, else its "
                            "start), read from the checkpoint's carried state.",
                epilog=examples(
                    (f"{PROG} neurons CKPT.npz", "on the checkpoint's own corpus"),
                    (f"{PROG} neurons CKPT.npz other_text.txt --top 5",
                     "five units per feature"),
                ))
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .npz checkpoint")
    p.add_argument("corpus", nargs="?", metavar="CORPUS",
                   help="the text to read (default: the bundled corpus of the checkpoint's "
                        "corpus name)")
    p.add_argument("--top", type=int, default=probe.TOP_UNITS, metavar="N",
                   help=f"units per feature (default {probe.TOP_UNITS})")
    return p


TEXT_PIECE = 1 << 16  # bytes of the text decoded and scored at a time: memory is O(piece)


def _pieces(f: BinaryIO, path: str) -> Iterator[str]:
    """The text of an open file from its start, in pieces of about TEXT_PIECE bytes decoded
    as UTF-8 (a byte-order mark dropped); InputError names a bad byte or a failed read."""
    f.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, started = 0, False
    while True:
        try:
            raw = f.read(TEXT_PIECE)
        except OSError as exc:
            raise InputError(describe_os_error(path, exc)) from None
        try:
            text = decoder.decode(raw, final=not raw)
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not valid UTF-8 (bad byte near offset "
                             f"{offset + exc.start})") from None
        offset += len(raw)
        if text and not started:
            started = True
            text = text.removeprefix("\ufeff")
        if text:
            yield text
        if not raw:
            return


@dataclass
class TextCheck:
    """What a first pass over a text to score found: its known and unknown characters and
    where the first unknown one is."""

    known: int = 0
    unknown: int = 0
    first_unknown: tuple[str, int, int] | None = None  # (character, line, column)
    line: int = 1  # where the pass is: line and column of the next character
    column: int = 1

    def add(self, text: str, ix: np.ndarray) -> None:
        bad = np.flatnonzero(ix < 0)
        if bad.size and self.first_unknown is None:
            at = int(bad[0])
            newline = text.rfind("\n", 0, at)
            column = at - newline if newline >= 0 else self.column + at
            self.first_unknown = (text[at], self.line + text.count("\n", 0, at), column)
        self.unknown += int(bad.size)
        self.known += int(ix.size - bad.size)
        last = text.rfind("\n")
        self.line += text.count("\n")
        self.column = len(text) - last if last >= 0 else self.column + len(text)


def unknown_line(where: str, char: str, line: int, column: int, count: int) -> str:
    more = f" ({count} characters in all)" if count > 1 else ""
    return (f"{where}: character {char!r} at line {line}, column {column} is not in the "
            f"model's vocabulary{more}")


def unknown_message(where: str, text: str, unknown: list[int]) -> str:
    """One line naming the first character outside the vocabulary and where it is."""
    at = unknown[0]
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    return unknown_line(where, text[at], line, column, len(unknown))


def score_main(argv: list[str]) -> int:
    """Score FILE in two streaming passes over one open file: the first checks it (UTF-8,
    vocabulary) without the model, the second reads it through the model and prints."""
    parser = build_score_parser()
    args = parser.parse_args(argv)
    refuse_empty_paths(parser, ("CHECKPOINT", args.checkpoint), ("FILE", args.file))
    try:
        if sys.stdout is None:
            raise InputError("standard output is closed; nothing could be printed")
        saved = load_model(args.checkpoint)
        try:
            f = open_regular(args.file, MAX_SCORE_BYTES, "text file")
        except FileRefused as exc:
            raise InputError(str(exc)) from None
        with f:
            found = TextCheck()
            for text in _pieces(f, args.file):
                found.add(text, probe.indices(saved.vocab, text))
            if found.unknown and not args.skip_unknown:
                raise InputError(unknown_line(args.file, *found.first_unknown, found.unknown) +
                                 "; --skip-unknown reads the text without them")
            if found.known < 2:
                raise InputError(f"{args.file}: needs at least two characters the model knows "
                                 f"(found {found.known})")
            return _score(saved, f, args, found)
    except (CheckpointError, InputError) as exc:
        say(f"{PROG} score: error: {exc}")
        return Exit.USAGE
    except MemoryError:
        say(f"{PROG} score: error: not enough memory to score with this model")
        return Exit.USAGE


def _score(saved: SavedModel, f: BinaryIO, args: argparse.Namespace, found: TextCheck) -> int:
    """The second pass: each piece read on from the state the last one left, coloured as it
    goes with --color, and the mean at the end."""
    scorer = probe.Scorer(saved.model)
    out = Output(sys.stdout)
    colour = _colour_on(sys.stdout)
    total, predicted, first, last = 0.0, 0, True, "\n"
    for text in _pieces(f, args.file):
        ix = probe.indices(saved.vocab, text)
        unknown = np.flatnonzero(ix < 0)
        if unknown.size and not args.skip_unknown:
            raise InputError(f"{args.file}: changed while it was read")
        losses = scorer.feed(ix[ix >= 0])
        if not np.isfinite(losses).all():  # bounded weights make this impossible; say so
            raise InputError(f"{args.checkpoint}: the model's loss is not finite on this text")
        total += float(losses.sum())
        predicted += len(losses)
        if args.color:
            out.write(coloured_piece(text, unknown.tolist(), losses, len(saved.vocab), colour,
                                     first))
        first = first and not (ix >= 0).any()
        last = text[-1]
        if out.failed:
            break
    if args.color and last != "\n":
        out.write("\n")
    if predicted != found.known - 1:
        raise InputError(f"{args.file}: changed while it was read")
    skipped = f", {found.unknown} unknown characters skipped" if found.unknown else ""
    out.write(f"{bits(total / predicted):.4f} bits/char over {predicted} predicted characters "
              f"(read from h = 0{skipped})\n")
    out.flush()
    if out.error is not None:
        say(f"{PROG} score: error: {out.error}")
        return Exit.ERROR
    return Exit.OK


def _colour_on(stream) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    try:
        return stream.isatty()
    except (OSError, ValueError, AttributeError):
        return False


def coloured(text: str, unknown: list[int], losses, vocab_size: int, colour: bool) -> str:
    """The text with each predicted character's background on the heat scale of its loss over
    ln V (the surprisal view's), unknown characters reversed and the first one plain; without
    `colour`, the text itself. Control characters show as U+FFFD (engine/text.py)."""
    piece = coloured_piece(text, unknown, losses, vocab_size, colour, first=True)
    return piece if text.endswith("\n") else piece + "\n"


def coloured_piece(text: str, unknown: list[int], losses, vocab_size: int, colour: bool,
                   first: bool) -> str:
    """One piece of a text for `coloured`: `losses` are its known characters' in order, but
    for the text's very first character (`first`: it is in this piece), which has none."""
    text = visible(text, multiline=True)  # one for one: positions stay
    if not colour:
        return text
    from rich.console import Console
    from rich.style import Style
    from rich.text import Text

    from ..scales import heat

    worst = math.log(max(2, vocab_size))
    marked = Style(reverse=True, bold=True)
    skip = set(unknown)
    rendered = Text()
    k = -1 if first else 0  # the loss of the known character being written (-1: none)
    for pos, ch in enumerate(text):
        if pos in skip:
            rendered.append(ch, marked)
            continue
        if ch == "\n" or k < 0:
            rendered.append(ch)
        else:
            rendered.append(ch, heat(float(losses[k]) / worst))
        k += 1
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor",
                      soft_wrap=True, highlight=False)
    console.print(rendered, end="")
    return buffer.getvalue()


def neurons_main(argv: list[str]) -> int:
    parser = build_neurons_parser()
    args = parser.parse_args(argv)
    refuse_empty_paths(parser, ("CHECKPOINT", args.checkpoint), ("CORPUS", args.corpus))
    try:
        if sys.stdout is None:
            raise InputError("standard output is closed; nothing could be printed")
        if not 1 <= args.top <= 20:
            raise InputError(f"--top must be between 1 and 20, got {args.top}")
        saved = load_model(args.checkpoint, kept_chars=probe.PASSAGE)
        corpus_path = _corpus_path(args.corpus, saved)
        corpus = load_corpus(corpus_path)
        start, ix = probe.passage(corpus.ix, saved.config.val_fraction)
        text = corpus.decode(ix.tolist())
        known, unknown = probe.split_known(saved.vocab, text)
        if unknown:
            raise InputError(unknown_message(str(corpus_path), text, unknown))
        if len(known) < 3:
            raise InputError(f"{corpus_path}: too short to read (needs at least 3 characters)")
        reading = probe.read(saved.model, known, saved.hprev)
        ranks = probe.rank_units(reading, text, args.top)
    except (CheckpointError, CorpusError, InputError) as exc:
        say(f"{PROG} neurons: error: {exc}")
        return Exit.USAGE
    except MemoryError:
        say(f"{PROG} neurons: error: not enough memory to read with this model")
        return Exit.USAGE
    held = start > 0
    out = Output(sys.stdout)
    out.write(f"# {len(reading.losses)} characters of {visible(corpus.name)} from position {start} "
              f"({'the held-out part' if held else 'the start of the text'}), read from the "
              f"checkpoint's carried state (iteration {saved.iteration})\n")
    for line in ranking_lines(ranks):
        out.write(line + "\n")
    out.flush()
    if out.error is not None:
        say(f"{PROG} neurons: error: {out.error}")
        return Exit.ERROR
    return Exit.OK


def _corpus_path(given: str | None, saved: SavedModel) -> Path:
    if given is not None:
        return Path(given)
    from sample_corpora import available

    for path in available():
        if path.name == saved.corpus_name:
            return path
    raise InputError(f"the checkpoint was trained on {saved.corpus_name or 'an unnamed text'}, "
                     "which is not a bundled corpus; give CORPUS")


def ranking_lines(ranks) -> list[str]:
    """The table: a feature per row, its mean over the passage (a yes/no feature: how often it
    holds), then the units by |r|."""
    width = max(len(r.feature) for r in ranks)
    lines = [f"{'feature':<{width}}  {'mean':>6}  units by |r| (layer, h or c, index: r)"]
    for rank in ranks:
        if not rank.varies:
            lines.append(f"{rank.feature:<{width}}  {rank.share:>6.3f}  absent from the text")
            continue
        units = "   ".join(f"{u.label}: {u.r:+.3f}" for u in rank.top)
        share = f"{rank.share:>6.3f}" if rank.feature != "since newline" else \
            f"{rank.share:>6.1f}"
        lines.append(f"{rank.feature:<{width}}  {share}  {units}")
    return lines
