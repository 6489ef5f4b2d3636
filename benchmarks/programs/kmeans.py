"""k-means colour segmentation of an RGB image, AxBench's kmeans, NumPy with short Python loops:
the pixels are clustered in RGB space by ``ITERATIONS`` Lloyd steps (a Python loop over the
iterations, and inside it one over the clusters), and every pixel is replaced by its cluster's
centroid.

Written from Lloyd's algorithm as textbooks state it and AxBench's description of its kmeans
benchmark, not from AxBench's code. The squared distances come from one matrix product
(``|x|^2 - 2 x.c + |c|^2``), as in most NumPy k-means code. The centroids start at pixels of
evenly spaced luminance quantiles, with no random draw, so runs are reproducible. Inputs:
generated colour scenes; the quality is the image RMSE on the 0-255 scale (AxBench's metric for
kmeans).
"""

from __future__ import annotations

import numpy as np

from .jpeg import image_rmse

QUALITY = image_rmse  # RMSE / 255: a loss of 0.1 is 25.5 gray levels
CLUSTERS = 6  # as AxBench
ITERATIONS = 10
SIZE = 128  # images are SIZE x SIZE pixels
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601


def nearest(pixels, centroids):
    """The index of each pixel's nearest centroid."""
    dist = (pixels * pixels).sum(axis=1)[:, None] - 2.0 * (pixels @ centroids.T)
    return (dist + (centroids * centroids).sum(axis=1)).argmin(axis=1)


def segment(image):
    """``image`` (H x W x 3) with every pixel replaced by the centroid of its colour cluster."""
    pixels = image.reshape(-1, 3)
    order = np.argsort(pixels @ LUMA, kind="stable")
    quantiles = (2 * np.arange(CLUSTERS) + 1) * len(pixels) // (2 * CLUSTERS)
    centroids = pixels[order[quantiles]]
    for _ in range(ITERATIONS):
        labels = nearest(pixels, centroids)
        for j in range(CLUSTERS):
            members = pixels[labels == j]
            if len(members):  # an empty cluster keeps its centroid
                centroids[j] = members.mean(axis=0)
    return centroids[nearest(pixels, centroids)].reshape(image.shape)


def make_inputs(count: int, *, seed: int = 0, size: int = SIZE) -> list[tuple]:
    """``count`` one-element tuples holding a ``size`` x ``size`` x 3 RGB image (0-255)."""
    rng = np.random.default_rng(seed)
    y, x = (np.mgrid[0:size, 0:size] / size)[..., None]
    inputs = []
    for _ in range(count):
        gx, gy = rng.uniform(-40, 40, (2, 3))
        image = rng.uniform(60, 190, 3) + gx * (x - 0.5) + gy * (y - 0.5)  # shaded background
        for _ in range(rng.integers(3, 9)):  # discs and rectangles of random colours, soft edges
            cx, cy, r = rng.uniform(0, 1), rng.uniform(0, 1), rng.uniform(0.05, 0.3)
            colour, soft = rng.uniform(0, 255, 3), rng.uniform(0.5, 2.0) / size
            if rng.random() < 0.5:
                distance = np.sqrt((x - cx) ** 2 + (y - cy) ** 2) - r
            else:
                distance = np.maximum(abs(x - cx) - r, abs(y - cy) - r / 2)
            inside = 1.0 / (1.0 + np.exp(np.clip(distance / soft, -50, 50)))
            image = image + inside * (colour - image)
        image += rng.normal(0.0, rng.uniform(0.5, 3.0), image.shape)  # sensor noise
        inputs.append((np.clip(np.round(image), 0, 255),))
    return inputs
