"""The `charrnn-tui` command: argument parsing, the headless trainer, and launching the app.

The headless path imports only the engine, so it starts fast; the Textual app is imported
only when it is about to run.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from engine import Config, ConfigError, CorpusError, Outcome, Trainer, load_corpus, run

from . import __version__

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_DIVERGED = 0, 1, 2, 3
PROG = "charrnn-tui"


def default_corpus_path() -> Path:
    from sample_corpora import default_path

    return default_path()


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not the usage block
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _count(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = _Parser(
        prog=PROG,
        description="Train a character-level vanilla RNN (min-char-rnn) and watch it learn, "
                    "live in the terminal, or headless with the original script's output.",
        epilog="Exit status: 0 done or interrupted, 1 runtime error, 2 bad input, 3 diverged.",
    )
    p.add_argument("corpus", nargs="?", metavar="CORPUS",
                   help="UTF-8 text file to train on (default: the bundled verse corpus)")
    p.add_argument("--headless", action="store_true",
                   help="train without the UI and print samples and 'iter N, loss: X' lines")
    p.add_argument("--iters", type=_count, default=None, metavar="N",
                   help="stop after N iterations (default: run until Ctrl+C or q)")
    p.add_argument("--seed", type=_int, default=None, metavar="S",
                   help="np.random.seed(S) before drawing Wxh, Whh, Why (default: random, printed)")
    p.add_argument("--hidden", type=_int, default=d.hidden_size, metavar="H",
                   help=f"hidden units (default {d.hidden_size})")
    p.add_argument("--seq-length", type=_int, default=d.seq_length, metavar="T",
                   help=f"BPTT window in characters (default {d.seq_length})")
    p.add_argument("--lr", type=_float, default=d.learning_rate, metavar="LR",
                   help=f"Adagrad learning rate (default {d.learning_rate:g})")
    p.add_argument("--sample-every", type=_count, default=d.sample_every, metavar="N",
                   help=f"sample every N iterations, 0 = never (default {d.sample_every})")
    p.add_argument("--sample-length", type=_int, default=d.sample_length, metavar="N",
                   help=f"characters per sample (default {d.sample_length})")
    p.add_argument("--temperature", type=_float, default=d.temperature, metavar="T",
                   help=f"sampling temperature, > 0 (default {d.temperature:g})")
    p.add_argument("--greedy", action="store_true",
                   help="sample the most likely character (argmax) instead of drawing")
    p.add_argument("--print-every", type=_count, default=100, metavar="N",
                   help="headless: print 'iter N, loss: X' every N iterations, 0 = never "
                        "(default 100)")
    p.add_argument("--exact", action="store_true",
                   help="bit-for-bit the original arithmetic (slower); default is the fast mode")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    return Config(hidden_size=args.hidden, seq_length=args.seq_length, learning_rate=args.lr,
                  seed=args.seed, exact=args.exact, sample_every=args.sample_every,
                  sample_length=args.sample_length, temperature=args.temperature,
                  greedy=args.greedy)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
        corpus = load_corpus(args.corpus) if args.corpus else load_corpus(default_corpus_path())
        trainer = Trainer(corpus, config)
    except (ConfigError, CorpusError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print(f"{PROG}: error: not enough memory for this corpus and model size", file=sys.stderr)
        return EXIT_USAGE
    if args.headless:
        return headless(trainer, args.iters, args.print_every, announce_seed=args.seed is None)
    from .app import run_app

    return run_app(trainer, iters=args.iters)


def headless(trainer: Trainer, iters: int | None, print_every: int,
             announce_seed: bool = False) -> int:
    """Print what the original script prints: samples between ---- lines, then iter lines."""
    out = sys.stdout
    write = out.write

    def on_step(r) -> None:
        if r.sample is not None:
            write("----\n %s \n----\n" % (r.sample,))
        if print_every and r.iteration % print_every == 0:
            write("iter %d, loss: %f\n" % (r.iteration, r.smooth_loss))

    def on_diverged(_trainer, exc) -> None:
        out.flush()
        print(f"{PROG}: diverged: {exc}", file=sys.stderr)

    try:
        if announce_seed:  # an unseeded run can still be repeated
            print(f"# seed {trainer.config.seed}", file=sys.stderr)
        outcome = run(trainer, iters=iters, on_step=on_step, on_diverged=on_diverged)
        out.flush()
    except KeyboardInterrupt:
        out.flush()
        return EXIT_OK
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return EXIT_OK
    return EXIT_DIVERGED if outcome is Outcome.DIVERGED else EXIT_OK
