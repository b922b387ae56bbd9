"""Run logs are untrusted input (engine/store/runs.py): every field is checked for type and
range where logs are parsed; a bad one is blank and its record (or the header) counted as
damaged, and text fields reach no terminal or widget with their control characters or as Rich
markup. `runs` never crashes on a log, and its --log-dir must be a folder.
"""

from __future__ import annotations

import json
import math
import re

import pytest
from rich.text import Text

from charrnn_tui.app.dialogs.run_details_dialog import RunDetailsDialog, summary_lines
from charrnn_tui.app.views.runs_view import RunsView
from charrnn_tui.paths import user_paths
from engine.store.runs import cell_text, parse_log, scan, table_columns

from .app_factory import make_app
from .helpers import run_cli, until

RUN = "20250301-101010-0badf00d"
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
BIG = 10**400  # a 401-digit integer: JSON reads it, float() cannot
HEADER = {"kind": "run", "version": 2, "run": RUN, "started_unix": 1740823810.0,
          "corpus": "fine.txt", "fingerprint": "10-abc", "config": {"hidden_size": 16,
          "learning_rate": 0.1, "cell": "rnn"}, "model": {"cell": "rnn", "hidden_size": 16},
          "checkpoints": None}
RECORD = {"kind": "iter", "iteration": 100, "bits_per_char": 4.5, "loss_bits": 4.4,
          "chars_seen": 2500, "wall_time": 1.5}


def dumps(record: dict) -> str:
    return json.dumps(record, allow_nan=True)


def log_with(tmp_path, header: dict | None = None, records: list[dict] | None = None,
             raw: str = "", name: str = f"{RUN}-fine.txt.jsonl"):
    logs = user_paths().logs
    logs.mkdir(parents=True, exist_ok=True)
    lines = [dumps({**HEADER, **(header or {})})]
    lines += [dumps(r) for r in (records or [RECORD])]
    path = logs / name
    path.write_text("\n".join(lines) + "\n" + raw, encoding="utf-8")
    return path


BAD_STARTS = [1e300, math.nan, -math.inf, math.inf, -1e18, BIG, -BIG, "yesterday", True,
              [1], {"t": 1}]


