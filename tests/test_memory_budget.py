"""Memory is budgeted before it is spent: one estimate (engine/memory.py) checked against what
the machine can spare, on every way a model comes to be, and held to the truth.

The estimate is compared with tracemalloc's count of what training and reading really
allocate; products of flags, presets, resumes, live edits, `R` and checkpoints that claim a
huge network are refused in one line before anything big is allocated (CLI cases run in a
child under an address-space limit); a MemoryError that still happens is one line too.
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from charrnn_tui.link.monitor import State
from engine import Config, ConfigError, Trainer, corpus_from_text, memory
from engine.inspect import probe
from engine.nets.network import ModelSpec, Network
from engine.presets import preset
from engine.store.checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model,
    save_checkpoint,
)

from .app_factory import TEXT, make_app, paused_at, shown
from .crafted_npz import arrays_of, write_npz
from .helpers import REPO, run_cli, until
from .limited import GiB, posix_limits, run_limited

RNG = np.random.RandomState(0)
ALPHABET = [chr(c) for c in range(32, 122)]
CORPUS = corpus_from_text("".join(RNG.choice(ALPHABET, 40_000)), "random.txt")


def measured(action) -> int:
    """Peak bytes tracemalloc sees allocated while `action()` runs."""
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


# -- the estimate against the truth ----------------------------------------------------------

@pytest.mark.parametrize("config", [
    dict(),  # min-char-rnn: its exact warm-up's scratch included
    dict(hidden_size=300, seq_length=200),
    dict(cell="rnn", batch=8, seq_length=64, hidden_size=128, dtype="float32",
         optimizer="adam"),
    dict(cell="lstm", layers=2, batch=16, seq_length=50, hidden_size=96, dtype="float32",
         optimizer="adam", dropout=0.2),
    dict(cell="gru", layers=3, batch=4, seq_length=300, hidden_size=64, optimizer="rmsprop",
         val_fraction=0.1, eval_every=1),
    dict(cell="lstm", batch=2, seq_length=2000, hidden_size=32),
], ids=["min-char", "min-char-long", "rnn-adam", "lstm-dropout", "gru-validation",
        "lstm-long-window"])
def test_the_training_estimate_follows_what_training_allocates(tmp_path, config):
    """Build, train (validation included), save and sample after a prime: the peak is the
    estimate's."""
    config = Config(seed=1, **config)

    def train() -> None:
        trainer = Trainer(CORPUS, config)
        for _ in range(3):
            trainer.step()
        save_checkpoint(trainer, tmp_path / "x.npz")
        trainer.sample(prime=CORPUS.text(0, 300))  # a long prime is read in chunks

    peak = measured(train)
    estimate = memory.training(config, CORPUS.vocab_size).total
    print(f"\n{config.describe_model()} T {config.seq_length}: estimate "
          f"{memory.size_text(estimate)}, peak {memory.size_text(peak)}")
    assert 0.85 * peak <= estimate <= 1.3 * peak


@pytest.mark.parametrize("use", ["score", "neurons"])
@pytest.mark.parametrize("config", [
    dict(hidden_size=64),
    dict(hidden_size=400),
    dict(cell="lstm", layers=3, hidden_size=48, dtype="float32", optimizer="adam"),
    dict(cell="gru", layers=2, hidden_size=200, batch=4),
], ids=["min-char", "min-char-400", "lstm", "gru"])
def test_the_reading_estimate_follows_what_score_and_the_explorer_allocate(tmp_path, config,
                                                                            use):
    """Load, then score a text in pieces (`score`) or read the passage (`neurons`)."""
    trainer = Trainer(CORPUS, Config(seed=1, seq_length=20, **config))
    trainer.step()
    path = save_checkpoint(trainer, tmp_path / "x.npz")
    ixes = CORPUS.ix[:probe.PASSAGE].astype(np.intp)
    kept = len(ixes) if use == "neurons" else 0

    def read() -> None:
        saved = load_model(path, kept_chars=kept)
        if use == "score":
            scorer = probe.Scorer(saved.model)
            for start in range(0, len(ixes), 1000):
                scorer.feed(ixes[start:start + 1000])
        else:
            probe.read(saved.model, ixes, saved.hprev)

    peak = measured(read)
    V = CORPUS.vocab_size
    estimate = (memory.checkpoint_arrays(trainer.config, V)
                + memory.reading(trainer.config, V, kept_chars=kept)).total
    print(f"\n{use} {trainer.config.describe_model()}: estimate {memory.size_text(estimate)}, "
          f"peak {memory.size_text(peak)}")
    assert 0.85 * peak <= estimate <= 1.6 * peak


