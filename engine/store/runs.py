"""Run logs read back: finding them, parsing them (cached), the runs table and overlay curves.

The CLI's `runs` table and the app's runs screen share everything here. A log is the JSON
lines `engine.store.runlog.MetricsLog` writes; a file may hold several runs (each from its
`"run"` header on) and logs from before the header existed load as one run whose missing
fields are None. A line that is not a JSON object, or whose iteration is not one, is
skipped and counted, never fatal: a run killed mid-write leaves half a line.

A log is untrusted input: every field is checked for type and range here, where logs are
parsed, and nowhere else. A bad field (a start time of 1e300 or NaN, a 401-digit count, a list
where a name belongs) reads as missing, so it shows blank, and its record (or the header) is
counted as damaged; text fields lose their control characters (engine/text.py) before any
table, screen or terminal sees them.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..text import visible
from ..units import ema_debiased
from .files import FileRefused, open_regular
from .runlog import RUN_ID

MAX_LINE = 1 << 20  # a longer line is no record of ours
MAX_LOG_BYTES = 1 << 30  # a log past this is not one of ours (they rotate far below it)
MODEL_FIELDS = ("cell", "layers", "hidden_size", "batch")  # the model column
# config fields never worth a column: they say how a run was shown, not how it learned
NOT_HYPERPARAMETERS = frozenset({"sample_every", "sample_length", "temperature", "greedy",
                                 "eval_every"})


@dataclass(frozen=True)
class Points:
    """One run's iteration records as columns (nan where a log lacks a field)."""

    iteration: np.ndarray
    chars_seen: np.ndarray
    wall_time: np.ndarray
    loss_bits: np.ndarray  # the record's own window loss, bits/char (the raw series)
    # the run's loss readout, bits/char: the debiased average the screens showed (avg_bits),
    # or in logs from before it, the original's 0.999 smoothed loss
    smooth_bits: np.ndarray

    def __len__(self) -> int:
        return int(self.iteration.size)

    def x(self, axis: str) -> np.ndarray:
        """The x values for `axis`: "iterations", "chars" or "wall"."""
        return {"iterations": self.iteration, "chars": self.chars_seen,
                "wall": self.wall_time}[axis]


@dataclass(frozen=True)
class Run:
    """One run as its log tells it; fields a log does not have are None."""

    path: Path
    index: int  # which run of the file (0: the first)
    run: str | None  # the run id, which also names its checkpoints
    started: float | None  # unix seconds
    corpus: str | None
    fingerprint: str | None
    config: dict[str, object]  # empty for a log without a header
    model: dict[str, object]
    checkpoints: str | None  # the folder its checkpoints went to
    points: Points
    val: tuple[tuple[int, float], ...]  # (iterations completed, bits/char)
    samples: tuple[tuple[int, str], ...]  # (iteration, text)
    skipped: int  # corrupt lines in this run's part of the file
    legacy: bool  # written before logs had a header
    mtime: float = 0.0  # the file's, to order runs that say nothing of their start
    damaged: int = 0  # records (and the header) kept with bad fields left blank

    @property
    def key(self) -> tuple[str, int]:
        return (str(self.path), self.index)

    @property
    def name(self) -> str:
        return self.run or visible(self.path.stem)

    @property
    def iterations(self) -> int | None:
        return int(self.points.iteration[-1]) if len(self.points) else None

    @property
    def chars_seen(self) -> float | None:
        return _last_finite(self.points.chars_seen)

    @property
    def wall_time(self) -> float | None:
        return _last_finite(self.points.wall_time)

    @property
    def last_bits(self) -> float | None:
        """The last loss readout in bits/char (see Points.smooth_bits)."""
        return _last_finite(self.points.smooth_bits)

    @property
    def best_val(self) -> float | None:
        finite = [b for _, b in self.val if math.isfinite(b)]
        return min(finite) if finite else None

    @property
    def sort_time(self) -> float:
        return self.started if self.started is not None else self.mtime

    def setting(self, name: str) -> object:
        """A config or model field; the min-char-rnn defaults for a model field not logged."""
        if name in self.config:
            return self.config[name]
        if name in self.model:
            return self.model[name]
        if name in ("cell", "layers", "batch") and self.config:
            return {"cell": "rnn", "layers": 1, "batch": 1}[name]
        return None

    @property
    def model_text(self) -> str:
        """"rnn 1×100 b1": cell, layers × hidden units, batch ("" when not logged)."""
        hidden = self.setting("hidden_size")
        if hidden is None:
            return ""
        cell, layers, batch = (self.setting(n) for n in ("cell", "layers", "batch"))
        return f"{cell or 'rnn'} {layers or 1}×{hidden} b{batch or 1}"


