"""Every way a headless run or `sample` ends, in a subprocess: what is saved, said and returned.

The budget, Ctrl+C, SIGTERM, SIGHUP and a closed pipe all end at a step boundary and save a
final checkpoint; a stdout that fails (a full disk) or is closed, and a checkpoint folder
that cannot be written, are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.store.checkpoint import CheckpointStore, load_model, run_of

from .helpers import bundled, cli_command

TIMEOUT = 60
TEXT = bundled("verse.txt")[:8000]
SAVED = re.compile(r"^# saved iteration (\d+) to (\S+\.npz)$", re.M)
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals and devices")


@pytest.fixture
def corpus(tmp_path) -> Path:
    path = tmp_path / "verse.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path



def checkpoints(folder: Path) -> list[Path]:
    return sorted(folder.rglob("ckpt-*.npz"))


def assert_clean(stderr: str) -> None:
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr


@posix_only
@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
def test_piping_into_head_still_saves_the_final_checkpoint(corpus, tmp_path, buffered):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    ck = tmp_path / "ck"
    command = (shlex.join(cli_command("--headless", "--iters", 1500, corpus, "--seed", 1,
                                      "--checkpoint-dir", ck))
               + " | head -2; exit ${PIPESTATUS[0]}")
    proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("\n") == 2
    assert_clean(proc.stderr)
    match = SAVED.search(proc.stderr)
    assert match, proc.stderr
    assert Path(match.group(2)) in checkpoints(ck)
    # buffered output reaches the pipe only when the buffer fills: the run may have finished
    assert load_model(match.group(2)).iteration == int(match.group(1)) >= 1


def wait_for_line(path: Path, prefix: str, proc: subprocess.Popen) -> None:
    """Wait until the file `path` has a line starting with `prefix` (or fail if `proc` ends)."""
    deadline = time.monotonic() + TIMEOUT
    while not re.search(rf"^{re.escape(prefix)}", path.read_text(), re.M):
        assert proc.poll() is None and time.monotonic() < deadline, path.read_text()[-400:]
        time.sleep(0.01)


@posix_only
@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_ends_a_headless_run_with_a_final_save(corpus, tmp_path, sig):
    ck = tmp_path / "ck"
    out = tmp_path / "stdout"
    # stdout goes to a file: no pipe buffer can hide the last line from the test
    with open(out, "w") as sink:
        proc = subprocess.Popen(cli_command("--headless", corpus, "--seed", 1, "--print-every", 1,
                                            "--checkpoint-dir", ck, "--save-every", 0),
                                cwd=tmp_path, stdout=sink, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        wait_for_line(out, "iter ", proc)  # a step has run (the original prints a sample first)
        proc.send_signal(getattr(signal, sig))
        _, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout = out.read_text()
    assert proc.returncode == 0, stderr
    assert_clean(stderr)
    match = SAVED.search(stderr)
    assert match, stderr
    last = int(re.findall(r"^iter (\d+),", stdout, re.M)[-1])
    assert load_model(match.group(2)).iteration == int(match.group(1)) == last + 1
    assert checkpoints(ck) == [Path(match.group(2))]


@posix_only
def test_a_full_stdout_is_one_line_and_exit_1_and_the_run_is_still_saved(corpus, tmp_path):
    ck = tmp_path / "ck"
    with open("/dev/full", "w") as full:
        proc = subprocess.run(cli_command("--headless", "--iters", 300, corpus, "--seed", 1,
                                          "--checkpoint-dir", ck),
                              cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True,
                              timeout=TIMEOUT)
    assert proc.returncode == 1
    assert_clean(proc.stderr)
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "No space left" in errors[0], proc.stderr
    assert SAVED.search(proc.stderr) and len(checkpoints(ck)) == 1


@posix_only
@pytest.mark.parametrize("how", ["full", "closed"])
def test_sample_to_a_full_or_closed_stdout_is_one_line(tmp_path, how):
    ck = tmp_path / "ck"
    subprocess.run(cli_command("--headless", "--iters", 20, "--hidden", 8, "--seed", 1,
                               "--checkpoint-dir", ck), cwd=tmp_path, capture_output=True,
                   timeout=TIMEOUT, check=True)
    (checkpoint,) = checkpoints(ck)
    command = shlex.join(cli_command("sample", checkpoint, "--length", 50))
    command += " >/dev/full" if how == "full" else " >&-"
    proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode != 0
    assert_clean(proc.stderr)
    assert proc.stderr.count("\n") == 1 and "standard output" in proc.stderr


@posix_only
def test_a_closed_stdout_refuses_a_headless_run_in_one_line(corpus, tmp_path):
    command = shlex.join(cli_command("--headless", "--iters", 10, corpus, "--no-save")) + " >&-"
    proc = subprocess.run(["bash", "-c", command], cwd=tmp_path, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 2
    assert_clean(proc.stderr)
    assert proc.stderr.count("\n") == 1 and "standard output is closed" in proc.stderr


def _unwritable(tmp_path: Path, kind: str) -> Path:
    if kind == "a file":
        path = tmp_path / "file"
        path.write_text("not a folder")
        return path
    if kind == "under a file":
        (tmp_path / "file").write_text("not a folder")
        return tmp_path / "file" / "sub"
    return Path("/proc/charrnn-tui-test")  # a kernel file system: nothing can be created


@posix_only
@pytest.mark.parametrize("kind", ["a file", "under a file", "/proc"])
def test_an_unwritable_checkpoint_folder_is_refused_at_start(corpus, tmp_path, kind):
    folder = _unwritable(tmp_path, kind)
    proc = subprocess.run(cli_command("--headless", "--iters", 10, corpus, "--checkpoint-dir",
                                      folder), cwd=tmp_path, capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert proc.returncode == 2
    assert proc.stdout == ""  # refused before training
    assert proc.stderr.count("\n") == 1 and "cannot write checkpoints" in proc.stderr
    assert str(folder) in proc.stderr


def test_a_folder_that_stops_being_writable_is_reported_once_and_fails_the_exit(
        corpus, tmp_path, monkeypatch, capsys):
    import errno

    from charrnn_tui.cli import main as cli

    real_replace = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) > 1:  # the first autosave works; every save after it fails
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    code = cli.main([str(corpus), "--headless", "--iters", "60", "--seed", "1", "--hidden", "8",
                     "--save-every", "10", "--print-every", "0", "--sample-every", "0",
                     "--checkpoint-dir", str(tmp_path / "ck")])
    err = capsys.readouterr().err
    assert code == 1
    assert len(calls) == 7  # autosaves at 10..60, then the final save tries 60 again
    lines = err.splitlines()
    assert sum("checkpoint not saved" in line for line in lines) == 1, err
    assert sum("final checkpoint was not saved" in line for line in lines) == 1, err
    assert len(lines) == 2, err


# -- one run never touches another run's files ---------------------------------------------

def test_two_runs_in_one_folder_keep_their_own_files(corpus, tmp_path):
    ck = tmp_path / "ck"
    common = ["--headless", "--iters", 300, corpus, "--save-every", 100, "--keep", 2,
              "--checkpoint-dir", ck, "--hidden", 16]
    runs = [subprocess.Popen(cli_command(*common, "--seed", seed), cwd=tmp_path,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for seed in (1, 2)]
    finals = []
    for proc in runs:
        _, stderr = proc.communicate(timeout=TIMEOUT)
        assert proc.returncode == 0, stderr
        finals.append(Path(SAVED.search(stderr).group(2)))
    files = checkpoints(ck)
    assert len(files) == 4  # each run kept its own newest 2: 200 and 300
    assert {load_model(f).config.seed for f in files} == {1, 2}
    for final, seed in zip(finals, (1, 2)):
        assert final in files and load_model(final).config.seed == seed
    store = CheckpointStore(files[0].parent)
    assert {info.run for info in store.infos()} == {run_of(f) for f in finals} != {""}


def test_retention_deletes_only_the_pruning_runs_files(tmp_path):
    from engine import Config, Trainer, corpus_from_text

    corpus = corpus_from_text(TEXT)
    a, b = CheckpointStore(tmp_path, keep=1), CheckpointStore(tmp_path, keep=1)
    assert a.run != b.run
    ta, tb = (Trainer(corpus, Config(seed=s, hidden_size=8)) for s in (1, 2))
    for _ in range(3):
        for trainer, store in ((ta, a), (tb, b)):
            trainer.step()
            store.save(trainer)
    legacy = tmp_path / "ckpt-000000007.npz"  # an older version's file, owned by no run
    legacy.write_bytes(a.path_for(3).read_bytes())
    ta.step()
    a.save(ta)
    assert a.paths(a.run) == [a.path_for(4)] and b.paths(b.run) == [b.path_for(3)]
    assert legacy.exists()
    assert CheckpointStore(tmp_path).latest() == a.path_for(4)  # newest by write time, any run


def test_stale_temporary_files_go_when_a_store_opens_the_folder_and_live_ones_stay(tmp_path):
    fcntl = pytest.importorskip("fcntl")
    stale = tmp_path / ".ckpt-20260101-000000-0000abcd-000000100.npz.x1y2.tmp"
    stale.write_bytes(b"half a checkpoint")  # what kill -9 during a save leaves
    live = tmp_path / ".ckpt-20260101-000000-0000abcd-000000200.npz.z3w4.tmp"
    live.write_bytes(b"being written")
    other = tmp_path / ".notes.tmp"  # not of our naming: never ours to delete
    other.write_bytes(b"keep")
    with open(live, "rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as save_checkpoint holds it while writing
        CheckpointStore(tmp_path).open_for_writing()
        assert not stale.exists()
        assert live.exists() and other.exists()
