"""JPEG-style forward DCT of a grayscale image: the 2-D DCT-II of every 8x8 block, NumPy matrix
products (no per-block Python loop).

Written from the JPEG standard's description (ITU-T T.81, Annex A.3.3): pixels are level-shifted
by 128, and each 8x8 block ``B`` becomes ``C @ B @ C.T`` with the orthonormal DCT-II matrix ``C``.
Here the two 1-D passes run over the whole image at once: reshaped to rows of 8 pixels, one
matrix product transforms every block row, and the same on the transposed image transforms the
columns. Input images are generated: smooth gradients, a few filled shapes, sensor-like noise,
rounded to 8-bit gray levels (stored as float64, as after ``img.astype(float)``).
"""

from __future__ import annotations

import numpy as np

QUALITY = "rel_l2"  # energy-relative error of the coefficients (PSNR-like; see the bench text)
SIZE = 256  # images are SIZE x SIZE pixels
BLOCK = 8


def dct_matrix(n: int = BLOCK):
    """Orthonormal DCT-II matrix: ``C[k, i] = a(k) cos((2i + 1) k pi / 2n)``."""
    k = np.arange(n)[:, None]
    i = np.arange(n)[None, :]
    basis = np.cos((2 * i + 1) * k * np.pi / (2 * n)) * np.sqrt(2.0 / n)
    basis[0, :] = np.sqrt(1.0 / n)
    return basis


def block_dct(image, basis):
    """DCT coefficients of every 8x8 block, laid out like the image (block (r, c) at its pixels)."""
    h, w = image.shape
    shifted = image - 128.0
    rows = (shifted.reshape(-1, BLOCK) @ basis.T).reshape(h, w)  # 1-D DCT along each block row
    cols = rows.T.reshape(-1, BLOCK) @ basis.T  # ... and along each block column
    return cols.reshape(w, h).T


def make_inputs(count: int, *, seed: int = 0, size: int = SIZE) -> list[tuple]:
    """``count`` (image, basis) pairs with procedurally generated ``size`` x ``size`` images."""
    rng = np.random.default_rng(seed)
    basis = dct_matrix()
    y, x = np.mgrid[0:size, 0:size] / size
    inputs = []
    for _ in range(count):
        gx, gy = rng.uniform(-80, 80, 2)
        image = 128.0 + gx * (x - 0.5) + gy * (y - 0.5)
        image += 30.0 * np.sin(2 * np.pi * (rng.uniform(0.5, 3) * x + rng.uniform(0, 1)))
        for _ in range(rng.integers(2, 6)):  # filled discs and rectangles
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.25)
            level = rng.uniform(-70, 70)
            if rng.random() < 0.5:
                image[(x - cx) ** 2 + (y - cy) ** 2 < r * r] += level
            else:
                image[(abs(x - cx) < r) & (abs(y - cy) < r / 2)] += level
        image += rng.normal(0.0, 3.0, image.shape)
        inputs.append((np.clip(np.round(image), 0, 255), basis))
    return inputs
