"""Plain Python loops that numba can compile, one per loop form, for the numba perforation tests.

The tests compile them with ``numba.njit(fn)``: the dispatcher's ``py_func`` is the function
itself, so its site ids (and the random policy's per-site seeds) are those of the Python
function, and the two variants of one config can be compared iteration for iteration. (Loops over
values, ``enumerate`` and ``zip``, nested loops and an array accumulator are those of
``kernels_for_tests``.)
"""

from __future__ import annotations



def range_mean(x):
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i]
    return total / max(x.shape[0], 1)


def strided_range_sum(x):
    total = 0.0
    for i in range(1, x.shape[0] - 1, 3):
        total += x[i - 1] * x[i + 1]
    return total


def sum_until(x, limit):
    """An early exit: compensation counts the iterations seen up to the break."""
    total = 0.0
    for v in x:
        if total > limit:
            break
        total += v
    return total


def first_above(x, threshold):
    """``for``/``else`` without an accumulator: the else clause runs when no break came."""
    found = -1
    for i in range(x.shape[0]):
        if x[i] > threshold:
            found = i
            break
    else:
        found = -2
    return found


def count_and_skip(x):
    """An integer accumulator and a ``continue``."""
    count = 0
    for v in x:
        if v < 0.0:
            continue
        count += 1
    return count
