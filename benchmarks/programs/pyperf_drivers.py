"""How a user calls two of pyperformance's benchmarks from their own code: through the
benchmark module's attributes (``bm_nbody.advance(...)``), and, inside spectral_norm, with a
function passed as an argument (``eval_times_u(part_A_times_u, u)``); and SciMark's FFT, whose
stages are a ``while`` loop (``while bit < logn``). The benchmarks' own code is
pyperformance's, installed (see :mod:`benchmarks.thirdparty`); tune with
``modules=MODULES`` so approxify follows into it.
"""

from __future__ import annotations

import math
import random

from benchmarks.thirdparty import load

bm_nbody = load("nbody")
bm_spectral_norm = load("spectral_norm")
bm_scimark = load("scimark")
MODULES = ["bm_nbody", "bm_spectral_norm", "bm_scimark"]


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


def scimark_fft(data):
    """SciMark's in-place FFT of ``data`` (interleaved real and imaginary parts), then its
    inverse: the round trip a user checks a transform with. Its stages are a ``while`` loop."""
    x = list(data)
    bm_scimark.FFT_transform(len(x), x)
    spectrum = list(x)
    bm_scimark.FFT_inverse(len(x), x)
    return spectrum, x


def nbody_inputs(count, *, seed=0, steps=200):
    rng = random.Random(seed)
    return [(rng.uniform(-0.01, 0.01), steps) for _ in range(count)]


def spectral_inputs(count, *, seed=0, size=60):
    rng = random.Random(seed)
    return [([rng.uniform(0.5, 1.5) for _ in range(size)],) for _ in range(count)]


def scimark_inputs(count, *, seed=0, points=128):
    rng = random.Random(seed)
    return [([rng.uniform(-1.0, 1.0) for _ in range(2 * points)],) for _ in range(count)]
