"""Small shared test helpers: corpora written here and the path to the shared benchmark corpus."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_CORPUS = REPO.parent / "shared" / "corpora" / "tinyshakespeare.txt"

# a short text that makes the data pointer wrap around every few iterations
WRAPPING_TEXT = "the cat sat on the mat; a bat bit the cat.\nthe end [1].\n"


def bundled(name: str) -> str:
    return (REPO / "sample_corpora" / name).read_text(encoding="utf-8")


def shared_text(chars: int | None = None) -> str:
    if not SHARED_CORPUS.exists():
        pytest.skip(f"{SHARED_CORPUS} is absent (the shared benchmark corpus)")
    text = SHARED_CORPUS.read_text(encoding="utf-8")
    return text if chars is None else text[:chars]


async def until(predicate, timeout: float = 10.0) -> None:
    """Wait for a condition the trainer thread brings about (never a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.005)
