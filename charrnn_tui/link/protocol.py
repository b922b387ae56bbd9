"""The messages between a run and its clients: one frozen dataclass each, and their limits.

A client connects to the run's socket and says `Hello` with the protocol version; the run
answers `Welcome` (what the run is) and its newest `SnapshotFrame`, or `Refused` and closes.
From then on the client sends commands (the keys and edits of the app, a view's `Probe`,
`GradCheck`) and the run sends snapshots at its throttled rate plus the answers and notices
meant for that client. The same commands drive the run of the app itself, in-process
(`session.py` executes them for both). Frames and values are `wire.py`'s.

Version history: 1, the first.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine import Config, GradCheckResult, TrainStats, WindowView
from engine.inspect import probe
from engine.inspect.gradcheck import TrainerCheck

from . import probes
from .monitor import NEEDS, Sample, Snapshot
from .wire import FLOATS, ArraySpec, Codec

PROTOCOL = 1
MAX_FROM_CLIENT = 1 << 20  # bytes: commands are small; a prime or a window is the largest
MAX_FROM_RUN = 64 << 20  # bytes: a snapshot is tens of KiB, the explorer's reading a few MiB
MAX_STEPS = 1000  # iterations one Step may ask for
INDICES = ("|u1", "<u2", "<u4", "<i4", "<i8")
# the settings a client may change (the model's own fields are fixed once it exists)
LIVE_SETTINGS = ("learning_rate", "seq_length", "temperature", "greedy", "sample_length",
                 "sample_every", "val_fraction", "eval_every", "cooldown", "threads")


# -- the handshake -------------------------------------------------------------------------

@dataclass(frozen=True)
class Hello:
    """The client's first message. `peek`: only the Welcome, then close (listing runs)."""

    protocol: int
    client: str = ""
    peek: bool = False


@dataclass(frozen=True)
class RunInfo:
    """What a run is, for a client that joins it."""

    run: str  # the run id (its checkpoints' and log's names)
    pid: int
    corpus_name: str
    corpus_chars: int
    vocab: str  # the corpus's characters, by index
    started: float  # Unix time the run (this process's part of it) started
    config: Config
    iters: int | None  # the iteration the run stops at (None: until ended)
    in_app: bool  # the run is an app's own, in its thread worker (else headless)
    saves: bool  # it writes checkpoints
    output: str = ""  # where a headless run prints its trace, when that is a file


@dataclass(frozen=True)
class Welcome:
    protocol: int
    info: RunInfo
    iteration: int
    state: str  # monitor.State's value


@dataclass(frozen=True)
class Refused:
    """The run will not talk to this client (then it closes the connection)."""

    reason: str


# -- commands (client -> run) --------------------------------------------------------------

@dataclass(frozen=True)
class Pause:
    pass


@dataclass(frozen=True)
class Resume:
    pass


@dataclass(frozen=True)
class Step:
    count: int = 1

    def __post_init__(self) -> None:
        if not 1 <= self.count <= MAX_STEPS:
            raise ValueError(f"steps must be 1 to {MAX_STEPS}")


@dataclass(frozen=True)
class SampleNow:
    pass


@dataclass(frozen=True)
class ResetHidden:
    pass


@dataclass(frozen=True)
class SaveNow:
    pass


@dataclass(frozen=True)
class EndRun:
    """Stop the run for good: it saves its final checkpoint and ends."""


@dataclass(frozen=True)
class ChangeSettings:
    """Set these settings between steps; the run validates them and answers SettingsDone."""

    request: int
    changes: dict[str, bool | int | float | None]  # in this order: 1 stays an int

    def __post_init__(self) -> None:
        unknown = set(self.changes) - set(LIVE_SETTINGS)
        if unknown or not self.changes:
            raise ValueError(f"settings that may change live: {', '.join(LIVE_SETTINGS)}")


@dataclass(frozen=True)
class WatchViews:
    """What the client's screen in front needs in each snapshot (monitor.NEEDS)."""

    needs: tuple[str, ...]

    def __post_init__(self) -> None:
        if not set(self.needs) <= NEEDS:
            raise ValueError(f"views need some of {', '.join(sorted(NEEDS))}")


@dataclass(frozen=True)
class Probe:
    request: int
    query: probes.Query


@dataclass(frozen=True)
class GradCheck:
    request: int


@dataclass(frozen=True)
class CancelGradCheck:
    request: int


