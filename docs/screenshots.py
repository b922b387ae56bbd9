"""The pictures of the README and docs/, rendered by the app itself with Textual's SVG export.

    python docs/screenshots.py             # rewrite docs/images/*.svg
    python docs/screenshots.py --out DIR   # write them to DIR instead (tests/test_screenshots.py)

Each picture is the real app (`CharRNNApp`, its screens, panes and views) at a fixed terminal
size over a *staged* run: a `StagedLink` delivers one made-up snapshot and answers the views'
questions with made-up results, so nothing trains and nothing on screen depends on a clock or
on how this CPU rounds. Every number on screen is a literal here, or exact arithmetic on
literals (dyadic fractions such as 1/1024: their sums and products are exact in any order), or
one IEEE operation on such values (correctly rounded on every machine); no BLAS product, libm
function or numpy reduction of inexact values reaches the screen. The samples are text that
real runs drew, kept here as text: a sample depends on every rounding before it. What else
could differ between machines is fixed below: the terminal size, the environment (colour,
theme, time zone, thread counts) and the log folder. Textual and Rich draw the frames, so
`docs/images/VERSIONS` records which versions made the committed pictures.
"""

from __future__ import annotations

import os
import sys
import time

# Before Textual is imported: it reads its settings (theme, colour, animations) at import.
for _name in list(os.environ):
    if _name.startswith("TEXTUAL_") or _name in (
            "NO_COLOR", "FORCE_COLOR", "COLUMNS", "LINES", "TERM", "COLORTERM",
            "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
        del os.environ[_name]
os.environ["TZ"] = "UTC"  # the runs table shows local start times
time.tzset()
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)  # the checkout this script is in, whatever else is installed

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
from collections.abc import Awaitable, Callable  # noqa: E402
from dataclasses import asdict, dataclass, replace  # noqa: E402
from fractions import Fraction  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from textual.pilot import Pilot  # noqa: E402

from charrnn_tui.app import app as app_module  # noqa: E402
from charrnn_tui.app.views import runs_view  # noqa: E402
from charrnn_tui.link import probes  # noqa: E402
from charrnn_tui.link.link import Link  # noqa: E402
from charrnn_tui.link.monitor import Sample, Snapshot, State  # noqa: E402
from charrnn_tui.link.protocol import (  # noqa: E402
    Command,
    Probe,
    ProbeDone,
    RunInfo,
    WatchViews,
)
from charrnn_tui.waiting import until  # noqa: E402
from engine import Config, Trainer, TrainStats, load_corpus  # noqa: E402
from engine.inspect import probe  # noqa: E402
from engine.presets import preset  # noqa: E402
from engine.units import bits  # noqa: E402

IMAGES = Path(REPO) / "docs" / "images"
WIDE, NARROW = (120, 40), (80, 24)  # terminal sizes: a roomy window, and the classic one
STARTED = 1796637600.0  # 2026-12-07 10:00 UTC: when the staged run started
CORPORA = Path(REPO) / "sample_corpora"


# -- made-up numbers, exactly ------------------------------------------------------------------

def dyadic(value: Fraction, bits_after_point: int = 10) -> float:
    """`value` rounded down to a multiple of 2**-bits_after_point: exact as a float, and so
    are sums of a few of them."""
    scale = 1 << bits_after_point
    return float(Fraction(int(value * scale), scale))


def loss_curve(points: int, stride: int, start: Fraction, floor: Fraction,
               scale: Fraction, half_life: int) -> tuple[float, ...]:
    """A smoothed loss (nats/char) falling from `start` toward `floor` as training curves
    do, with a small deterministic wobble: one point per `stride` iterations."""
    out = []
    for k in range(points):
        it = (k + 1) * stride
        wobble = Fraction((k * 37 + 11) % 17 - 8, 4096)
        out.append(dyadic(min(start, floor + scale * half_life / (half_life + it) + wobble)))
    return tuple(out)