def _last_finite(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    return float(finite[-1]) if finite.size else None


# -- parsing ---------------------------------------------------------------------------------

MAX_COUNT = 2**62  # iterations and characters: far beyond any run, exact as int64
MAX_BITS = 1e6  # bits per character: a diverged run is stopped long before
MAX_SECONDS = 1e10  # a run's wall time (three centuries)
STARTED = (0.0, 2.0**33)  # unix seconds a start may have: 1970 to 2242, what localtime takes
MAX_NAME = 1024  # characters of a name (corpus, run folder)
MAX_SAMPLE = 10_000  # characters of a logged sample (the writer keeps 400)
MAX_SETTINGS = 64  # entries of a header's config or model
MAX_SETTING = 2**63  # an integer setting's magnitude


class _Fields:
    """Typed reads of one JSON object's fields: a value of the wrong type or out of range reads
    as missing (None, or nan for a number) and marks the object `damaged`."""

    def __init__(self, record: dict) -> None:
        self.record = record
        self.damaged = False

    def _bad(self):
        self.damaged = True
        return None

    def count(self, key: str) -> int | None:
        """A non-negative integer up to MAX_COUNT."""
        value = self.record.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
            return self._bad()
        return value

    def number(self, key: str, low: float, high: float) -> float:
        """A finite number in [low, high] as a float; nan when missing or bad."""
        value = self.record.get(key)
        if value is None:
            return math.nan
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self._bad()
            return math.nan
        if isinstance(value, int) and not -MAX_SETTING < value < MAX_SETTING:
            self._bad()  # a 401-digit integer does not even convert to a float
            return math.nan
        value = float(value)
        if not (math.isfinite(value) and low <= value <= high):  # NaN, Infinity, 1e300
            self._bad()
            return math.nan
        return value

    def text(self, key: str, limit: int = MAX_NAME, multiline: bool = False) -> str | None:
        """A string, without control characters, of at most `limit` characters."""
        value = self.record.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > limit:
            return self._bad()
        return visible(value, multiline) or None

    def settings(self, key: str) -> dict[str, object]:
        """A header's config or model: names to plain values (a bad entry is left out)."""
        value = self.record.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict) or len(value) > MAX_SETTINGS:
            self._bad()
            return {}
        out = {}
        for name, v in value.items():
            if isinstance(v, str):
                v = visible(v) if len(v) <= MAX_NAME else self._bad()
            elif isinstance(v, float) and not math.isfinite(v):
                v = self._bad()
            elif isinstance(v, int) and not isinstance(v, bool) and not \
                    -MAX_SETTING < v < MAX_SETTING:
                v = self._bad()
            elif not (v is None or isinstance(v, (bool, int, float))):
                v = self._bad()
            if len(name) > MAX_NAME:
                self._bad()
                continue
            out[visible(name)] = v
        return out


