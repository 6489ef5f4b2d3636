"""Black–Scholes prices of a batch of European options; NumPy-vectorized (one call, many options).

Written from the textbook formulas (Black and Scholes, 1973; Hull, *Options, Futures and Other
Derivatives*), with the cumulative normal distribution computed by the classic five-term
polynomial approximation (Abramowitz and Stegun 26.2.17, error below 7.5e-8), the one PARSEC's
``blackscholes`` benchmark uses. Inputs are drawn like PARSEC's option sets: strike within 10% of
spot, short rates of 2-10%, volatilities from 10% to 60%, maturities of 3 to 12 months, calls and
puts mixed.
"""

from __future__ import annotations

import numpy as np

QUALITY = "mean_rel"  # relative price error, averaged over the options of one call
OPTIONS = 16384  # options priced per call

# Abramowitz & Stegun 26.2.17
P = 0.2316419
A1, A2, A3, A4, A5 = 0.319381530, -0.356563782, 1.781477937, -1.821255978, 1.330274429
INV_SQRT_2PI = 0.3989422804014327


def cnd(x):
    """Standard normal cumulative distribution N(x), polynomial approximation."""
    k = 1.0 / (1.0 + P * np.abs(x))
    poly = k * (A1 + k * (A2 + k * (A3 + k * (A4 + k * A5))))
    upper = 1.0 - INV_SQRT_2PI * np.exp(-0.5 * x * x) * poly
    return np.where(x < 0.0, 1.0 - upper, upper)


def price(spot, strike, rate, vol, years, is_call):
    """Price of each option (call where ``is_call``, put elsewhere)."""
    sqrt_t = np.sqrt(years)
    d1 = (np.log(spot / strike) + (rate + 0.5 * vol * vol) * years) / (vol * sqrt_t)
    d2 = d1 - vol * sqrt_t
    discounted = strike * np.exp(-rate * years)
    call = spot * cnd(d1) - discounted * cnd(d2)
    put = discounted * cnd(-d2) - spot * cnd(-d1)
    return np.where(is_call, call, put)


def make_inputs(count: int, *, seed: int = 0, options: int = OPTIONS) -> list[tuple]:
    """``count`` batches of ``options`` options: (spot, strike, rate, vol, years, is_call)."""
    rng = np.random.default_rng(seed)
    inputs = []
    for _ in range(count):
        spot = rng.uniform(20.0, 120.0, options)
        strike = spot * rng.uniform(0.9, 1.1, options)
        rate = rng.uniform(0.02, 0.10, options)
        vol = rng.uniform(0.10, 0.60, options)
        years = rng.uniform(0.25, 1.0, options)
        is_call = rng.random(options) < 0.5
        inputs.append((spot, strike, rate, vol, years, is_call))
    return inputs