def test_a_refusal_says_how_much_mostly_what_and_which_flags():
    config = Config(hidden_size=4096, batch=1024, seq_length=100_000, cell="rnn")
    with pytest.raises(memory.MemoryBudgetError) as exc:
        memory.check(memory.training(config, 65), available=16 * GiB)
    text = str(exc.value)
    assert "\n" not in text and "needs about" in text and "TiB" in text
    assert "window workspace" in text
    assert all(flag in text for flag in ("--batch 1024", "--seq-length 100000", "--hidden 4096"))
    assert "12.8 GiB can be spared" in text  # SHARE of what is free
    memory.check(memory.training(Config(), 65), available=16 * GiB)  # min-char-rnn fits


def test_available_memory_honours_the_process_limits(monkeypatch):
    monkeypatch.setattr(memory, "_machine", lambda: 64 * GiB)
    monkeypatch.setattr(memory, "_cgroup", lambda: None)
    monkeypatch.setattr(memory, "_rlimits", lambda: [3 * GiB])
    assert memory.available_bytes() == 3 * GiB
    monkeypatch.setattr(memory, "_rlimits", lambda: [])
    monkeypatch.setattr(memory, "_cgroup", lambda: 5 * GiB)
    assert memory.available_bytes() == 5 * GiB
    monkeypatch.setattr(memory, "_machine", lambda: None)
    monkeypatch.setattr(memory, "_cgroup", lambda: None)
    assert memory.available_bytes() is None  # nothing known: nothing refused
    memory.check(memory.training(Config(hidden_size=4096), 100))


# -- products of flags, presets and resumes on the command line ------------------------------

PRODUCTS = [
    (["--hidden", "4096", "--batch", "1024", "--seq-length", "100000"], "--batch 1024"),
    (["--model", "gru-2x256", "--batch", "1024", "--seq-length", "4096"], "--seq-length 4096"),
    (["--model", "rnn-256", "--batch", "512", "--seq-length", "5000"], "--batch 512"),
    (["--cell", "lstm", "--layers", "8", "--hidden", "4096"], "--hidden 4096 × --layers 8"),
    (["--hidden", "4096", "--seq-length", "100000"], "--seq-length 100000"),
    (["--cell", "gru", "--layers", "8", "--hidden", "2048", "--batch", "1024"], "--layers 8"),
]


@posix_limits
@pytest.mark.parametrize(("args", "flags"), PRODUCTS, ids=lambda v: " ".join(v)
                         if isinstance(v, list) else None)
def test_a_product_of_flags_too_big_for_memory_is_one_line(tmp_path, args, flags):
    child = run_limited("--headless", "--iters", "1", *args, cwd=tmp_path)
    print(f"\n{' '.join(args)}: {child.seconds:.2f} s, peak RSS "
          f"{memory.size_text(child.peak_rss)}; {child.stderr.strip()}")
    assert child.returncode == 2 and "Traceback" not in child.stderr, child.stderr
    assert len(child.lines) == 1 and "needs about" in child.lines[0]
    assert flags in child.lines[0]
    assert child.peak_rss < GiB // 4  # refused before it was allocated (~35 MiB measured)


@posix_limits
def test_the_vocabulary_counts_once_the_corpus_is_read(tmp_path):
    """Flags that fit with a small vocabulary do not with the corpus's 20000 characters."""
    text = "".join(chr(0x4E00 + i) for i in RNG.randint(0, 20_000, 60_000))
    (tmp_path / "wide.txt").write_text(text + "".join(map(chr, range(0x4E00, 0x4E00 + 20_000))),
                                       encoding="utf-8")
    args = ("--headless", "--iters", "1", "--hidden", "64", "--batch", "256", "--seq-length",
            "256", "--cell", "rnn", "wide.txt")
    child = run_limited(*args, cwd=tmp_path)
    assert child.returncode == 2 and len(child.lines) == 1, child.stderr
    assert "needs about" in child.lines[0] and "vocabulary 20000" in child.lines[0]


