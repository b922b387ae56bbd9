"""SVG snapshots of the neuron explorer, influence and your-text views.

Each view is opened on the paused snapshot app (as tests/test_views_snapshots.py does) and then
shown a result made here from exact binary fractions (halves, eighths, quarters), so no digit
on screen depends on how a CPU rounds: `test_probe_views.py` checks the engine's own numbers.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from charrnn_tui.link.probes import InfluenceAnswer, Score
from engine.inspect import probe

from .app_factory import VERSE, make_snapshot_app, paused_at
from .helpers import until


def exploration(vocab: str) -> probe.Exploration:
    text = VERSE[:400]
    n, H = len(text), 32
    space = np.array([ch.isspace() for ch in text], float)
    hidden = np.zeros((n, 1, H))
    hidden[:, 0, 0] = space - 0.5  # unit 0: +0.5 on whitespace, -0.5 elsewhere
    for u in range(1, H):  # the others: a fixed pattern in tenths
        hidden[:, 0, u] = ((np.arange(n) * 3 + u * 7) % 21 - 10) / 10
    # only features unit 0 tracks exactly (r = +1 and -1), so its line holds no rounded digit
    features = {name: np.zeros(n) for name in probe.FEATURES}
    features["whitespace"] = space
    features["upper case"] = 1 - space
    unit = probe.UnitScore
    ranks = tuple(probe.FeatureRank(name, 0.0, False, ()) for name in probe.FEATURES[:2]) + (
        probe.FeatureRank("since newline", 17.5, True,
                          (unit(0, "h", 10, 0.5), unit(0, "h", 29, -0.375),
                           unit(0, "h", 7, 0.25))),
        probe.FeatureRank("word start", 0.125, True,
                          (unit(0, "h", 13, -0.625), unit(0, "h", 27, 0.5),
                           unit(0, "h", 25, -0.5))),
        probe.FeatureRank("upper case", 0.0625, True,
                          (unit(0, "h", 0, -1.0), unit(0, "h", 10, -0.5),
                           unit(0, "h", 22, 0.5))),
        probe.FeatureRank("after newline", 0.0625, True,
                          (unit(0, "h", 29, -0.5), unit(0, "h", 10, -0.375),
                           unit(0, "h", 7, -0.25))),
        probe.FeatureRank("whitespace", 0.1875, True,
                          (unit(0, "h", 0, 1.0), unit(0, "h", 14, -0.625),
                           unit(0, "h", 23, -0.5))),
    )
    reading = probe.Reading(np.zeros(n + 1, np.intp), hidden, None, np.zeros(n))
    return probe.Exploration(300, 0, False, text, reading, features, ranks)


def influence_answer(vocab: str) -> InfluenceAnswer:
    text = "the lantern low,\nthe ferryman is"
    ixes = np.array([vocab.index(c) for c in text])
    t = len(text) - 2
    # norms in eighths, falling with distance, with a bump 9 back ('w' of "low")
    norms = np.array([max(0.0, 1.0 - (t - k) / 8) for k in range(t + 1)])
    norms[t - 9] = 0.5
    grads = np.zeros((t + 1, 32))
    grads[:, 0] = norms
    inf = probe.Influence(t, int(ixes[t + 1]), math.log(0.25), grads, np.zeros((t + 1, 4)))
    window = probe.Window(299, ixes[:-1], ixes[1:], np.zeros(32), "the last window")
    return InfluenceAnswer(window, inf)


def score(vocab: str) -> Score:
    text = "the river keeps\nthe lantern low [Quiet]"
    known, unknown = probe.split_known(vocab, text)
    losses = np.array([(k % 8) * 0.5 for k in range(len(known) - 1)])
    return Score(text, tuple(unknown), losses)


@pytest.mark.parametrize("key", ["x", "i", "y"])
def test_view(snap_compare, key):
    app = make_snapshot_app()

    async def run_before(pilot) -> None:
        await paused_at(app, 300)
        await pilot.press(key)
        view = app.screen
        vocab = app.trainer.corpus.vocab
        if key == "x":
            await until(lambda: view.answers > 0)
            view.show_exploration(exploration(vocab))
        elif key == "i":
            await until(lambda: view.answers > 0)
            view.show_answer(influence_answer(vocab))
        else:
            result = score(vocab)
            view.editor.cursor_blink = False  # the cursor shows, whenever the frame is taken
            view.editor.text = result.text
            view.show_result(result)
        await until(lambda: app.shown_version == app.session.monitor.latest.version)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