class _Builder:
    """Collects one run's records while a file is read."""

    def __init__(self, path: Path, index: int, header: dict | None, mtime: float) -> None:
        self.path, self.index, self.mtime = path, index, mtime
        self.header = None if header is None else _Fields(header)
        self.rows: list[tuple[float, float, float, float, float]] = []
        self.val: list[tuple[int, float]] = []
        self.samples: list[tuple[int, str]] = []
        self.skipped = 0
        self.damaged = 0

    @property
    def empty(self) -> bool:
        return self.header is None and not self.rows and not self.val and not self.samples

    def add(self, record: dict) -> None:
        """Keep one record; ValueError (the line is corrupt) when what makes it a record (its
        iteration, a sample's text) is missing or bad."""
        kind = record.get("kind", "iter" if "iteration" in record else None)
        f = _Fields(record)
        if kind not in ("iter", "val", "sample"):
            return  # a newer version's record, neither ours nor corrupt
        it = f.count("iteration")
        if it is None:
            raise ValueError("bad iteration")
        if kind == "iter":
            smooth = f.number("bits_per_char", 0.0, MAX_BITS)
            raw = f.number("loss_bits", 0.0, MAX_BITS)
            if "loss_bits" not in record:  # a legacy record: T from its smoothed loss
                loss = f.number("loss", 0.0, MAX_BITS * MAX_COUNT)
                sl = f.number("smooth_loss", 0.0, MAX_BITS * MAX_COUNT)
                raw = loss / sl * smooth if sl > 0 else math.nan
            if "avg_bits" in record:  # the app's debiased average (logs from before: blank)
                smooth = f.number("avg_bits", 0.0, MAX_BITS)
            chars = f.count("chars_seen")
            self.rows.append((float(it), math.nan if chars is None else float(chars),
                              f.number("wall_time", 0.0, MAX_SECONDS), raw, smooth))
        elif kind == "val":  # a bad pass stays, blank: best_val counts finite ones only
            self.val.append((it, f.number("val_bits", 0.0, MAX_BITS)))
        else:
            text = f.text("text", MAX_SAMPLE, multiline=True)
            if text is None:
                raise ValueError("bad sample")
            self.samples.append((it, text))
        self.damaged += f.damaged

    def build(self) -> Run:
        h = self.header or _Fields({})
        cols = np.array(self.rows, dtype=float).reshape(-1, 5).T
        run = h.text("run")
        if run is not None and not RUN_ID.fullmatch(run):
            run = h._bad()
        if run is None and (m := RUN_ID.match(self.path.name)) and self.index == 0:
            run = m.group(0)
        started = h.number("started_unix", *STARTED)
        started = started if math.isfinite(started) else _time_of(run)
        corpus = h.text("corpus")
        if corpus is None and self.header is None and run is not None:
            corpus = visible(self.path.name[len(run) + 1:].removesuffix(".jsonl")) or None
        config, model = h.settings("config"), h.settings("model")
        fingerprint, checkpoints = h.text("fingerprint"), h.text("checkpoints")
        return Run(self.path, self.index, run, started, corpus, fingerprint, config, model,
                   checkpoints, Points(*(c.copy() for c in cols)), tuple(self.val),
                   tuple(self.samples), self.skipped, self.header is None, self.mtime,
                   self.damaged + h.damaged)


def _time_of(run: str | None) -> float | None:
    """A run id starts with its local start time, YYYYMMDD-HHMMSS."""
    if run is None:
        return None
    try:
        return time.mktime(time.strptime(run[:15], "%Y%m%d-%H%M%S"))
    except (ValueError, OverflowError):
        return None


def _lines(f):
    """The file's lines, each cut at MAX_LINE + 1 bytes (so one huge line never sits in
    memory whole; the cut line fails the length check and is counted as corrupt)."""
    while True:
        raw = f.readline(MAX_LINE + 1)
        if not raw:
            return
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while True:  # skip the rest of the over-long line
                rest = f.readline(MAX_LINE + 1)
                if not rest or rest.endswith(b"\n"):
                    break
        yield raw


def parse_log(path: str | os.PathLike[str]) -> list[Run]:
    """Every run in one log file; raises OSError only if the file cannot be read at all."""
    p = Path(path)
    try:
        f = open_regular(p, MAX_LOG_BYTES, "run log")
    except FileRefused as exc:  # a FIFO or a device named as a log is never read
        raise OSError(str(exc)) from None
    with f:
        mtime = os.fstat(f.fileno()).st_mtime
        builders = [_Builder(p, 0, None, mtime)]
        for raw in _lines(f):
            if not raw.strip():
                continue
            current = builders[-1]
            try:
                if len(raw) > MAX_LINE:
                    raise ValueError("line too long")
                record = json.loads(raw)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
                if record.get("kind") == "run":
                    if current.empty:
                        builders[-1] = _Builder(p, current.index, record, mtime)
                    else:
                        builders.append(_Builder(p, current.index + 1, record, mtime))
                    continue
                current.add(record)
            except (ValueError, KeyError, TypeError, RecursionError):
                current.skipped += 1
    return [b.build() for b in builders if not b.empty or b.skipped]