Command = (Pause | Resume | Step | SampleNow | ResetHidden | SaveNow | EndRun | ChangeSettings
           | WatchViews | Probe | GradCheck | CancelGradCheck)


# -- events (run -> client) ----------------------------------------------------------------

@dataclass(frozen=True)
class SnapshotFrame:
    snapshot: Snapshot
    urgent: bool  # it shows a command's effect or a change of state: draw every pane


@dataclass(frozen=True)
class Notice:
    """Something to tell the user (a save, a failed command, a problem with the run's files)."""

    text: str
    title: str = ""
    severity: str = "warning"


@dataclass(frozen=True)
class SettingsDone:
    """The run applied a ChangeSettings (error empty), or why not (and which setting)."""

    request: int
    settings: int  # the run's settings serial after it (Snapshot.settings)
    error: str = ""
    field: str = ""


@dataclass(frozen=True)
class ProbeProgress:
    request: int
    share: float


@dataclass(frozen=True)
class ProbeDone:
    """A Probe's answer (None: nothing to answer yet), or the one-line reason it failed."""

    request: int
    iteration: int
    answer: probes.Answer | None = None
    error: str = ""


@dataclass(frozen=True)
class GradCheckProgress:
    request: int
    done: int
    total: int


@dataclass(frozen=True)
class GradCheckDone:
    request: int
    check: TrainerCheck | None = None  # None: cancelled or failed
    error: str = ""


@dataclass(frozen=True)
class RunEnded:
    """The run ended (or was replaced); the connection closes after this."""

    reason: str


@dataclass(frozen=True)
class Error:
    """A message from the client did not fit the protocol (the connection may stay open)."""

    reason: str


Event = (SnapshotFrame | Notice | SettingsDone | ProbeProgress | ProbeDone | GradCheckProgress
         | GradCheckDone | RunEnded | Error)

FROM_CLIENT: dict[str, type] = {cls.__name__: cls for cls in (
    Hello, Pause, Resume, Step, SampleNow, ResetHidden, SaveNow, EndRun, ChangeSettings,
    WatchViews, Probe, GradCheck, CancelGradCheck)}
FROM_RUN: dict[str, type] = {cls.__name__: cls for cls in (
    Welcome, Refused, SnapshotFrame, Notice, SettingsDone, ProbeProgress, ProbeDone,
    GradCheckProgress, GradCheckDone, RunEnded, Error)}
RECORDS: dict[str, type] = {cls.__name__: cls for cls in (
    RunInfo, Config, Snapshot, Sample, TrainStats, WindowView, TrainerCheck, GradCheckResult,
    probes.Explore, probes.InfluenceAt, probes.PassageInfluence, probes.ContinueText,
    probes.ScoreText, probes.Continuation, probes.Score, probes.InfluenceAnswer,
    probe.Exploration, probe.Reading, probe.FeatureRank, probe.UnitScore, probe.Window,
    probe.Influence)}


def _float(ndim: int | tuple[int, ...]) -> ArraySpec:
    return ArraySpec(FLOATS, (ndim,) if isinstance(ndim, int) else ndim)


ARRAYS: dict[tuple[type, str], ArraySpec] = {
    (Snapshot, "hidden"): _float(1),
    (Snapshot, "layer_state"): _float(3),
    (WindowView, "losses"): _float(1),
    (WindowView, "probs"): _float(2),
    (WindowView, "hidden"): _float(2),
    (WindowView, "layers"): _float(2),
    (WindowView, "cells"): _float(2),
    (WindowView, "gates"): _float(3),
    (probe.Reading, "ixes"): ArraySpec(INDICES, (1,)),
    (probe.Reading, "hidden"): _float(3),
    (probe.Reading, "cells"): _float(3),
    (probe.Reading, "losses"): _float(1),
    (probe.Exploration, "features"): _float(1),
    (probe.Window, "inputs"): ArraySpec(INDICES, (1,)),
    (probe.Window, "targets"): ArraySpec(INDICES, (1,)),
    (probe.Window, "start"): _float((1, 4)),  # min-char-rnn's (H,), a network's (L, S, 1, H)
    (probe.Influence, "grads"): _float(2),
    (probe.Influence, "onehot_grads"): _float(2),
    (probes.Score, "losses"): _float(1),
}

CODEC = Codec({**FROM_CLIENT, **FROM_RUN, **RECORDS}, ARRAYS)
