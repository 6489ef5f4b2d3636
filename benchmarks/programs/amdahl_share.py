"""A program whose only perforable loops are a small share of its time (benchmarks/amdahl.py).

``profile`` spends most of its time in NumPy calls (a spectrum, a sort: no loop to perforate) and
a few percent in one Python loop (a correction term from a stretch of the signal); a second loop
does nothing whose result is used. Perforating both can save at most the share of the first, so
no config can be faster than the Amdahl limit ``1 / (1 - share)``; ``without_loops`` is the
program with both loops removed, whose speedup over ``profile`` is that limit, measured.
"""

from __future__ import annotations

import numpy as np

QUALITY = "rel_l2"
QUANTILES = 64


def spectrum_quantiles(signal):
    """The work no perforation can touch: smoothed power spectrum, sorted, at a few quantiles."""
    power = np.abs(np.fft.rfft(signal)) ** 2
    smoothed = np.convolve(power, np.ones(9) / 9.0, mode="same")
    ordered = np.sort(np.concatenate([smoothed, signal * signal]))
    return ordered[:: max(1, ordered.size // QUANTILES)][:QUANTILES]


def profile(signal, stretch):
    quantiles = spectrum_quantiles(signal)
    correction = 0.0
    for k in range(stretch):  # the perforable share of the time
        correction += signal[k] * signal[k]
    unused = 0
    for step in range(8):  # a loop whose result is never used: perforating it saves nothing
        unused += step
    return quantiles + correction / stretch


def without_loops(signal, stretch):
    """``profile`` with both loops removed (its correction from NumPy): the Amdahl limit's side."""
    head = signal[:stretch]
    return spectrum_quantiles(signal) + float(head @ head) / stretch


def make_inputs(count, *, size=4096, stretch=300, seed=0):
    """``count`` signals of ``size`` samples; ``stretch`` sets the loop's share of the time."""
    rng = np.random.default_rng(seed)
    t = np.arange(size) / size
    inputs = []
    for _ in range(count):
        f = rng.uniform(5.0, 40.0)
        signal = np.sin(2 * np.pi * f * t) + 0.3 * rng.standard_normal(size)
        inputs.append((signal, stretch))
    return inputs
