"""One k-means (Lloyd) step: assign each point to its nearest centroid, then move each centroid to
the mean of its points. NumPy-vectorized distances, a short Python loop over the clusters.

Written from Lloyd's algorithm as textbooks state it; the squared distances come from one matrix
product (``|x|^2 - 2 x.c + |c|^2``), as in most NumPy k-means code. Inputs: points drawn from
Gaussian blobs around random centres, and centroids started near (not at) those centres, so the
step moves them. The quality compares the new centroids. The precision benchmark tunes it; the
suite's kmeans is the image segmentation of :mod:`.kmeans`.
"""

from __future__ import annotations

import numpy as np

QUALITY = "mean_rel"
POINTS = 10000
DIM = 8
CLUSTERS = 16


def step(points, centroids):
    """The centroids after one assignment + update step (an empty cluster keeps its centroid)."""
    cross = points @ centroids.T
    dist = (points * points).sum(axis=1)[:, None] - 2.0 * cross + (centroids * centroids).sum(axis=1)
    labels = dist.argmin(axis=1)
    moved = np.empty_like(centroids)
    for j in range(centroids.shape[0]):
        members = points[labels == j]
        moved[j] = members.mean(axis=0) if len(members) else centroids[j]
    return moved


def make_inputs(count: int, *, seed: int = 0, points: int = POINTS, dim: int = DIM,
                clusters: int = CLUSTERS) -> list[tuple]:
    """``count`` (points, centroids) pairs."""
    rng = np.random.default_rng(seed)
    inputs = []
    for _ in range(count):
        centres = rng.uniform(-10.0, 10.0, (clusters, dim))
        labels = rng.integers(0, clusters, points)
        data = centres[labels] + rng.normal(0.0, 1.5, (points, dim))
        start = centres + rng.normal(0.0, 1.0, centres.shape)
        inputs.append((data, start))
    return inputs
