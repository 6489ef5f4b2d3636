"""numba-compiled targets for the precision tests (importing this module needs numba).

approxify lifts a dispatcher through ``.py_func`` and compiles each variant again with the
user's options (``cache=True`` dropped), so these must live in a real file.
"""

from __future__ import annotations

import numba
import numpy as np

import forms_kernels


@numba.njit
def weighted_sum(x, w):
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i] * w[i]
    return total


@numba.njit(cache=True)
def cached_scale(x):
    out = np.zeros(x.shape[0])
    for i in range(x.shape[0]):
        out[i] = x[i] * 1.5
    return out


@numba.njit
def square(v):
    s = v * v
    return s


@numba.njit
def sum_of_squares(x):
    acc = 0.0
    for i in range(x.shape[0]):
        acc += square(x[i])
    return acc


@numba.njit
def loop_mean(x):
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i]
    return total / x.shape[0]


@numba.njit
def count_positive(xs):
    n = 0
    for i in range(xs.shape[0]):
        if xs[i] > 0:
            n += 1
    return n


@numba.njit
def pair_of_sums(x):
    a = x.sum()
    b = x.max()
    t = (a, b)
    return t


def python_root(x):
    y = x * 0.5
    return weighted_sum(y, x)


@numba.njit
def stencil(u):
    out = np.empty(u.shape[0])
    out[0] = u[0]
    out[-1] = u[-1]
    for i in range(1, u.shape[0] - 1):
        out[i] = u[i] + 0.25 * (u[i - 1] - 2.0 * u[i] + u[i + 1])
    return out


# the plain function compiled as it is (its while forms are inline arithmetic): same site ids
while_sum = numba.njit(forms_kernels.while_sum)