@pytest.mark.parametrize("batch", ["4096"])
def test_gru_2x256_with_a_huge_batch_answers_in_one_line_within_a_second(tmp_path, batch):
    """The issue's case, any machine: best of three runs (the machine may be busy). (At
    --batch 1024 it is the memory check's: PRODUCTS, in a limited child.)"""
    (tmp_path / "corpus.txt").write_text(TEXT * 40, encoding="utf-8")
    times = []
    for _ in range(3):
        start = time.perf_counter()
        proc = run_cli("--headless", "--model", "gru-2x256", "--batch", batch, "--seq-length",
                       "4096", "corpus.txt", cwd=tmp_path, timeout=30)
        times.append(time.perf_counter() - start)
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2 and len(lines) == 1 and proc.stdout == "", proc.stderr
        if min(times) < 1.0:
            break
    print(f"\n--batch {batch}: {lines[0]} ({min(times):.2f} s)")
    assert min(times) < 1.0


def _checkpoint(tmp_path: Path, name: str = "ck.npz", **config) -> Path:
    corpus = corpus_from_text(TEXT * 4, "tiny.txt")
    trainer = Trainer(corpus, Config(**{"seed": 2, "hidden_size": 12, "seq_length": 16,
                                        **config}))
    for _ in range(3):
        trainer.step()
    (tmp_path / "tiny.txt").write_text(TEXT * 4, encoding="utf-8")
    return save_checkpoint(trainer, tmp_path / name)


def claiming(tmp_path: Path, cell: str = "lstm", layers: int = 8, hidden: int = 4096,
             vocab: int = 1_000_000, honest_members: bool = True) -> Path:
    """A checkpoint whose config claims a huge network. With `honest_members` its members'
    headers and zip entries claim the matching sizes (deflated to nearly nothing); otherwise
    they are the small network's own."""
    path = _checkpoint(tmp_path, "small.npz", cell=cell, optimizer="adam",
                       learning_rate=2e-3)
    arrays = arrays_of(path)
    codes = np.concatenate([np.arange(32, 0xD800), np.arange(0xE000, 0x110000)])[:vocab]
    arrays["vocab"] = codes.astype(np.uint32)
    arrays["config_hidden_size"] = np.array(hidden)
    arrays["config_layers"] = np.array(layers)
    claims = {}
    if honest_members:
        config = Config(cell=cell, hidden_size=hidden, layers=layers, optimizer="adam")
        names, shapes = Network.layout(vocab, ModelSpec.of(config))
        for key in [k for k in arrays if k.startswith(("param_", "opt_m", "opt_v", "state"))]:
            del arrays[key]
        claims = {"param_" + n: ("float64", s) for n, s in zip(names, shapes)}
        size = sum(int(np.prod(s)) for s in shapes)
        claims.update({"opt_m": ("float64", (size,)), "opt_v": ("float64", (size,)),
                       "state": ("float64", (layers, 2 if cell == "lstm" else 1, 1, hidden))})
    return write_npz(tmp_path / "huge.npz", arrays, claims)


@pytest.mark.parametrize(("cell", "layers", "hidden", "vocab", "honest"), [
    ("lstm", 8, 4096, 1_000_000, True),  # the issue's: 160 GiB and more
    ("gru", 2, 4096, 200_000, True),
    ("rnn", 1, 4096, 1_000_000, True),
    ("lstm", 8, 4096, 1_000_000, False),  # its members do not match what it claims
], ids=["lstm-8x4096-V1e6", "gru-2x4096", "rnn-4096", "mismatched-members"])
def test_a_checkpoint_claiming_a_huge_network_is_refused_before_decoding(
        tmp_path, monkeypatch, cell, layers, hidden, vocab, honest):
    monkeypatch.setattr(memory, "available_bytes", lambda: 16 * GiB)  # any machine's answer
    path = claiming(tmp_path, cell, layers, hidden, vocab, honest)
    assert path.stat().st_size < 16 << 20
    for load in (load_model, lambda p: load_checkpoint(p, corpus_from_text("ab" * 40))):
        start = time.perf_counter()
        tracemalloc.start()
        try:
            with pytest.raises(CheckpointError) as exc:
                load(path)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        text = str(exc.value)
        assert "\n" not in text
        assert ("needs about" in text) if honest else ("has shape" in text)
        assert peak < 64 << 20 and time.perf_counter() - start < 5.0, (peak, text)


