"""A bounded, downsampled record of the smoothed loss, so that a long run still fits on screen."""

from __future__ import annotations


class LossHistory:
    """Keeps at most `capacity` points; when full, pairs are averaged and the stride doubles.

    Point k covers iterations [k*stride, (k+1)*stride), so the whole run is always shown at an
    even resolution, never just its tail.
    """

    def __init__(self, capacity: int = 1024) -> None:
        if capacity < 2 or capacity % 2:
            raise ValueError("capacity must be an even number >= 2")
        self.capacity = capacity
        self.stride = 1
        self.points: list[float] = []
        self._acc = 0.0
        self._count = 0

    def append(self, value: float) -> None:
        self._acc += value
        self._count += 1
        if self._count < self.stride:
            return
        self.points.append(self._acc / self._count)
        self._acc, self._count = 0.0, 0
        if len(self.points) >= self.capacity:
            pts = self.points
            self.points = [(pts[i] + pts[i + 1]) / 2 for i in range(0, len(pts), 2)]
            self.stride *= 2

    def snapshot(self) -> tuple[float, ...]:
        """An immutable copy, including the partly filled last bucket."""
        if self._count:
            return (*self.points, self._acc / self._count)
        return tuple(self.points)
