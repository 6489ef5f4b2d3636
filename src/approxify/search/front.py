"""The configs to certify: the tuning Pareto front within the bound, faster than exact.

Chosen from tuning data only, ordered by tuning loss (safest first), the order fixed-sequence
testing needs. When the front is longer than the limit, an even spread of it is kept. Search
timings are noisy (a few paired ratios on a few inputs), so a front shorter than the limit is
topped up with the fastest configs it dominates by less than :data:`FRONT_NOISE` (as accurate,
and not measurably slower): held-out timing and the runoff then decide between them, instead of
one lucky tuning figure.
"""

from __future__ import annotations

import numpy as np

from ..report.result import Candidate
from .feasibility import feasible
from .pareto import pareto_front

FRONT_NOISE = 0.10  # tuning speedups closer than this share count as equal


def front(points: list[Candidate], bound: float, limit: int) -> list[Candidate]:
    fitting = [p for p in points if not p.is_exact and feasible(p.tuning, bound)]
    indices = pareto_front([(p.tuning["speedup"], p.tuning["mean_loss"]) for p in fitting])
    chosen = [fitting[i] for i in indices if fitting[i].tuning["speedup"] > 1.0]
    if len(chosen) > limit:
        keep = np.unique(np.linspace(0, len(chosen) - 1, limit).round().astype(int))
        return [chosen[i] for i in keep]
    taken = {id(p) for p in chosen}
    close = sorted((p for p in fitting if id(p) not in taken and _within_noise(p, fitting)),
                   key=lambda p: -p.tuning["speedup"])
    chosen += close[: limit - len(chosen)]
    return sorted(chosen, key=lambda p: (p.tuning["mean_loss"], -p.tuning["speedup"]))


def _within_noise(point: Candidate, others: list[Candidate]) -> bool:
    """Whether no config is as accurate as ``point`` and faster by more than the noise, and
    ``point`` is not measured slower than exact by more than it."""
    speedup, loss = point.tuning["speedup"], point.tuning["mean_loss"]
    return speedup * (1 + FRONT_NOISE) > 1.0 and not any(
        o.tuning["mean_loss"] <= loss and o.tuning["speedup"] > speedup * (1 + FRONT_NOISE) for o in others)
