"""The seed's running example: a dense layer written as a loop nest (``out[i] += w[i][j] * x[j]``),
then ReLU. Plain Python lists and loops, as in a first prototype.

The inputs are a smooth signal sampled on a fine grid and a layer of smooth filters, as when a
layer reads a densely sampled waveform: neighbouring products are alike, so skipping half the
``j`` loop and doubling the rest (compensated perforation) is a Riemann sum with half the points.
"""

from __future__ import annotations

import math
import random


def layer(w, x, b):
    n_out = len(w)
    n_in = len(x)
    out = [0.0] * n_out
    for i in range(n_out):
        out[i] = b[i]
        for j in range(n_in):
            out[i] += w[i][j] * x[j]
    for i in range(n_out):
        if out[i] < 0.0:
            out[i] = 0.0
    return out


def make_weights(n_out: int = 32, n_in: int = 96, *, seed: int = 0):
    """Smooth filters (a few low-frequency cosines each) and small biases."""
    rng = random.Random(seed)
    w = []
    for _ in range(n_out):
        terms = [(rng.uniform(0.5, 4.0), rng.uniform(0, 2 * math.pi), rng.gauss(0, 1)) for _ in range(3)]
        w.append([sum(a * math.cos(f * math.pi * j / n_in + p) for f, p, a in terms) / n_in
                  for j in range(n_in)])
    b = [rng.gauss(0.0, 0.05) for _ in range(n_out)]
    return w, b


def make_inputs(count: int = 800, *, n_out: int = 32, n_in: int = 96, seed: int = 0):
    """``count`` inputs ``(w, x, b)``: one layer, many smooth signals with a little noise."""
    w, b = make_weights(n_out, n_in, seed=seed)
    rng = random.Random(seed + 1)
    inputs = []
    for _ in range(count):
        f, p = rng.uniform(0.2, 2.0), rng.uniform(0, 2 * math.pi)
        x = [math.sin(f * math.pi * j / n_in + p) + rng.gauss(0.0, 0.02) + 1.0 for j in range(n_in)]
        inputs.append((w, x, b))
    return inputs
