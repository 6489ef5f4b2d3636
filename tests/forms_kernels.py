"""Comprehensions and while loops for the perforation tests (test_perforate_forms.py)."""

import math
import statistics

import numpy as np


def squares(xs):
    return [x * x for x in xs]


def total_of_doubles(n):
    return sum(2 * x for x in range(n))


def mean_size(xs):
    return np.mean([abs(x) for x in xs])


def normalised(xs):
    return math.fsum(x * x for x in xs) / len(xs)


def pair_products(xs):
    return sum(a * b for a in xs for b in range(4))


def keyed(n):
    return {i: i + 1 for i in range(n) if i % 3}, {i % 5 for i in range(n)}


def shadowed_sum(xs):
    sum = statistics.fmean  # a local named sum is not the builtin: no compensation
    return sum([x for x in xs])


def count_up(n, step):
    i = 0
    acc = 0.0
    while i < n:
        acc += i * 0.5
        i += step
    return acc


def count_down(n):
    j = n
    total = 0
    while j >= 1:
        total += j
        j -= 2
    return total


def float_time(duration, dt):
    t = 0.0
    energy = 0.0
    while t < duration:
        energy += math.sin(t) * dt
        t += dt
    return energy


def linked_sum(node):
    """A linked list of (value, rest) pairs: the walk is control, the sum is work."""
    total = 0.0
    while node is not None:
        total += node[0]
        node = node[1]
    return total


def first_large(xs, limit):
    """Runs until a running sum passes ``limit``: the sum and the counter feed the exit (a
    ``break``), the sum of squares is work."""
    acc = 0.0
    energy = 0.0
    i = 0
    while True:
        acc += xs[i]
        energy += xs[i] ** 2
        if acc > limit or i == len(xs) - 1:
            break
        i += 1
    return acc, energy, i


def newton_sqrt(a, tol):
    x = max(a, 1.0)
    while abs(x * x - a) > tol:
        x = (x + a / x) / 2
    return x


def polled(queue):
    done = 0
    while queue.pending():
        queue.step()
        done += 1
    return done


def walk_with_return(node, stop):
    total = 0.0
    while node is not None:
        total += node[0]
        if node[0] == stop:
            return total
        node = node[1]
    return total


def nested(n):
    out = 0.0
    for k in range(n):
        i = 0
        while i < n:
            out += k * i
            i += 1
    return out


def linked(values):
    node = None
    for v in reversed(values):
        node = (v, node)
    return node


def while_sum(x):
    """Compiled with numba as numba_kernels.while_sum."""
    total = 0.0
    i = 0
    while i < x.shape[0]:
        total += x[i]
        i += 1
    return total