class LogCache:
    """Parsed logs by path, reused while a file's size and modification time stay the same."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[int, int, list[Run]]] = {}
        self.parsed = 0  # files actually read (for tests)

    def load(self, path: str | os.PathLike[str]) -> list[Run]:
        st = os.stat(path)
        key = str(Path(path).absolute())
        hit = self._entries.get(key)
        if hit is not None and hit[:2] == (st.st_size, st.st_mtime_ns):
            return hit[2]
        runs = parse_log(path)
        self.parsed += 1
        self._entries[key] = (st.st_size, st.st_mtime_ns, runs)
        return runs


def discover(folder: str | os.PathLike[str]) -> list[Path]:
    """The `.jsonl` files directly in `folder` (none if it does not exist)."""
    try:
        return sorted(p for p in Path(folder).iterdir() if p.suffix == ".jsonl" and p.is_file())
    except OSError:
        return []


@dataclass(frozen=True)
class Scan:
    """What reading a set of logs found."""

    runs: tuple[Run, ...]  # newest first
    skipped_lines: int
    unreadable: tuple[str, ...]  # one line per file that could not be read
    cancelled: bool = False
    damaged: int = 0  # records kept with bad fields left blank (see Run.damaged)


def scan(paths: Sequence[str | os.PathLike[str]], cache: LogCache | None = None,
         progress: Callable[[int, int], None] | None = None,
         cancelled: Callable[[], bool] | None = None) -> Scan:
    """Read every log in `paths` (through `cache`), calling `progress(done, total)` after each
    file and stopping early once `cancelled()` is true."""
    cache = cache if cache is not None else LogCache()
    runs: list[Run] = []
    unreadable: list[str] = []
    seen: set[str] = set()
    total = len(paths)
    stopped = False
    for done, path in enumerate(paths, 1):
        if cancelled is not None and cancelled():
            stopped = True
            break
        key = str(Path(path).absolute())
        if key not in seen:
            seen.add(key)
            try:
                runs.extend(cache.load(path))
            except OSError as exc:
                unreadable.append(f"{path}: {exc.strerror or exc}")
        if progress is not None:
            progress(done, total)
    runs.sort(key=lambda r: (r.sort_time, r.index), reverse=True)
    return Scan(tuple(runs), sum(r.skipped for r in runs), tuple(unreadable), stopped,
                sum(r.damaged for r in runs))


# -- the runs table --------------------------------------------------------------------------

def differing(runs: Iterable[Run]) -> tuple[str, ...]:
    """The hyperparameters whose values differ between `runs`, in Config order (the model
    column already shows cell, layers, hidden units and batch)."""
    runs = list(runs)
    names: list[str] = []
    for r in runs:
        names.extend(n for n in r.config if n not in names)
    out = []
    for n in names:
        if n in MODEL_FIELDS or n in NOT_HYPERPARAMETERS:
            continue
        values = {repr(r.setting(n)) for r in runs if r.config}  # an old log says nothing
        if len(values) > 1:
            out.append(n)
    return tuple(out)


SHORT_NAMES = {"learning_rate": "lr", "seq_length": "seq", "val_fraction": "val frac",
               "hidden_size": "hidden", "exact": "exact", "seed": "seed", "clip": "clip"}

COLUMNS = ("started", "corpus", "model", "iterations", "chars", "wall", "bits", "val")
HEADERS = {"started": "started", "corpus": "corpus", "model": "model", "iterations": "iters",
           "chars": "chars", "wall": "wall", "bits": "bits/char", "val": "best val"}


def column_value(run: Run, column: str) -> object:
    """What a column sorts by (None: blank, sorted last)."""
    return {"started": run.sort_time, "corpus": run.corpus, "model": run.model_text or None,
            "iterations": run.iterations, "chars": run.chars_seen, "wall": run.wall_time,
            "bits": run.last_bits, "val": run.best_val}.get(column, run.setting(column))


def sort_runs(runs: Iterable[Run], column: str = "started",
              descending: bool | None = None) -> list[Run]:
    """Runs by a column (a COLUMNS name or a config field); blanks last either way. The
    default direction is newest first for `started`, smallest first otherwise."""
    if descending is None:
        descending = column == "started"
    runs = list(runs)
    known = [r for r in runs if column_value(r, column) is not None]
    blank = [r for r in runs if column_value(r, column) is None]
    known.sort(key=lambda r: _sortable(column_value(r, column)), reverse=descending)
    return known + blank


def _sortable(value: object) -> tuple:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, float(value), "")
    return (1, 0.0, str(value))


def count(value: float | None) -> str:
    if value is None:
        return ""
    v = float(value)
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= size:
            return f"{v / size:.1f}{unit}"
    return f"{v:.0f}"


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return ""
    s = int(round(seconds))
    if s < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}"
    return f"{s // 3600}h{s % 3600 // 60:02d}"


def setting_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def cell_text(run: Run, column: str) -> str:
    """A table cell as text (blank where the log does not say)."""
    if column == "started":
        return "" if run.started is None else time.strftime("%Y-%m-%d %H:%M:%S",
                                                             time.localtime(run.started))
    if column == "corpus":
        return run.corpus or ""
    if column == "model":
        return run.model_text
    if column == "iterations":
        return "" if run.iterations is None else str(run.iterations)
    if column == "chars":
        return count(run.chars_seen)
    if column == "wall":
        return duration(run.wall_time)
    if column == "bits":
        return "" if run.last_bits is None else f"{run.last_bits:.3f}"
    if column == "val":
        return "" if run.best_val is None else f"{run.best_val:.3f}"
    return setting_text(run.setting(column))


def header_text(column: str) -> str:
    return HEADERS.get(column) or SHORT_NAMES.get(column, column.replace("_", " "))


def table_columns(runs: Sequence[Run]) -> tuple[str, ...]:
    """The runs table's columns: the fixed ones with the differing hyperparameters after the
    model."""
    return (*COLUMNS[:3], *differing(runs), *COLUMNS[3:])


# -- the overlay (smoothed by engine.units.ema_debiased) ------------------------------------------

@dataclass(frozen=True)
class OverlaySeries:
    """One run's curves on an overlay chart: x, the raw bits/char and its smoothing, and its
    validation passes (at val_x, bits/char) on the same axis."""

    label: str
    x: np.ndarray
    raw: np.ndarray
    smoothed: np.ndarray
    iteration: np.ndarray = field(default_factory=lambda: np.empty(0))
    val_x: np.ndarray = field(default_factory=lambda: np.empty(0))
    val: np.ndarray = field(default_factory=lambda: np.empty(0))
    val_iteration: np.ndarray = field(default_factory=lambda: np.empty(0))


def val_at(iterations: np.ndarray, x: np.ndarray, val_iterations: np.ndarray) -> np.ndarray:
    """Where validation passes fall on an axis known at `iterations`: interpolated, and past
    either end along the nearest segment (a pass at iteration 1 comes before the first
    record); nan when the axis is not known at all."""
    known = np.isfinite(x) & np.isfinite(iterations)
    its, xs = iterations[known], x[known]
    if its.size == 0:
        return np.full(val_iterations.shape, math.nan)
    if its.size == 1:  # one point: in proportion to the iterations
        return val_iterations * (xs[0] / its[0]) if its[0] else np.full(val_iterations.shape,
                                                                        xs[0])
    out = np.interp(val_iterations, its, xs)
    before, after = val_iterations < its[0], val_iterations > its[-1]
    out[before] = xs[0] + (val_iterations[before] - its[0]) * _slope(its[:2], xs[:2])
    out[after] = xs[-1] + (val_iterations[after] - its[-1]) * _slope(its[-2:], xs[-2:])
    return out


def _slope(its: np.ndarray, xs: np.ndarray) -> float:
    return float((xs[1] - xs[0]) / (its[1] - its[0])) if its[1] != its[0] else 0.0


def overlay(run: Run, axis: str, weight: float, label: str | None = None) -> OverlaySeries:
    """A logged run's curve against `axis`: the records' window losses (raw) and their
    debiased EMA, and its validation passes; points without that x (an old log has no
    chars_seen) are left out."""
    pts = run.points
    x = pts.x(axis)
    keep = np.isfinite(x) & np.isfinite(pts.loss_bits)
    raw = pts.loss_bits[keep]
    val_its = np.array([it for it, _ in run.val], dtype=float)
    val = np.array([b for _, b in run.val], dtype=float)
    val_x = val_its if axis == "iterations" else val_at(pts.iteration, x, val_its)
    shown = np.isfinite(val_x) & np.isfinite(val)
    return OverlaySeries(label or run.name, x[keep], raw, ema_debiased(raw, weight),
                         pts.iteration[keep], val_x[shown], val[shown], val_its[shown])


def write_overlay_csv(path: str | os.PathLike[str], series: Sequence[OverlaySeries],
                      axis: str) -> int:
    """The overlaid curves as long-format CSV (one row per point: a training point's raw and
    smoothed loss, or a validation pass's); returns the rows written."""
    rows = 0
    with open(path, "w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(["run", "iteration", axis, "raw_bits_per_char", "smoothed_bits_per_char",
                      "val_bits_per_char"])
        for s in series:
            its = s.iteration if s.iteration.size == s.x.size else np.full(s.x.size, math.nan)
            for it, x, raw, sm in zip(its.tolist(), s.x.tolist(), s.raw.tolist(),
                                      s.smoothed.tolist()):
                out.writerow([s.label, "" if not math.isfinite(it) else int(it), repr(x),
                              repr(raw), repr(sm), ""])
                rows += 1
            for it, x, v in zip(s.val_iteration.tolist(), s.val_x.tolist(), s.val.tolist()):
                out.writerow([s.label, int(it), repr(x), "", "", repr(v)])
                rows += 1
    return rows


__all__ = ["LogCache", "OverlaySeries", "Points", "Run", "Scan", "cell_text",
           "differing", "discover", "ema_debiased", "overlay", "parse_log", "scan", "sort_runs",
           "table_columns", "val_at", "write_overlay_csv"]