def windows(history: tuple[float, ...]) -> tuple[float, ...]:
    """The window loss beneath a smoothed curve: the curve and an exact, noisy-looking
    wobble of a few hundredths of a nat."""
    return tuple(dyadic(Fraction(h) + Fraction((k * 53 + 7) % 23 - 11, 256))
                 for k, h in enumerate(history))


AVERAGE_CHARS = 25_000  # the readout's horizon (engine.units.HORIZON_CHARS)


# -- the samples real runs drew ----------------------------------------------------------------

# min-char-rnn (seed 1) on the bundled verse after 14,000 and 16,000 iterations (shown as the
# periodic samples of 15,900 and 16,000)
VERSE_SAMPLES = (
    "n the Cond the sist the abrothis ches lo lore the waboven the fordow the kee.\n Nor.RLAn,"
    "\nThere the mw the oon.\n\nO VOMy of My thic.]\nTHERLLE\n belo\nY Fau hering the galow the "
    "OpoRS OF The ove once beit ",
    "git the bust,\nsolco ther the pold brime the ringle coad the yere,\nThe abod,\nThe thatlow "
    "rill,\nThe urallow will,\nThe n bint and glar,\nWh gofer gy is ind coded the bust boon Wr "
    "aorel the adow hurh acrov",
)
# ... and what it drew at iteration 0, from its random weights
VERSE_FIRST = (
    "ccoOB?yf IQd]UNDUILcaFoY;KctnD!EdEQ PwtwOQ;EAA[cvtfVYukeR]qDASFQ!T!aDqnn'.'GN EwBKHB\nONxw"
    "VDqNKIvVMa]Sx\nxw.q]A, ;!MS]Esq!m fAxV\nPKLiaFe,RHnKDOPASUIFoJMTCUiSBxuqHr]E.yEaTmr[YeE;BY"
    "SUGfOfD!wBi'Isx'H!pewo?"
)
# gru-2x256 (seed 1, one BLAS thread) on the bundled code corpus after 700 and 800 iterations
CODE_SAMPLES = (
    "in self:\n            pending_entry = buffer.get('utf-8'))\n        local_bucket = pending_q"
    "ueue.weight\n                local_bucket = build_buffer(sample, self))\n        for buffer"
    " in self:\n           ",
    "= fetch_buffer(header, len(shard))\n            except IndexError as exc:\n            re"
    "turn None\n            log.info(\"column %s: %d\", block, \"weight\": 29})\n        elif las"
    "t_column.name == \"utf-8\":\n ",
)


# -- a run that is one snapshot ----------------------------------------------------------------

@dataclass(frozen=True)
class Staged:
    """What one picture's run shows: its facts, its snapshot and its answers to the views."""

    info: RunInfo
    snapshot: Snapshot
    exploration: probe.Exploration | None = None
    influence: probes.InfluenceAnswer | None = None
    remote: bool = False  # an attached client's picture


class StagedLink(Link):
    """The app's link to a staged run: one snapshot, and made-up answers to probes; every
    other command is taken and changes nothing (the pictures are taken before any key that
    would steer a run)."""

    def __init__(self, staged: Staged) -> None:
        super().__init__(staged.info)
        self.remote = staged.remote
        self.staged = staged
        self._closed = threading.Event()

    def send(self, command: Command) -> None:
        if isinstance(command, WatchViews):  # a view opened or closed: a frame for it, as a run
            latest = self.latest or self.staged.snapshot
            self._snapshot(replace(latest, version=latest.version + 1), True)
        elif isinstance(command, Probe):
            query = command.query
            answer = (self.staged.exploration if isinstance(query, probes.Explore)
                      else self.staged.influence if isinstance(query, probes.PassageInfluence)
                      else None)  # the last training window: "train or step once"
            self._event(ProbeDone(command.request, self.staged.snapshot.stats.iteration,
                                  answer))

    def run(self) -> object:
        self._snapshot(self.staged.snapshot, True)
        self._closed.wait()
        return None

    def close(self) -> None:
        self._closed.set()


STRUCTURE = ("seq_length", "train_chars", "param_names", "optimizer", "memory_label", "model")


