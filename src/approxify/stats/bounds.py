"""One-sided upper confidence bounds on the mean of losses in [0, 1].

All bounds are distribution-free: they only assume the held-out losses are independent draws in
[0, 1] (design.md §2), which is why built-in losses are normalised and failures count as 1.

- Hoeffding: mean + sqrt(ln(1/delta) / (2n)). Tight when the losses are spread out.
- empirical Bernstein (Maurer & Pontil 2009, Theorem 4): adds a variance term, so it is much
  tighter when most losses are near 0, the usual case for good approximations.
- Clopper-Pearson: exact binomial bound, for losses that are 0 or 1 by construction.
- betting (Waudby-Smith & Ramdas 2023, :mod:`.betting`): the default for losses in [0, 1]; as
  tight as Clopper-Pearson's all-zero bound within about 12%, and valid at every sample size at
  once, so held-out inputs can be watched as they come.

`min_samples` answers the planning question "how many held-out inputs could ever certify this
bound?" so impossible requests are refused before any tuning time is spent.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable

import numpy as np
from scipy import special as _special

from approxify.errors import InvalidArgument, NotEnoughInputs
from approxify.stats import _validate, betting

__all__ = [
    "bernstein_upper",
    "betting_upper",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "hoeffding_upper",
    "mean_upper_bound",
    "min_samples",
]

# A request needing more samples than this is refused instead of searched for (float n is exact
# up to 2**53, and nobody evaluates that many held-out inputs).
_MAX_SAMPLES = 2**53


# --- formulas (shared by the bounds and by min_samples, so both agree to the last bit) ----------


def _clip(value: float) -> float:
    return float(min(1.0, max(0.0, value)))


def _hoeffding(mean: float, n: int, delta: float) -> float:
    return _clip(mean + math.sqrt(math.log(1.0 / delta) / (2.0 * n)))


def _bernstein(mean: float, variance: float, n: int, delta: float) -> float:
    log_term = math.log(2.0 / delta)
    return _clip(
        mean + math.sqrt(2.0 * variance * log_term / n) + 7.0 * log_term / (3.0 * (n - 1))
    )


# Beta quantiles via betaincinv: the function scipy.stats.beta.ppf evaluates, minus ~100 us of
# distribution-object overhead per call that the coverage simulations would pay thousands of times.


def _cp_upper(k: int, n: int, confidence: float) -> float:
    if k == n:
        return 1.0
    return float(_special.betaincinv(k + 1, n - k, confidence))


def _cp_lower(k: int, n: int, confidence: float) -> float:
    if k == 0:
        return 0.0
    return float(_special.betaincinv(k, n - k + 1, 1.0 - confidence))


def _union(mean: float, variance: float, n: int, delta: float) -> tuple[float, str]:
    """Best of Hoeffding and Bernstein, each at delta/2, so the minimum keeps confidence 1-delta.

    With one sample Bernstein says nothing, so only Hoeffding (still at delta/2) is used; this
    keeps the bound a decreasing function of n, which `min_samples` relies on.
    """
    hoeffding = _hoeffding(mean, n, delta / 2.0)
    if n < 2:
        return hoeffding, "hoeffding"
    bernstein = _bernstein(mean, variance, n, delta / 2.0)
    return (bernstein, "bernstein") if bernstein < hoeffding else (hoeffding, "hoeffding")


def _betting(losses: np.ndarray, delta: float) -> float:
    return _clip(betting.upper_bound(losses, delta=delta))


def _is_binary(array: np.ndarray) -> bool:
    return bool(np.all((array == 0.0) | (array == 1.0)))


# --- public bounds -------------------------------------------------------------------------------


def hoeffding_upper(losses: Iterable[float], *, confidence: float) -> float:
    """Hoeffding upper bound on the mean of [0, 1] losses: mean + sqrt(ln(1/delta) / (2n)).

    delta = 1 - confidence; the result is clipped to [0, 1].
    """
    array = _validate.losses_array(losses)
    level = _validate.confidence(confidence)
    return _hoeffding(float(array.mean()), array.size, 1.0 - level)


def bernstein_upper(losses: Iterable[float], *, confidence: float) -> float:
    """Empirical Bernstein upper bound (Maurer & Pontil 2009, Theorem 4), clipped to [0, 1].

    mean + sqrt(2 V ln(2/delta) / n) + 7 ln(2/delta) / (3 (n - 1)), with V the unbiased sample
    variance. Needs at least two losses, since V needs two.
    """
    array = _validate.losses_array(losses)
    level = _validate.confidence(confidence)
    if array.size < 2:
        raise NotEnoughInputs(
            f"bernstein_upper needs at least 2 losses (the bound uses the sample variance); "
            f"got {array.size}. Pass more held-out losses or use hoeffding_upper."
        )
    return _bernstein(float(array.mean()), float(array.var(ddof=1)), array.size, 1.0 - level)


def betting_upper(losses: Iterable[float], *, confidence: float) -> float:
    """Betting upper bound on the mean of [0, 1] losses (:mod:`.betting`), clipped to [0, 1]."""
    array = _validate.losses_array(losses)
    return _betting(array, 1.0 - _validate.confidence(confidence))


def _check_counts(k: object, n: object) -> tuple[int, int]:
    count = _validate.integer(n, name="n", low=1)
    successes = _validate.integer(k, name="k", low=0)
    if successes > count:
        raise InvalidArgument(
            f"k (the number of events) must be at most n={count} (the number of trials); "
            f"got k={successes}. Check that k and n are not swapped."
        )
    return successes, count


def clopper_pearson_upper(k: int, n: int, *, confidence: float) -> float:
    """Exact one-sided upper confidence bound on a binomial proportion after k events in n trials.

    The `confidence` quantile of Beta(k + 1, n - k); 1 when k == n.
    """
    successes, count = _check_counts(k, n)
    return _cp_upper(successes, count, _validate.confidence(confidence))


def clopper_pearson_lower(k: int, n: int, *, confidence: float) -> float:
    """Exact one-sided lower confidence bound on a binomial proportion after k events in n trials.

    The `1 - confidence` quantile of Beta(k, n - k + 1); 0 when k == 0.
    """
    successes, count = _check_counts(k, n)
    return _cp_lower(successes, count, _validate.confidence(confidence))


def mean_upper_bound(
    losses: Iterable[float], *, confidence: float, method: str = "auto"
) -> tuple[float, str]:
    """Upper confidence bound on the mean loss, and the name of the bound that gave it.

    method="auto" uses Clopper-Pearson when every loss is 0 or 1, otherwise the betting bound.
    method="union" is the smaller of Hoeffding and Bernstein each at delta/2 (a union bound, so
    the minimum keeps `confidence`), the default before the betting bound. The switch of "auto"
    is data-dependent; it is exact when the losses are 0/1 by construction (a 0/1
    loss, or "identical or not"). If fractional losses are possible but a sample happens to be all
    0/1 the guarantee is not proven; simulations (tests/stats) keep the miss rate within delta.
    """
    array = _validate.losses_array(losses)
    level = _validate.confidence(confidence)
    name = _validate.method(method)
    binary = _is_binary(array)
    if name == "clopper-pearson" and not binary:
        bad = int(np.flatnonzero((array != 0.0) & (array != 1.0))[0])
        raise InvalidArgument(
            f"method='clopper-pearson' needs every loss to be 0 or 1; got {array[bad]!r} at "
            f"index {bad}. Use method='auto' (Hoeffding/Bernstein) for fractional losses."
        )
    if name == "clopper-pearson" or (name == "auto" and binary):
        return _cp_upper(int(np.count_nonzero(array)), array.size, level), "clopper-pearson"
    mean, delta = float(array.mean()), 1.0 - level
    if name == "hoeffding":
        return _hoeffding(mean, array.size, delta), "hoeffding"
    if name == "bernstein":
        return bernstein_upper(array, confidence=level), "bernstein"
    if name in ("auto", "betting"):
        return _betting(array, delta), "betting"
    variance = float(array.var(ddof=1)) if array.size > 1 else 0.0
    return _union(mean, variance, array.size, delta)


# --- planning ------------------------------------------------------------------------------------


def _zero_loss_bound(method: str, binary: bool, confidence: float) -> Callable[[int], float]:
    """The bound each method gives when all n losses are 0: the best case for certification."""
    delta = 1.0 - confidence
    if method == "clopper-pearson" or (method == "auto" and binary):
        return lambda n: _cp_upper(0, n, confidence)
    if method == "hoeffding":
        return lambda n: _hoeffding(0.0, n, delta)
    if method == "bernstein":
        return lambda n: _bernstein(0.0, 0.0, n, delta) if n >= 2 else 1.0
    if method in ("auto", "betting"):
        return lambda n: _clip(betting.zero_loss_upper(n, delta=delta))
    return lambda n: _union(0.0, 0.0, n, delta)[0]


def _closed_form_guess(method: str, binary: bool, bound: float, confidence: float) -> float:
    """Real-valued sample size at which the zero-loss bound meets `bound` (a search start)."""
    delta = 1.0 - confidence
    try:
        if method == "clopper-pearson" or (method == "auto" and binary):
            return math.log(1.0 / delta) / -math.log1p(-bound)  # 1 - delta**(1/n) <= bound
        if method == "hoeffding":
            return math.log(1.0 / delta) / (2.0 * bound) / bound
        if method == "bernstein":
            return 1.0 + 7.0 * math.log(2.0 / delta) / (3.0 * bound)
        if method in ("auto", "betting"):  # every step at its truncation: (1 + c m/(1-m))^n
            return math.log(1.0 / delta) / math.log1p(betting.TRUNCATION * bound / (1.0 - bound))
        hoeffding_half = math.log(2.0 / delta) / (2.0 * bound) / bound
        bernstein_half = 1.0 + 7.0 * math.log(4.0 / delta) / (3.0 * bound)
        return min(hoeffding_half, bernstein_half)
    except (OverflowError, ZeroDivisionError):  # a subnormal bound: hopeless anyway
        return math.inf


def _first_true(predicate: Callable[[int], bool], guess: int) -> int:
    """Smallest n >= 1 with predicate(n), for a predicate that is False then True as n grows."""
    high = max(1, guess)
    while not predicate(high):
        high *= 2
        if high > _MAX_SAMPLES:
            return _MAX_SAMPLES + 1
    low = max(0, min(high - 1, guess - 2))  # the closed form is off by at most a rounding
    while low >= 1 and predicate(low):
        low //= 2
    while high - low > 1:  # invariant: predicate(low) is False (or low == 0), predicate(high)
        middle = (low + high) // 2
        if predicate(middle):
            high = middle
        else:
            low = middle
    return high


def certificate_method(binary: bool) -> str:
    """The bound a certificate uses for a metric: exact binomial bounds for 0/1 metrics, the
    betting bound (the tightest we have for losses in [0, 1], see BENCHMARKS.md) otherwise.
    Fixed per metric, never chosen from the data."""
    return "clopper-pearson" if binary else "betting"


def min_samples(
    bound: float, *, confidence: float, method: str = "auto", binary: bool = False,
    cap: float = 1.0,
) -> int:
    """Fewest held-out losses with which `bound` could be certified at all (every loss 0).

    `cap`: the losses lie in [0, cap] (``loss_cap=``), so `bound` is certified as bound / cap.

    With n - 1 losses even a perfect variant fails the certificate; with n a perfect one passes.
    For method="auto", `binary` says whether the losses are 0/1 by construction (then
    Clopper-Pearson), otherwise the betting bound, as in `mean_upper_bound`. Exact for the implemented formulas: found by bisection around the
    closed form, evaluating the very same bound functions.
    """
    target = _validate.bound(bound / cap)
    level = _validate.confidence(confidence)
    name = _validate.method(method)
    is_binary = _validate.flag(binary, name="binary")
    needed = _min_samples(target, level, name, is_binary and name == "auto")
    if needed > _MAX_SAMPLES:
        raise InvalidArgument(
            f"bound={target!r} at confidence={level!r} would need more than 2**53 held-out "
            f"inputs with method={name!r}; pass a larger bound or a lower confidence."
        )
    return needed


@functools.lru_cache(maxsize=1024)  # certify() asks this for every configuration it certifies
def _min_samples(bound: float, confidence: float, method: str, binary: bool) -> int:
    guess = _closed_form_guess(method, binary, bound, confidence)
    if not guess <= _MAX_SAMPLES:
        return _MAX_SAMPLES + 1
    zero_bound = _zero_loss_bound(method, binary, confidence)
    return _first_true(lambda n: zero_bound(n) <= bound, math.ceil(guess))
