"""User settings from `settings.json` in the config dir: read, validated, never written here.

A missing file means defaults. A corrupt or invalid one also means defaults, with a warning;
the file is left exactly as it is so that nothing the user wrote is lost.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

from engine.store.files import FileRefused, read_regular


@dataclass(frozen=True)
class Settings:
    keep_checkpoints: int = 5  # newest checkpoints kept per corpus
    save_every: int = 1000  # iterations between autosaves (0 = only at the end)
    log_every: int = 100  # iterations between run-log records


MAX_SETTINGS_BYTES = 64 * 1024  # a settings file is a few lines; anything bigger is not one
LIMITS = {"keep_checkpoints": (1, 10_000), "save_every": (0, 10**12), "log_every": (1, 10**9)}


def load_settings(path: Path) -> tuple[Settings, str | None]:
    """The settings and, if the file was unusable, a one-line warning."""
    if not path.exists() and not path.is_symlink():
        return Settings(), None
    try:
        text = read_regular(path, MAX_SETTINGS_BYTES, "settings file").decode("utf-8")
    except (FileRefused, UnicodeDecodeError) as exc:
        return Settings(), f"settings file unusable: {exc}; using defaults"
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict):
            raise ValueError("expected a JSON object")
        known = {f.name for f in fields(Settings)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ValueError(f"unknown setting {unknown[0]!r}")
        for key, value in raw.items():
            low, high = LIMITS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise ValueError(f"{key} must be an integer from {low} to {high}")
        return Settings(**raw), None
    except RecursionError:
        return Settings(), (f"settings file {path} is not valid (nested too deeply); using "
                            "defaults and leaving the file as it is")
    except ValueError as exc:
        return Settings(), (f"settings file {path} is not valid ({exc}); using defaults and "
                            f"leaving the file as it is")
