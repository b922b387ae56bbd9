"""The runs screen (`c`): every logged run in a table, and the picked ones overlaid on a chart.

The table is `engine.store.runs`' (the `charrnn-tui runs` command prints the same): newest first,
the hyperparameters that differ between the listed runs as highlighted columns; `S` (or a
click on a header) sorts by the next column, `f` keeps this corpus's runs only. Space picks a
run for the overlay; enter opens its details (config, checkpoints to resume from, samples),
or, on another run that is training now (marked `join`: its socket answered), attaches to it.

The overlay draws each picked run in its own colour with a legend, and this run live among
them, training and validation (dashed) in bits/char on one axis: `x` cycles iterations /
characters seen / wall time, `L` a log y axis, `[` `]` the smoothing, a debiased EMA drawn
over the raw series (dim); `e` exports the curves to CSV.
This run is listed once: its log's row is marked live (the snapshot names its run id) and
its curve comes from the snapshot, so it is never picked a second time from its log.
The logs are read in a thread worker with a progress bar (escape cancels), through a cache
kept while the app runs, so opening the screen again reads only logs that changed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, ProgressBar
from textual.worker import get_current_worker

from charrnn_tui.link.client import live_runs
from charrnn_tui.link.monitor import SERIES, Snapshot
from charrnn_tui.paths import user_paths
from engine.store.runs import (
    LogCache,
    OverlaySeries,
    Run,
    Scan,
    cell_text,
    discover,
    ema_debiased,
    header_text,
    overlay,
    scan,
    sort_runs,
    table_columns,
    val_at,
    write_overlay_csv,
)
from engine.units import bits

from ..dialogs.run_details_dialog import RunDetailsDialog
from ..messages import AttachTo, ResumeFrom, ScanDone, ScanProgress
from ..widgets.loss_plot import FAINT, LossPlot, Series, run_style
from ..widgets.status_line import compact_count
from ..widgets.text_lines import TextLines, line
from .loss_chart_view import _safe, duration
from .plot_view import PlotView

AXES = ("iterations", "chars", "wall")
AXIS_NAMES = {"iterations": "iterations", "chars": "characters seen", "wall": "wall time"}
WEIGHTS = (0.0, 0.6, 0.8, 0.9, 0.95, 0.99)  # EMA weights, as TensorBoard's slider
CACHE = LogCache()  # kept while the app runs: a log is parsed again only when it changed
LIVE = "live"


def log_folder() -> Path:
    return user_paths().logs


class RunsView(PlotView):
    """The runs table over the overlay chart."""

    SMOOTHING_LEVELS = WEIGHTS

    DEFAULT_CSS = """
    #runs-progress {
        height: 1;
        padding: 0 1;
    }
    #runs-table {
        height: 2fr;
        min-height: 5;
    }
    #runs-plot {
        height: 3fr;
        min-height: 8;
        padding: 0 1;
    }
    """

    NAME = "runs"
    NEEDS = frozenset({SERIES})
    BINDINGS = [
        Binding("space", "pick", "Pick", id="runs-pick"),
        Binding("S", "sort", "Sort", id="runs-sort"),
        Binding("f", "filter", "This corpus", id="runs-filter"),
        Binding("x", "axis", "x axis", id="runs-x"),
        Binding("e", "export", "Export CSV", id="runs-export"),
    ]

    def __init__(self, vocab: str = "", folder: Path | None = None,
                 extra_logs: tuple[Path, ...] = (), **kwargs) -> None:
        super().__init__(vocab, smoothing=2, **kwargs)
        self.folder = folder if folder is not None else log_folder()
        self.extra_logs = extra_logs
        self.found: Scan | None = None  # None until the worker has read the logs
        self.runs: list[Run] = []  # as listed (filtered and sorted)
        self.picked: dict[tuple[str, int], Run] = {}
        self.sort_column = "started"
        self.descending = True
        self.this_corpus = False
        self.axis = "iterations"
        self.shown: tuple[OverlaySeries, ...] = ()  # what the chart draws (live last)
        self.exported: Path | None = None
        self.columns: tuple[str, ...] = ()
        self._curves: dict[tuple, OverlaySeries] = {}
        self.live_run = ""  # this run's id (its log's row is the live one), from the snapshot
        self.sockets: dict[str, Path] = {}  # the other runs that are live now, by run id

    def body(self) -> ComposeResult:
        self.head = TextLines(classes="view-text")
        self.progress = ProgressBar(id="runs-progress", show_eta=False)
        self.table = DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        self.plot = LossPlot(id="runs-plot")
        yield self.head
        yield self.progress
        yield self.table
        yield self.plot

    def on_mount(self) -> None:
        self.table.focus()
        self._head()
        self._scan(tuple(discover(self.folder)) + self.extra_logs)

    def on_unmount(self) -> None:
        self.workers.cancel_group(self, "runs")

    # -- reading the logs (thread worker) ----------------------------------------------------

    @work(thread=True, exclusive=True, group="runs", exit_on_error=False)
    def _scan(self, paths: tuple[Path, ...]) -> None:
        worker = get_current_worker()
        found = scan(paths, CACHE, progress=lambda done, total: self.post_message(
            ScanProgress(done, total)), cancelled=lambda: worker.is_cancelled)
        if worker.is_cancelled:
            return
        live = {r.welcome.info.run: r.path for r in live_runs()}  # each socket asked who it is
        if not worker.is_cancelled:
            self.post_message(ScanDone(found, live))

    def on_scan_progress(self, message: ScanProgress) -> None:
        self.progress.update(total=max(1, message.total), progress=message.done)

    def on_scan_done(self, message: ScanDone) -> None:
        self.found = message.scan
        self.sockets = message.live
        self.progress.display = False
        self._fill_table()
        self._redraw()

    # -- the table -------------------------------------------------------------------------

    def _listed(self) -> list[Run]:
        runs = list(self.found.runs) if self.found is not None else []
        if self.this_corpus and self.snapshot is not None:
            runs = [r for r in runs if r.corpus == self.snapshot.corpus_name]
        return sort_runs(runs, self.sort_column, self.descending)

    def _fill_table(self) -> None:
        self.runs = self._listed()
        self.columns = table_columns(self.runs)
        table = self.table
        row = table.cursor_row
        table.clear(columns=True)
        fixed = {"started", "corpus", "model", "iterations", "chars", "wall", "bits", "val"}
        table.add_column(" ", key="pick")
        for c in self.columns:
            label = header_text(c) + (" ▼" if c == self.sort_column and self.descending else
                                      " ▲" if c == self.sort_column else "")
            table.add_column(Text(label, style="" if c in fixed else "bold"), key=c)
        for i, r in enumerate(self.runs):
            table.add_row(self._mark(r), *(self._cell(r, c, c not in fixed)
                                           for c in self.columns), key=f"{i}")
        if self.runs:
            table.move_cursor(row=min(row, len(self.runs) - 1))
        self._head()

    def _mark(self, run: Run) -> str:
        if self._is_live(run):
            return "live"
        if run.run in self.sockets:
            return "join"  # another live run: enter attaches
        if run.key not in self.picked:
            return " "
        i = list(self.picked).index(run.key)
        return f"●{i + 1}"

    @staticmethod
    def _cell(run: Run, column: str, highlight: bool) -> Text:
        return Text(cell_text(run, column), style="bold" if highlight else "")

    def _cursor_run(self) -> Run | None:
        if not self.runs or self.table.cursor_row < 0:
            return None
        return self.runs[min(self.table.cursor_row, len(self.runs) - 1)]

    def _is_live(self, run: Run) -> bool:
        return bool(self.live_run) and run.run == self.live_run

    def action_pick(self) -> None:
        run = self._cursor_run()
        if run is None:
            return
        if self._is_live(run):
            self.notify("this run is always in the overlay, drawn live", title="This run")
            return
        if run.key in self.picked:
            del self.picked[run.key]
        else:
            self.picked[run.key] = run
        self._fill_table()
        self._redraw()

    def action_sort(self) -> None:
        columns = list(self.columns) if self.runs else ["started"]
        at = columns.index(self.sort_column) if self.sort_column in columns else -1
        self._sort_by(columns[(at + 1) % len(columns)])

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        key = event.column_key.value
        if key in self.columns:
            if key == self.sort_column:
                self.descending = not self.descending
                self._fill_table()
            else:
                self._sort_by(key)

    def _sort_by(self, column: str) -> None:
        self.sort_column = column
        self.descending = column == "started"
        self._fill_table()

    def action_filter(self) -> None:
        self.this_corpus = not self.this_corpus
        self._fill_table()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        run = self._cursor_run()
        if run is None:
            return
        if not self._is_live(run) and run.run in self.sockets:
            self.post_message(AttachTo(self.sockets[run.run]))
        else:
            self.app.push_screen(RunDetailsDialog(run), self._resume_from)

    def _resume_from(self, path: Path | None) -> None:
        if path is not None:
            self.post_message(ResumeFrom(path))

    # -- the overlay -----------------------------------------------------------------------

    def action_axis(self) -> None:
        self.axis = AXES[(AXES.index(self.axis) + 1) % len(AXES)]
        self._redraw()

    def redraw(self) -> None:
        self._draw_overlay()

    def show(self, snap: Snapshot) -> None:
        if snap.run != self.live_run:  # the first snapshot, or a new model's run
            self.live_run = snap.run
            self.picked = {k: r for k, r in self.picked.items() if not self._is_live(r)}
            if self.found is not None:
                self._fill_table()
        self._draw_overlay()

    def curves(self) -> tuple[OverlaySeries, ...]:
        """The picked runs' curves (cached per setting), then this run's, live."""
        w = WEIGHTS[self.smoothing]
        out = []
        for key, run in self.picked.items():
            k = (key, self.axis, w)
            if k not in self._curves:
                self._curves[k] = overlay(run, self.axis, w, label=_label(run, self.columns))
            out.append(self._curves[k])
        live = self._live(w)
        if live is not None:
            out.append(live)
        return tuple(out)

    def _live(self, weight: float) -> OverlaySeries | None:
        """This run from the snapshot: the mean window loss of each history point is its raw
        series, as a logged run's is its records' window losses."""
        snap = self.snapshot
        if snap is None or not snap.window_history:
            return None
        stride, start, n = snap.history_stride, snap.history_start, snap.stats.iteration
        its = np.minimum(start + stride * np.arange(1, len(snap.window_history) + 1), n)
        its = its.astype(float)
        if self.axis == "iterations":
            x = its
        elif self.axis == "wall":
            times = np.full(its.size, np.nan)
            times[:len(snap.history_times)] = snap.history_times[:its.size]
            x = times
        else:  # characters: this run's seq length since the monitor started
            x = its * snap.stats.chars_seen / max(1, n)
        raw = bits(np.array(snap.window_history))
        keep = np.isfinite(x)
        # validation passes: (step, bits) in the snapshot, at the iterations completed
        val_its = np.array([it + 1 for it, _ in snap.val_history], dtype=float)
        val = np.array([b for _, b in snap.val_history], dtype=float)
        val_x = val_its if self.axis == "iterations" else val_at(its, x, val_its)
        shown = np.isfinite(val_x) & np.isfinite(val)
        return OverlaySeries(f"{LIVE}: this run", x[keep], raw[keep],
                             ema_debiased(raw[keep], weight), its[keep], val_x[shown],
                             val[shown], val_its[shown])

    def _draw_overlay(self) -> None:
        snap = self.snapshot
        data = None if snap is None else (len(snap.window_history), snap.history_stride,
                                          snap.stats.iteration)
        if not self.due((tuple(self.picked), self.axis, self.log_y, self.smoothing), data,
                        snap):
            return
        self.shown = self.curves()
        series, legend = [], []
        for i, c in enumerate(self.shown):
            style = run_style(i)
            if WEIGHTS[self.smoothing] > 0:
                series.append(Series(c.x, c.raw, style + FAINT))
            series.append(Series(c.x, c.smoothed, style))
            if c.val.size:  # its validation on the same axis, dashed in its colour
                series.append(Series(c.val_x, c.val, style, dashed=True))
            legend.append((c.label, style))
        label = duration if self.axis == "wall" else (lambda v: compact_count(int(v)))
        self.plot.plot(series, self.log_y, label, legend)
        self._head()

    def _head(self) -> None:
        found = self.found
        if found is None:
            state = (f"reading the logs in {self.folder} … (escape cancels)", "dim")
        else:
            state = (f"{len(self.runs)} runs" + (" on this corpus" if self.this_corpus else "")
                     + (f" · {found.skipped_lines} corrupt lines skipped"
                        if found.skipped_lines else "")
                     + (f" · {found.damaged} damaged records (bad fields blank)"
                        if found.damaged else ""), "")
        w = WEIGHTS[self.smoothing]
        self.head.set_lines([
            line(("runs", "bold"), " · ", state,
                 (f" · sorted by {header_text(self.sort_column)}", "dim")),
            line(("overlay", "bold"), f" of {len(self.picked)} picked + this run (live) · x ",
                 (AXIS_NAMES[self.axis], "bold"), f" · y {'log' if self.log_y else 'linear'}"
                 f" · smoothing {w:g} (debiased EMA" + (", raw dim beneath)" if w else ")")
                 + " · validation dashed",
                 ("   space picks · enter details (join: attach) · S sort · f this corpus",
                  "dim")),
        ])

    def action_export(self) -> None:
        curves = self.shown or self.curves()
        if not curves:
            self.notify("pick runs with space first", title="Nothing to export")
            return
        name = f"runs-{_safe(self.snapshot.corpus_name if self.snapshot else 'all')}-" \
               f"{self.axis}.csv"
        error: OSError | None = None
        for folder in (self.folder, Path.cwd()):
            try:
                folder.mkdir(parents=True, exist_ok=True)
                path = folder / name
                rows = write_overlay_csv(path, curves, self.axis)
            except OSError as exc:
                error = exc
                continue
            self.exported = path
            self.notify(f"{rows} points of {len(curves)} runs to {path}", title="Exported")
            return
        self.notify(f"cannot write the CSV: {error}", title="Export failed", severity="error")


def _label(run: Run, columns: tuple[str, ...]) -> str:
    """A run's legend entry: its id's time and random part, and its differing settings."""
    fixed = {"started", "corpus", "model", "iterations", "chars", "wall", "bits", "val"}
    settings = " ".join(f"{header_text(c)} {cell_text(run, c)}" for c in columns
                        if c not in fixed)
    return f"{run.name[-17:]}" + (f" ({settings})" if settings else "")
