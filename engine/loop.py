"""The one training loop shared by the headless CLI and the app, and its thread-safe controls.

`run()` calls `Trainer.step()` until told to stop, checking a `Control` before every step:
pause blocks on an Event (no busy loop), commands queued from another thread (edits, resets,
samples) run between steps in the training thread, and `on_tick` fires at most every
`tick_seconds` so a monitor can take a snapshot without slowing every step. Every step runs
with the BLAS threads of its model (engine/threads.py); when `run` returns, the process's
count is set back.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from enum import Enum

from .schedule import cooldown_factor
from .threads import BLAS, PROCESS_THREADS
from .trainer import Diverged, StepResult, Trainer

Command = Callable[[Trainer], None]


class Outcome(Enum):
    FINISHED = "finished"  # the iteration budget was reached
    STOPPED = "stopped"  # stop() was called
    DIVERGED = "diverged"  # a non-finite loss, with stop_on_divergence


class Control:
    """Pause, resume, single-step, stop and queued commands, safe to call from any thread."""

    def __init__(self, paused: bool = False) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()  # set whenever the loop should re-check its state
        self._paused = paused
        self._stopped = False
        self._steps = 0
        self._commands: deque[Command] = deque()

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped(self) -> bool:
        return self._stopped

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            self._steps = 0

    def resume(self) -> None:
        with self._lock:
            self._paused = False
        self._wake.set()

    def toggle_pause(self) -> bool:
        """Pause if running, resume if paused; returns the new paused state."""
        if self._paused:
            self.resume()
        else:
            self.pause()
        return self._paused

    def step(self, count: int = 1) -> None:
        """While paused, run exactly `count` more iterations."""
        with self._lock:
            self._steps += count
        self._wake.set()

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
        self._wake.set()

    def submit(self, command: Command) -> None:
        """Run `command(trainer)` in the training thread before the next step (or while paused)."""
        with self._lock:
            self._commands.append(command)
        self._wake.set()

    # -- used by run() in the training thread ----------------------------------------------

    def _drain(self) -> list[Command]:
        with self._lock:
            commands = list(self._commands)
            self._commands.clear()
        return commands

    def _may_step(self) -> bool:
        """True to run a step now; False means paused (or work arrived): re-check, then wait."""
        with self._lock:
            if self._stopped or self._commands:
                return False
            if not self._paused:
                return True
            if self._steps:
                self._steps -= 1
                return True
            self._wake.clear()  # under the lock: a resume, step, submit or stop sets it again
            return False

    def _wait(self) -> None:
        self._wake.wait()


def run(trainer: Trainer, control: Control | None = None, iters: int | None = None,
        on_step: Callable[[StepResult], None] | None = None,
        on_tick: Callable[[Trainer], None] | None = None, tick_seconds: float = 0.2,
        on_diverged: Callable[[Trainer, Diverged], None] | None = None,
        stop_on_divergence: bool = True) -> Outcome:
    """Train until `iters` more iterations are done (None: until stopped).

    The budget's end is iteration `trainer.n + iters`: a config's cooldown anneals the learning
    rate over its last share, counted from iteration 0, so a run resumed with the iterations
    it had left continues the same schedule. Without a budget the rate stays constant.
    On divergence the parameters stay as they were before the failing step; the loop then
    returns DIVERGED, or (stop_on_divergence=False) pauses and waits for the user.
    """
    control = control or Control()
    target = None if iters is None else trainer.n + iters
    next_tick = time.perf_counter() + tick_seconds
    step = trainer.step
    blas = BLAS
    trainer.lr_scale = 1.0
    try:
        while True:
            if control._commands:
                for command in control._drain():
                    command(trainer)
                if on_tick is not None:
                    on_tick(trainer)  # show the command's effect at once
            if control.stopped:
                return Outcome.STOPPED
            if target is not None and trainer.n >= target:
                return Outcome.FINISHED
            if not control._may_step():
                if control.stopped or control._commands:
                    continue
                if on_tick is not None:
                    on_tick(trainer)
                control._wait()
                continue
            if target is not None:  # the config may change between steps, so read it each time
                trainer.lr_scale = cooldown_factor(trainer.config.cooldown, trainer.n, target)
            # the model's count (a new setting, or another loop that set its own since)
            if blas.count != trainer.threads:
                blas.use(trainer.threads)
            try:
                result = step()
            except Diverged as exc:
                if on_diverged is not None:
                    on_diverged(trainer, exc)
                if stop_on_divergence:
                    return Outcome.DIVERGED
                control.pause()
                continue
            if on_step is not None:
                on_step(result)
            if on_tick is not None and (control.paused or time.perf_counter() >= next_tick):
                on_tick(trainer)
                next_tick = time.perf_counter() + tick_seconds
    finally:  # outside training loops the process keeps its count (another loop resets its own)
        blas.use(PROCESS_THREADS)