@posix_limits
@pytest.mark.parametrize("command", ["sample", "score", "neurons", "resume"])
def test_sample_score_neurons_and_resume_refuse_the_claim_in_one_line(tmp_path, command):
    path = claiming(tmp_path)
    args = {"sample": ("sample", path), "score": ("score", path, "tiny.txt"),
            "neurons": ("neurons", path, "tiny.txt"),
            "resume": ("--headless", "--resume", path, "tiny.txt")}[command]
    child = run_limited(*args, cwd=tmp_path, limit=GiB + GiB // 2)
    assert child.returncode == 2 and len(child.lines) == 1, child.stderr
    assert "needs about" in child.lines[0] and "Traceback" not in child.stderr
    assert child.peak_rss < GiB // 4  # ~55 MiB measured
    print(f"\n{command}: {child.seconds:.2f} s, peak RSS {memory.size_text(child.peak_rss)}")


@pytest.mark.parametrize(("key", "dtype", "shape", "says"), [
    ("corpus_name", "<U134217728", (), "longer than"),  # a string deflated from 512 MiB
    ("config_cell", "<U268435456", (), "longer than"),  # 1 GiB for a 16-character field
    ("corpus_fingerprint", "<U100000000", (), "longer than"),
    ("kind", "|S536870912", (), "not a charrnn-tui checkpoint"),  # bytes, not text
    ("kind", "<U134217728", (), "not a charrnn-tui checkpoint"),
    ("vocab", "<u4", (1 << 31,), "entries"),  # 8 GiB of code points
    ("param_l0.Wx", "<f8", (1 << 20, 1 << 12), "has shape"),  # 32 GiB where 12 x 48 belongs
    ("rng_key", "<u4", (1 << 30,), "has shape"),
    ("iteration", "<i8", (1 << 28,), "has shape"),
], ids=lambda v: v if isinstance(v, str) and not v.startswith(("<", "|")) else None)
def test_every_member_kind_is_refused_by_its_declared_size_before_decoding(
        tmp_path, key, dtype, shape, says):
    arrays = arrays_of(_checkpoint(tmp_path, cell="lstm", optimizer="adam",
                                   learning_rate=2e-3))
    del arrays[key]
    path = write_npz(tmp_path / "bomb.npz", arrays, {key: (dtype, shape)})
    start = time.perf_counter()
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError) as exc:
            load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert says in str(exc.value) and "\n" not in str(exc.value)
    assert peak < 16 << 20 and time.perf_counter() - start < 2.0


# -- live edits, R and the trainer -----------------------------------------------------------

def test_a_live_change_is_budgeted_by_what_it_adds(monkeypatch):
    corpus = corpus_from_text(TEXT * 200, "long.txt")
    trainer = Trainer(corpus, Config(seed=1, hidden_size=64, seq_length=25))
    whole = memory.training(trainer.config, corpus.vocab_size).total
    monkeypatch.setattr(memory, "available_bytes", lambda: int(whole * 0.9 / memory.SHARE))
    with pytest.raises(memory.MemoryBudgetError):  # the same model, new: does not fit
        Trainer(corpus, trainer.config)
    trainer.set_config(trainer.config.with_changes(learning_rate=0.05, seq_length=26))
    with pytest.raises(memory.MemoryBudgetError) as exc:
        trainer.set_config(trainer.config.with_changes(seq_length=20_000))
    assert "this change needs about" in str(exc.value) and "--seq-length 20000" in str(exc.value)
    assert trainer.config.seq_length == 26
    trainer.step()


