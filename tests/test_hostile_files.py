"""Files that are not what they claim: devices, FIFOs, huge or sparse files, bombs and lies.

One mechanism reads every file a user names (`engine.store.files.open_regular`): regular files only,
opened without blocking, size-limited, binary refused from the first chunk. Checkpoints are
decoded member by member, each after its header was checked against the shape expected.
Each case is one clear line (CorpusError / CheckpointError / a settings warning), fast, with
bounded memory, and never a hang.
"""

from __future__ import annotations

import io
import os
import signal
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from charrnn_tui.settings import MAX_SETTINGS_BYTES, Settings, load_settings
from engine import Config, CorpusError, Trainer, corpus_from_text, load_corpus
from engine.store.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint

from .helpers import bundled

posix_only = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs and /dev/zero")
TEXT = bundled("verse.txt")[:4000]


@pytest.fixture
def no_hang():
    """Fail, instead of hanging the suite, if a read blocks (as opening a FIFO would)."""
    def expired(signum, frame):
        raise TimeoutError("the read blocked")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def fifo(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def zero_link(tmp_path: Path, name: str) -> Path:
    path = tmp_path / name
    path.symlink_to("/dev/zero")
    return path


def peak_bytes(action) -> int:
    """Peak Python-heap allocation while `action()` runs (numpy arrays and bytes count)."""
    tracemalloc.start()
    try:
        action()
    except Exception:
        pass
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def one_line(exc_info) -> str:
    text = str(exc_info.value)
    assert "\n" not in text and text.strip()
    return text


# -- corpora -------------------------------------------------------------------------------

@posix_only
@pytest.mark.parametrize("target, kind", [("/dev/zero", "character device"),
                                          ("/dev/urandom", "character device")])
def test_a_device_as_the_corpus_is_refused_before_reading(target, kind):
    with pytest.raises(CorpusError) as exc:
        load_corpus(target)
    assert kind in one_line(exc) and target in str(exc.value)


@posix_only
def test_a_fifo_or_a_link_to_a_device_as_the_corpus_is_refused_without_hanging(tmp_path, no_hang):
    for path, kind in ((fifo(tmp_path, "c.txt"), "FIFO"),
                       (zero_link(tmp_path, "z.txt"), "character device")):
        with pytest.raises(CorpusError) as exc:
            load_corpus(path)  # a blocking open of a FIFO would wait here for a writer
        assert kind in one_line(exc)


def test_a_large_sparse_file_is_refused_as_binary_from_its_first_chunk(tmp_path):
    path = tmp_path / "sparse.txt"
    with open(path, "wb") as f:
        f.truncate(200 * 1024 * 1024)  # 200 MB of NULs that take no disk
    peak = peak_bytes(lambda: load_corpus(path))
    with pytest.raises(CorpusError) as exc:
        load_corpus(path)
    assert "binary" in one_line(exc)
    assert peak < 4 * 1024 * 1024  # the first chunk, not the file


def test_a_file_over_the_corpus_limit_is_refused_by_size(tmp_path, monkeypatch):
    import engine.data

    monkeypatch.setattr(engine.data, "MAX_CORPUS_BYTES", 1000)
    path = tmp_path / "big.txt"
    path.write_text("a" * 1001)
    with pytest.raises(CorpusError) as exc:
        load_corpus(path)
    assert "over the limit" in one_line(exc)


def test_latin1_text_is_refused_from_its_first_chunk(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9 ".encode("latin-1") * 100_000)
    with pytest.raises(CorpusError) as exc:
        load_corpus(path)
    assert "not valid UTF-8" in one_line(exc) and "offset 3" in str(exc.value)


# -- settings ------------------------------------------------------------------------------

def _settings_case(tmp_path: Path, case: str) -> Path:
    path = tmp_path / "settings.json"
    if case == "fifo":
        os.mkfifo(path)
    elif case == "dev-zero":
        path.symlink_to("/dev/zero")
    elif case == "huge":
        path.write_text('{"keep_checkpoints": 3' + " " * MAX_SETTINGS_BYTES + "}")
    elif case == "nested":
        path.write_text("[" * 30_000 + "]" * 30_000)  # under the size limit, deeper than json
    elif case == "very-nested":
        path.write_text("[" * 100_000 + "]" * 100_000)
    elif case == "directory":
        path.mkdir()
    return path


@posix_only
@pytest.mark.parametrize("case", ["fifo", "dev-zero", "huge", "nested", "very-nested",
                                  "directory"])
def test_a_settings_file_that_is_no_settings_file_means_defaults_and_one_warning(tmp_path, case,
                                                                               no_hang):
    path = _settings_case(tmp_path, case)
    start = time.monotonic()
    settings, warning = load_settings(path)
    assert time.monotonic() - start < 5
    assert settings == Settings()
    assert warning and "\n" not in warning and str(path) in warning


# -- checkpoints ---------------------------------------------------------------------------

def _saved(tmp_path: Path) -> tuple[Path, dict[str, np.ndarray]]:
    trainer = Trainer(corpus_from_text(TEXT), Config(seed=2, hidden_size=16, seq_length=10))
    for _ in range(5):
        trainer.step()
    path = save_checkpoint(trainer, tmp_path / "good.npz")
    with np.load(path, allow_pickle=False) as npz:
        return path, {key: npz[key] for key in npz.files}


def _npy(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.lib.format.write_array(out, array)
    return out.getvalue()


def _zip(path: Path, members: dict[str, bytes], extra=None) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for key, data in members.items():
            z.writestr(key + ".npy", data)
        if extra is not None:
            extra(z)
    return path


@posix_only
def test_a_fifo_or_a_link_to_dev_zero_as_a_checkpoint_says_what_it_is(tmp_path, no_hang):
    for path, kind in ((fifo(tmp_path, "c.npz"), "FIFO"),
                       (zero_link(tmp_path, "z.npz"), "character device")):
        with pytest.raises(CheckpointError) as exc:
            load_model(path)
        text = one_line(exc)
        assert kind in text and "pickle" not in text


def test_a_file_of_zeros_is_not_called_a_pickle(tmp_path):
    path = tmp_path / "zeros.npz"
    path.write_bytes(bytes(4096))
    with pytest.raises(CheckpointError) as exc:
        load_model(path)
    assert "not an .npz archive" in one_line(exc) and "pickle" not in str(exc.value)


def test_an_unknown_member_is_never_decoded(tmp_path):
    _, arrays = _saved(tmp_path)
    members = {key: _npy(a) for key, a in arrays.items()}
    size = 256 * 1024 * 1024  # 256 MB of zeros, deflated to about 250 KB

    def extra(z):
        with z.open("extra.npy", "w", force_zip64=True) as m:
            np.lib.format.write_array_header_1_0(
                m, {"descr": "<f8", "fortran_order": False, "shape": (size // 8,)})
            chunk = bytes(1 << 22)
            for _ in range(size // len(chunk)):
                m.write(chunk)

    path = _zip(tmp_path / "bomb.npz", members, extra)
    assert path.stat().st_size < 4 * 1024 * 1024
    corpus = corpus_from_text(TEXT)
    assert peak_bytes(lambda: load_checkpoint(path, corpus)) < 16 * 1024 * 1024
    assert load_checkpoint(path, corpus).n == 5


@pytest.mark.parametrize("shape, declared", [((100, 100), 10), ((16, 16), 10**9)])
def test_a_member_whose_size_does_not_match_its_header_is_refused_unread(tmp_path, shape,
                                                                        declared):
    _, arrays = _saved(tmp_path)
    members = {key: _npy(a) for key, a in arrays.items()}
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    members["Whh"] = header.getvalue() + bytes(min(declared, 1 << 20))
    path = _zip(tmp_path / "lie.npz", members)
    with pytest.raises(CheckpointError) as exc:
        load_model(path)
    assert "'Whh'" in one_line(exc)


@pytest.mark.parametrize("key, value, says", [
    ("iteration", np.array(2**64 - 1, dtype=np.uint64), "outside"),
    ("position", np.array(-1, dtype=np.int64), "outside"),
    ("chars_seen", np.array(2**63 - 1, dtype=np.int64), "outside"),
    ("smooth_loss", np.array(1e308), "outside"),
    ("smooth_loss", np.array(-1.0), "outside"),
    ("rng_has_gauss", np.array(7, dtype=np.int64), "outside"),
    ("corpus_name", np.array("x" * 10_000), "longer than"),
])
def test_out_of_range_fields_are_refused_on_load(tmp_path, key, value, says):
    _, arrays = _saved(tmp_path)
    arrays[key] = value
    path = tmp_path / "edited.npz"
    np.savez(path, **arrays)
    with pytest.raises(CheckpointError) as exc:
        load_model(path)
    text = one_line(exc)
    assert f"'{key}'" in text and says in text


def test_an_accepted_checkpoint_saves_again(tmp_path):
    # the range checks are what keeps a loaded value from failing at the next save
    path, _ = _saved(tmp_path)
    trainer = load_checkpoint(path, corpus_from_text(TEXT))
    trainer.step()
    save_checkpoint(trainer, tmp_path / "again.npz")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_the_cli_names_a_device_checkpoint_in_one_line(tmp_path):
    import subprocess

    proc = subprocess.run([sys.executable, "-m", "charrnn_tui", "sample", "/dev/zero"],
                          capture_output=True, text=True, timeout=30, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "character device" in proc.stderr


# -- run logs ------------------------------------------------------------------------------

@posix_only
def test_a_fifo_named_as_a_run_log_is_refused_without_hanging(tmp_path, no_hang):
    from engine.store.runs import parse_log

    with pytest.raises(OSError, match="FIFO"):
        parse_log(fifo(tmp_path, "run.jsonl"))


def test_an_over_long_log_line_is_skipped_and_never_held_whole(tmp_path):
    from engine.store.runs import MAX_LINE, parse_log

    path = tmp_path / "run.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"kind": "iter", "iteration": 0, "smooth_loss": 50.0}\n')
        f.write(b"[" * (16 * MAX_LINE) + b"\n")  # 16 MB on one line
        f.write(b'{"kind": "iter", "iteration": 100, "smooth_loss": 40.0}\n')
    peak = peak_bytes(lambda: parse_log(path))
    (run,) = parse_log(path)
    assert run.skipped == 1
    assert peak < 6 * MAX_LINE  # a few chunks of a line, not all 16 MB of it