@pytest.mark.parametrize("started", BAD_STARTS, ids=repr)
def test_a_bad_start_time_is_blank_and_counted(tmp_path, started):
    path = log_with(tmp_path, {"started_unix": started})
    (run,) = parse_log(path)
    assert run.damaged == 1
    assert run.started is not None and math.isfinite(run.started)  # from the run id
    assert cell_text(run, "started").startswith("2025-03-01")
    proc = run_cli("runs", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert "fine.txt" in proc.stdout and "1 damaged record" in proc.stderr


@pytest.mark.parametrize(("field", "value"), [
    ("chars_seen", BIG), ("chars_seen", -5), ("chars_seen", 2.5), ("chars_seen", "many"),
    ("wall_time", BIG), ("wall_time", math.inf), ("wall_time", math.nan), ("wall_time", -1.0),
    ("bits_per_char", 1e300), ("bits_per_char", -math.inf), ("loss_bits", [4.4]),
])
def test_a_bad_record_field_is_blank_and_the_record_damaged(tmp_path, field, value):
    path = log_with(tmp_path, records=[RECORD, {**RECORD, "iteration": 200, field: value}])
    (run,) = parse_log(path)
    assert run.damaged == 1 and run.skipped == 0 and run.iterations == 200
    column = {"chars_seen": run.points.chars_seen, "wall_time": run.points.wall_time,
              "bits_per_char": run.points.smooth_bits, "loss_bits": run.points.loss_bits}[field]
    assert math.isnan(column[-1]) and math.isfinite(column[0])
    proc = run_cli("runs", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


@pytest.mark.parametrize("iteration", [BIG, -1, 2.0, "100", None, math.nan])
def test_a_record_without_a_sane_iteration_is_skipped_and_counted(tmp_path, iteration):
    path = log_with(tmp_path, records=[RECORD, {**RECORD, "iteration": iteration}])
    (run,) = parse_log(path)
    assert run.skipped == 1 and run.iterations == 100


def test_bad_settings_are_left_out_and_counted(tmp_path):
    config = {"hidden_size": BIG, "learning_rate": math.nan, "seed": -BIG, "cell": ["x"],
              "clip": {"a": 1}, "seq_length": 25, "layers": 1e400}
    path = log_with(tmp_path, {"config": config, "model": {"hidden_size": BIG}})
    (run,) = parse_log(path)
    assert run.damaged == 1
    assert run.config["seq_length"] == 25
    assert all(run.config[k] is None for k in ("hidden_size", "learning_rate", "seed", "cell",
                                               "clip", "layers"))
    other = log_with(tmp_path, {"run": "20250302-101010-0badf00e"},
                     name="20250302-101010-0badf00e-fine.txt.jsonl")
    runs = [run, *parse_log(other)]
    assert "learning_rate" in table_columns(runs) and "hidden_size" not in table_columns(runs)
    for column in table_columns(runs):
        for r in runs:
            cell_text(r, column)  # none of them raises
    proc = run_cli("runs", "--sort", "learning_rate", cwd=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr


HOSTILE = {
    "corpus": "\x1b]0;pwned\x07[bold red]evil[/].txt",
    "fingerprint": "\x1b[2J10-abc",
    "checkpoints": "/tmp/\x1b[31mck",
    "config": {"hidden_size": 16, "cell": "\x1b[5mrnn\x9b1m", "\x1b]2;title\x07key": 3},
    "model": {"cell": "rnn\x1bc", "hidden_size": 16},
}
SAMPLE = {"kind": "sample", "iteration": 50, "text": "line one\n\x1b[2Jline\x07 two\x85[b]x[/b]"}


def test_text_from_a_log_reaches_no_terminal_with_its_controls(tmp_path):
    path = log_with(tmp_path, HOSTILE, [RECORD, SAMPLE],
                    name=f"{RUN}-\x1b[2Jname.jsonl")
    (run,) = parse_log(path)
    texts = [run.corpus, run.fingerprint, run.checkpoints, run.name, *map(str, run.config),
             *map(str, run.config.values()), *map(str, run.model.values()),
             *(t for _, t in run.samples)]
    assert not any(CONTROLS.search(t) for t in texts)
    assert run.samples[0][1].count("\n") == 1  # a sample keeps its lines
    assert run.corpus == "\u241b]0;pwned\u2407[bold red]evil[/].txt"
    proc = run_cli("runs", "--log", str(path), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not CONTROLS.search(proc.stdout.replace("\n", "")), proc.stdout
    assert not CONTROLS.search(proc.stderr.replace("\n", "")), proc.stderr
    assert "[bold red]evil[/].txt" in proc.stdout
    assert not any(CONTROLS.search(line) for line in summary_lines(run))


async def test_the_runs_screen_and_details_show_log_text_literally(tmp_path):
    log_with(tmp_path, HOSTILE, [RECORD, SAMPLE])
    app = make_app()
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot.press("c")
        view = app.screen
        assert isinstance(view, RunsView)
        await until(lambda: view.found is not None and view.runs)
        row = [view.table.get_cell_at((0, i)) for i in range(len(view.columns) + 1)]
        shown = [c.plain if isinstance(c, Text) else str(c) for c in row]
        assert "\u241b]0;pwned\u2407[bold red]evil[/].txt" in shown  # as text, not markup
        assert not any(CONTROLS.search(c) for c in shown)
        assert all(not c.spans for c in row if isinstance(c, Text) and "evil" in c.plain)
        await pilot.press("enter")
        await until(lambda: isinstance(app.screen, RunDetailsDialog))
        dialog = app.screen
        statics = [str(w.render()) for w in dialog.query("Static")]
        assert any("[bold red]evil[/].txt" in s for s in statics)
        assert any("[b]x[/b]" in s for s in statics)
        assert not any(CONTROLS.search(s.replace("\n", "")) for s in statics)
        await pilot.press("escape")


@pytest.mark.parametrize("kind", ["file", "missing"])
def test_runs_log_dir_must_be_a_folder(tmp_path, kind):
    target = tmp_path / "logs"
    if kind == "file":
        target.write_text("not a folder\n")
    proc = run_cli("runs", "--log-dir", str(target), cwd=tmp_path)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and proc.stdout == "", proc.stderr
    assert ("is a file, not a folder" if kind == "file" else "no such folder") in lines[0]


def test_runs_with_an_empty_log_folder_says_so_and_succeeds(tmp_path):
    (tmp_path / "logs").mkdir()
    proc = run_cli("runs", "--log-dir", str(tmp_path / "logs"), cwd=tmp_path)
    assert proc.returncode == 0 and "no runs found" in proc.stdout


def test_scan_counts_damaged_records_over_logs(tmp_path):
    log_with(tmp_path, {"started_unix": math.nan}, [RECORD, {**RECORD, "wall_time": BIG}])
    found = scan(sorted(user_paths().logs.iterdir()))
    assert found.damaged == 2 and found.skipped_lines == 0
