"""The `charrnn-tui` command: argument parsing, the headless trainer, and launching the app.

The headless path imports only the engine, so it starts fast; the Textual app is imported
only when it is about to run.
"""

from __future__ import annotations

import argparse
import math
import signal
import sys
import time
from pathlib import Path

import numpy as np

from engine import (
    EXACT_WARMUP,
    Config,
    ConfigError,
    Control,
    Corpus,
    CorpusError,
    Outcome,
    Trainer,
    load_corpus,
    run,
)
from engine.checkpoint import CheckpointError, CheckpointStore, load_checkpoint, load_model
from engine.runlog import MetricsLog

from . import __version__
from .paths import Paths, user_paths
from .run_files import RunRecorder
from .settings import Settings, load_settings

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


# settings a resumed run may change; None in the parsed args means "not given"
_LIVE = {"seq_length": "seq_length", "lr": "learning_rate", "sample_every": "sample_every",
         "sample_length": "sample_length", "temperature": "temperature",
         "val_fraction": "val_fraction", "eval_every": "eval_every"}


class UsageError(Exception):
    """Bad input found after parsing; one line for the user, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = _Parser(
        prog=PROG,
        description="Train a character-level vanilla RNN (min-char-rnn) and watch it learn, "
                    "live in the terminal, or headless with the original script's output.",
        epilog=f"Also: '{PROG} sample CHECKPOINT [--length N] [--temperature T] [--prime TEXT]' "
               "prints a sample from a saved model. Exit status: 0 done or interrupted, "
               "1 runtime error, 2 bad input, 3 diverged.",
    )
    p.add_argument("corpus", nargs="?", metavar="CORPUS",
                   help="UTF-8 text file to train on (default: the bundled verse corpus)")
    p.add_argument("--headless", action="store_true",
                   help="train without the UI and print samples and 'iter N, loss: X' lines")
    p.add_argument("--iters", type=_count, default=None, metavar="N",
                   help="stop after N (more) iterations (default: run until Ctrl+C or q)")
    model = p.add_argument_group("model and training")
    model.add_argument("--seed", type=_int, default=None, metavar="S",
                       help="np.random.seed(S) before drawing Wxh, Whh, Why "
                            "(default: random, and printed)")
    model.add_argument("--hidden", type=_int, default=None, metavar="H",
                       help=f"hidden units (default {d.hidden_size})")
    model.add_argument("--seq-length", type=_int, default=None, metavar="T",
                       help=f"BPTT window in characters (default {d.seq_length})")
    model.add_argument("--lr", type=_float, default=None, metavar="LR",
                       help=f"Adagrad learning rate (default {d.learning_rate:g})")
    model.add_argument("--val-fraction", type=_float, default=None, metavar="F",
                       help="hold out the last F of the corpus (0-0.5) and report validation "
                            "bits/char (default 0: train on all of it, as the original)")
    model.add_argument("--eval-every", type=_int, default=None, metavar="N",
                       help=f"iterations between validation passes (default {d.eval_every})")
    model.add_argument("--exact", action="store_true",
                       help="the original arithmetic bit for bit throughout (slower); the default "
                            f"mode uses it for the first {EXACT_WARMUP} iterations, then "
                            "whole-window matrix products")
    sampling = p.add_argument_group("sampling and output")
    sampling.add_argument("--sample-every", type=_count, default=None, metavar="N",
                          help=f"sample every N iterations, 0 = never (default {d.sample_every})")
    sampling.add_argument("--sample-length", type=_int, default=None, metavar="N",
                          help=f"characters per sample (default {d.sample_length})")
    sampling.add_argument("--temperature", type=_float, default=None, metavar="T",
                          help=f"sampling temperature, > 0 (default {d.temperature:g})")
    sampling.add_argument("--greedy", action="store_true",
                          help="sample the most likely character (argmax) instead of drawing")
    sampling.add_argument("--print-every", type=_count, default=100, metavar="N",
                          help="headless: print 'iter N, loss: X' every N iterations, "
                               "0 = never (default 100)")
    files = p.add_argument_group("checkpoints and logs")
    files.add_argument("--checkpoint-dir", metavar="DIR", default=None,
                       help="where checkpoints go (default: the user data dir; see --paths)")
    files.add_argument("--save-every", type=_count, default=None, metavar="N",
                       help="autosave every N iterations, 0 = only at the end (default 1000)")
    files.add_argument("--keep", type=_int, default=None, metavar="N",
                       help="keep the newest N checkpoints per corpus (default 5)")
    files.add_argument("--resume", metavar="PATH|latest", default=None,
                       help="continue from a checkpoint; 'latest' = the newest for this corpus")
    files.add_argument("--no-save", action="store_true",
                       help="write no checkpoints (not even at the end)")
    files.add_argument("--log", metavar="FILE", default=None,
                       help="append run metrics as JSON lines to FILE (default: the log dir)")
    files.add_argument("--paths", action="store_true",
                       help="print the directories in use and exit")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    return p


def build_sample_parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"{PROG} sample", description="Print a sample from a saved model.")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .npz checkpoint")
    p.add_argument("--length", type=_int, default=200, metavar="N", help="characters (200)")
    p.add_argument("--temperature", type=_float, default=None, metavar="T",
                   help="sampling temperature (default: the checkpoint's)")
    p.add_argument("--prime", default=None, metavar="TEXT",
                   help="text the model reads first; the sample continues it")
    p.add_argument("--greedy", action="store_true", help="take the most likely character")
    p.add_argument("--seed", type=_int, default=None, metavar="S",
                   help="random stream for the draws (default: the checkpoint's)")
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    d = Config()
    return Config(
        hidden_size=d.hidden_size if args.hidden is None else args.hidden,
        seq_length=d.seq_length if args.seq_length is None else args.seq_length,
        learning_rate=d.learning_rate if args.lr is None else args.lr,
        seed=args.seed, exact=args.exact,
        sample_every=d.sample_every if args.sample_every is None else args.sample_every,
        sample_length=d.sample_length if args.sample_length is None else args.sample_length,
        temperature=d.temperature if args.temperature is None else args.temperature,
        greedy=args.greedy,
        val_fraction=d.val_fraction if args.val_fraction is None else args.val_fraction,
        eval_every=d.eval_every if args.eval_every is None else args.eval_every)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sample"]:
        return sample_main(argv[1:])
    args = build_parser().parse_args(argv)
    warn = _stderr_line
    try:
        paths = user_paths(args.checkpoint_dir)
        if args.paths:
            return print_paths(paths)
        settings, warning = load_settings(paths.settings)
        if warning:
            warn(warning)
        corpus = load_corpus(args.corpus) if args.corpus else load_corpus(default_corpus_path())
        trainer = make_trainer(args, corpus, paths, settings)
        recorder = make_recorder(args, trainer, paths, settings, warn)
    except (ConfigError, CorpusError, CheckpointError, UsageError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MemoryError:
        print(f"{PROG}: error: not enough memory for this corpus and model size", file=sys.stderr)
        return EXIT_USAGE
    if args.headless:
        return headless(trainer, args.iters, args.print_every, recorder,
                        announce_seed=args.seed is None and args.resume is None)
    from .app import run_app

    return run_app(trainer, iters=args.iters, recorder=recorder, store=recorder.store or
                   CheckpointStore(paths.checkpoint_dir_for(corpus.name, corpus.fingerprint)),
                   recorder_factory=lambda tr: make_recorder(args, tr, paths, settings, warn))


def make_trainer(args: argparse.Namespace, corpus: Corpus, paths: Paths,
                 settings: Settings) -> Trainer:
    """A new trainer, or one resumed from a checkpoint with the given settings applied."""
    if args.resume is None:
        return Trainer(corpus, config_from_args(args))
    if args.resume == "latest":
        store = CheckpointStore(paths.checkpoint_dir_for(corpus.name, corpus.fingerprint))
        path = store.latest()
        if path is None:
            raise UsageError(f"no checkpoint for {corpus.name} in {store.directory}")
    else:
        path = Path(args.resume)
    trainer = load_checkpoint(path, corpus)
    for flag, given, saved in (("--hidden", args.hidden, trainer.config.hidden_size),
                               ("--seed", args.seed, trainer.config.seed)):
        if given is not None and given != saved:
            raise UsageError(f"{flag} {given} differs from the checkpoint's ({saved}); "
                             f"it is fixed by {path}")
    changes = {field: getattr(args, arg) for arg, field in _LIVE.items()
               if getattr(args, arg) is not None}
    if args.exact:
        changes["exact"] = True
    if args.greedy:
        changes["greedy"] = True
    if changes:
        trainer.set_config(trainer.config.with_changes(**changes))
    print(f"# resumed {path} at iteration {trainer.n}", file=sys.stderr)
    return trainer


def make_recorder(args: argparse.Namespace, trainer: Trainer, paths: Paths, settings: Settings,
                  warn) -> RunRecorder:
    keep = settings.keep_checkpoints if args.keep is None else args.keep
    if not 1 <= keep <= 10_000:
        raise UsageError(f"--keep must be between 1 and 10000, got {keep}")
    save_every = settings.save_every if args.save_every is None else args.save_every
    corpus = trainer.corpus
    store = None if args.no_save else CheckpointStore(
        paths.checkpoint_dir_for(corpus.name, corpus.fingerprint), keep=keep)
    log_path = Path(args.log) if args.log else paths.logs / (
        f"{time.strftime('%Y%m%d-%H%M%S')}-{corpus.name}.jsonl")
    try:
        log = MetricsLog(log_path)
    except OSError as exc:
        if args.log:
            raise UsageError(f"{log_path}: cannot write the run log ({exc.strerror or exc})") \
                from None
        warn(f"run log disabled: cannot write {log_path} ({exc.strerror or exc})")
        log = None
    return RunRecorder(store, save_every, log, settings.log_every, report=warn)


def print_paths(paths: Paths) -> int:
    for label, path in (("data", paths.data), ("checkpoints", paths.checkpoints),
                        ("settings", paths.settings), ("logs", paths.logs)):
        print(f"{label:12s} {path}")
    return EXIT_OK


def sample_main(argv: list[str]) -> int:
    args = build_sample_parser().parse_args(argv)
    try:
        saved = load_model(args.checkpoint)
        if not 1 <= args.length <= 1_000_000:
            raise UsageError(f"--length must be between 1 and 1000000, got {args.length}")
        if args.temperature is not None:
            saved.config.with_changes(temperature=args.temperature)  # validates
        if args.seed is not None:
            saved.config.with_changes(seed=args.seed)
        rng = None if args.seed is None else np.random.RandomState(args.seed)
        text = saved.sample(args.length, prime=args.prime, temperature=args.temperature,
                            greedy=args.greedy or None, rng=rng)
    except (CheckpointError, ConfigError, CorpusError, UsageError) as exc:
        print(f"{PROG} sample: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        sys.stdout.write((args.prime or "") + text + "\n")
        sys.stdout.flush()
    except BrokenPipeError:
        sys.stderr.close()
    return EXIT_OK


def headless(trainer: Trainer, iters: int | None, print_every: int,
             recorder: RunRecorder | None = None, announce_seed: bool = False) -> int:
    """Print what the original script prints: samples between ---- lines, then iter lines.

    Ctrl+C stops at the next step boundary (so the final checkpoint is consistent); a second
    Ctrl+C interrupts at once.
    """
    out = sys.stdout
    write = out.write
    control = Control()

    def on_step(r) -> None:
        if r.sample is not None:
            write("----\n %s \n----\n" % (r.sample,))
        if print_every and r.iteration % print_every == 0:
            write("iter %d, loss: %f\n" % (r.iteration, r.smooth_loss))
        if r.val_bits is not None:
            write("val %d, bits/char: %.4f\n" % (r.iteration, r.val_bits))
        if recorder is not None:
            recorder.after_step(trainer)

    def on_diverged(_trainer, exc) -> None:
        out.flush()
        print(f"{PROG}: diverged: {exc}", file=sys.stderr)

    def on_sigint(_signum, _frame) -> None:
        if control.stopped:
            raise KeyboardInterrupt
        control.stop()

    if announce_seed:  # an unseeded run can still be repeated
        print(f"# seed {trainer.config.seed}", file=sys.stderr)
    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        outcome = run(trainer, control, iters=iters, on_step=on_step, on_diverged=on_diverged)
        out.flush()
        if recorder is not None:
            saved = recorder.finish(trainer)
            if saved is not None:
                print(f"# saved iteration {trainer.n} to {saved}", file=sys.stderr)
    except KeyboardInterrupt:
        return EXIT_OK
    except BrokenPipeError:  # e.g. piped into `head`
        sys.stderr.close()
        return EXIT_OK
    finally:
        signal.signal(signal.SIGINT, previous)
    return EXIT_DIVERGED if outcome is Outcome.DIVERGED else EXIT_OK


def _stderr_line(message: str) -> None:
    print(f"{PROG}: {message}", file=sys.stderr)
