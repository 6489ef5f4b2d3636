"""Programs whose calls are statistics of their arguments' rows (tests/test_statistics.py), and
calls that look like one and are not."""

from __future__ import annotations

import functools

import numpy as np

import approxify as ax


def total_power(x, w):
    return float(np.dot(w, x * x))  # a weighted sum over the rows: found by the run


def signal_power(x, w):
    return total_power(x, w) / 1000.0


def mean_error(pred, target):
    return np.mean((pred - target) ** 2, axis=0)  # a mean per column


def calibration(pred, target):
    return mean_error(pred, target).sum()


@ax.statistic("mean")
def spread(x):
    """A standard deviation: neither a sum nor a mean of the halves, so only the marker says it."""
    return float(np.std(x))


def uses_spread(x):
    return spread(x) * 2.0


def scale_by_max(x):
    return x / x.max()  # an array of the rows: not a statistic


def normalised_total(x):
    return scale_by_max(x).sum()


def centre(x):
    x -= x.mean()  # changes its argument
    return float(x.sum())


def uses_centre(x):
    return centre(x)


def picky(x):
    if len(x) < 200:
        raise ValueError("at least 200 rows, please")
    return float(x.sum())


def uses_picky(x):
    return picky(x)


def short_sum(x):
    return float(x.sum())


def uses_short(x):
    return short_sum(x[:10])  # ten rows: not worth sampling


def checked(fn):
    """A validating decorator, as libraries wrap their public functions (sklearn's validate_params)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        assert all(len(a) > 0 for a in args)
        return fn(*args, **kwargs)

    return wrapper


@checked
def mean_abs(x):
    return float(np.abs(x).mean())


def uses_mean_abs(x):
    return mean_abs(x) + 1.0


def hangs_on_fewer_rows(x):
    """A hostile callee: it never returns on part of its rows."""
    while len(x) < 300:
        pass
    return float(x.sum())


def uses_hanging(x):
    return hangs_on_fewer_rows(x)
