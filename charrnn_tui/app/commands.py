"""The command palette's training entries (ctrl+p): a Provider over `actions.PALETTE`.

Each entry is a row of the actions table with a title; its help names the keys, so the palette
teaches them. Choosing one runs the same action as its key, with the same gating
(`App.run_action` asks `check_action`).
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .actions import PALETTE


def palette_entries() -> list[tuple[str, str, str]]:
    """(title, help, action) of every training entry, in the table's order."""
    return [(row.title, row.palette_help, row.action) for row in PALETTE]


class TrainingCommands(Provider):
    """Pause, sample, step, the views, saving and resuming, with the keys that do the same."""

    async def discover(self) -> Hits:
        for title, help_text, action in palette_entries():
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in palette_entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.run_action, action),
                          help=help_text)
