"""Sobel edge detection of a grayscale image: the gradient magnitude ``sqrt(gx^2 + gy^2)`` at every
pixel, NumPy-vectorized (each 3x3 stencil is a sum of shifted slices of the padded image; no
Python loop over pixels).

Written from the operator's textbook description (Sobel and Feldman, 1968; Gonzalez and Woods,
*Digital Image Processing*, "Using first-order derivatives for image sharpening"): ``gx`` is the
correlation with ``[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]``, ``gy`` with its transpose, and the
image border is replicated so the output has the input's size. Input images are generated
512x512 scenes with 8-bit gray levels (stored as float64, as after ``img.astype(float)``):
smooth shading, filled shapes with slightly soft edges, a periodic texture and sensor noise.
"""

from __future__ import annotations

import numpy as np

# ``||approx - exact|| / ||exact||`` over the pixels: the RMSE of the edge image (AxBench's image
# metric for sobel) divided by the RMS of the exact edge image instead of by the full scale 255.
# So the loss does not depend on whether gray levels run to 1 or to 255, and an error in the few
# strong edges is not diluted by the many flat pixels, whose magnitude is near zero; an
# element-wise relative error would instead be decided by those near-zero pixels.
QUALITY = "rel_l2"
SIZE = 512  # images are SIZE x SIZE pixels


def sobel(image):
    """Gradient magnitude of ``image`` (2-D, gray levels), same shape, border replicated."""
    p = np.pad(image, 1, mode="edge")
    gx = (p[:-2, 2:] + 2.0 * p[1:-1, 2:] + p[2:, 2:]) - (p[:-2, :-2] + 2.0 * p[1:-1, :-2] + p[2:, :-2])
    gy = (p[2:, :-2] + 2.0 * p[2:, 1:-1] + p[2:, 2:]) - (p[:-2, :-2] + 2.0 * p[:-2, 1:-1] + p[:-2, 2:])
    return np.sqrt(gx * gx + gy * gy)


def make_inputs(count: int, *, seed: int = 0, size: int = SIZE) -> list[tuple]:
    """``count`` one-element tuples holding a ``size`` x ``size`` gray image (0-255)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:size, 0:size] / size
    inputs = []
    for _ in range(count):
        gx, gy = rng.uniform(-60, 60, 2)
        image = 110.0 + gx * (x - 0.5) + gy * (y - 0.5)  # shading
        for _ in range(rng.integers(3, 9)):  # discs and rectangles, edges a pixel or two wide
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.03, 0.25)
            level, soft = rng.uniform(-80, 80), rng.uniform(0.5, 2.0) / size
            if rng.random() < 0.5:
                distance = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r
            else:
                distance = np.maximum(abs(x - cx) - r, abs(y - cy) - r / 2)
            image += level / (1.0 + np.exp(np.clip(distance / soft, -50, 50)))
        stripes = rng.uniform(8, 40)  # a fabric- or brick-like texture in one band of the image
        band = (y > rng.uniform(0, 0.6)) & (y < rng.uniform(0.6, 1.0))
        image += band * 12.0 * np.sin(2 * np.pi * stripes * (x + 0.3 * y))
        image += rng.normal(0.0, rng.uniform(0.5, 3.0), image.shape)  # sensor noise
        inputs.append((np.clip(np.round(image), 0, 255),))
    return inputs
