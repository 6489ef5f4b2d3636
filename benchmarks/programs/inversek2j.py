"""Inverse kinematics of a two-joint planar arm (AxBench's inversek2j, written from its
description): for each target point, the joint angles that put the arm's tip there.
NumPy-vectorized over the points, as a NumPy user writes it.

The arm has two links of lengths ``L1`` and ``L2``; inputs are points the arm can reach, made by
forward kinematics from random joint angles (as AxBench generates them). Quality: mean relative
error of the joint angles.
"""

from __future__ import annotations

import numpy as np

QUALITY = "mean_rel"
L1, L2 = 0.5, 0.5
POINTS = 4096  # target points per call


def joint_angles(x, y):
    """The elbow-down solution (theta1, theta2) reaching each (x, y)."""
    cos_elbow = (x * x + y * y - L1 * L1 - L2 * L2) / (2.0 * L1 * L2)
    theta2 = np.arccos(np.clip(cos_elbow, -1.0, 1.0))
    theta1 = np.arctan2(y, x) - np.arctan2(L2 * np.sin(theta2), L1 + L2 * np.cos(theta2))
    return theta1, theta2


def inversek2j(xs, ys):
    """Joint angles for every target point, as a (2, n) array."""
    theta1, theta2 = joint_angles(xs, ys)
    return np.stack([theta1, theta2])


def forward(theta1, theta2):
    return (L1 * np.cos(theta1) + L2 * np.cos(theta1 + theta2),
            L1 * np.sin(theta1) + L2 * np.sin(theta1 + theta2))


def make_inputs(count: int, *, seed: int = 0, points: int = POINTS) -> list[tuple]:
    """``count`` calls, each ``points`` reachable targets ``(xs, ys)``."""
    rng = np.random.default_rng(seed)
    inputs = []
    for _ in range(count):
        theta1 = rng.uniform(0.2, np.pi / 2, points)
        theta2 = rng.uniform(0.3, np.pi - 0.3, points)
        inputs.append(forward(theta1, theta2))
    return inputs