def structure(corpus: str, config: Config) -> tuple[Trainer, dict[str, object]]:
    """A real trainer of `config` on a bundled corpus, untrained, and the facts of its stats
    that hold no number it computed (its parameters' names, its description, the corpus's
    length): none of its numbers are shown."""
    trainer = Trainer(load_corpus(CORPORA / corpus), config)
    real = trainer.stats()
    return trainer, {name: getattr(real, name) for name in STRUCTURE}


def run_info(trainer: Trainer, run: str) -> RunInfo:
    corpus = trainer.corpus
    return RunInfo(run, 4242, corpus.name, len(corpus), corpus.vocab, STARTED, trainer.config,
                   None, True, True)


def min_char_rnn() -> Staged:
    """min-char-rnn mid-training on the bundled verse: 16,000 iterations in."""
    config = preset("min-char-rnn").config(seed=1)
    trainer, facts = structure("verse.txt", config)
    n, T = 16_000, config.seq_length
    history = loss_curve(500, 32, Fraction(4077, 1000), Fraction(13, 10), Fraction(2777, 1000),
                         1500)
    pc = history[-1]
    stats = TrainStats(  # every number made up; a field added later keeps its default
        **facts, iteration=n, loss=pc * T - 1.5, smooth_loss=pc * T, position=99_550, epoch=2,
        chars_seen=n * T, learning_rate=0.1,
        grad_norm=(5.25, 58.75, 37.5, 6.25, 3.875),
        mem_norm=(40_059.625, 1_133_579.5, 520_055.75, 119_039.75, 54_857.5),
        param_norm=(55.03125, 19.96875, 23.640625, 2.046875, 1.3984375),
        step_median=(1.125, 0.0234375, 0.00234375, 0.034765625, 0.0023193359375),
        clipped_fraction=0.0, clipped_by_param=(0.0,) * 5, val_bits=None,
        average_loss=pc, average_chars=AVERAGE_CHARS)
    samples = tuple(Sample(k + 2, it, text, False, 1.0, False)
                    for k, (it, text) in enumerate(zip((15_900, 16_000), VERSE_SAMPLES)))
    snapshot = Snapshot(
        version=1, state=State.RUNNING, message="", stats=stats, config=trainer.config,
        corpus_name=trainer.corpus.name, loss_per_char=pc, loss_history=history,
        history_stride=32, loss_trend=-0.0859375, trend_chars=100_000,
        mem_trend=(0.03125, 0.0078125, 0.015625, 0.0234375, 0.01171875), rate=1875.0,
        samples=samples, saved_at=None, saved_path="",
        story=(Sample(1, 0, VERSE_FIRST, False, 1.0, False),),
        history_times=tuple(k * 0.5 for k in range(1, 501)),
        window_history=windows(history), window_per_char=pc + 0.0625,
        average_chars=AVERAGE_CHARS, run="20261207-092000-5eed0001")
    return Staged(run_info(trainer, "20261207-092000-5eed0001"), snapshot,
                  exploration=exploration(trainer), influence=influence(trainer))


