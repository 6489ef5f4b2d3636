"""Target functions that behave the way approxify must survive: they write into module state of
every kind, alias their outputs, hang while swallowing exceptions, raise what no one should,
and kill their own process. Used by tests/test_isolation.py (their source is read by approxify)."""

import os
import random
import signal
import sys

import numpy as np

SEEN: list[float] = []  # appended to on every iteration
MEMO: dict[int, float] = {}  # a cache the function fills
TABLE = np.zeros(8)  # written into
RNG = np.random.default_rng(0)  # advanced
PY_RNG = random.Random(0)  # advanced
BUFFER = np.zeros(16)  # filled and returned: the output aliases it
SCALE = 3.0  # rebound by a test after apply
REGISTRY: list[str] = []  # what the decorator below records


def appends(xs):
    total = 0.0
    for x in xs:
        SEEN.append(x)
        total += x
    return total


def memoized(n):
    """n! the slow way, memoized in a module dict the variant would fill with wrong values."""
    if n in MEMO:
        return MEMO[n]
    product = 1.0
    for k in range(1, n + 1):
        product *= k
    MEMO[n] = product
    return product


def writes_table(xs):
    for i, x in enumerate(xs):
        TABLE[i % 8] += x
    return float(TABLE.sum())


def draws(xs):
    total = 0.0
    for x in xs:
        total += x * (1.0 + 0.0 * RNG.random()) + 0.0 * PY_RNG.random()
    return total


def fills_buffer(xs):
    BUFFER[:] = 0.0
    for i in range(len(xs)):
        BUFFER[i % 16] += xs[i]
    return BUFFER


def scaled(xs):
    total = 0.0
    for x in xs:
        total += x
    return total * SCALE


def with_attribute(xs):
    total = 0.0
    for x in xs:
        total += x * with_attribute.weight
    return total


with_attribute.weight = 2.0


def recorded(fn):
    REGISTRY.append(fn.__name__)
    return fn


@recorded
def decorated(xs):
    total = 0.0
    for x in xs:
        total += x
    return total


def swallows_timeouts(xs):
    """Perforated, it never ends: the loop variable never reaches the end, and the exception
    meant to stop it is caught."""
    total = 0.0
    for x in xs:
        total += x
    while True:
        try:  # the interpreter checks for signals on the inner loop's jump, inside the try
            while total < 0.75 * sum(xs):
                total += 0.0
            return total
        except Exception:  # noqa: BLE001 - hostile on purpose: the timeout is caught too
            pass


class Hostile(BaseException):
    pass


class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError("no")


class Unreadable:
    def __array__(self, dtype=None, copy=None):
        raise RuntimeError("this output cannot become an array")


def raises_when_perforated(xs, kind):
    total = 0.0
    count = 0
    for x in xs:
        total += x
        count += 1
    if count < len(xs):
        if kind == "base":
            raise Hostile("a BaseException")
        if kind == "unprintable":
            raise Unprintable()
        if kind == "unreadable":
            return Unreadable()
        if kind == "exit":
            sys.exit(3)
        if kind == "os_exit":
            os._exit(3)
        if kind == "segfault":
            os.kill(os.getpid(), signal.SIGSEGV)
        if kind == "alarm":
            signal.alarm(0)
    return total
