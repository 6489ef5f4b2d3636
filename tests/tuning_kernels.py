"""Small, fast targets for the tuner tests (their source must live in a file)."""

import math
import random


def smooth_mean(xs):
    total = 0.0
    for x in xs:
        total += x * x
    return total / len(xs)


def make_inputs(count=400, size=1000, seed=0):
    rng = random.Random(seed)
    inputs = []
    for _ in range(count):
        f = rng.uniform(0.5, 2.0)
        inputs.append(([1.0 + 0.3 * math.sin(f * j / size) for j in range(size)],))
    return inputs


def no_loops(x):
    return x * 2


def slow_rel_l2(exact, approx):
    """rel_l2 that takes a few milliseconds per input: a tuning slow enough to be killed midway."""
    import time

    time.sleep(0.002)
    return min(1.0, abs(exact - approx) / abs(exact))
