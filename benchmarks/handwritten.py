"""The perforations the benchmark compares against, written by hand as a person would."""

from __future__ import annotations

import math
import random


def layer_every_other_j(w, x, b):
    """``examples.dense.layer`` with the ``j`` loop perforated at 50% (modulo), by hand."""
    n_out = len(w)
    n_in = len(x)
    out = [0.0] * n_out
    for i in range(n_out):
        out[i] = b[i]
        for j in range(0, n_in, 2):
            out[i] += w[i][j] * x[j]
    for i in range(n_out):
        if out[i] < 0.0:
            out[i] = 0.0
    return out


def estimate_half_paths(spot, strike, rate, vol, years, seed, paths=4000):
    """``examples.mc.estimate`` on the first half of the paths, sum rescaled, by hand."""
    rng = random.Random(seed)
    drift = (rate - 0.5 * vol * vol) * years
    spread = vol * math.sqrt(years)
    total = 0.0
    run = math.ceil(paths * 0.5)
    for _ in range(run):
        price = spot * math.exp(drift + spread * rng.gauss(0.0, 1.0))
        total += max(price - strike, 0.0)
    total = total * (paths / run)
    return math.exp(-rate * years) * total / paths
