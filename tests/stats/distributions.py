"""Five loss distributions on [0, 1] for the coverage simulations, with their exact means."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import special


@dataclass(frozen=True)
class Distribution:
    mean: float
    sample: Callable[[np.random.Generator, int], np.ndarray]
    tail: Callable[[float], float]  # P(loss > eps)


def _zero_inflated(rng, n):  # most outputs identical, the rest a small relative error
    return np.where(rng.random(n) < 0.8, 0.0, rng.beta(1.0, 20.0, n))


def _with_failures(rng, n):  # small errors and 3% failures (loss 1)
    return np.where(rng.random(n) < 0.03, 1.0, rng.beta(1.0, 50.0, n))


DISTRIBUTIONS = {
    "zero-inflated": Distribution(0.2 / 21, _zero_inflated,
                                  lambda e: 0.2 * (1 - e) ** 20 if e < 1 else 0.0),
    "beta(2,30)": Distribution(2 / 32, lambda rng, n: rng.beta(2.0, 30.0, n),
                               lambda e: 1 - _beta_cdf(e, 2, 30)),
    "bernoulli(0.04)": Distribution(0.04, lambda rng, n: (rng.random(n) < 0.04).astype(float),
                                    lambda e: 0.04 if e < 1 else 0.0),
    "uniform(0,0.2)": Distribution(0.1, lambda rng, n: rng.uniform(0.0, 0.2, n),
                                   lambda e: max(0.0, 1 - e / 0.2)),
    "failures": Distribution(0.03 + 0.97 / 51, _with_failures,
                             lambda e: 0.03 + 0.97 * (1 - e) ** 50 if e < 1 else 0.0),
}


def _beta_cdf(x: float, a: float, b: float) -> float:
    return float(special.betainc(a, b, x))


def draw(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    return DISTRIBUTIONS[name].sample(rng, n)


def tolerance_for(rate: float, reps: int) -> float:
    """Three binomial standard errors: a valid method misses this much above its rate by chance
    about once in 700 runs of a test."""
    return 3.0 * math.sqrt(rate * (1.0 - rate) / reps)
