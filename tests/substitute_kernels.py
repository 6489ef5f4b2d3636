"""Target functions for tests/test_substitute.py (function substitution, project issue #4).

approxify reads their source with ``inspect``, so they live in a real module. Each is small and
deterministic; the comments say which behaviour a test uses it for.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

import approxify as ax

try:
    import numba
except ImportError:  # the numba tests are skipped then
    numba = None


# -- user functions that are worth replacing -------------------------------------------------------


def slow_exp(x):
    """exp by its Taylor series: costly, smooth, element-wise (and no candidate calls inside)."""
    total = x * 0.0 + 1.0
    term = x * 0.0 + 1.0
    for k in range(1, 24):
        term = term * x / k
        total = total + term
    return total


def call_slow_exp(x):
    return slow_exp(x) * 2.0


def twice_slow_exp(x):
    """The same callee twice: ids ``call:slow_exp`` and ``call:slow_exp#2``."""
    return slow_exp(x) + slow_exp(x + 1.0)


def nested(x):
    """Nested calls: ``np.sin`` outside, ``slow_exp`` inside."""
    return np.sin(slow_exp(x))


def uses_ufunc(x):
    return np.sqrt(x) + 1.0


def uses_stats(x):
    return stats.norm.cdf(x) * 2.0


def math_loop(x):
    """Python floats in a loop: ``math.exp`` per value (the scalar path of the guard)."""
    total = 0.0
    for v in x.tolist():
        total += math.exp(v)
    return total


def scalar_exp(v):
    return math.exp(v) * 1.0


def scalar_loop(x):
    """A user function called with Python floats, one value at a time."""
    out = []
    for v in x.tolist():
        out.append(scalar_exp(v))
    return np.array(out)


def in_disc(x, y):
    """A yes/no test (two answers, 0.0 and 1.0): whether (x, y) lies in a disc (recheck)."""
    return ((x * x + y * y) < 0.5).astype(np.float64)


def uses_disc(x, y):
    return in_disc(x, y) * 1.0


def above(v):
    """A yes/no test on one Python float."""
    return 1.0 if v > 0.3 else 0.0


def above_loop(x):
    """``above`` called once per value: the scalar path of a rechecked surrogate."""
    return np.array([above(v) for v in x.tolist()])


# -- calls that cannot be substituted ---------------------------------------------------------------


def scale_by(name, x):
    return x * len(name)


def uses_string(x):
    return scale_by("abc", x)


def power(x, p=2.0):
    return x ** p


def uses_keyword(x):
    return power(x, p=3.0)


@ax.has_side_effects
def noisy(x):
    return x + 1.0


def uses_noisy(x):
    return noisy(x) * 2.0


def branch(x, flag):
    """``slow_exp`` is never called when ``flag`` is false."""
    if flag:
        return slow_exp(x)
    return x


# -- several arguments, several results -------------------------------------------------------------


def wave(x, y):
    return np.sin(x) * np.cos(y)


def uses_wave(x, y):
    return wave(x, y) + 0.0


def combo(i, j):
    return np.sqrt(i * i + 3.0 * j + 1.0)


def uses_combo(i, j):
    return combo(i, j) * 1.0


def polar(x):
    return np.cos(x), np.sin(x)


def uses_polar(x):
    return polar(x)


# -- alternatives -----------------------------------------------------------------------------------


def fast_norm(v):
    return np.sqrt(np.dot(v, v))


def rough_norm(v):
    return np.abs(v).sum()


@ax.alternatives(fast_norm, rough_norm)
def norm(v):
    return float(np.linalg.norm(v))


def uses_norm(v):
    return norm(v) * 2.0


# -- numba ------------------------------------------------------------------------------------------

if numba is not None:

    @numba.njit(cache=False)
    def jit_kernel(x):
        return np.sqrt(x) + np.exp(x)

else:  # pragma: no cover
    jit_kernel = None


def uses_sin(x):
    return np.sin(x) * 1.0


# -- reproductions of bugs (see the xfail tests) ----------------------------------------------------


def takes_fn(x, fn=1.0):
    return x * fn


def uses_fn_keyword(x):
    """A keyword argument named like a parameter of the tracing helper (``fn``)."""
    return takes_fn(x, fn=2.0)


def half_step(i):
    """Odd integers fall exactly half-way between memo cells when cells=256 spans [0, 510]."""
    return i * 1.0 + 0.25 * (i % 2)


def half_step_loop(values):
    """``half_step`` per element of a list: Python numbers take the guard's scalar path, NumPy
    scalars its array path."""
    return [half_step(v) for v in values]


def centred(x):
    return x - x.mean()  # same shape as x, but each value depends on all of them


def uses_centred(x):
    return centred(x) * 2.0


def library_like(x):
    """Stands for a library function approxify would not offer by itself."""
    return np.sqrt(x) * np.exp(-x)


class Library:
    def curve(self, x):
        return np.sin(x) + x * x


LIBRARY = Library()


def uses_named(x):
    return library_like(x) + LIBRARY.curve(x)
