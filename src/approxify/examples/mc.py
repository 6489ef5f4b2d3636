"""A Monte Carlo estimator: the price of a European call option from simulated paths.

Written as a plain sampling loop with a running sum, as Monte Carlo code usually is; skipping
paths and rescaling the sum (compensated perforation) trades variance for time.
"""

from __future__ import annotations

import math
import random


def estimate(spot, strike, rate, vol, years, seed, paths=4000):
    rng = random.Random(seed)
    drift = (rate - 0.5 * vol * vol) * years
    spread = vol * math.sqrt(years)
    total = 0.0
    for _ in range(paths):
        price = spot * math.exp(drift + spread * rng.gauss(0.0, 1.0))
        total += max(price - strike, 0.0)
    return math.exp(-rate * years) * total / paths


def make_inputs(count: int = 800, *, seed: int = 0):
    """``count`` option contracts, in the money or near it, each with its own sampling seed."""
    rng = random.Random(seed)
    inputs = []
    for k in range(count):
        spot = rng.uniform(80.0, 120.0)
        inputs.append((spot, spot * rng.uniform(0.8, 1.0), rng.uniform(0.0, 0.05),
                       rng.uniform(0.1, 0.3), rng.uniform(0.5, 2.0), seed * 100_003 + k))
    return inputs
