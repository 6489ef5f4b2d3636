"""A distribution-free confidence interval for a median, from order statistics.

With ``r`` values sorted, ``x_(1) <= ... <= x_(r)``, the interval ``[x_(k), x_(r+1-k)]`` covers the
median of the distribution they were drawn from with probability at least
``1 - 2 * BinomCDF(k - 1; r, 1/2)``: the median lies below ``x_(k)`` only when fewer than ``k`` of
the ``r`` values fall below it, a Binomial(r, 1/2) count (ties only raise the coverage).

Assumption: the values are independent draws from one distribution. For paired timing ratios
this means each repetition's ratio is an independent draw: machine noise that drifts slowly
hits both sides of a pair alike (they run back to back, in alternating order), but a load that
stays for the whole measurement shifts every ratio and no interval can see it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

# [low, high] is a 90% interval, so each limit alone is a 95% one-sided bound: "low" is what a
# config is certified to reach at least, the figure choosing the best compares
SPEEDUP_CONFIDENCE = 0.90


@dataclass(frozen=True)
class MedianInterval:
    low: float
    high: float
    coverage: float  # the interval's actual coverage (at least the confidence, unless too few values)
    rank: int  # k: low is the k-th smallest value, high the k-th largest (0: no values)


def coverage(r: int, k: int) -> float:
    """Probability that ``[x_(k), x_(r+1-k)]`` of ``r`` values covers their median (at least)."""
    return float(max(0.0, 1.0 - 2.0 * binom.cdf(k - 1, r, 0.5)))


def median_interval(values: Sequence[float], confidence: float = SPEEDUP_CONFIDENCE) -> MedianInterval:
    """The narrowest order-statistic interval whose coverage is at least ``confidence``.

    When there are too few values for that (five are needed for 90%), the widest interval they
    give, ``[min, max]``, with its actual coverage (one value: the value itself, coverage 0).
    """
    x = np.sort(np.asarray(values, dtype=float))
    r = int(x.size)
    if r == 0:
        return MedianInterval(math.nan, math.nan, 0.0, 0)
    ranks = np.arange(1, (r + 1) // 2 + 1)
    covers = 1.0 - 2.0 * binom.cdf(ranks - 1, r, 0.5)
    enough = ranks[covers >= confidence]
    k = int(enough.max()) if enough.size else 1
    return MedianInterval(float(x[k - 1]), float(x[r - k]), coverage(r, k), k)


def repeats_for(confidence: float = SPEEDUP_CONFIDENCE) -> int:
    """The fewest values whose widest interval reaches ``confidence`` (5 for 90%)."""
    # [min, max] misses the median only when every value lies on one side: 2 / 2**r
    return max(1, math.ceil(math.log2(2.0 / (1.0 - confidence))))
