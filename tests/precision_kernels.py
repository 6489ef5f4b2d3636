"""Target functions for the precision tests (approxify reads their source with ``inspect``).

Each kernel is small and deterministic; the comment above a kernel says which behaviour it exists
to exercise. Site ids are ``precision_kernels.<qualname>/var:<name>`` and ``.../return``.
"""

from __future__ import annotations

import numpy as np

WEIGHTS = np.linspace(0.5, 1.5, 8)  # a module global float array: variants must not change it
TABLE = {"scale": 2.0}  # a module global dict: variants must not change it


# --- places a cast goes ---------------------------------------------------------------------------


def documented(x, y):
    """A docstring: parameter casts go after it."""
    return x + y


def params_no_doc(x, n):
    return x * n


def plain_assign(x):
    y = x * 2.0
    return y


def tuple_unpack(x):
    a, b = x[:2], x[2:]
    return a.sum() + b.sum()


def aug_assign(x):
    acc = np.zeros(x.shape[0])
    acc += x
    return acc


def for_target(rows):
    total = np.zeros(rows.shape[1])
    for row in rows:
        total = total + row
    return total


def annotated(x):
    z: np.ndarray = x + 1.0
    return z


def returns_expression(x):
    return x * 3.0


# --- constructors ---------------------------------------------------------------------------------


def zeros_default(n):
    out = np.zeros(n)
    out[:] = 1.0 / 3.0
    return out


def array_with_float64_dtype(xs):
    arr = np.array(xs, dtype=np.float64)
    return arr * 2.0


def inferred_constructors(xs, a, n):
    arr = np.array(xs)
    like = np.zeros_like(a)
    ramp = np.arange(n)
    return arr.sum() + like.sum() + ramp.sum()


def nested_scopes(x):
    def inner(v):
        w = v * 2.0
        return w

    double = lambda v: v * 2.0
    y = inner(x) + double(x)
    return y


# --- what holds float data ------------------------------------------------------------------------


def int_and_float(x, n):
    idx = np.arange(n)
    count = n * 2
    picked = x[idx % x.shape[0]]
    return picked * count


def mixed_kinds(x, xs):
    total = 0.0
    for v in xs:
        total += v
    m = np.mean(x)
    arr = x * 2.0
    return arr + m + total


def python_floats_only(xs):
    total = 0.0
    for v in xs:
        total += v
    return total


def no_floats(xs):
    n = len(xs)
    doubled = [2 * v for v in xs]
    return n + sum(doubled)


def complex_data(z):
    w = z * 2
    return w


def passthrough(x):
    y = x * 2
    return y


def fails_on_negative(x):
    if x.min() < 0:
        raise ValueError("negative input")
    return x * 2.0


def scales_with_globals(x):
    y = x * WEIGHTS * TABLE["scale"]
    return y


# --- data flow ------------------------------------------------------------------------------------


def flow_helper(a):
    b = a * 2.0
    return b


def flow_caller(x, other):
    u = x + 1.0
    v = flow_helper(u)
    w = other * 3.0  # unrelated to u and v
    parts = [v.sum(), w.sum()]  # a list: no float site, so the return joins neither chain
    return sum(parts)


# --- delta debugging: cancellation ----------------------------------------------------------------


def variance_pair(x):
    """Variance two ways: ``raw`` cancels (x ~ 1000 + N(0, 1)), so x, m and m2 must stay float64;
    the centred computation and the results are fine in float32."""
    m = np.mean(x)
    m2 = np.mean(x * x)
    raw = m2 - m * m
    centered = x - m
    direct = np.mean(centered * centered)
    return np.array([raw, direct])


def variance_inputs(count, size=256, seed=0):
    rng = np.random.default_rng(seed)
    return [(1000.0 + rng.standard_normal(size),) for _ in range(count)]


# --- the user's objects stay as they were ---------------------------------------------------------

CALLS = 0  # rebound (``global``) by a kernel: variants and profiling must not change it


def counts_calls(x):
    global CALLS
    CALLS += 1
    y = x * 2.0
    return y


def scale_in_place(x):
    x *= 2.0
    return x


def flow_keyword(x):
    u = x * 0.5
    return flow_helper(a=u)


# --- methods and closures -------------------------------------------------------------------------


class Scaler:
    def __init__(self, k):
        self.k = k

    def apply(self, x):
        y = x * self.k
        return y


def make_shift(offset):
    def shift(x):
        y = x + offset
        return y

    return shift


def halve_tail(x):
    y = x.copy()
    tail = y[2:]  # a view of y, written through below
    tail *= 0.5
    return y


def read_view(x):
    y = x * 2.0
    head = y[:2]  # a view only read
    return head + 1.0


def example_inputs():
    """Inputs for the command line (``--inputs precision_kernels:example_inputs``)."""
    return [(np.linspace(0.0, 1.0, 16) + k,) for k in range(3)]
