"""The `charrnn-tui` command: argument parsing, the headless trainer, and launching the app.

The headless path imports only the engine, so it starts fast; the Textual app is imported
only when it is about to run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine import (
    EXACT_WARMUP,
    Config,
    ConfigError,
    Corpus,
    CorpusError,
    Outcome,
    Trainer,
    load_corpus,
    memory,
    run,
)
from engine.config import (
    CELLS,
    DEFAULT_LEARNING_RATE,
    DTYPES,
    MAX_DROPOUT,
    MAX_LAYERS,
    MAX_SAMPLE_LENGTH,
    MAX_TEMPERATURE,
    MAX_THREADS,
    MIN_TEMPERATURE,
    MODEL_FIELDS,
    NETWORK_VAL_FRACTION,
)
from engine.presets import DEFAULT_PRESET, PRESETS, preset
from engine.schedule import MAX_VALIDATION_INTERVAL, MIN_VALIDATION_INTERVAL, VALIDATION_SHARE
from engine.store.checkpoint import (
    CheckpointError,
    CheckpointStore,
    load_checkpoint,
    load_model,
    new_run_id,
)
from engine.store.files import describe_os_error
from engine.store.runlog import KEEP_LOGS, RUN_ID, MetricsLog, prune_logs
from engine.text import visible
from engine.threads import environment_threads

from .. import __version__
from ..link.handover import HandOver
from ..link.local import Session
from ..link.server import ListenError, RunServer, listen
from ..paths import Paths, runtime_dir, user_paths
from ..run_files import RunRecorder
from ..settings import LIMITS, Settings, load_settings
from .arguments import Parser, count_arg, examples, float_arg, int_arg, refuse_empty_paths
from .exit_status import ENDING_SIGNALS, Exit
from .output import PROG, Output, say


def default_corpus_path() -> Path:
    from sample_corpora import default_path

    return default_path()


# option dest -> Config field, for every hyperparameter a flag sets; a resumed run may change
# all but those the checkpoint fixes (FIXED_BY_CHECKPOINT)
FLAG_FIELDS = {"hidden": "hidden_size", "seq_length": "seq_length", "lr": "learning_rate",
               "sample_every": "sample_every", "sample_length": "sample_length",
               "temperature": "temperature", "val_fraction": "val_fraction",
               "eval_every": "eval_every", "seed": "seed", "cell": "cell", "layers": "layers",
               "dropout": "dropout", "batch": "batch", "dtype": "dtype",
               "optimizer": "optimizer", "cooldown": "cooldown", "threads": "threads"}
FIXED_BY_CHECKPOINT = {dest: "--" + dest for dest, field in FLAG_FIELDS.items()
                       if field in MODEL_FIELDS}


TICK_SECONDS = 0.25  # a headless run publishes snapshots for its clients this often (as the app)


class UsageError(Exception):
    """Bad input found after parsing; one line for the user, exit status 2."""


@dataclass(frozen=True)
class Subcommand:
    """A command of its own: how the help names it, and where it lives (its module of this
    package is imported only when it runs, so the app's start does not pay for it)."""

    usage: str  # e.g. "score CHECKPOINT FILE"
    summary: str
    module: str
    entry: str  # the function called with the rest of argv

    @property
    def name(self) -> str:
        return self.usage.split()[0]


COMMANDS = (Subcommand("sample CHECKPOINT", "print a sample from a saved model", "main",
                       "sample_main"),
            Subcommand("score CHECKPOINT FILE", "bits/char of a text under a saved model",
                       "inspect", "score_main"),
            Subcommand("neurons CHECKPOINT", "the units that track text features", "inspect",
                       "neurons_main"),
            Subcommand("runs [CORPUS]", "the logged runs in a table", "runs", "runs_main"),
            Subcommand("serve [CORPUS]", "the app in a web browser", "serve", "serve_main"),
            Subcommand("attach [RUN]", "join a live run from another terminal", "attach",
                       "attach_main"))
SUBCOMMANDS = {command.name: command for command in COMMANDS}


def build_parser() -> argparse.ArgumentParser:
    d = Config()
    p = Parser(
        prog=PROG,
        description="Train a character-level vanilla RNN (min-char-rnn, or an LSTM or GRU) and "
                    "watch it learn, live in the terminal, or headless with the original "
                    "script's output.",
        epilog=examples(
            (f"{PROG}", "the app, on the bundled verse"),
            (f"{PROG} my_text.txt --seed 42", "your own text, reproducibly"),
            (f"{PROG} --model gru-2x256 --iters 4000", "a preset, for a budget"),
            (f"{PROG} --headless --iters 5000", "no UI: the original's output"),
            (f"{PROG} --resume latest my_text.txt", "continue the newest checkpoint"),
        ) + "\n\ncommands (each has its own --help and examples):\n" + "\n".join(
            f"  {PROG} {command.usage:<21}  {command.summary}" for command in COMMANDS)
        + f"\n\nCtrl+C, SIGTERM and SIGHUP end a run at the next step and save it. "
          f"{Exit.describe()}",
    )
    p.add_argument("corpus", nargs="?", metavar="CORPUS",
                   help="UTF-8 text file to train on (default: the bundled verse corpus)")
    p.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    model = p.add_argument_group("model", "what is trained (fixed once it exists)")
    model.add_argument("--model", default=None, metavar="NAME",
                       help=f"a preset: {', '.join(PRESETS)} (default {DEFAULT_PRESET}, the "
                            "original); the flags below override its settings")
    model.add_argument("--cell", choices=CELLS, default=None,
                       help=f"recurrent cell (default {d.cell}: tanh)")
    model.add_argument("--layers", type=int_arg, default=None, metavar="L",
                       help=f"stacked layers, 1-{MAX_LAYERS} (default {d.layers})")
    model.add_argument("--hidden", type=int_arg, default=None, metavar="H",
                       help=f"hidden units (default {d.hidden_size})")
    model.add_argument("--dropout", type=float_arg, default=None, metavar="P",
                       help="dropout between layers and before the output, training only "
                            f"(0-{MAX_DROPOUT:g}; default 0)")
    model.add_argument("--batch", type=int_arg, default=None, metavar="B",
                       help="streams trained at once, from evenly spaced offsets (default 1)")
    model.add_argument("--dtype", choices=DTYPES, default=None,
                       help=f"precision (default {d.dtype}; float32 is faster)")
    model.add_argument("--seed", type=int_arg, default=None, metavar="S",
                       help="np.random.seed(S) before drawing the weights (min-char-rnn: Wxh, "
                            "Whh, Why, as the original; default: random, and printed)")
    training = p.add_argument_group("training", "how it learns")
    training.add_argument("--iters", type=count_arg, default=None, metavar="N",
                          help="stop after N (more) iterations (default: run until Ctrl+C or "
                               "q)")
    training.add_argument("--optimizer", choices=tuple(DEFAULT_LEARNING_RATE), default=None,
                          help="adagrad (default, lr 0.1), rmsprop or adam (lr 2e-3)")
    training.add_argument("--lr", type=float_arg, default=None, metavar="LR",
                          help=f"learning rate (default: the optimizer's; Adagrad "
                               f"{d.learning_rate:g})")
    training.add_argument("--seq-length", type=int_arg, default=None, metavar="T",
                          help=f"BPTT window in characters (default {d.seq_length})")
    training.add_argument("--cooldown", type=float_arg, default=None, metavar="F",
                          help="over the last F (0-1) of the --iters budget the learning rate "
                               "falls linearly to 0, counted from iteration 0 so a resumed run "
                               "keeps its schedule (default 0: constant; the batched presets "
                               "0.2, which without --iters leave the rate constant); needs "
                               "--iters")
    training.add_argument("--val-fraction", type=float_arg, default=None, metavar="F",
                          help="hold out the last F of the corpus (0-0.5) and report "
                               "validation bits/char (default: min-char-rnn 0, training on all "
                               "of it as the original; a network "
                               f"{NETWORK_VAL_FRACTION:g}, if the text has room)")
    training.add_argument("--eval-every", type=count_arg, default=None, metavar="N",
                          help="validate every N iterations (default 0: by training time, "
                               f"every {MIN_VALIDATION_INTERVAL:g} s to "
                               f"{MAX_VALIDATION_INTERVAL:g} s of it and at most "
                               f"{100 * VALIDATION_SHARE:g}%% of it)")
    training.add_argument("--threads", type=int_arg, default=None, metavar="N",
                          help=f"BLAS threads for training, 1-{MAX_THREADS} (default: the "
                               "model's, measured: " + ", ".join(
                                   f"{name} {p.threads}" for name, p in PRESETS.items())
                               + "; OPENBLAS_NUM_THREADS or OMP_NUM_THREADS in the environment "
                                 "win)")
    training.add_argument("--exact", action="store_true",
                          help="the original arithmetic bit for bit throughout (slower); the "
                               f"default mode uses it for the first {EXACT_WARMUP} iterations, "
                               "then whole-window matrix products")
    sampling = p.add_argument_group("sampling", "the text it writes as it learns")
    sampling.add_argument("--sample-every", type=count_arg, default=None, metavar="N",
                          help=f"sample every N iterations, 0 = never (default "
                               f"{d.sample_every})")
    sampling.add_argument("--sample-length", type=int_arg, default=None, metavar="N",
                          help=f"characters per sample (default {d.sample_length})")
    sampling.add_argument("--temperature", type=float_arg, default=None, metavar="T",
                          help=f"sampling temperature, {MIN_TEMPERATURE:g} to "
                               f"{MAX_TEMPERATURE:g} (default {d.temperature:g}; --greedy for "
                               "argmax)")
    sampling.add_argument("--greedy", action="store_true",
                          help="sample the most likely character (argmax) instead of drawing")
    files = p.add_argument_group("files", "checkpoints, run logs and where they go")
    files.add_argument("--checkpoint-dir", metavar="DIR", default=None,
                       help="where checkpoints go (default: the user data dir; see --paths)")
    files.add_argument("--save-every", type=count_arg, default=None, metavar="N",
                       help="autosave every N iterations, 0 = only at the end (default 1000)")
    files.add_argument("--keep", type=int_arg, default=None, metavar="N",
                       help="keep the newest N checkpoints of this run (default 5); other "
                            "runs' files are never touched")
    files.add_argument("--resume", metavar="PATH|latest", default=None,
                       help="continue from a checkpoint; 'latest' = the newest for this corpus")
    files.add_argument("--no-save", action="store_true",
                       help="write no checkpoints (not even at the end)")
    files.add_argument("--log", metavar="FILE", default=None,
                       help="append run metrics as JSON lines to FILE (default: the log dir)")
    files.add_argument("--paths", action="store_true",
                       help="print the directories in use and exit")
    files.add_argument("--run-id", default=None, help=argparse.SUPPRESS)  # the hand-over's
    display = p.add_argument_group("display", "where the run shows, and who else may watch it")
    display.add_argument("--headless", action="store_true",
                         help="train without the UI and print samples and 'iter N, loss: X' "
                              "lines")
    display.add_argument("--print-every", type=count_arg, default=100, metavar="N",
                         help="headless: print 'iter N, loss: X' every N iterations, "
                              "0 = never (default 100)")
    display.add_argument("--no-listen", action="store_true",
                         help="do not listen for clients: no other terminal or browser can "
                              f"attach to this run ('{PROG} attach'); by default every run "
                              "listens on a socket only its user can open")
    return p


def build_sample_parser() -> argparse.ArgumentParser:
    p = Parser(prog=f"{PROG} sample", description="Print a sample from a saved model.",
               epilog=examples(
                   (f"{PROG} sample CKPT.npz", "200 characters from the model's carried state"),
                   (f"{PROG} sample CKPT.npz --prime 'The ' --length 400", "continue a text"),
                   (f"{PROG} sample CKPT.npz --temperature 0.5 --seed 1",
                    "less adventurous, the same text every time"),
               ) + f"\n\nCheckpoints are under '{PROG} --paths' (checkpoints), one folder per "
                   "corpus.")
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a .npz checkpoint")
    p.add_argument("--length", type=int_arg, default=200, metavar="N", help="characters (200)")
    p.add_argument("--temperature", type=float_arg, default=None, metavar="T",
                   help="sampling temperature (default: the checkpoint's)")
    p.add_argument("--prime", default=None, metavar="TEXT",
                   help="text the model reads first; the sample continues it")
    p.add_argument("--greedy", action="store_true", help="take the most likely character")
    p.add_argument("--seed", type=int_arg, default=None, metavar="S",
                   help="random stream for the draws (default: the checkpoint's)")
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    """The preset (--model), with every flag given on top of it."""
    given = {field: getattr(args, dest) for dest, field in FLAG_FIELDS.items()
             if getattr(args, dest) is not None}
    if args.exact:
        given["exact"] = True
    if args.greedy:
        given["greedy"] = True
    return preset(DEFAULT_PRESET if args.model is None else args.model).config(**given)


# what `prepare` raises: one line each for the user, exit status 2
START_ERRORS = (ConfigError, CorpusError, CheckpointError, UsageError)


@dataclass(frozen=True)
class Start:
    """A run ready to start: the trainer (new or resumed) and what it was built from."""

    paths: Paths
    settings: Settings
    trainer: Trainer
    resumed: Path | None  # the checkpoint it continues, if any
    warning: str | None  # about the settings file, for the user


def prepare(args: argparse.Namespace) -> Start:
    """Check every option and build the trainer, as a run starts: the app, `--headless`, and
    `serve` before it binds its port all call this. Raises one of START_ERRORS (running out
    of memory too) with one line; a new model's size is checked against the memory there is
    before the corpus is read (its vocabulary only adds), and again once it is known."""
    try:
        paths = user_paths(args.checkpoint_dir)
        if args.cooldown and args.iters is None:  # a preset's cooldown just waits for one
            raise UsageError("--cooldown anneals over a budget: give --iters N as well")
        if args.resume is None:
            memory.check(memory.training(config_from_args(args), None), "this model")
        settings, warning = load_settings(paths.settings)
        corpus = load_with_progress(default_corpus_path() if args.corpus is None
                                    else args.corpus)
        trainer, resumed = make_trainer(args, corpus, paths, settings)
    except MemoryError:  # what the estimate does not cover (the corpus, say)
        raise UsageError("not enough memory for this corpus and model size") from None
    return Start(paths, settings, trainer, resumed, warning)


def parse_app_args(argv: list[str]) -> argparse.Namespace:
    """The app's (and the headless run's) options; a usage error is one line and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    refuse_empty_paths(parser, ("CORPUS", args.corpus), ("--resume", args.resume, " or 'latest'"),
                       ("--checkpoint-dir", args.checkpoint_dir), ("--log", args.log))
    return args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] and argv[0] in SUBCOMMANDS:
        command = SUBCOMMANDS[argv[0]]
        module = importlib.import_module(f"{__package__}.{command.module}")
        return getattr(module, command.entry)(argv[1:])
    args = parse_app_args(argv)
    try:
        if args.paths:
            return print_paths(user_paths(args.checkpoint_dir))
        if args.headless and sys.stdout is None:
            raise UsageError("standard output is closed; nothing could be printed")
        start = prepare(args)
        if start.warning:
            say(f"{PROG}: {start.warning}")
        trainer, paths, settings = start.trainer, start.paths, start.settings
        if start.resumed is not None:
            say(f"# resumed {start.resumed} at iteration {trainer.n}")
        pinned = environment_threads()
        if args.threads is not None and pinned is not None and pinned.count != args.threads:
            say(f"{PROG}: {pinned} in the environment sets the BLAS threads: --threads "
                f"{args.threads} is not used")
        recorder = make_recorder(args, trainer, paths, settings)
        terminal = None if args.headless else AppTerminal()
    except START_ERRORS as exc:
        say(f"{PROG}: error: {exc}")
        return Exit.USAGE
    except MemoryError:
        say(f"{PROG}: error: not enough memory for this corpus and model size")
        return Exit.USAGE
    except KeyboardInterrupt:  # Ctrl+C while the corpus loads: nothing to save yet
        say(f"{PROG}: interrupted before training started")
        return Exit.OK
    corpus = trainer.corpus
    if args.headless:
        return headless(trainer, args.iters, args.print_every, recorder,
                        announce_seed=args.seed is None and args.resume is None,
                        listen=not args.no_listen)

    def recorder_for(new: Trainer) -> RunRecorder | None:
        try:
            return make_recorder(args, new, paths, settings)
        except (CheckpointError, UsageError) as exc:  # the old run's files are all saved
            say(f"{PROG}: the new model is not saved: {exc}")
            return None

    hand_over = HandOver(os.path.abspath(default_corpus_path() if args.corpus is None
                                         else args.corpus), run_options(args), paths.logs)
    with terminal:
        code = run_app(trainer, iters=args.iters, recorder=recorder, recorder_factory=recorder_for,
                       store=recorder.store or CheckpointStore(
                           paths.checkpoint_dir_for(corpus.name, corpus.fingerprint)),
                       listen=not args.no_listen, hand_over=hand_over)
    return report_final_save(recorder, code)


def run_app(trainer: Trainer, *, listen: bool, **options) -> int:
    """Run the app in this terminal until the user quits; returns the exit status.

    When it returns the trainer thread has ended (the event loop joins it), after saving the
    final checkpoint through the recorder; its socket is gone.
    """
    from ..app.app import CharRNNApp

    app = CharRNNApp(trainer, handle_signals=True, listen=listen_on if listen else None,
                     **options)
    try:
        result = app.run()
    finally:
        app.link.close()
        app.stop_listening("the app ended")
    if result is not None:
        return result
    return app.return_code or Exit.OK


def listen_on(session: Session) -> RunServer:
    """A socket server for `session` in the user's socket folder (raises ListenError)."""
    return listen(session)


def run_options(args: argparse.Namespace) -> tuple[str, ...]:
    """The options of this run that its hand-over process repeats (the checkpoint carries
    the model and the settings)."""
    options: list[str] = ["--print-every", str(args.print_every)]
    for flag, value in (("--checkpoint-dir", args.checkpoint_dir),
                        ("--save-every", args.save_every), ("--keep", args.keep),
                        ("--log", args.log)):
        if value is not None:
            options += [flag, os.path.abspath(value) if flag in ("--checkpoint-dir", "--log")
                        else str(value)]
    return tuple(options)


def load_with_progress(path: str | os.PathLike[str]) -> Corpus:
    """load_corpus, with a progress line on a terminal's stderr for a large corpus."""
    from .progress_line import ProgressLine

    line = ProgressLine("loading the corpus")
    try:
        return load_corpus(path, progress=line)
    finally:
        line.done()


class AppTerminal:
    """Where the app can draw. Textual draws on stderr; when only stdout is a terminal
    (`2>err.log`), stderr points at the terminal while the app runs and is given back after,
    so what the run reports at the end still reaches the file."""

    def __init__(self) -> None:
        out, err = _isatty(sys.__stdout__), _isatty(sys.__stderr__)
        self.swap = False
        self.saved_fd: int | None = None
        if os.environ.get("TEXTUAL_DRIVER", "").endswith(":WebDriver"):
            return  # `charrnn-tui serve`: a browser draws, through pipes
        if not out and not err:
            raise UsageError("the app needs a terminal, and neither stdout nor stderr is one "
                             "(use --headless to train without the UI)")
        self.swap = out and not err

    def __enter__(self) -> AppTerminal:
        if self.swap:
            say(f"{PROG}: stderr is not a terminal: drawing the app on stdout's terminal")
            sys.__stderr__.flush()
            self.saved_fd = os.dup(2)
            os.dup2(1, 2)
        return self

    def __exit__(self, *exc) -> None:
        if self.saved_fd is not None:
            os.dup2(self.saved_fd, 2)
            os.close(self.saved_fd)


def _isatty(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (OSError, ValueError):
        return False


def report_final_save(recorder: RunRecorder | None, code: int) -> int:
    """After a run: where the final checkpoint went, or why it failed (exit status 1)."""
    if recorder is None or recorder.store is None:
        return code
    if recorder.final_error is not None:
        say(f"{PROG}: error: the final checkpoint was not saved: {recorder.final_error}")
        return Exit.ERROR if code == Exit.OK else code
    if recorder.final_path is not None:
        say(f"# saved iteration {recorder.final_iteration} to {recorder.final_path}")
    return code


def make_trainer(args: argparse.Namespace, corpus: Corpus, paths: Paths,
                 settings: Settings) -> tuple[Trainer, Path | None]:
    """A new trainer, or one resumed from a checkpoint (returned too) with the given settings
    applied."""
    if args.resume is None:
        return Trainer(corpus, config_from_args(args)), None
    if args.resume == "latest":
        store = CheckpointStore(paths.checkpoint_dir_for(corpus.name, corpus.fingerprint))
        path = store.latest()
        if path is None:
            raise UsageError(f"no checkpoint for {corpus.name} in {store.directory}")
    else:
        path = Path(args.resume)
    trainer = load_checkpoint(path, corpus)
    if args.model is not None:
        wanted = preset(args.model).config(seed=trainer.config.seed)
        if any(getattr(wanted, f) != getattr(trainer.config, f) for f in MODEL_FIELDS):
            raise UsageError(f"--model {args.model} differs from the checkpoint's model "
                             f"({trainer.config.describe_model()}); it is fixed by {path}")
    for dest, flag in FIXED_BY_CHECKPOINT.items():
        given, saved = getattr(args, dest), getattr(trainer.config, FLAG_FIELDS[dest])
        if given is not None and given != saved:
            raise UsageError(f"{flag} {given} differs from the checkpoint's ({saved}); "
                             f"it is fixed by {path}")
    changes = {field: getattr(args, dest) for dest, field in FLAG_FIELDS.items()
               if dest not in FIXED_BY_CHECKPOINT and getattr(args, dest) is not None}
    if args.exact:
        changes["exact"] = True
    if args.greedy:
        changes["greedy"] = True
    if changes:
        trainer.set_config(trainer.config.with_changes(**changes))
    return trainer, path


def make_recorder(args: argparse.Namespace, trainer: Trainer, paths: Paths,
                  settings: Settings) -> RunRecorder:
    """The run's files: a checkpoint store of its own (checked writable now) and its log."""
    keep = settings.keep_checkpoints if args.keep is None else args.keep
    low, high = LIMITS["keep_checkpoints"]
    if not low <= keep <= high:
        raise UsageError(f"--keep must be between {low} and {high}, got {keep}")
    save_every = settings.save_every if args.save_every is None else args.save_every
    corpus = trainer.corpus
    run = args.run_id or new_run_id()
    if not RUN_ID.fullmatch(run):
        raise UsageError(f"--run-id must look like {new_run_id()}, got {run!r}")
    store = None
    if not args.no_save:
        store = CheckpointStore(paths.checkpoint_dir_for(corpus.name, corpus.fingerprint),
                                keep=keep, run=run)
        store.open_for_writing()
    log_path = Path(args.log) if args.log else paths.logs / f"{run}-{corpus.name}.jsonl"
    try:
        log = MetricsLog(log_path, run=run)
    except OSError as exc:
        if args.log:
            raise UsageError(describe_os_error(log_path, exc, "cannot write the run log")) \
                from None
        say(f"{PROG}: run log disabled: {describe_os_error(log_path, exc, 'cannot write')}")
        log = None
    if log is not None and not args.log:  # the log folder keeps the newest KEEP_LOGS runs
        prune_logs(paths.logs, KEEP_LOGS)
    recorder = RunRecorder(store, save_every, log, settings.log_every,
                           report=lambda message: say(f"{PROG}: {message}"))
    recorder.begin(trainer)  # the log's header, before the first step
    return recorder


def print_paths(paths: Paths) -> int:
    for label, path in (("data", paths.data), ("checkpoints", paths.checkpoints),
                        ("settings", paths.settings), ("logs", paths.logs),
                        ("sockets", runtime_dir())):
        print(f"{label:12s} {path}")
    return Exit.OK


def sample_main(argv: list[str]) -> int:
    parser = build_sample_parser()
    args = parser.parse_args(argv)
    refuse_empty_paths(parser, ("CHECKPOINT", args.checkpoint))
    try:
        if sys.stdout is None:
            raise UsageError("standard output is closed; nothing could be printed")
        if not 1 <= args.length <= MAX_SAMPLE_LENGTH:
            raise UsageError(f"--length must be between 1 and {MAX_SAMPLE_LENGTH}, "
                             f"got {args.length}")
        saved = load_model(args.checkpoint, sample_length=args.length)
        if args.temperature is not None:
            saved.config.with_changes(temperature=args.temperature)  # validates
        if args.seed is not None:
            saved.config.with_changes(seed=args.seed)
        rng = None if args.seed is None else np.random.RandomState(args.seed)
        text = saved.sample(args.length, prime=args.prime, temperature=args.temperature,
                            greedy=args.greedy or None, rng=rng)
    except (CheckpointError, ConfigError, CorpusError, UsageError) as exc:
        say(f"{PROG} sample: error: {exc}")
        return Exit.USAGE
    except MemoryError:
        say(f"{PROG} sample: error: not enough memory for this model and --length")
        return Exit.USAGE
    out = Output(sys.stdout)
    out.write(visible((args.prime or "") + text, multiline=True) + "\n")
    out.flush()
    if out.error is not None:
        say(f"{PROG} sample: error: {out.error}")
        return Exit.ERROR
    return Exit.OK


def headless(trainer: Trainer, iters: int | None, print_every: int,
             recorder: RunRecorder | None = None, announce_seed: bool = False,
             listen: bool = False) -> int:
    """Print what the original script prints: samples between ---- lines, then iter lines.

    Every way the run can end saves the final checkpoint: the iteration budget, Ctrl+C,
    SIGTERM and SIGHUP (each stops at the next step boundary, so the checkpoint is
    consistent), standard output failing (a closed pipe ends the run quietly; a full disk
    is an error) and a client ending it. A second Ctrl+C interrupts at once. With `listen`,
    clients can attach (`charrnn-tui attach`) to watch and steer it; they change nothing in
    what is printed but what they ask for (a pause, a new learning rate).
    """
    echo = recorder.report if recorder is not None else None
    session = Session.start(trainer, iters, False, recorder, in_app=False, echo=echo,
                            output=_stdout_file())
    control, monitor = session.control, session.monitor
    out = Output(sys.stdout, on_failure=control.stop)
    write = out.write
    server = None
    if listen:
        try:
            server = listen_on(session)
        except ListenError as exc:
            say(f"{PROG}: not listening for clients: {exc}")

    def on_step(r) -> None:
        if r.sample is not None:  # the corpus's characters, without its controls
            write("----\n %s \n----\n" % (visible(r.sample, multiline=True),))
        if print_every and r.iteration % print_every == 0:
            write("iter %d, loss: %f\n" % (r.iteration, r.smooth_loss))
        if r.val_bits is not None:
            write("val %d, bits/char: %.4f\n" % (r.iteration, r.val_bits))
        if recorder is not None:
            recorder.after_step(trainer, r)
        if server is not None:
            monitor.on_step(r)

    def on_diverged(_trainer, exc) -> None:
        out.flush()
        say(f"{PROG}: diverged: {exc}")

    def on_signal(signum, _frame) -> None:
        if control.stopped and signum == signal.SIGINT:
            raise KeyboardInterrupt
        control.stop()

    if announce_seed:  # an unseeded run can still be repeated
        say(f"# seed {trainer.config.seed}")
    previous = {sig: signal.signal(sig, on_signal) for sig in ENDING_SIGNALS}
    outcome = Outcome.STOPPED
    failure = None
    try:
        outcome = run(trainer, control, iters=iters, on_step=on_step, on_diverged=on_diverged,
                      on_tick=None if server is None else monitor.publish,
                      tick_seconds=TICK_SECONDS)
    except KeyboardInterrupt:
        pass
    except MemoryError as exc:  # a step restores the last good state first (OutOfMemory)
        failure = str(exc) or "out of memory"
    finally:
        for sig in ENDING_SIGNALS:  # from here on, a signal must not cut the final save short
            signal.signal(sig, signal.SIG_IGN)
        out.flush()
        if recorder is not None:
            recorder.finish(trainer)
        if server is not None:
            monitor.finish(outcome)
            server.close(f"the run {outcome.value} at iteration {trainer.n}")
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    code = Exit.DIVERGED if outcome is Outcome.DIVERGED else Exit.OK
    if failure is not None:
        say(f"{PROG}: error: {failure}")
        code = Exit.ERROR
    if out.error is not None:
        say(f"{PROG}: error: {out.error}; stopped at iteration {trainer.n}")
        code = Exit.ERROR
    return report_final_save(recorder, code)


def _stdout_file() -> str:
    """Where standard output goes when it is a regular file (a hand-over's trace), else ""."""
    try:
        path = os.readlink("/proc/self/fd/1")
    except OSError:
        return ""
    return path if path.startswith("/") and os.path.isfile(path) else ""
