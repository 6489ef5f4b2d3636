"""Target functions for the Python-target, perforation and measurement tests.

They live in a real file because approxify reads source with ``inspect``. Each kernel is small
and deterministic; the comment above a kernel says which behaviour it exists to exercise.
Site ids are ``kernels_for_tests.<qualname>/for#<k>``.
"""

from __future__ import annotations

import math

import numpy as np

SCALE = 3.0  # a module global constant read by a kernel
CALLS = 0  # a module-level counter rebound (``global``) by a kernel
LOG: list[str] = []  # a module-level list; kernels must not need it, tests check it stays empty


# --- plain loops ----------------------------------------------------------------------------------


def range_sum(n):
    total = 0.0
    for i in range(n):
        total += i * 0.5
    return total


def list_sum(xs):
    total = 0.0
    for x in xs:
        total += x
    return total


def array_dot(a, b):
    total = 0.0
    for k in range(a.shape[0]):
        total += a[k] * b[k]
    return total


def enumerate_weighted(xs):
    total = 0.0
    for i, x in enumerate(xs):
        total += i * x
    return total


def zip_dot(xs, ys):
    total = 0.0
    for x, y in zip(xs, ys):
        total += x * y
    return total


def dict_items_sum(d):
    total = 0.0
    for key, value in d.items():
        total += len(key) * value
    return total


def nested_matvec(w, x):
    out = [0.0] * len(w)
    for i in range(len(w)):
        for j in range(len(x)):
            out[i] += w[i][j] * x[j]
    return out


def relu_dense(w, x):
    """The seed's running example: a dense layer as a loop nest, then ReLU."""
    out = [0.0] * len(w)
    for i in range(len(w)):
        for j in range(len(x)):
            out[i] += w[i][j] * x[j]
    for i in range(len(out)):
        out[i] = max(out[i], 0.0)
    return out


def array_accumulate(rows):
    acc = np.zeros(rows.shape[1])
    for row in rows:
        acc += row
    return acc


# --- control flow ---------------------------------------------------------------------------------


def find_index(xs, target):
    for i, x in enumerate(xs):
        if x == target:
            break
    else:
        return -1
    return i


def skip_multiples_of_three(xs):
    total = 0
    for x in xs:
        if x % 3 == 0:
            continue
        total += x
    return total


def first_above(xs, limit):
    for x in xs:
        if x > limit:
            return x
    return None


def sum_until(xs, stop):
    total = 0.0
    for x in xs:
        if x == stop:
            break
        total += x
    return total


# --- helpers, recursion, closures, methods, globals -----------------------------------------------


def helper_sum(xs):
    total = 0.0
    for x in xs:
        total += x
    return total


def uses_helper(xs):
    squares = []
    for x in xs:
        squares.append(x * x)
    return helper_sum(squares) + 1.0


def tree_sum(depth, width):
    if depth == 0:
        return 1.0
    total = 0.0
    for _ in range(width):
        total += tree_sum(depth - 1, width)
    return total


def make_scaled_sum(k):
    def scaled_sum(xs):
        total = 0.0
        for x in xs:
            total += k * x
        return total

    return scaled_sum


def make_pipeline(offset):
    def shift_all(xs):
        out = []
        for x in xs:
            out.append(x + offset)
        return out

    def pipeline(xs):
        return sum(shift_all(xs))

    return pipeline


class Base:
    def factor(self):
        return 2.0


class Weighted(Base):
    def __init__(self, weight):
        self.weight = weight

    def factor(self):
        return 10.0  # never used by predict: super() must reach Base.factor

    def predict(self, xs):
        scale = super().factor()
        total = 0.0
        for x in xs:
            total += self.weight * scale * x
        return total


def uses_global_constant(xs):
    total = 0.0
    for x in xs:
        total += SCALE * x
    return total


def counts_calls(xs):
    global CALLS
    CALLS += 1
    total = 0.0
    for x in xs:
        total += x
    return total


# --- inputs mutated, failures when perforated -----------------------------------------------------


def mutates_input(xs, out=None):
    xs.sort()
    for i in range(len(xs)):
        xs[i] = xs[i] * 2
    if out is not None:
        out[:] = 0.0
    return sum(xs)


def mutates_array(a):
    for i in range(a.shape[0]):
        a[i] = -a[i]
    return float(a.sum())


def hangs_when_perforated(xs):
    seen = 0
    for _ in xs:
        seen += 1
    spins = 0
    while seen != len(xs):  # never true again once the for loop skipped an item
        spins += 1
    return float(seen + spins)


def nan_when_perforated(xs):
    total = 0.0
    count = 0
    for x in xs:
        if x > 0:
            total += x
            count += 1
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.float64(total) / np.float64(count)


def raises_when_perforated(xs):
    kept = []
    for x in xs:
        kept.append(x)
    return kept[len(xs) - 1]


def visited_list(xs):
    """Returns what the loop saw: its length changes under perforation (shape mismatch)."""
    seen = []
    for x in xs:
        seen.append(float(x))
    return seen


def counted_sum(xs, counter=None):
    """Counts its iterations into ``counter`` (a deterministic cost proxy)."""
    total = 0.0
    for x in xs:
        if counter is not None:
            counter[0] += 1
        total += x
    return total


def sqrt_all(xs):
    out = []
    for x in xs:
        out.append(math.sqrt(x))
    return out


# --- recording which iterations run ---------------------------------------------------------------


def visit_range(n):
    seen = []
    for i in range(n):
        seen.append(i)
    return seen


def visit_list(xs):
    seen = []
    for x in xs:
        seen.append(x)
    return seen


def visit_array(a):
    seen = []
    for x in a:
        seen.append(float(x))
    return seen


def visit_enumerate(xs):
    seen = []
    for i, x in enumerate(xs):
        seen.append((i, x))
    return seen


def visit_zip(xs, ys):
    seen = []
    for x, y in zip(xs, ys):
        seen.append((x, y))
    return seen


def visit_dict_items(d):
    seen = []
    for key, value in d.items():
        seen.append((key, value))
    return seen


def visit_generator(n):
    seen = []
    for x in (i * i for i in range(n)):
        seen.append(x)
    return seen


def visit_nested(n, m):
    pairs = []
    for i in range(n):
        for j in range(m):
            pairs.append((i, j))
    return pairs


def constant_sum(n):
    total = 0.0
    for _ in range(n):
        total += 1.5
    return total


def constant_sum_with_break(n, stop):
    total = 0.0
    for i in range(n):
        if i == stop:
            break
        total += 1.5
    return total


def countdown(xs):
    remaining = 100.0
    for x in xs:
        remaining -= x
    return remaining


# --- not liftable ---------------------------------------------------------------------------------


def squares_gen(n):
    for i in range(n):
        yield i * i


async def async_sum(xs):
    total = 0.0
    for x in xs:
        total += x
    return total


square_lambda = lambda x: x * x  # noqa: E731 - a lambda target on purpose


def nan_where_negative(xs):
    """Its output holds NaN where an input is negative: an exact output with NaN in it."""
    out = np.array(xs, dtype=float)
    out[out < 0] = np.nan
    return out
