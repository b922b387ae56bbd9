"""The command palette's training entries (ctrl+p): a Provider over `actions.PALETTE`.

Each entry is a row of the actions table with a title; its help names the keys, so the palette
teaches them. Choosing one runs the same action as its key, with the same gating
(`App.run_action` asks `check_action`).
"""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from .actions import ATTACHED, PALETTE

NOT_ATTACHED = "not while attached: it acts on a run in this app's own process"


def palette_entries(attached: bool = False) -> list[tuple[str, str, str]]:
    """(title, help, action) of every training entry, in the table's order; for an attached
    run, the entries for a run in this app say why they do nothing, and the entries only an
    app's own run has are left out."""
    entries = []
    for row in PALETTE:
        if row.offered(attached):
            entries.append((row.title, row.palette_help, row.action))
        elif not attached and row.runs == ATTACHED:
            continue
        else:
            entries.append((row.title, f"{row.key_names}: {NOT_ATTACHED}", row.action))
    return entries


class TrainingCommands(Provider):
    """Pause, sample, step, the views, saving and resuming, with the keys that do the same."""

    def entries(self) -> list[tuple[str, str, str]]:
        return palette_entries(getattr(self.app, "attached", False))

    async def discover(self) -> Hits:
        for title, help_text, action in self.entries():
            yield DiscoveryHit(title, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in self.entries():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(self.app.run_action, action),
                          help=help_text)