def gru() -> Staged:
    """The gru-2x256 preset on the bundled code corpus, 800 iterations in, on two threads."""
    config = preset("gru-2x256").config(seed=1, threads=2)
    trainer, facts = structure("code.txt", config)
    n, T, B = 800, config.seq_length, config.batch
    history = loss_curve(400, 2, Fraction(4419, 1000), Fraction(1), Fraction(348, 100), 620)
    pc = history[-1]
    k = len(facts["param_names"])  # l0.Wx ... Why, by: ten for two GRU layers
    stats = TrainStats(
        **facts, iteration=n, loss=pc * T - 2.5, smooth_loss=pc * T, position=51_200, epoch=0,
        chars_seen=n * T * B, learning_rate=0.002,
        grad_norm=(4.19, 6.42, 4.94, 1.95, 2.81, 6.33, 0.919, 0.474, 8.17, 0.711)[:k],
        mem_norm=(1.43, 0.449, 6.45, 1.29, 0.0317, 0.163, 0.148, 0.0412, 3.04, 0.415)[:k],
        moment_norm=(0.999, 1.54, 1.18, 0.512, 0.63, 1.45, 0.215, 0.12, 1.94, 0.18)[:k],
        param_norm=(51.8, 66.7, 4.01, 0.26, 68.7, 49.0, 2.35, 0.611, 19.2, 0.447)[:k],
        step_median=(2.2e-4, 2.49e-4, 2.13e-4, 1.37e-4, 2.57e-4, 2.1e-4, 2.08e-4, 1.71e-4,
                     2.21e-4, 1.41e-4)[:k],
        clipped_fraction=0.0, clipped_by_param=(0.0,) * k, val_bits=3.6875, threads=2,
        average_loss=pc, average_chars=AVERAGE_CHARS)
    samples = tuple(Sample(j + 2, it, text, False, 1.0, False)
                    for j, (it, text) in enumerate(zip((700, 800), CODE_SAMPLES)))
    snapshot = Snapshot(
        version=1, state=State.RUNNING, message="", stats=stats, config=trainer.config,
        corpus_name=trainer.corpus.name, loss_per_char=pc, loss_history=history,
        history_stride=2, loss_trend=-0.046875, trend_chars=100_000,
        mem_trend=(math.nan,) * k, rate=3.5,
        samples=samples, saved_at=None, saved_path="", window_history=windows(history),
        window_per_char=pc - 0.046875, average_chars=AVERAGE_CHARS,
        val_history=((600, 3.8125), (800, 3.6875)), run="20261207-093000-5eed0002")
    return Staged(run_info(trainer, "20261207-093000-5eed0002"), snapshot)


# -- made-up answers for the views -------------------------------------------------------------

def stable(value: float, decimals: int, what: str) -> float:
    """`value` (within 1e-12 of what the view computes from the staged data, on any machine),
    refused if a last-bit difference could change its `decimals`-place rounding."""
    scaled = abs(value) * 10**decimals
    if abs(scaled - math.floor(scaled) - 0.5) < 1e-6:
        raise ValueError(f"{what} = {value!r} is too close to a rounding boundary")
    return value


def pearson(feature: list[Fraction], values: list[Fraction]) -> float:
    """Pearson r, exactly up to the final square root (correctly rounded)."""
    n = len(values)
    mf, mv = sum(feature) / n, sum(values) / n
    cov = sum((f - mf) * (v - mv) for f, v in zip(feature, values))
    var = sum((f - mf) ** 2 for f in feature) * sum((v - mv) ** 2 for v in values)
    return math.copysign(math.sqrt(cov * cov / var), cov) if var else 0.0


def exploration(trainer: Trainer) -> probe.Exploration:
    """The neuron explorer's answer over the verse's opening: unit 97 tracks whitespace (and
    a little the starts of words), the other units a fixed pattern in eighths. The numbers the
    view derives (the unit's mean and range, its r with each feature) are checked here to be
    the same on every machine; the table of the best units per feature is given as is, with
    unit 97's r with whitespace as the view computes it."""
    text = trainer.corpus.text(0, 1200)
    n, H, unit = len(text), trainer.config.hidden_size, 97
    features = probe.features(text)
    space, start = features["whitespace"], features["word start"]
    hidden = np.zeros((n, 1, H))
    for u in range(H):
        hidden[:, 0, u] = ((np.arange(n) * 5 + u * 3) % 17 - 8) / 8
    jitter = ((np.arange(n) * 5) % 7 - 3) / 16
    hidden[:, 0, unit] = np.where(space > 0, 0.75, np.where(start > 0, 0.125, -0.5 + jitter))
    values = [Fraction(v) for v in hidden[:, 0, unit].tolist()]
    stable(float(sum(values) / n), 2, "the unit's mean")
    r = {name: stable(pearson([Fraction(v) for v in f.tolist()], values), 2, f"r with {name}")
         for name, f in features.items() if f.min() != f.max()}
    u = probe.UnitScore
    ranks = (
        probe.FeatureRank("inside quotes", 0.0, False, ()),
        probe.FeatureRank("inside brackets", 0.015625, True,
                          (u(0, "h", 41, 0.53125), u(0, "h", 8, -0.40625),
                           u(0, "h", 66, 0.34375))),
        probe.FeatureRank("since newline", 17.5, True,
                          (u(0, "h", 12, 0.71875), u(0, "h", 53, -0.5625),
                           u(0, "h", 3, 0.46875))),
        probe.FeatureRank("word start", 0.1875, True,
                          (u(0, "h", 28, 0.578125), u(0, "h", 70, -0.40625),
                           u(0, "h", 31, 0.390625))),
        probe.FeatureRank("upper case", 0.0625, True,
                          (u(0, "h", 19, 0.65625), u(0, "h", 44, -0.5),
                           u(0, "h", 81, 0.375))),
        probe.FeatureRank("after newline", 0.03125, True,
                          (u(0, "h", 5, -0.609375), u(0, "h", 12, -0.46875),
                           u(0, "h", 90, 0.40625))),
        probe.FeatureRank("whitespace", 0.1875, True,
                          (u(0, "h", unit, stable(r["whitespace"], 3, "r")),
                           u(0, "h", 28, -0.59375), u(0, "h", 60, 0.4375))),
    )
    ixes = np.array([trainer.corpus.vocab.index(c) for c in text] + [0], np.intp)
    reading = probe.Reading(ixes, hidden, None, np.zeros(n))
    return probe.Exploration(16_000, 0, False, text, reading, features, ranks)


