"""One run as the screens see it, wherever its trainer is: snapshots and events in, commands out.

The app holds a `Link` and never a trainer: `LocalLink` (local.py) runs the trainer in this
process's thread worker, `RemoteLink` (client.py) talks to a run behind a socket. Both take
the same commands (`protocol.py`), deliver the same snapshots and events to a `Listener`, and
keep the client's view of the settings: an edit shows at once and is undone if the run
refuses it. Nothing here imports Textual.
"""

from __future__ import annotations

import itertools
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from engine import Config

from . import probes
from .monitor import Snapshot
from .protocol import (
    LIVE_SETTINGS,
    CancelGradCheck,
    ChangeSettings,
    Command,
    Event,
    GradCheck,
    Probe,
    RunInfo,
    SettingsDone,
    WatchViews,
)


@dataclass(frozen=True)
class Listener:
    """Where a link delivers: both are called from the link's own thread and must not block."""

    snapshot: Callable[[bool], None]  # a newer `link.latest` (urgent: it shows a change)
    event: Callable[[Event], None]  # anything else the run says to this client


class Link(ABC):
    """A run: its facts (`info`), its newest snapshot, and the commands that steer it."""

    remote = False  # the trainer is behind a socket (re-initialise and resume are not offered)

    def __init__(self, info: RunInfo) -> None:
        self.info = info
        self.listener = Listener(lambda urgent: None, lambda event: None)
        self.latest: Snapshot | None = None
        self._config = info.config
        self._pending: dict[int, dict[str, object]] = {}  # settings sent, not yet answered
        self._settings_seen = 0  # the run's settings serial our answered edits produced
        self._requests = itertools.count(1)
        self._lock = threading.Lock()

    # -- the link's own kind of run --------------------------------------------------------

    @abstractmethod
    def send(self, command: Command) -> None:
        """Have the run execute `command` (between steps); answers come as events."""

    @abstractmethod
    def run(self) -> object:
        """The blocking loop of the link (the app runs it in its thread worker): train here,
        or read what the run sends. Returns once `close` is called or the run ends."""

    @abstractmethod
    def close(self) -> None:
        """Leave the run: a local run stops and saves; a remote one goes on without us."""

    # -- settings, as this client sees them ------------------------------------------------

    @property
    def config(self) -> Config:
        """The settings in effect, with this client's edits that are on their way."""
        return self._config

    def change_settings(self, config: Config) -> int:
        """Send the settings of `config` that differ from ours (validated by the run too);
        returns the request number its SettingsDone will carry (0: nothing changed)."""
        changes = {name: getattr(config, name) for name in LIVE_SETTINGS
                   if getattr(config, name) != getattr(self._config, name)}
        if not changes:
            return 0
        request = next(self._requests)
        with self._lock:
            self._pending[request] = changes
            self._config = config
        self.send(ChangeSettings(request, changes))
        return request

    def request(self) -> int:
        """A fresh request number, for a Probe or a GradCheck."""
        return next(self._requests)

    def probe(self, query: probes.Query) -> int:
        request = self.request()
        self.send(Probe(request, query))
        return request

    def grad_check(self) -> int:
        request = self.request()
        self.send(GradCheck(request))
        return request

    def cancel_grad_check(self, request: int) -> None:
        self.send(CancelGradCheck(request))

    def watch(self, needs: frozenset[str]) -> None:
        self.send(WatchViews(tuple(sorted(needs))))

    # -- what arrives, from the link's thread ----------------------------------------------

    def _snapshot(self, snapshot: Snapshot, urgent: bool) -> None:
        with self._lock:
            self.latest = snapshot
            # another client's edits show too; a frame older than our last edit does not
            if not self._pending and snapshot.settings >= self._settings_seen:
                self._config = snapshot.config
        self.listener.snapshot(urgent)

    def _event(self, event: Event) -> None:
        if isinstance(event, SettingsDone):
            with self._lock:
                self._pending.pop(event.request, None)
                self._settings_seen = max(self._settings_seen, event.settings)
                if event.error and self.latest is not None and not self._pending:
                    self._config = self.latest.config  # what the run has, not what we asked
        self.listener.event(event)

