"""The core of a JPEG encoder and decoder on a grayscale image: 8x8 block DCT, quantization,
then dequantization and inverse DCT; the output is the reconstructed image. NumPy matrix
products over the whole image (no per-block Python loop), like :mod:`.dct`, whose forward
transform it imports.

Written from the JPEG standard (ITU-T T.81): level shift by 128 and the 8x8 DCT-II (Annex A.3.3),
quantization by rounding each coefficient divided by its entry of the luminance table of
Annex K (Table K.1), which is the table of quality factor 50 in the IJG scaling, so it is used
as is; decoding multiplies back, inverts the DCT, undoes the level shift and clips to 0..255.
Entropy coding is lossless and left out. Inputs: the generated 256x256 images of :mod:`.dct`.
Quality: the RMSE of the decoded image relative to the full scale 255.
"""

from __future__ import annotations

import numpy as np

from .dct import BLOCK, SIZE, block_dct, dct_matrix
from .dct import make_inputs as dct_inputs

# ITU-T T.81 Annex K, Table K.1: luminance quantization table
LUMINANCE = np.array([
    [16, 11, 10, 16, 24, 40, 51, 61],
    [12, 12, 14, 19, 26, 58, 60, 55],
    [14, 13, 16, 24, 40, 57, 69, 56],
    [14, 17, 22, 29, 51, 87, 80, 62],
    [18, 22, 37, 56, 68, 109, 103, 77],
    [24, 35, 55, 64, 81, 104, 113, 92],
    [49, 64, 78, 87, 103, 121, 120, 101],
    [72, 92, 95, 98, 112, 100, 103, 99],
], dtype=np.float64)


def image_rmse(exact, approx) -> float:
    """``sqrt(mean((exact - approx)^2)) / 255``, capped at 1: the image's RMSE on the full scale."""
    diff = np.asarray(exact, dtype=np.float64) - np.asarray(approx, dtype=np.float64)
    return min(float(np.sqrt(np.mean(diff * diff))) / 255.0, 1.0)


QUALITY = image_rmse


def jpeg(image):
    """The image after JPEG encoding and decoding (same shape, gray levels 0..255)."""
    basis = dct_matrix()
    h, w = image.shape
    table = np.tile(LUMINANCE, (h // BLOCK, w // BLOCK))  # one table entry per coefficient
    quantized = np.round(block_dct(image, basis) / table)
    return np.clip(block_idct(quantized * table, basis) + 128.0, 0.0, 255.0)


def block_idct(coeffs, basis):
    """Inverse of ``block_dct`` without the level shift: ``C.T @ X @ C`` for every 8x8 block."""
    h, w = coeffs.shape
    rows = (coeffs.reshape(-1, BLOCK) @ basis).reshape(h, w)  # C is orthonormal: C^-1 = C.T
    cols = rows.T.reshape(-1, BLOCK) @ basis
    return cols.reshape(w, h).T


def make_inputs(count: int, *, seed: int = 0, size: int = SIZE) -> list[tuple]:
    """``count`` one-element tuples holding a ``size`` x ``size`` gray image (0-255)."""
    return [(image,) for image, _ in dct_inputs(count, seed=seed, size=size)]
