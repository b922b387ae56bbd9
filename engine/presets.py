"""Named, tested combinations of model and training settings (`--model NAME`).

`min-char-rnn` is the default and exactly the original. The others are the models char-rnn
users train, with the settings measured in README's preset table (`python -m engine.bench
quality`). A preset fills Config fields; flags given beside it override them. Its `threads`
is how many BLAS threads its model trains with by default (`python -m engine.bench threads`;
engine/threads.py applies it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .config import MODEL_FIELDS, Config, ConfigError

DEFAULT_PRESET = "min-char-rnn"
# what a preset leaves as the user set it: sampling, validation, the clip and the BLAS threads
RUN_FIELDS = ("sample_every", "sample_length", "temperature", "greedy", "val_fraction",
              "eval_every", "clip", "threads")


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    fields: dict[str, object] = field(default_factory=dict)
    # BLAS threads by default: the smallest count within 5% of the best wall-clock rate in
    # `python -m engine.bench threads` (README, "Speed")
    threads: int = 1

    def config(self, **overrides: object) -> Config:
        """The preset's Config, with `overrides` (fields given explicitly) on top."""
        return Config(**{**self.fields, **overrides})

    def carrying(self, current: Config) -> Config:
        """The preset's Config with the RUN_FIELDS of `current` (another model's): the
        held-out share is kept only where it is not just the old model's default, so a switch
        from min-char-rnn (none) to a network holds out the network's default."""
        carried = {f: getattr(current, f) for f in RUN_FIELDS}
        if current.val_fraction in (None, current.default_val_fraction):
            carried["val_fraction"] = None
        return self.config(**carried)


# the cooldown acts only where there is a budget (--iters; the quality benchmark's seconds)
_BATCHED = dict(batch=32, seq_length=64, optimizer="adam", dtype="float32", cooldown=0.2)
# No LSTM preset: a 2x256 LSTM trained this way reads the held-out text of tinyshakespeare at
# ~6 nats/char from a zero state that starts on a newline (a cell-state counter never resets),
# so it fails the stable-preset bar; `--cell lstm` trains one all the same.
# threads: on a quiet two-core machine two OpenBLAS threads trained rnn-256 1.64x and
# gru-2x256 1.18x as fast as one, in wall time; min-char-rnn's batch-1 products are too small
# to share
PRESETS: dict[str, Preset] = {p.name: p for p in (
    Preset("min-char-rnn", "the original: tanh 100, batch 1, float64, Adagrad 0.1"),
    Preset("rnn-256", "tanh 256, batch 32, seq 64, Adam 2e-3, float32: best up to 3 minutes",
           dict(cell="rnn", hidden_size=256, **_BATCHED), threads=2),
    Preset("gru-2x256", "GRU 2x256, dropout 0.1, batch 32, seq 64, Adam 2e-3, float32: best "
           "given 10 minutes", dict(cell="gru", hidden_size=256, layers=2, dropout=0.1,
                                     **_BATCHED), threads=2),
)}


def preset(name: str) -> Preset:
    """The preset called `name`; ConfigError (one line, listing the names) if there is none."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; the presets are "
                          f"{', '.join(PRESETS)}") from None


def preset_of(config: Config) -> Preset | None:
    """The preset whose model `config` is (its model fields but the seed), if there is one."""
    for p in PRESETS.values():
        made = p.config(seed=config.seed)
        if all(getattr(made, f) == getattr(config, f) for f in MODEL_FIELDS):
            return p
    return None
