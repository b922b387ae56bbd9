"""The learning-rate schedule over a budget: constant, then a linear cooldown to zero.

Warmup-stable-decay without the warmup (Adam's bias correction already starts it gently):
the rate stays at its setting until the last `cooldown` share of the budget, then falls
linearly to 0 at the budget's end. Before the cooldown nothing differs from a constant rate,
so readings taken along the way are a constant-rate run's; the drop at the end is where the
gain is (measured on tinyshakespeare, README's preset table). The budget is whatever the
driver counts: `engine.loop.run` counts iterations up to its target, `python -m engine.bench
quality` CPU-seconds.
"""

from __future__ import annotations


def cooldown_factor(cooldown: float, done: float, total: float) -> float:
    """The factor on the learning rate after `done` of a budget of `total` (same unit).

    1 until the last `cooldown` share of the budget, then linear to 0 at `total`; 1 throughout
    when cooldown is 0 or there is no budget (total <= 0)."""
    if cooldown <= 0.0 or total <= 0:
        return 1.0
    left = (total - done) / total  # share of the budget still to go
    return min(1.0, max(0.0, left / cooldown))
