"""Programs whose exported variants must run with NumPy alone (tests/test_export.py): this module
imports nothing but NumPy, so an exported file that still needs approxify, SciPy or this
module's own helpers fails where only NumPy is installed."""

from __future__ import annotations

import numpy as np


def slow_log1p(x):
    """log(1 + x) by its alternating series: costly, smooth, element-wise (for 0 <= x < 1)."""
    total = x * 0.0
    power = x * 1.0
    for k in range(1, 40):
        total = total + power / k if k % 2 else total - power / k
        power = power * x
    return total


def growth(x):
    # twice the logarithm, so the surrogate's output is scaled
    return slow_log1p(x) * 2.0  # the call substitution replaces


def hypot_plus(i, j):
    return np.sqrt(i * i + 3.0 * j + 1.0)


def distances(i, j):
    return hypot_plus(i, j) + 1.0


def in_disc(x, y):
    """A yes/no test: whether (x, y) lies in a disc."""
    return ((x * x + y * y) < 0.5).astype(np.float64)


def disc_share(x, y):
    return in_disc(x, y).mean()


def scalar_log1p(v):
    return slow_log1p(v)


def scalar_sum(x):
    total = 0.0
    # one value at a time, as Python floats
    for v in x.tolist():
        total += scalar_log1p(v)  # a scalar call
    return total


def smoothed(x):
    """A mean over a range loop (truncated by a range bound) and a list loop."""
    n = len(x)
    acc = 0.0
    # the first part of the signal
    for i in range(n):
        acc += x[i] * x[i]  # energy
    peaks = 0.0
    for v in x.tolist():
        peaks = max(peaks, v)
    return acc / n + peaks


def branches(x):
    total = 0.0
    for v in x.tolist():  # every value
        if v < 0.25:
            # small ones count once
            total += v
        elif v < 0.5:
            total += 2 * v  # twice
        else:
            try:
                total += 1.0 / v
            except ZeroDivisionError:  # never for these inputs
                pass
        # after the branches
    return total
