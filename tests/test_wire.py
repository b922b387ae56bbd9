"""The wire format (link/wire.py, link/protocol.py): every message type round-trips from real
values, and everything that does not fit the declared types is one WireError, never pickled,
never another exception."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

import numpy as np
import pytest

from charrnn_tui.link import probes
from charrnn_tui.link.local import Session
from charrnn_tui.link.monitor import SERIES, WINDOW
from charrnn_tui.link.protocol import (
    CODEC,
    FROM_CLIENT,
    FROM_RUN,
    MAX_FROM_CLIENT,
    PROTOCOL,
    ChangeSettings,
    Hello,
    Probe,
    ProbeDone,
    SnapshotFrame,
    Step,
    WatchViews,
    Welcome,
)
from charrnn_tui.link.wire import FLOATS, ArraySpec, Codec, WireError, read_frame
from engine import Config, Trainer, check_trainer, corpus_from_text
from engine.inspect import probe

from .app_factory import TEXT


def trainer_for(**config) -> Trainer:
    trainer = Trainer(corpus_from_text(TEXT, "tiny.txt"),
                      Config(**{"seed": 3, "hidden_size": 8, "seq_length": 10,
                                "sample_every": 5, **config}))
    for _ in range(12):
        trainer.step()
    return trainer


def roundtrip(message: object, accept: dict[str, type]) -> object:
    frame = CODEC.frame(message)
    back = CODEC.message(frame[4:], accept)
    assert CODEC.frame(back) == frame  # the same bytes again: nothing lost or changed
    return back


def body(raw: object) -> bytes:
    return json.dumps(raw).encode()


@pytest.mark.parametrize("model", [{}, {"cell": "lstm", "layers": 2, "batch": 3},
                                   {"cell": "gru", "dtype": "float32", "batch": 2}],
                         ids=["min-char-rnn", "lstm", "gru-float32"])
def test_snapshots_with_every_view_extra_round_trip(model):
    trainer = trainer_for(**model)
    session = Session.start(trainer, in_app=False)
    session.monitor.views = frozenset({WINDOW, SERIES})
    session.monitor.note("hidden state reset [to zeros]")
    session.monitor.publish(trainer)
    snap = session.monitor.latest
    back = roundtrip(SnapshotFrame(snap, True), FROM_RUN).snapshot
    assert back.config == snap.config and back.stats == snap.stats
    assert back.samples == snap.samples and back.state is snap.state
    np.testing.assert_array_equal(back.window.probs, snap.window.probs)
    assert back.window.probs.dtype == snap.window.probs.dtype
    if snap.layer_state is not None:
        np.testing.assert_array_equal(back.layer_state, snap.layer_state)


@pytest.mark.parametrize("model", [{}, {"cell": "lstm", "layers": 2}], ids=["rnn", "lstm"])
def test_every_probe_answer_and_the_gradient_check_round_trip(model):
    trainer = trainer_for(**model)
    for query in (probes.Explore(), probes.InfluenceAt(None, -1), probes.PassageInfluence(30),
                  probes.ContinueText("the "), probes.ScoreText("the cat ☃")):
        roundtrip(Probe(7, query), FROM_CLIENT)
        answer = query.run(trainer, lambda share: None)
        back = roundtrip(ProbeDone(7, trainer.n, answer), FROM_RUN).answer
        assert type(back) is type(answer)
    window = probes.InfluenceAt(None, -1).run(trainer, lambda share: None).window
    assert isinstance(roundtrip(Probe(8, probes.InfluenceAt(window, 3)), FROM_CLIENT).query
                      .window, probe.Window)
    check = check_trainer(trainer, entries_per_param=3)
    from charrnn_tui.link.protocol import GradCheckDone

    assert roundtrip(GradCheckDone(1, check), FROM_RUN).check.results == check.results


def test_the_welcome_and_the_commands_round_trip():
    session = Session.start(trainer_for(), iters=50, in_app=False)
    welcome = roundtrip(Welcome(PROTOCOL, session.info, 12, "running"), FROM_RUN)
    assert welcome.info == session.info
    roundtrip(Hello(PROTOCOL, "charrnn-tui test"), FROM_CLIENT)
    changes = roundtrip(ChangeSettings(1, {"seq_length": 30, "learning_rate": 0.05,
                                           "greedy": True}), FROM_CLIENT).changes
    assert changes == {"seq_length": 30, "learning_rate": 0.05, "greedy": True}
    assert type(changes["seq_length"]) is int and type(changes["greedy"]) is bool


def test_a_direction_only_takes_its_own_messages():
    snapshot_frame = CODEC.frame(Hello(PROTOCOL))
    with pytest.raises(WireError, match="unknown message type"):
        CODEC.message(snapshot_frame[4:], FROM_RUN)
    with pytest.raises(WireError, match="unknown message type"):
        CODEC.message(CODEC.frame(WatchViews(()))[4:], FROM_RUN)


GOOD_STEP = {"$t": "Step", "count": 3}


@pytest.mark.parametrize("raw", [
    b"\xff\xfe not utf-8",
    b"{not json",
    b"[1, 2, 3]",
    b"null",
    b"[" * 100_000 + b"]" * 100_000,  # nesting past the parser's recursion
    body({"count": 3}),  # no type
    body({"$t": "Snapshot"}),  # a record, not a message
    body({"$t": "__import__('os')"}),
    body({**GOOD_STEP, "extra": 1}),
    body({"$t": "Step", "count": "3"}),
    body({"$t": "Step", "count": 3.0}),
    body({"$t": "Step", "count": True}),
    body({"$t": "Step", "count": 10**400}),
    body({"$t": "Step", "count": 0}),  # the record's own bounds
    body({"$t": "Step", "count": 10**6}),
    body({"$t": "ChangeSettings", "request": 1, "changes": {"hidden_size": 10}}),
    body({"$t": "ChangeSettings", "request": 1, "changes": {"seq_length": [1]}}),
    body({"$t": "ChangeSettings", "request": 1, "changes": {}}),
    body({"$t": "WatchViews", "needs": ["window", "everything"]}),
    body({"$t": "Probe", "request": 1, "query": {"$t": "Config"}}),
    body({"$t": "Probe", "request": 1, "query": {"$t": "ScoreText", "text": "x" * 5000}}),
    body({"$t": "Probe", "request": 1, "query": {"$t": "ContinueText", "prime": ""}}),
    body({"$t": "Probe", "request": 1, "query": None}),
    body({"$t": "Hello", "protocol": 1.5}),
], ids=lambda raw: raw[:40].decode("utf-8", "replace"))
def test_what_does_not_fit_is_one_wire_error(raw):
    with pytest.raises(WireError):
        CODEC.message(raw, FROM_CLIENT)


def window_query(inputs: object) -> bytes:
    return body({"$t": "Probe", "request": 1, "query": {
        "$t": "InfluenceAt", "position": 0, "window": {
            "$t": "Window", "iteration": 1, "where": "the passage", "targets": inputs,
            "inputs": inputs, "start": {"$a": ["<f8", [2], base64.b64encode(
                np.zeros(2).tobytes()).decode()]}}}})


def array(dtype: str, shape: list[int], data: bytes) -> dict:
    return {"$a": [dtype, shape, base64.b64encode(data).decode()]}


@pytest.mark.parametrize("bad", [
    array("<f8", [3], np.zeros(3).tobytes()),  # floats where indices go
    array("|O", [1], b"\x00" * 8),  # objects: never
    array("<i8", [3, 1], np.zeros(3, np.int64).tobytes()),  # two dimensions for one
    array("<i8", [4], np.zeros(3, np.int64).tobytes()),  # fewer bytes than the shape
    array("<i8", [2**40, 2**40], b""),  # a claim refused before anything is decoded
    array("<i8", [-1], b""),
    {"$a": ["<i8", [3], "!!not base64!!!!"]},
    {"$a": ["<i8", [3]]},
    [1, 2, 3],  # a plain list is not an array
], ids=lambda a: str(a)[:50])
def test_arrays_are_checked_against_their_field(bad):
    with pytest.raises(WireError):
        CODEC.message(window_query(bad), FROM_CLIENT)


def test_a_good_array_decodes_little_endian_and_native():
    inputs = np.array([1, 2, 3], dtype=">i8")  # big-endian in memory: sent little-endian
    raw = window_query(CODEC.encode(inputs))
    query = CODEC.message(raw, FROM_CLIENT).query
    np.testing.assert_array_equal(query.window.inputs, [1, 2, 3])
    assert query.window.inputs.dtype.isnative


def test_records_run_their_own_checks():
    raw = CODEC.encode(Config(seed=1))
    raw["hidden_size"] = 0
    with pytest.raises(WireError, match="hidden size"):
        CODEC.decode(raw, Config)


def test_a_codec_refuses_an_array_field_without_bounds():
    @dataclass(frozen=True)
    class Loose:
        values: np.ndarray

    with pytest.raises(TypeError, match="ArraySpec"):
        Codec({"Loose": Loose}, {})
    Codec({"Loose": Loose}, {(Loose, "values"): ArraySpec(FLOATS, (1,))})


def test_frames_over_the_limit_are_refused_before_they_are_read():
    reads = []

    def read_exactly(n: int) -> bytes:
        reads.append(n)
        return (2**31).to_bytes(4, "big") if n == 4 else b""

    with pytest.raises(WireError, match="over the limit"):
        read_frame(read_exactly, MAX_FROM_CLIENT)
    assert reads == [4]


def test_numbers_keep_their_kind_and_nan_survives():
    frame = CODEC.frame(Step(2))
    assert json.loads(frame[4:]) == GOOD_STEP | {"count": 2}
    session = Session.start(trainer_for(), in_app=False)
    session.monitor.publish(session.trainer)  # the first snapshot: rate and trend are NaN
    back = roundtrip(SnapshotFrame(session.monitor.latest, False), FROM_RUN).snapshot
    assert np.isnan(back.rate)
