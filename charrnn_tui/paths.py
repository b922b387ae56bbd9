"""Where charrnn-tui keeps checkpoints, settings and run logs (platformdirs, XDG-safe)."""

from __future__ import annotations

import contextlib
import os
import re
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP = "charrnn-tui"
_XDG_VARS = ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME",
             "XDG_RUNTIME_DIR")
_env_lock = threading.Lock()


@contextlib.contextmanager
def _xdg_sanitised() -> Iterator[None]:
    """Hide empty or relative XDG_* values: the XDG spec says to ignore them, and a relative
    one would otherwise create folders under the working directory."""
    with _env_lock:
        saved = {k: os.environ[k] for k in _XDG_VARS if k in os.environ}
        for key, value in saved.items():
            if not value.strip() or not os.path.isabs(value):
                del os.environ[key]
        try:
            yield
        finally:
            os.environ.update(saved)


@dataclass(frozen=True)
class Paths:
    data: Path
    checkpoints: Path  # the root; each corpus gets a folder below it
    settings: Path
    logs: Path

    def checkpoint_dir_for(self, corpus_name: str, fingerprint: str) -> Path:
        return self.checkpoints / corpus_folder(corpus_name, fingerprint)


def corpus_folder(corpus_name: str, fingerprint: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", corpus_name).strip("._") or "corpus"
    return f"{safe[:60]}-{fingerprint}"


def user_paths(checkpoint_dir: str | os.PathLike[str] | None = None) -> Paths:
    """The directories in use; nothing is created here."""
    with _xdg_sanitised():
        data = Path(platformdirs.user_data_dir(APP, appauthor=False))
        config = Path(platformdirs.user_config_dir(APP, appauthor=False))
        logs = Path(platformdirs.user_log_dir(APP, appauthor=False))
    checkpoints = Path(checkpoint_dir) if checkpoint_dir else data / "checkpoints"
    return Paths(data=data, checkpoints=checkpoints.absolute(), settings=config / "settings.json",
                 logs=logs)


def runtime_dir() -> Path:
    """Where live runs keep their sockets: the user's runtime folder (XDG_RUNTIME_DIR, else
    platformdirs' fallback under /tmp, which the socket code checks is the user's own)."""
    with _xdg_sanitised(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the /tmp fallback warns; it is checked instead
        return Path(platformdirs.user_runtime_dir(APP, appauthor=False))
