"""Which text the benchmarks read: the shared tinyshakespeare, else the bundled verse."""

from __future__ import annotations

from pathlib import Path

# ../shared beside the repository (read-only data of the team's machines)
SHARED_CORPUS = Path(__file__).resolve().parents[2].parent / "shared/corpora/tinyshakespeare.txt"


def default_corpus() -> Path:
    if SHARED_CORPUS.exists():
        return SHARED_CORPUS
    from sample_corpora import default_path

    return default_path()
