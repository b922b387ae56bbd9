"""`serve` says one true thing: it checks the app's options with the function the app starts
with (`cli.main.prepare`), then binds its port, and only then says it is serving. Bad options
or a taken port are one line and exit 2, and nothing is announced.
"""

from __future__ import annotations

import socket
import subprocess

import pytest

from .helpers import cli_command, free_port, run_cli, stop_group

pytest.importorskip("textual_serve", reason="the serve extra: pip install -e '.[serve]'")


def serve(*args, cwd) -> subprocess.CompletedProcess[str]:
    return run_cli("serve", "--host", "127.0.0.1", "--port", str(free_port()), *args, cwd=cwd,
                   timeout=60)


@pytest.mark.parametrize(("args", "says"), [
    (["missing.txt"], "missing.txt: no such file"),
    (["--hidden", "0"], "hidden size must be"),
    (["--model", "nope"], "unknown model 'nope'"),
    (["--model", ""], "unknown model ''"),
    (["--exact", "--cell", "gru"], "exact arithmetic"),
    (["--resume", "nope.npz"], "nope.npz"),
    (["--cooldown", "0.2"], "give --iters"),
    (["--hidden", "4096", "--batch", "1024", "--seq-length", "100000"], "needs about"),
])
def test_bad_app_options_are_one_line_before_anything_is_served(tmp_path, args, says):
    proc = serve(*args, cwd=tmp_path)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert len(lines) == 1 and says in lines[0], proc.stderr
    assert "serving on" not in proc.stderr and proc.stdout == ""


def test_a_taken_port_is_one_line_and_nothing_is_announced(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = run_cli("serve", "--host", "127.0.0.1", "--port", str(port), "--hidden", "8",
                       cwd=tmp_path, timeout=60)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0]


def test_an_unknown_host_is_one_line(tmp_path):
    proc = run_cli("serve", "--host", "no-such-host.invalid", "--port", str(free_port()),
                   "--hidden", "8", cwd=tmp_path, timeout=60)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and "cannot listen on" in lines[0]


def test_when_it_says_it_serves_the_port_already_answers(tmp_path):
    port = free_port()
    server = subprocess.Popen(
        cli_command("serve", "--host", "127.0.0.1", "--port", port, "--hidden", "8",
                    "--no-save"), cwd=tmp_path, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        first = server.stderr.readline()  # blocks until the announcement (or an error)
        assert f"serving on http://127.0.0.1:{port}" in first, first
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # no retrying
    finally:
        stop_group(server)
        server.stderr.close()
