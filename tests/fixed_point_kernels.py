"""Target functions for the integer-lowering tests (approxify reads their source with ``inspect``).

8-bit image kernels written the way a third party would (gray levels 0..255 stored as float64),
and the kernels that must get no integer choice: fractional values, a range beyond int16, an
array written through, a float scalar. Site ids are ``fixed_point_kernels.<name>/var:<name>``.
"""

from __future__ import annotations

import numpy as np


def images(count: int, *, seed: int = 0, size: int = 48, step: int = 1) -> list[tuple]:
    """``count`` one-element tuples holding a random 8-bit gray image as float64; ``step=2``
    gives even gray levels only."""
    rng = np.random.default_rng(seed)
    return [(rng.integers(0, 256 // step, (size, size)).astype(np.float64) * step,) for _ in range(count)]


# --- 8-bit kernels --------------------------------------------------------------------------------


def box_blur(image):
    """The 3x3 mean, border replicated: a sum of nine shifted slices, then one division."""
    p = np.pad(image, 1, mode="edge")
    total = (p[:-2, :-2] + p[:-2, 1:-1] + p[:-2, 2:] + p[1:-1, :-2] + p[1:-1, 1:-1]
             + p[1:-1, 2:] + p[2:, :-2] + p[2:, 1:-1] + p[2:, 2:])
    return total / 9.0


def unsharp(image):
    """Sharpening by the 3x3 Laplacian, clipped to the gray scale (the result is no integer:
    np.clip is not known to give floats, so its guard stays)."""
    p = np.pad(image, 1, mode="edge")
    sharp = 5.0 * p[1:-1, 1:-1] - (p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:])
    return np.clip(sharp, 0.0, 255.0)


def neighbour_sum(image):
    """Returns integers as soon as ``p`` is an integer array: the result must stay float."""
    p = np.pad(image, 1, mode="edge")
    return p[1:-1, 1:-1] + p[1:-1, 2:]


def literals(image):
    """Literals of every kind in the definition of an integer variable."""
    p = image + 0.0
    q = 2.0 * p[1:, 1:] - 1.0 + p[1:, :-1] * 0.5 + p[1:, 1:] // 4.0 + 70000.0 * 0.0
    return q / 3.0


def halves(image):
    """Integral on even gray levels, fractional on odd ones: a profile on even images offers
    int16, which truncates what other images give (the held-out loss is what catches it)."""
    h = image / 2.0
    return h + 0.25


# --- no integer choice ----------------------------------------------------------------------------


def fractional(image):
    g = image * 0.3
    return g + 1.0


def wide(image):
    w = image * 1000.0  # up to 255000: beyond int16, within int32
    return np.sqrt(w)


def written(image):
    out = np.zeros(image.shape)  # all zeros where it is defined; later stores are fractional
    out[1:] = image[1:] * 0.5
    return out


def scalar(image):
    top = float(image.max())
    return image / top
