"""The neuron explorer, influence and your-text views under Pilot, while paused and training."""

from __future__ import annotations

import math

import numpy as np
import pytest

from charrnn_tui.app.actions import PALETTE
from charrnn_tui.app.commands import palette_entries
from charrnn_tui.app.views.influence_view import InfluenceView
from charrnn_tui.app.views.neurons_view import NeuronsView, wrap
from charrnn_tui.app.views.yourtext_view import YourTextView
from charrnn_tui.link.probes import Continuation, Score
from engine.inspect import probe

from .app_factory import make_app, paused_at
from .helpers import until

LSTM = dict(cell="lstm", layers=2, optimizer="adam", learning_rate=2e-3, batch=2)


def test_each_view_has_a_key_and_a_palette_entry():
    rows = {row.view.NAME: row for row in PALETTE if row.view is not None}
    for name, key in (("neurons", "x"), ("influence", "i"), ("yourtext", "y")):
        assert rows[name].keys == key
    titles = [title for title, _, _ in palette_entries()]
    assert {"Neuron explorer", "Influence view", "Your own text"} <= set(titles)


def test_wrap_breaks_after_newlines_and_at_the_width():
    assert wrap("abcdef\ngh", 4) == [(0, 4), (4, 7), (7, 9)]


async def test_explorer_shows_the_models_own_activations_over_the_passage_while_paused():
    app = make_app(paused=True, val_fraction=0.2)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 30)
        await pilot.press("x")
        view = app.screen
        assert isinstance(view, NeuronsView)
        await until(lambda: view.exploration is not None)
        trainer = app.trainer
        ex = view.exploration
        start, ix = probe.passage(trainer.corpus.ix, 0.2)
        assert ex.start == start == len(trainer._data) and ex.held_out
        # the model's own forward from the carried state, over the same passage
        model = trainer.model.sharing_params()
        model.forward(ix[:-1], ix[1:], trainer.hprev.copy())
        np.testing.assert_allclose(ex.reading.hidden[:, 0], model.workspace(len(ix) - 1).hs[1:],
                                   rtol=0, atol=1e-12)
        assert "held-out part" in view.head.plain
        await pilot.press("right")
        assert view.unit_index == 1
        await pilot.press("1", "2")
        assert view.unit_index == 12
        await pilot.press("9")  # 129 is past the last of 16 units: a new number
        assert view.unit_index == 9
        entries = [u for rank in ex.ranks for u in rank.top]
        await pilot.press("down", "enter")
        assert view.unit_index == entries[1].index
        assert f"{entries[1].label:<8} {entries[1].r:+.3f}" in view.table.plain
        await pilot.press("x")  # the same key closes it
        assert not isinstance(app.screen, NeuronsView)


async def test_explorer_of_a_two_layer_lstm_steps_through_layers_and_cell_states():
    app = make_app(paused=True, **LSTM)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 10)
        await pilot.press("x")
        view = app.screen
        await until(lambda: view.exploration is not None)
        reading = view.exploration.reading
        assert reading.parts == "hc" and reading.layers == 2
        seen = []
        for _ in range(4):
            seen.append((view.unit_layer, view.unit_part))
            await pilot.press("v")
        assert seen == [(0, "h"), (0, "c"), (1, "h"), (1, "c")]
        await pilot.press("v")
        assert "cell state c" in view.head.plain
        # the network's own forward from stream 0's carried state
        trainer = app.trainer
        _, ix = probe.passage(trainer.corpus.ix, trainer.config.val_fraction)
        net = trainer.model.sharing_params()
        state = trainer.state[:, :, :1].copy()
        net.loss(ix[:-1, None], ix[1:, None], state)
        record = net.window_record()
        np.testing.assert_allclose(reading.hidden, record.hidden[:, :, 0], atol=2e-5)
        np.testing.assert_allclose(reading.cells, record.cells[:, :, 0], atol=2e-5)


@pytest.mark.parametrize("key, kind", [("x", NeuronsView), ("i", InfluenceView),
                                       ("y", YourTextView)])
async def test_each_view_opens_and_answers_while_training(key, kind):
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await until(lambda: app.trainer.n > 5)
        await pilot.press(key)
        view = app.screen
        assert isinstance(view, kind)
        if kind is YourTextView:
            view.editor.text = "the cat"
            await pilot.press("ctrl+t")
        await until(lambda: view.answers > 0)
        n = app.trainer.n
        await until(lambda: app.trainer.n > n + 5)  # training goes on with the view open
        assert app.session.monitor.views == frozenset()  # nothing extra in each snapshot


async def test_influence_view_shows_the_engines_influence_on_the_last_window():
    app = make_app(paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 20)
        await pilot.press("i")
        view = app.screen
        assert isinstance(view, InfluenceView)
        await until(lambda: view.answer is not None)
        win = app.trainer.last_window
        expected = probe.influence(app.trainer.model, win.inputs, win.targets, 9, win.h_start)
        np.testing.assert_allclose(view.answer.influence.grads, expected.grads, rtol=1e-12)
        assert f"looks back {expected.reach} characters" in view.head.plain
        assert "position 9" in view.head.plain
        await pilot.press("left")
        await until(lambda: view.answer.influence.position == 8)
        await pilot.press("v")  # the explorer's passage
        await until(lambda: view.answer.window.where == "the passage")
        assert len(view.answer.window.inputs) == probe.INFLUENCE_SPAN
        assert "of the passage's 200 characters" in view.head.plain


async def test_your_text_continues_a_prime_scores_text_and_names_unknown_characters():
    app = make_app(paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await paused_at(app, 20)
        await pilot.press("y")
        view = app.screen
        assert isinstance(view, YourTextView)
        await pilot.press(*"the cat")
        assert view.text == "the cat"
        await pilot.press("ctrl+g")
        await until(lambda: isinstance(view.result, Continuation))
        assert view.result.prime == "the cat"
        assert len(view.result.text) == app.config.sample_length
        await pilot.press("ctrl+t")
        await until(lambda: isinstance(view.result, Score))
        ixes = app.trainer.corpus.encode("the cat")
        losses = probe.surprisal(app.trainer.model, ixes)
        np.testing.assert_allclose(view.result.losses, losses)
        assert f"{view.result.bits_per_char:.3f} bits/char" in view.out_head.plain
        assert math.isclose(view.result.bits_per_char, losses.mean() / math.log(2))
        view.editor.text = "the Zoo cat"  # Z is not in the corpus
        await pilot.press("ctrl+g")
        assert "'Z' is not in the corpus's vocabulary" in view.head.plain
        await pilot.press("ctrl+t")
        await until(lambda: isinstance(view.result, Score) and view.result.unknown == (4,))
        assert "1 outside the vocabulary (reversed) skipped" in view.out_head.plain
        await pilot.press("escape")
        assert not isinstance(app.screen, YourTextView)
