"""`charrnn-tui score CHECKPOINT FILE` and `charrnn-tui neurons CHECKPOINT [CORPUS]`.

`score` prints how many bits per character a saved model needs for a text, read from h = 0 as
a new text starts (and, with --color, the text coloured by each character's surprisal on the
views' heat scale). `neurons` prints the feature ranking of the neuron explorer: for each
simple text feature, the units whose activations correlate with it most (engine/inspect/probe.py).
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
from pathlib import Path

from engine.data import CorpusError, load_corpus
from engine.inspect import probe
from engine.store.checkpoint import CheckpointError, SavedModel, load_model
from engine.store.files import FileRefused, read_regular
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


def _load(path: str) -> SavedModel:
    return load_model(path)


def _read_text(path: str) -> str:
    try:
        raw = read_regular(path, MAX_SCORE_BYTES, "text file")
    except FileRefused as exc:
        raise InputError(str(exc)) from None
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not valid UTF-8 (bad byte near offset {exc.start})") from None


def unknown_message(where: str, text: str, unknown: list[int]) -> str:
    """One line naming the first character outside the vocabulary and where it is."""
    at = unknown[0]
    line = text.count("\n", 0, at) + 1
    column = at - (text.rfind("\n", 0, at) + 1) + 1
    more = f" ({len(unknown)} characters in all)" if len(unknown) > 1 else ""
    return (f"{where}: character {text[at]!r} at line {line}, column {column} is not in the "
            f"model's vocabulary{more}")


def score_main(argv: list[str]) -> int:
    parser = build_score_parser()
    args = parser.parse_args(argv)
    refuse_empty_paths(parser, ("CHECKPOINT", args.checkpoint), ("FILE", args.file))
    try:
        if sys.stdout is None:
            raise InputError("standard output is closed; nothing could be printed")
        saved = _load(args.checkpoint)
        text = _read_text(args.file)
        known, unknown = probe.split_known(saved.vocab, text)
        if unknown and not args.skip_unknown:
            raise InputError(unknown_message(args.file, text, unknown) +
                             "; --skip-unknown reads the text without them")
        if len(known) < 2:
            raise InputError(f"{args.file}: needs at least two characters the model knows "
                             f"(found {len(known)})")
    except (CheckpointError, InputError) as exc:
        say(f"{PROG} score: error: {exc}")
        return Exit.USAGE
    losses = probe.surprisal(saved.model, known)
    out = Output(sys.stdout)
    if args.color:
        out.write(coloured(text, unknown, losses, len(saved.vocab), _colour_on(sys.stdout)))
    mean = float(losses.sum()) / len(losses)
    skipped = f", {len(unknown)} unknown characters skipped" if unknown else ""
    out.write(f"{bits(mean):.4f} bits/char over {len(losses)} predicted characters "
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
    `colour`, the text itself."""
    if not colour:
        return text if text.endswith("\n") else text + "\n"
    from rich.console import Console
    from rich.style import Style
    from rich.text import Text

    from ..scales import heat

    worst = math.log(max(2, vocab_size))
    marked = Style(reverse=True, bold=True)
    skip = set(unknown)
    rendered = Text()
    k = -1  # index of the known character being written (0 is the first: not predicted)
    for pos, ch in enumerate(text):
        if pos in skip:
            rendered.append(ch, marked)
            continue
        k += 1
        if ch == "\n" or k == 0:
            rendered.append(ch)
        else:
            rendered.append(ch, heat(float(losses[k - 1]) / worst))
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=True, color_system="truecolor",
                      soft_wrap=True, highlight=False)
    console.print(rendered, end="" if text.endswith("\n") else "\n")
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
        saved = _load(args.checkpoint)
        corpus_path = _corpus_path(args.corpus, saved)
        corpus = load_corpus(corpus_path)
        start, ix = probe.passage(corpus.ix, saved.config.val_fraction)
        text = corpus.decode(ix.tolist())
        known, unknown = probe.split_known(saved.vocab, text)
        if unknown:
            raise InputError(unknown_message(str(corpus_path), text, unknown))
        if len(known) < 3:
            raise InputError(f"{corpus_path}: too short to read (needs at least 3 characters)")
    except (CheckpointError, CorpusError, InputError) as exc:
        say(f"{PROG} neurons: error: {exc}")
        return Exit.USAGE
    reading = probe.read(saved.model, known, saved.hprev)
    ranks = probe.rank_units(reading, text, args.top)
    held = start > 0
    out = Output(sys.stdout)
    out.write(f"# {len(reading.losses)} characters of {corpus.name} from position {start} "
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
