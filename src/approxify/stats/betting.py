"""Confidence bounds on the mean of losses in [0, 1] by betting (Waudby-Smith & Ramdas,
"Estimating means of bounded random variables by betting", JRSS-B 2023).

The idea: a gambler starts with capital 1 and, before seeing each loss x_t, bets a share
``lambda_t`` (chosen from the losses before it only) that the losses lie below a candidate mean
m. Her capital after t losses is

    K_t(m) = prod_{i <= t} (1 + lambda_i(m) * (m - x_i)).

If the true mean is m (or more) this is a nonnegative supermartingale with K_0 = 1, so by
Ville's inequality it ever reaches 1/delta with probability at most delta. Every m whose capital
did reach 1/delta is rejected; the upper bound is the smallest rejected m. Since the bet on each
step is found before the step's loss is seen, the bound is valid at every t at once (a
confidence sequence): the held-out inputs can be watched one by one and a config dropped as
soon as its bound crosses the bar, with no correction for looking (:func:`lower_crosses`).

Bets (the predictable plug-in of the paper's Section 3.3, tuned for ``horizon`` losses):
``lambda_t = sqrt(2 ln(1/delta) / (horizon * var_{t-1}))``, where var is a running variance with
a prior of 1/4 worth one observation, truncated at ``TRUNCATION / (1 - m)`` so one loss of 1
never costs more than that share of the capital. They do not depend on m before truncation, so
K_t(m) grows with m: the rejected m form an interval [upper, 1] and bisection finds its end.
Small, alike losses give large bets, which is where this beats empirical Bernstein by a wide
margin (a bound of 0.02 from 200 near-zero losses, where Maurer-Pontil needs over 400).
"""

from __future__ import annotations

import math

import numpy as np

TRUNCATION = 0.9  # share of the capital a step may risk at most (1 would risk it all on one loss)
_BISECTION_STEPS = 60  # halvings of [0, 1]: well below float spacing near any bound we print
_PRIOR_MEAN, _PRIOR_VARIANCE = 0.5, 0.25  # worth one observation: the widest a [0, 1] loss can be


def bets(losses: np.ndarray, *, delta: float, horizon: int | None = None) -> np.ndarray:
    """The bet before each loss (before truncation), from the losses before it only.

    ``horizon``: the number of losses the bound will be read at (held-out inputs); None: bets
    that shrink like 1/sqrt(t log t), for a bound read at any time.
    """
    t = np.arange(1, losses.size + 1)
    means = (_PRIOR_MEAN + np.cumsum(losses)) / (t + 1)
    variances = (_PRIOR_VARIANCE + np.cumsum((losses - means) ** 2)) / (t + 1)
    before = np.concatenate(([_PRIOR_VARIANCE], variances[:-1]))
    scale = t * np.log1p(t) if horizon is None else float(horizon)
    return np.sqrt(2.0 * math.log(1.0 / delta) / (scale * before))


def log_capital_below(losses: np.ndarray, m: float, raw_bets: np.ndarray) -> np.ndarray:
    """ln K_t(m) for t = 1..n: the capital of betting that the mean is below ``m``."""
    if m >= 1.0:
        return np.cumsum(np.log1p(raw_bets * (1.0 - losses)))
    stake = np.minimum(raw_bets, TRUNCATION / (1.0 - m))
    return np.cumsum(np.log1p(stake * (m - losses)))


def log_capital_above(losses: np.ndarray, m: float, raw_bets: np.ndarray) -> np.ndarray:
    """ln of the capital of betting that the mean is above ``m`` (the mirror image)."""
    return log_capital_below(1.0 - losses, 1.0 - m, raw_bets)


def upper_bound(losses: np.ndarray, *, delta: float, horizon: int | None = None) -> float:
    """The smallest m the capital rejected at some t <= n, at level ``delta`` (1 if none), and
    never below the losses' mean.

    The bets follow the order of the losses, so the bound depends on it: a run of zeros first
    (losses sorted, say) bets high early and can push the bound under the mean. The losses are
    read in a fixed shuffled order of their sorted values instead (so the bound depends on the
    values only, not on the order they came in: i.i.d. losses do not mind, and sorted ones
    cannot exploit it); the mean is a floor, which only ever makes the bound larger."""
    if losses.size == 0:
        return 1.0
    return max(float(losses.mean()), _edge(_ordered(losses), delta=delta, horizon=horizon))


def certifies(losses: np.ndarray, bound: float, *, delta: float) -> bool:
    """Whether :func:`upper_bound` is at most ``bound`` (one pass over the losses, no bisection:
    the capital at ``bound`` itself decides, as the rejected m form an interval)."""
    if losses.size == 0 or losses.mean() > bound:
        return False
    if bound >= 1.0:
        return True
    ordered = _ordered(losses)
    raw = bets(ordered, delta=delta, horizon=ordered.size)
    return bool(log_capital_below(ordered, bound, raw).max() >= math.log(1.0 / delta))


def _ordered(losses: np.ndarray) -> np.ndarray:
    """The order a fixed-n bound reads the losses in (see :func:`upper_bound`): a fixed shuffle
    of their sorted values, so the bound depends on the values only."""
    return np.sort(losses)[np.random.default_rng(losses.size).permutation(losses.size)]


def _edge(losses: np.ndarray, *, delta: float, horizon: int | None) -> float:
    raw = bets(losses, delta=delta, horizon=losses.size if horizon is None else horizon)
    threshold = math.log(1.0 / delta)

    def rejected(m: float) -> bool:
        return bool(log_capital_below(losses, m, raw).max() >= threshold)

    if not rejected(1.0):
        return 1.0
    low, high = 0.0, 1.0  # invariant: high is rejected; low is not (or 0)
    if rejected(0.0):
        return 0.0
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        if rejected(middle):
            high = middle
        else:
            low = middle
    return high


def lower_crosses(losses: np.ndarray, bound: float, *, delta: float) -> int | None:
    """The first t at which the anytime lower confidence sequence exceeds ``bound`` (the mean is
    then above it, with confidence 1 - delta, whenever one looks), or None.

    Used to stop measuring a config on held-out inputs as soon as it cannot hold: stopping only
    ever withholds a certificate, so it costs no validity, and the bets here (``horizon=None``)
    make the sequence valid at every t.
    """
    if losses.size == 0:
        return None
    capital = log_capital_above(losses, bound, bets(1.0 - losses, delta=delta))
    crossed = np.flatnonzero(capital >= math.log(1.0 / delta))
    return int(crossed[0]) + 1 if crossed.size else None


def zero_loss_upper(n: int, *, delta: float) -> float:
    """The bound n losses of 0 give (the best case), for planning how many inputs a bound needs."""
    return upper_bound(np.zeros(n), delta=delta)
