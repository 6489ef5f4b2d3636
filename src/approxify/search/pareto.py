"""The speed/loss trade-off: points not dominated in (higher speedup, lower loss)."""

from __future__ import annotations

from collections.abc import Sequence


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the non-dominated ``(speedup, loss)`` points, by increasing loss.

    A point is dominated when another is at least as fast and at least as accurate, and strictly
    better in one. Of exact duplicates only the first is kept.
    """
    order = sorted(range(len(points)), key=lambda i: (points[i][1], -points[i][0], i))
    front: list[int] = []
    best_speedup = float("-inf")
    for i in order:
        speedup = points[i][0]
        if speedup > best_speedup:
            front.append(i)
            best_speedup = speedup
    return front
