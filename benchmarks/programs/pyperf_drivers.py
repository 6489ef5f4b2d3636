"""How a user calls two of pyperformance's benchmarks from their own code: through the
benchmark module's attributes (``bm_nbody.advance(...)``), and, inside spectral_norm, with a
function passed as an argument (``eval_times_u(part_A_times_u, u)``). The benchmarks' own code is
pyperformance's, installed (see :mod:`benchmarks.thirdparty`); tune with
``modules=MODULES`` so approxify follows into it.
"""

from __future__ import annotations

import math
import random

from benchmarks.thirdparty import load

bm_nbody = load("nbody")
bm_spectral_norm = load("spectral_norm")
MODULES = ["bm_nbody", "bm_spectral_norm"]


def nbody_energy(jitter, steps):
    """The planets' energy after ``steps`` steps, from the benchmark's start moved by ``jitter``."""
    bodies = [([x * (1.0 + jitter) for x in r], list(v), m) for r, v, m in bm_nbody.BODIES.values()]
    pairs = bm_nbody.combinations(bodies)
    bm_nbody.offset_momentum(bodies[0], bodies)
    bm_nbody.advance(0.01, steps, bodies, pairs)
    return bm_nbody.report_energy(bodies, pairs)


def spectral_norm(u):
    """The spectral norm of the benchmark's infinite matrix A, by power iteration from ``u``."""
    for _ in range(3):
        v = bm_spectral_norm.eval_AtA_times_u(u)
        u = bm_spectral_norm.eval_AtA_times_u(v)
    vBv = vv = 0.0
    for ue, ve in zip(u, v):
        vBv += ue * ve
        vv += ve * ve
    return math.sqrt(vBv / vv)


def nbody_inputs(count, *, seed=0, steps=200):
    rng = random.Random(seed)
    return [(rng.uniform(-0.01, 0.01), steps) for _ in range(count)]


def spectral_inputs(count, *, seed=0, size=60):
    rng = random.Random(seed)
    return [([rng.uniform(0.5, 1.5) for _ in range(size)],) for _ in range(count)]
