"""The configs to certify: the tuning Pareto front within the bound, faster than exact.

Chosen from tuning data only, ordered by tuning loss (safest first), the order fixed-sequence
testing needs. When the front is longer than the limit, an even spread of it is kept. Search
timings are noisy (a few paired ratios on a few inputs), so a front shorter than the limit is
topped up with the fastest configs it dominates by less than :data:`FRONT_NOISE` (as accurate,
and not measurably slower): held-out timing and the runoff then decide between them, instead of
one lucky tuning figure.

:func:`settled_front` guards the front against lucky figures themselves: each config about to
enter it is timed again (:data:`RETIME_REPEATS` times the search's repetitions) and the front is
drawn again from the new figures, until every config on it has been timed twice (after
:data:`MAX_ROUNDS` redraws, from the configs timed twice alone). The front
ranks by the fresh figure (the median of the new ratios), not by a lower limit: a fresh
measurement is independent of the lucky one that made the config look fast, so its median is
unbiased, while a lower limit would rank configs by their noise as much as by their speed.
A do-nothing config that measured 1.5x by luck falls back to 1.0x, and the real speedup it had
pushed off the front comes back on.
"""

from __future__ import annotations

import numpy as np

from ..measure.evaluation import speed_figures
from ..report.result import Candidate
from .feasibility import feasible, searched_loss
from .measurer import Measurer
from .pareto import pareto_front

FRONT_NOISE = 0.10  # tuning speedups closer than this share count as equal
RETIME_REPEATS = 3  # a front entrant is timed again with this many times the search's repetitions
MAX_ROUNDS = 4  # redraws of the front at most (each retimes only the configs new on it)


def settled_front(points: list[Candidate], bound: float, limit: int, tuner: Measurer) -> list[Candidate]:
    """:func:`front`, once every config on it has been timed again (see the module docstring).

    A retimed candidate's tuning figures (and ``tuner``'s, so the effects read them) take the
    new speedup and interval; ``first_speedup`` keeps the figure the search saw."""
    chosen = front(points, bound, limit)
    if callable(tuner.cost):  # a proxy cost gives the same figure every time
        return chosen
    retimed: set[int] = set()
    for _ in range(MAX_ROUNDS):
        fresh = [c for c in chosen if id(c) not in retimed]
        if not fresh:
            return chosen
        for candidate in fresh:
            _retime(candidate, tuner)
            retimed.add(id(candidate))
        chosen = front(points, bound, limit)
    # out of rounds: only configs timed twice may stand on the front, none on a first figure
    return front([p for p in points if id(p) in retimed], bound, limit)


def _retime(candidate: Candidate, tuner: Measurer) -> None:
    speedup, timing = tuner.retime(candidate.config, repeats=tuner.repeats * RETIME_REPEATS)
    candidate.tuning = {**candidate.tuning, **speed_figures(speedup, timing),
                        "first_speedup": candidate.tuning["speedup"]}
    tuner.remember(candidate.config, candidate.tuning)


def front(points: list[Candidate], bound: float, limit: int) -> list[Candidate]:
    fitting = [p for p in points if not p.is_exact and feasible(p.tuning, bound)]
    indices = pareto_front([(p.tuning["speedup"], searched_loss(p.tuning)) for p in fitting])
    chosen = [fitting[i] for i in indices if fitting[i].tuning["speedup"] > 1.0]
    if len(chosen) > limit:
        keep = np.unique(np.linspace(0, len(chosen) - 1, limit).round().astype(int))
        return [chosen[i] for i in keep]
    taken = {id(p) for p in chosen}
    close = sorted((p for p in fitting if id(p) not in taken and _within_noise(p, fitting)),
                   key=lambda p: -p.tuning["speedup"])
    chosen += close[: limit - len(chosen)]
    return sorted(chosen, key=lambda p: (searched_loss(p.tuning), -p.tuning["speedup"]))


def _within_noise(point: Candidate, others: list[Candidate]) -> bool:
    """Whether no config is as accurate as ``point`` and faster by more than the noise, and
    ``point`` is not measured slower than exact by more than it."""
    speedup, loss = point.tuning["speedup"], searched_loss(point.tuning)
    return speedup * (1 + FRONT_NOISE) > 1.0 and not any(
        searched_loss(o.tuning) <= loss and o.tuning["speedup"] > speedup * (1 + FRONT_NOISE) for o in others)
