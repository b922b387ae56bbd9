"""`charrnn-tui serve`: the app in a real headless browser, and its bad input.

The browser test starts the server on a free loopback port, opens the page in the system's
Chromium driven by Playwright (no browser is downloaded), waits until the status line shows
`iter N` with N rising, presses `p` and checks that N stops. It reads the screen from the
page's own xterm.js terminal buffer: an init script keeps a reference to the terminal object
textual-serve's page creates (it draws on a canvas, so the DOM holds no text).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .helpers import REPO, free_port, run_cli, stop_group

CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium") if p
                 and Path(p).exists()), None)
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KEEP_TERMINAL = """Object.defineProperty(Object.prototype, 'terminal', {configurable: true,
  set(v) {
    Object.defineProperty(this, 'terminal', {value: v, writable: true, configurable: true});
    if (v && v.buffer) window.__terminal = v;
  }});"""
STATUS = """() => { const t = window.__terminal;
  const l = t && t.buffer.active.getLine(0); return l ? l.translateToString(true) : ''; }"""


def playwright_or_skip():
    """Playwright's sync_playwright, or skip: the browser tests need the system's Chromium
    and the serve extra."""
    if CHROMIUM is None:
        pytest.skip("no system Chromium (apt-get install chromium; .ci/run installs it)")
    try:
        import textual_serve  # noqa: F401
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        pytest.skip(f"the serve extra is not installed ({exc.name}): pip install -e '.[serve]'")
    return sync_playwright



def _iteration(status: str) -> int | None:
    m = re.search(r"iter (\d+)", status)
    return int(m.group(1)) if m else None


def test_the_app_trains_in_a_browser_and_p_pauses_it(tmp_path):
    sync_playwright = playwright_or_skip()
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "charrnn_tui", "serve", "--host", "127.0.0.1", "--port",
         str(port), "--seed", "1", "--hidden", "16", "--no-save"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:  # until the server listens (bounded)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "the server did not listen within 30 s"
                time.sleep(0.1)
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, args=ARGS,
                headless=True, viewport={"width": 1280, "height": 720})
            try:
                page = context.new_page()
                page.add_init_script(KEEP_TERMINAL)
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_function(f"() => /iter [1-9]/.test(({STATUS})())", timeout=60_000)
                first = _iteration(page.evaluate(STATUS))
                page.wait_for_function(
                    f"() => {{ const m = ({STATUS})().match(/iter (\\d+)/);"
                    f" return m && Number(m[1]) > {first}; }}", timeout=30_000)
                rising = _iteration(page.evaluate(STATUS))
                print(f"\nbrowser: {page.evaluate(STATUS).strip()}")
                page.evaluate("window.__terminal.focus()")
                page.keyboard.press("p")
                page.wait_for_function(f"() => ({STATUS})().includes('paused')", timeout=30_000)
                # "paused" shows at once, over the last frame's N; the frame after the step
                # in flight shows where training stopped, within a frame (0.25 s)
                page.wait_for_timeout(750)
                paused = _iteration(page.evaluate(STATUS))
                page.wait_for_timeout(1500)  # a window to see N stay put (it rose ~1000/s)
                later = page.evaluate(STATUS)
                print(f"browser after p: {later.strip()}")
            finally:
                context.close()
        assert 0 < first < rising <= paused
        assert _iteration(later) == paused and "paused" in later
    finally:
        if server.poll() is None:
            stop_group(server)


def test_serve_without_the_extra_says_how_to_install_it(tmp_path):
    stub = tmp_path / "stub" / "textual_serve"
    stub.mkdir(parents=True)
    (stub / "__init__.py").write_text("raise ImportError('not installed here')\n")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(stub.parent), str(REPO)]))
    proc = run_cli("serve", "--port", "8123", env=env, cwd=tmp_path)
    assert proc.returncode == 2
    assert 'pip install -e ".[serve]"' in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--port", "0"], "--port must be between 1 and 65535"),
    (["--port", "x"], "invalid int value"),
    (["--headless"], "make no sense in a browser"),
    (["--hidden", "lots"], "expected an integer"),
])
def test_bad_input_to_serve_is_one_line(tmp_path, args, message):
    proc = run_cli("serve", *args, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
