"""How many BLAS threads a model trains with, and the one place that sets them.

numpy's BLAS starts with a thread per core. Importing the engine sets the process to one
(`PROCESS_THREADS`): min-char-rnn's batch-1 products are too small to share between cores, so
threads only add handoffs and compete with the UI thread, and the benchmarks' CPU-second
protocols count one thread. `engine.loop.run` then gives each model its count
(`threads_for`) in the thread that trains it, checked before every step (one integer
comparison), and
sets the process's count back when it returns: so a new model (`R`, a resumed checkpoint)
and a changed setting (the Controls) take effect at the next step, whichever loop set the
count last.

An environment that sets OPENBLAS_NUM_THREADS, MKL_NUM_THREADS or OMP_NUM_THREADS wins, for
every model, as numpy's BLAS itself reads it. The count changes results only by float
rounding (tests/test_threads.py); min-char-rnn's exact arithmetic not at all.

BLAS libraries share one pool per process (OpenBLAS with pthreads, as in numpy's wheels;
MKL), so the last count set holds for every thread. threadpoolctl sets it; this is the only
module that imports it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass

import numpy  # noqa: F401  (loads the BLAS library that threadpoolctl finds)
from threadpoolctl import OpenBLASController, ThreadpoolController

from .config import MAX_THREADS, Config
from .presets import PRESETS, preset_of

# the variables BLAS libraries read at load, the first that is set first (OpenBLAS reads its
# own before OMP_NUM_THREADS; MKL its own before OMP_NUM_THREADS)
ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


@dataclass(frozen=True)
class EnvironmentThreads:
    """A thread count the environment sets, which wins over the engine's."""

    variable: str
    count: int

    def __str__(self) -> str:
        return f"{self.variable}={self.count}"


def environment_threads() -> EnvironmentThreads | None:
    """The count the environment sets, if it sets one (OMP's "4,2" nesting: its first)."""
    for variable in ENVIRONMENT:
        text = os.environ.get(variable, "").split(",")[0].strip()
        if text.isdigit() and int(text) > 0:  # anything else: the library's default
            return EnvironmentThreads(variable, int(text))
    return None


def default_threads(config: Config) -> int:
    """A preset's measured count for its model; any other batch-1 model one thread (as
    min-char-rnn: its products are too small to share); another batched network the smallest
    count of the batched presets. Never more than the cores."""
    match = preset_of(config)
    if match is not None:
        count = match.threads
    elif config.batch == 1:
        count = 1
    else:
        count = min(p.threads for p in PRESETS.values() if p.fields.get("batch", 1) > 1)
    return min(count, MAX_THREADS)


def threads_for(config: Config) -> int:
    """The BLAS threads `config`'s model trains with: the environment's count if it sets one,
    else `config.threads` (`--threads`, the Controls), else the model's default."""
    pinned = environment_threads()
    if pinned is not None:
        return pinned.count
    return config.threads if config.threads is not None else default_threads(config)


class Blas:
    """The BLAS library's thread count for the whole process: what the engine set last."""

    def __init__(self) -> None:
        self._controller = ThreadpoolController().select(user_api="blas")
        self._lock = threading.Lock()
        self.count = 0  # what `use` set last; read before every step

    def use(self, count: int) -> None:
        """Let BLAS calls use `count` threads, from now on and from any thread."""
        with self._lock:
            # threadpoolctl >= 3.8 lets only the first thread that sets OpenBLAS's shared pool
            # set it (the others do nothing); this class is the only setter, and its last call
            # is the one that holds
            OpenBLASController.clear_controlling_thread(force=True)
            self._controller.limit(limits=count)
            self.count = count

    def actual(self) -> int | None:
        """The count the library reports (None: no BLAS library threadpoolctl can control)."""
        counts = [lib["num_threads"] for lib in self._controller.info()]
        return min(counts) if counts else None

    def describe(self) -> str:
        """Which BLAS this is, e.g. 'openblas 0.3.31 (pthreads)', for the benchmarks."""
        libs = self._controller.info()
        if not libs:
            return "a BLAS that threadpoolctl cannot control"
        return ", ".join(" ".join(str(part) for part in (
            lib["internal_api"], lib.get("version"), f"({lib.get('threading_layer')})")
            if part and part != "(None)") for lib in libs)


_pinned = environment_threads()
PROCESS_THREADS = 1 if _pinned is None else _pinned.count  # outside the training loop
BLAS = Blas()
BLAS.use(PROCESS_THREADS)
