"""The colour scales of the inspection views, Rich styles only (no Textual): the views paint
with them (`widgets/segment_rows.py`) and so does `charrnn-tui score --color`.

Diverging: a value in [-1, 1], blue below zero, dark at zero, red above (activations).
Heat: a share in [0, 1], green (sure, small) through yellow to red (surprised, large).
"""

from __future__ import annotations

import math

from rich.color import Color
from rich.style import Style

LEVELS = 10  # colour steps on each side of zero


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], f: float) -> Color:
    return Color.from_rgb(*(round(x + (y - x) * f) for x, y in zip(a, b)))


_MID, _NEG, _POS = (40, 40, 48), (60, 130, 255), (255, 80, 60)
# value in [-1, 1]: blue below zero, red above, dark at zero
DIVERGING = tuple(Style(bgcolor=_mix(_MID, _NEG if k < 0 else _POS, abs(k) / LEVELS))
                  for k in range(-LEVELS, LEVELS + 1))
# a share in [0, 1]: green (sure) through yellow to red (surprised)
_GREEN, _YELLOW, _RED = (30, 110, 50), (170, 150, 30), (190, 40, 40)
HEAT = tuple(Style(bgcolor=_mix(_GREEN, _YELLOW, k / LEVELS * 2) if k <= LEVELS // 2
                   else _mix(_YELLOW, _RED, (k - LEVELS / 2) / (LEVELS / 2)), color="white")
             for k in range(LEVELS + 1))


def diverging(value: float) -> Style:
    """The style of a value in [-1, 1] (clamped; nan shows as zero)."""
    if not math.isfinite(value):
        value = 0.0
    return DIVERGING[LEVELS + round(max(-1.0, min(1.0, value)) * LEVELS)]


def heat(share: float) -> Style:
    """The style of a share in [0, 1] (clamped)."""
    if not math.isfinite(share):
        share = 1.0
    return HEAT[round(max(0.0, min(1.0, share)) * LEVELS)]
