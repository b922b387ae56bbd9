"""`--model` names a preset or is refused: an empty name no longer trains the default model."""

from __future__ import annotations

import pytest

from .test_cli import assert_usage_error, run_cli


@pytest.mark.parametrize("name", ["", " ", "GRU-2x256", "gru-2x256 "])
def test_a_model_name_that_is_no_preset_is_one_line(tmp_path, name):
    proc = run_cli("--headless", "--iters", "1", "--model", name, cwd=tmp_path)
    line = assert_usage_error(proc, "unknown model")
    assert repr(name) in line and "min-char-rnn" in line  # it lists the presets
    assert proc.stdout == ""
