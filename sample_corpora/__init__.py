"""The corpora bundled with charrnn-tui; `default_path()` is the one trained on by default."""

from pathlib import Path

DEFAULT = "verse.txt"


def default_path() -> Path:
    return Path(__file__).with_name(DEFAULT)


def available() -> list[Path]:
    return sorted(Path(__file__).parent.glob("*.txt"))
