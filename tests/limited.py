"""The CLI in a child process under an address-space limit (`resource.setrlimit` in the child),
with its exit status, output, wall time and peak resident memory.

The peak is the child's own: its VmHWM as it exits (a forked child's ru_maxrss starts at the
parent's, pytest's, resident size), else ru_maxrss where there is no /proc.

Where memory is the point, a test runs the command here: a plan the machine cannot hold must be
refused in one line long before the limit is reached, and the child's peak shows it was.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import pytest

try:
    import resource
except ImportError:  # Windows
    resource = None

posix_limits = pytest.mark.skipif(
    resource is None or not hasattr(os, "wait4") or not sys.platform.startswith("linux"),
    reason="needs Linux's RLIMIT_AS, os.wait4 and /proc")
GiB = 1 << 30
LIMIT = 2 * GiB  # address space of a limited child: numpy and the app need ~0.5 GiB of it


@dataclass(frozen=True)
class Child:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    peak_rss: int  # bytes

    @property
    def lines(self) -> list[str]:
        """The non-empty lines of stderr."""
        return [line for line in self.stderr.splitlines() if line.strip()]


# runs the CLI as `python -m charrnn_tui` does, and writes its peak resident size at exit
REPORTING = """
import atexit, sys
def report(path=sys.argv[1]):
    try:
        with open("/proc/self/status") as status, open(path, "w") as out:
            out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
    except (OSError, StopIteration):
        pass
atexit.register(report)
from charrnn_tui.cli.main import main
sys.argv = ["charrnn-tui", *sys.argv[2:]]
sys.exit(main(sys.argv[1:]))
"""


def run_limited(*args, cwd, limit: int | None = LIMIT, timeout: float = 60.0) -> Child:
    """`charrnn-tui ARGS` in `cwd` under an address-space limit of `limit`."""
    def set_limit() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.TemporaryDirectory() as side:
        report = os.path.join(side, "hwm")
        command = [sys.executable, "-c", REPORTING, report, *map(str, args)]
        start = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, preexec_fn=set_limit)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - start > timeout:
                proc.send_signal(signal.SIGKILL)
                os.wait4(proc.pid, 0)
                pytest.fail(f"{args} did not end within {timeout:g} s")
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes there, KiB here
        try:
            with open(report) as f:
                peak = int(f.read()) * 1024
        except (OSError, ValueError):
            peak = usage.ru_maxrss * scale
        return Child(proc.returncode, out.read().decode("utf-8", "replace"),
                     err.read().decode("utf-8", "replace"), seconds, peak)
