"""Waiting for a condition another thread brings about, without a fixed sleep.

One home for the loop the benchmark and the app tests both use: poll `predicate` every 5 ms
on the event loop (so the UI keeps running) and give up after `timeout` seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(predicate: Callable[[], object], timeout: float = 10.0) -> None:
    """Return once `predicate()` is true; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"condition not reached in {timeout:g} s")
        await asyncio.sleep(0.005)