async def test_controls_edits_and_r_are_refused_when_memory_is_short(monkeypatch):
    app = make_app(TEXT * 200, paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 2)
        config = app.trainer.config
        spare = memory.training(config, app.trainer.corpus.vocab_size).total
        monkeypatch.setattr(memory, "available_bytes", lambda: spare)
        app.main_screen.apply_setting("seq_length", 20_000)  # the run checks it, and refuses
        await until(lambda: "needs about" in str(
            app.main_screen.controls.query_one("#controls-message").render()))
        assert app.trainer.config.seq_length == config.seq_length
        assert app.config.seq_length == config.seq_length  # the pane shows what is in effect
        assert app.main_screen.apply_setting("learning_rate", 0.05)  # adds nothing
        await until(lambda: app.trainer.config.learning_rate == 0.05)
        old = app.trainer
        await pilot.press("R")
        await until(lambda: type(app.screen).__name__ == "ReinitDialog")
        names = [choice for choice, _ in app.screen.choices]
        await pilot.press(*["m"] * names.index("gru-2x256"), "s")
        await until(lambda: any("needs about" in n for n in app.notified))
        assert app.trainer is old and app.config.learning_rate == 0.05


def test_presets_are_budgeted_as_any_model(monkeypatch):
    corpus = corpus_from_text(TEXT * 50, "t.txt")
    monkeypatch.setattr(memory, "available_bytes", lambda: 4 << 20)
    Trainer(corpus, preset("min-char-rnn").config(seed=1))
    for name in ("rnn-256", "gru-2x256"):
        with pytest.raises(ConfigError) as exc:
            Trainer(corpus, preset(name).config(seed=1))
        assert "needs about" in str(exc.value)


# -- a MemoryError that still happens --------------------------------------------------------

RAISE_AT_30 = """
import sys
from engine import trainer as t
real = t.Trainer._step
def step(self):
    if self.n == 30:
        raise MemoryError
    return real(self)
t.Trainer._step = step
from charrnn_tui.cli.main import main
sys.exit(main(sys.argv[1:]))
"""

RAISE_AT_START = """
import sys
from engine import trainer as t
def refuse(*args, **kwargs):
    raise MemoryError
t.Trainer.__init__ = refuse
from charrnn_tui.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _python(script: str, *args, cwd: Path):
    import subprocess

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get(
        "PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", script, *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_out_of_memory_mid_run_is_one_line_exit_1_and_the_run_is_saved(tmp_path):
    (tmp_path / "c.txt").write_text(TEXT * 10, encoding="utf-8")
    proc = _python(RAISE_AT_30, "--headless", "--iters", "100", "--seed", "1", "--hidden", "16",
                   "--print-every", "0", "--sample-every", "0", "--checkpoint-dir", "ck",
                   "c.txt", cwd=tmp_path)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert errors == ["charrnn-tui: error: out of memory at iteration 30; restored the "
                      "parameters of iteration 0"]
    assert "# saved iteration 30" in proc.stderr
    saved = sorted((tmp_path / "ck").rglob("*.npz"))
    assert saved and load_model(saved[-1]).iteration == 30


def test_out_of_memory_at_start_is_one_line_exit_2(tmp_path):
    (tmp_path / "c.txt").write_text(TEXT * 10, encoding="utf-8")
    proc = _python(RAISE_AT_START, "--headless", "c.txt", cwd=tmp_path)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and lines == [
        "charrnn-tui: error: not enough memory for this corpus and model size"], proc.stderr


async def test_out_of_memory_in_the_app_saves_and_shows_an_error(tmp_path):
    from charrnn_tui.run_files import RunRecorder
    from engine.store.checkpoint import CheckpointStore

    store = CheckpointStore(tmp_path, keep=3)
    recorder = RunRecorder(store, 0, None, 10)
    app = make_app(paused=True, recorder=recorder, store=store)
    real = app.trainer._step

    def step():
        if app.trainer.n == 5:
            raise MemoryError
        return real()

    app.trainer._step = step
    async with app.run_test() as pilot:
        app.session.control.resume()
        await until(lambda: shown(app) is State.ERROR)
        assert "out of memory at iteration 5" in app.session.monitor.latest.message
        assert recorder.final_path is not None and load_model(recorder.final_path).iteration == 5
        await pilot.press("ctrl+c")
