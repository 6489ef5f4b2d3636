"""Explicit 1-D heat diffusion (a three-point stencil, many time steps), plain loops compiled with
``@numba.njit``, as one writes a kernel NumPy cannot vectorize across time steps.

Written from the textbook forward-time centred-space scheme for ``u_t = k u_xx``:
``u[i] += alpha * (u[i-1] - 2 u[i] + u[i+1])`` with ``alpha = k dt / dx^2 <= 1/2`` for stability,
ends held fixed. Inputs: smooth random profiles plus steps, ``alpha`` and a number of steps.

Importing this module imports numba; the benchmark imports it only when numba is installed.
"""

from __future__ import annotations

import numba
import numpy as np

QUALITY = "mean_rel"
CELLS = 20000
STEPS = 200


@numba.njit
def diffuse(u, alpha, steps):
    """``u`` after ``steps`` explicit time steps (``u`` itself is not modified)."""
    n = u.shape[0]
    cur = u.copy()
    nxt = np.empty(n)
    for _ in range(steps):
        nxt[0] = cur[0]
        nxt[n - 1] = cur[n - 1]
        for i in range(1, n - 1):
            nxt[i] = cur[i] + alpha * (cur[i - 1] - 2.0 * cur[i] + cur[i + 1])
        cur, nxt = nxt, cur
    return cur


@numba.njit
def diffuse_float32_by_hand(u, alpha, steps):
    """``diffuse`` lowered to float32 by hand: arrays, ``alpha`` *and the constant 2* in float32.

    Numba types a float literal as float64, and float32 op float64 is float64, so leaving the
    ``2.0`` as written would compute the stencil in float64 between float32 loads and stores.
    """
    n = u.shape[0]
    cur = u.astype(np.float32)
    nxt = np.empty(n, dtype=np.float32)
    alpha = np.float32(alpha)
    two = np.float32(2.0)
    for _ in range(steps):
        nxt[0] = cur[0]
        nxt[n - 1] = cur[n - 1]
        for i in range(1, n - 1):
            nxt[i] = cur[i] + alpha * (cur[i - 1] - two * cur[i] + cur[i + 1])
        cur, nxt = nxt, cur
    return cur


def make_inputs(count: int, *, seed: int = 0, cells: int = CELLS, steps: int = STEPS) -> list[tuple]:
    """``count`` (u, alpha, steps) triples."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0.0, 1.0, cells)
    inputs = []
    for _ in range(count):
        u = 20.0 + 5.0 * np.sin(2 * np.pi * rng.uniform(1, 8) * x + rng.uniform(0, 2 * np.pi))
        u += np.where(x > rng.uniform(0.2, 0.8), rng.uniform(-10, 10), 0.0)
        inputs.append((u, float(rng.uniform(0.1, 0.45)), steps))
    return inputs
