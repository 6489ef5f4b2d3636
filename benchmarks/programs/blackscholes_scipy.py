"""Black–Scholes call prices as most Python tutorials write them: NumPy for the arithmetic and
``scipy.stats.norm.cdf`` for the normal distribution. NumPy-vectorized over a batch of options.

Same formulas and input ranges as :mod:`.blackscholes` (which computes the normal distribution
with a polynomial of its own); here the normal-CDF calls are library calls.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import norm

QUALITY = "mean_rel"
OPTIONS = 16384


def price(spot, strike, rate, vol, years):
    """European call prices."""
    sqrt_t = np.sqrt(years)
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    return spot * norm.cdf(d1) - strike * np.exp(-rate * years) * norm.cdf(d2)


def make_inputs(count: int, *, seed: int = 0, options: int = OPTIONS) -> list[tuple]:
    rng = np.random.default_rng(seed)
    inputs = []
    for _ in range(count):
        spot = rng.uniform(20.0, 120.0, options)
        inputs.append((spot, spot * rng.uniform(0.9, 1.1, options), rng.uniform(0.02, 0.10, options),
                       rng.uniform(0.10, 0.60, options), rng.uniform(0.25, 1.0, options)))
    return inputs
