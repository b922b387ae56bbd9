"""`engine.Config`: the defaults of min-char-rnn, and one-line errors naming each bad field."""

from __future__ import annotations

import dataclasses
import math

import pytest

from engine import Config, ConfigError


def test_defaults_are_the_original_hyperparameters() -> None:
    c = Config()
    assert c.hidden_size == 100
    assert c.seq_length == 25
    assert c.learning_rate == 0.1
    assert c.clip == 5
    assert c.temperature == 1
    assert c.sample_every == 100
    assert c.sample_length == 200
    assert c.seed is None
    assert c.exact is False and c.greedy is False


INVALID = [
    ("learning_rate", -1.0),
    ("learning_rate", 0.0),
    ("learning_rate", math.nan),
    ("learning_rate", math.inf),
    ("learning_rate", -math.inf),
    ("learning_rate", "abc"),
    ("learning_rate", 1e300),
    ("hidden_size", 0),
    ("hidden_size", -3),
    ("hidden_size", 100_000_000),
    ("seq_length", 0),
    ("seq_length", 1_000_000_000),
    ("temperature", 0.0),
    ("temperature", -1.0),
    ("temperature", math.nan),
    ("temperature", 5e-324),  # subnormal: the logits divided by it overflow
    ("temperature", 1e-4),
    ("sample_length", 0),
    ("seed", -1),
    ("seed", 99_999_999_999),
    ("sample_every", -5),
    ("clip", 0.0),
    ("clip", -1.0),
    ("clip", math.inf),
]


def field_label(field: str) -> str:
    """How messages name a field: 'learning_rate' is 'learning rate'."""
    return field.replace("_", " ")


@pytest.mark.parametrize(("field", "value"), INVALID, ids=[f"{f}={v!r}" for f, v in INVALID])
def test_invalid_value_raises_one_line_naming_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as exc:
        Config(**{field: value})
    message = str(exc.value)
    assert "\n" not in message
    assert field_label(field) in message


@pytest.mark.parametrize("field", ["hidden_size", "seq_length", "seed", "sample_every",
                                   "sample_length"])
@pytest.mark.parametrize("value", [True, False])
def test_bool_is_not_an_int(field: str, value: bool) -> None:
    # True == 1 passes a range check, but is never what the caller meant
    with pytest.raises(ConfigError) as exc:
        Config(**{field: value})
    assert field_label(field) in str(exc.value)


@pytest.mark.parametrize("field", ["learning_rate", "temperature", "clip"])
def test_bool_is_not_a_number(field: str) -> None:
    with pytest.raises(ConfigError) as exc:
        Config(**{field: True})
    assert field_label(field) in str(exc.value)


@pytest.mark.parametrize(("field", "value"), [("hidden_size", 10.0), ("seq_length", "25"),
                                              ("seed", 1.5), ("sample_length", None)])
def test_int_fields_reject_other_types(field: str, value: object) -> None:
    with pytest.raises(ConfigError) as exc:
        Config(**{field: value})
    assert field_label(field) in str(exc.value)


@pytest.mark.parametrize(("field", "value"), [
    ("hidden_size", 1),
    ("seq_length", 1),
    ("seed", 0),
    ("seed", 2**32 - 1),  # the largest seed np.random.seed takes
    ("sample_every", 0),  # 0 = never sample
    ("sample_length", 1),
    ("learning_rate", 1),  # an int is a fine number
    ("temperature", 1e-3),
])
def test_boundary_values_are_accepted(field: str, value: object) -> None:
    assert getattr(Config(**{field: value}), field) == value


def test_with_changes_returns_a_changed_copy() -> None:
    base = Config(seed=1)
    changed = base.with_changes(learning_rate=0.05, temperature=0.5)
    assert (changed.learning_rate, changed.temperature, changed.seed) == (0.05, 0.5, 1)
    assert base.learning_rate == 0.1  # the original is untouched


def test_with_changes_validates() -> None:
    with pytest.raises(ConfigError) as exc:
        Config().with_changes(hidden_size=0)
    assert "hidden size" in str(exc.value)


def test_with_changes_rejects_unknown_fields() -> None:
    with pytest.raises(ConfigError) as exc:
        Config().with_changes(hidden=10, lr=0.1)
    message = str(exc.value)
    assert "\n" not in message
    assert "hidden" in message and "lr" in message


def test_config_is_frozen() -> None:
    c = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.hidden_size = 10  # type: ignore[misc]


def test_configs_with_equal_fields_are_equal() -> None:
    # checkpoints and the app compare configs by value
    assert Config(seed=3) == Config(seed=3)
    assert Config(seed=3) != Config(seed=4)
