"""Reductions over arrays for the perforation tests (test_perforate_arrays.py)."""

import numpy as np

def weighted(x, w, log):
    log.append(1)  # how many times it ran: an operand must be evaluated once
    return x * w


def total(x):
    return np.sum(x)


def moments(x):
    return x.mean(), np.std(x, axis=0), np.var(x)


def energy(x, w, log):
    return np.sum(weighted(x, w, log))


def products(a, b):
    return np.dot(a, b), a @ b


def projections(m, v):
    return m @ v


def row_sums(img):
    return img.sum(axis=1), np.mean(img, axis=-1)


def short_and_int(x, n):
    """Neither is a site: a short array, an integer one."""
    return np.sum(x[:10]), np.sum(np.arange(n))


def of_a_list(values):
    return np.sum(values)