def influence(trainer: Trainer) -> probes.InfluenceAnswer:
    """Influence at the end of the explorer's first 200 characters (what `v` shows): strong on
    the last few characters, fading with distance, with bumps at the starts of the current
    line and of its words."""
    text = trainer.corpus.text(0, 200)
    vocab = trainer.corpus.vocab
    ixes = np.array([vocab.index(c) for c in text])
    t = len(text) - 2
    line_start = text.rindex("\n", 0, t) + 1
    norms = []
    for k in range(t + 1):
        d = t - k
        v = Fraction(8, 8 + d * d)
        if k == line_start:
            v += Fraction(1, 4)
        elif text[k].isalpha() and not text[k - 1].isalpha():
            v += Fraction(1, 16 + d // 8)
        norms.append(dyadic(v, 12))
    grads = np.zeros((t + 1, trainer.config.hidden_size))
    grads[:, 0] = norms  # one non-zero entry per row: each norm is exactly its value
    inf = probe.Influence(t, int(ixes[t + 1]), math.log(0.625), grads,
                          np.zeros((t + 1, len(vocab))))
    window = probe.Window(16_000, ixes[:-1], ixes[1:], np.zeros(trainer.config.hidden_size),
                          "the passage")
    return probes.InfluenceAnswer(window, inf)


# -- two logged runs for the runs screen -------------------------------------------------------

def write_logs(folder: Path, trainer: Trainer) -> None:
    """Two earlier min-char-rnn runs on the verse, at learning rates 0.2 and 0.05."""
    for k, (lr, floor) in enumerate(((0.2, Fraction(29, 20)), (0.05, Fraction(8, 5)))):
        run = f"20261206-1{k}0000-5eed00a{k}"  # the day before, at 10:00 and 11:00
        config = trainer.config.with_changes(learning_rate=lr, val_fraction=0.1)
        header = {
            "kind": "run", "version": 2, "run": run,
            "started": f"2026-12-06T1{k}:00:00+0000", "started_unix": STARTED - 86_400 + k * 3_600,
            "corpus": trainer.corpus.name, "fingerprint": trainer.corpus.fingerprint,
            "corpus_chars": len(trainer.corpus), "start_iteration": 0,
            "config": asdict(config),
            "model": {"cell": "rnn", "layers": 1, "hidden_size": config.hidden_size,
                      "batch": 1, "vocab_size": trainer.corpus.vocab_size,
                      "parameters": int(trainer.model.params.flat.size)},
            "checkpoints": None,
        }
        curve = loss_curve(120, 100, Fraction(4077, 1000), floor, Fraction(2777, 1000), 1500)
        records: list[dict] = [header]
        for j, per_char in enumerate(curve):
            it = (j + 1) * 100
            raw = per_char + ((j * 7 + k) % 5 - 2) / 32  # a window's loss scatters
            records.append({"kind": "iter", "iteration": it, "smooth_loss": per_char * 25,
                            "loss": raw * 25, "bits_per_char": bits(per_char),
                            "loss_bits": bits(raw), "wall_time": it / 1024,
                            "chars_seen": it * 25, "learning_rate": lr})
            if it % 1000 == 0:
                records.append({"kind": "val", "iteration": it,
                                "val_bits": bits(per_char) + 0.0625})
        (folder / f"{run}-{trainer.corpus.name}.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


# -- the pictures ------------------------------------------------------------------------------

Keys = Callable[[Pilot, app_module.CharRNNApp], Awaitable[None]]


async def no_keys(pilot: Pilot, app: app_module.CharRNNApp) -> None:
    pass


def open_view(key: str, *then: str, answers: int = 1) -> Keys:
    """Press `key`, then each of `then`; wait until the view has had `answers` answers."""
    async def run(pilot: Pilot, app: app_module.CharRNNApp) -> None:
        await pilot.press(key)
        await until(lambda: getattr(app.screen, "answers", 0) > 0)
        await pilot.press(*then)
        await until(lambda: app.screen.answers >= answers)
    return run


async def two_runs_overlaid(pilot: Pilot, app: app_module.CharRNNApp) -> None:
    """The runs screen, both logged runs picked, smoothing off (the curves are drawn raw)."""
    await pilot.press("c")
    await until(lambda: getattr(app.screen, "found", None) is not None)
    await pilot.press("space", "down", "space", "left_square_bracket", "left_square_bracket")


@dataclass(frozen=True)
class Shot:
    name: str  # docs/images/<name>.svg
    title: str  # the window title in the picture
    staged: Callable[[], Staged]
    size: tuple[int, int] = WIDE
    keys: Keys = no_keys


SHOTS = (
    Shot("main", "charrnn-tui: min-char-rnn on the bundled verse", min_char_rnn),
    Shot("gru", "charrnn-tui --model gru-2x256 (code corpus)", gru),
    Shot("neurons", "charrnn-tui: the neuron explorer (x)", min_char_rnn,
         keys=open_view("x", "9", "7")),
    Shot("influence", "charrnn-tui: influence (i, then v)", min_char_rnn,
         keys=open_view("i", "v", answers=2)),
    Shot("runs", "charrnn-tui: comparing runs (c)", min_char_rnn, keys=two_runs_overlaid),
    Shot("narrow", "charrnn-tui at 80x24", min_char_rnn, size=NARROW),
    Shot("attached", "charrnn-tui attach", lambda: replace(min_char_rnn(), remote=True)),
)


async def render(shot: Shot) -> str:
    staged = shot.staged()
    app = app_module.CharRNNApp(StagedLink(staged))
    async with app.run_test(size=shot.size) as pilot:
        def drawn() -> bool:  # the newest frame of the run is on the screen in front
            latest = app.link.latest
            return latest is not None and app.shown_version == latest.version

        await until(drawn)
        await shot.keys(pilot, app)
        await pilot.pause()
        await until(drawn)
        await pilot.pause()
        return app.export_screenshot(title=shot.title)


def versions() -> str:
    """The libraries that draw the pictures, one `name version` a line."""
    return "".join(f"{name} {version(name)}\n" for name in ("textual", "rich"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=IMAGES,
                        help="folder to write the SVGs to (default: docs/images)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as logs:
        runs_view.log_folder = lambda: Path(logs)  # the runs screen reads only the staged logs
        write_logs(Path(logs), structure("verse.txt", preset("min-char-rnn").config(seed=1))[0])
        for shot in SHOTS:
            svg = asyncio.run(render(shot))
            (args.out / f"{shot.name}.svg").write_text(svg, encoding="utf-8")
            print(f"{args.out / shot.name}.svg", flush=True)
    (args.out / "VERSIONS").write_text(versions(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
