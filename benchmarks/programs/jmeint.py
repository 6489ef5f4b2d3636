"""Triangle–triangle intersection (AxBench's jmeint, written from Möller's paper): for each of
many pairs of 3-D triangles, whether the two intersect. NumPy-vectorized over the pairs, the way
a NumPy user vectorizes branchy code: every branch computed for all pairs, masks pick the answer.

Written from T. Möller, "A Fast Triangle-Triangle Intersection Test" (journal of graphics tools,
1997): a pair is rejected when all vertices of one triangle lie strictly on one side of the
other's plane; otherwise both triangles cut the line where the planes meet in an interval, and
they intersect when the two intervals overlap. As in the paper, the intervals are measured along
the coordinate axis where that line's direction is largest, distances below ``EPSILON`` count as
on the plane, and coplanar pairs get a 2-D test (an edge of one crosses an edge of the other, or
one triangle holds a vertex of the other). Degenerate (zero-area) triangles are not handled.

The work is in ``intersects``, element-wise in the 18 coordinates of a pair (AxBench's layout,
and the 18 inputs of its neural surrogate), so function substitution can replace that call.
It returns 0/1 floats, as AxBench's kernel does. Inputs: triangles with vertices in the unit
cube, each drawn around its own centre; about 48% of the pairs intersect (46-49% per call).
Quality: the miss rate, the share of pairs answered differently from the exact program.
"""

from __future__ import annotations

import numpy as np

PAIRS = 4096  # triangle pairs per call
EPSILON = 1e-12  # plane distances below this count as zero (Möller's USE_EPSILON_TEST)
RADIUS = 0.25  # vertices lie at most this far from their triangle's centre
OFFSET = 0.11  # ... and the centres of a pair this far (per axis) from a common point


def miss_rate(exact, approx) -> float:
    """Share of pairs whose answer differs; answers above 0.5 read as "intersect", so a
    surrogate's scores compare with the exact 0/1 answers."""
    return float(np.mean((np.asarray(exact) > 0.5) != (np.asarray(approx) > 0.5)))


QUALITY = miss_rate


def jmeint(pairs):
    """1.0 for each intersecting pair, else 0.0; ``pairs`` is (n, 18): the first triangle's
    three vertices, then the second's, each as x, y, z."""
    return intersects(*pairs.T)


def intersects(p0x, p0y, p0z, p1x, p1y, p1z, p2x, p2y, p2z,
               q0x, q0y, q0z, q1x, q1y, q1z, q2x, q2y, q2z):
    """Möller's test on 1-D arrays of coordinates (one element per pair); 0/1 floats."""
    p = np.array([[p0x, p0y, p0z], [p1x, p1y, p1z], [p2x, p2y, p2z]])  # (vertex, axis, pair)
    q = np.array([[q0x, q0y, q0z], [q1x, q1y, q1z], [q2x, q2y, q2z]])
    normal_p = np.cross(p[1] - p[0], p[2] - p[0], axis=0)
    normal_q = np.cross(q[1] - q[0], q[2] - q[0], axis=0)
    dp = plane_distances(p, normal_q, q[0])  # p's vertices against q's plane
    dq = plane_distances(q, normal_p, p[0])
    separated = one_side(dp) | one_side(dq)
    coplanar = (dp == 0).all(axis=0)
    # project on the axis where the planes' common line runs most: same order as along the line
    line = np.cross(normal_p, normal_q, axis=0)
    axis = np.abs(line).argmax(axis=0)
    lo_p, hi_p = interval(np.take_along_axis(p, axis[None, None], axis=1)[:, 0], dp)
    lo_q, hi_q = interval(np.take_along_axis(q, axis[None, None], axis=1)[:, 0], dq)
    hit = ~separated & (lo_p <= hi_q) & (lo_q <= hi_p)
    if coplanar.any():  # rare with random input; the 2-D test runs on those pairs only
        hit[coplanar] = coplanar_overlap(p[..., coplanar], q[..., coplanar], normal_p[:, coplanar])
    return hit.astype(np.float64)


def plane_distances(vertices, normal, origin):
    """Signed distances (times |normal|) of three vertices to a plane; tiny ones set to 0."""
    d = ((vertices - origin) * normal).sum(axis=1)
    return np.where(np.abs(d) < EPSILON, 0.0, d)


def one_side(d):
    """All three distances nonzero and of one sign: the triangle misses the plane."""
    return ((d > 0).all(axis=0)) | ((d < 0).all(axis=0))


def interval(proj, d):
    """Where a triangle crosses the planes' common line: (low, high) along the projection axis.

    The lone vertex is the one on its own side of the plane (Möller's case analysis, which
    never divides by zero for a triangle that touches the plane); the interval ends where
    its two edges from the lone vertex meet the plane.
    """
    d0, d1, d2 = d
    lone = np.select([d0 * d1 > 0, d0 * d2 > 0, (d1 * d2 > 0) | (d0 != 0), d1 != 0], [2, 1, 0, 1], 2)
    first, second = (lone + 1) % 3, (lone + 2) % 3

    def pick(values, index):
        return np.take_along_axis(values, index[None], axis=0)[0]

    v, dv = pick(proj, lone), pick(d, lone)
    # separated or coplanar pairs may divide by zero here; their answer comes from elsewhere
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = v + (pick(proj, first) - v) * dv / (dv - pick(d, first))
        t1 = v + (pick(proj, second) - v) * dv / (dv - pick(d, second))
    return np.minimum(t0, t1), np.maximum(t0, t1)


def coplanar_overlap(p, q, normal):
    """2-D test for coplanar pairs: drop the axis where the normal is largest, then look for
    crossing edges or a vertex of one triangle inside the other."""
    drop = np.abs(normal).argmax(axis=0)
    keep = np.stack([(drop + 1) % 3, (drop + 2) % 3])[None]  # (1, 2, pair)
    p2, q2 = np.take_along_axis(p, keep, axis=1), np.take_along_axis(q, keep, axis=1)
    # every edge of p against every edge of q: axes (edge of p, edge of q, xy, pair)
    a, b = p2[:, None], np.roll(p2, -1, axis=0)[:, None]
    c, d = q2[None], np.roll(q2, -1, axis=0)[None]
    straddle = (orient(a, b, c) * orient(a, b, d) <= 0) & (orient(c, d, a) * orient(c, d, b) <= 0)
    # the boxes must overlap too, else collinear but disjoint edges would count as crossing
    boxes = ((np.minimum(a, b) <= np.maximum(c, d)) & (np.minimum(c, d) <= np.maximum(a, b))).all(axis=2)
    crossing = (straddle & boxes).any(axis=(0, 1))
    return crossing | inside(p2[0], q2) | inside(q2[0], p2)


def orient(a, b, c):
    """Twice the signed area of the 2-D triangle (a, b, c); the xy axis is the third from last."""
    return ((b[..., 0, :] - a[..., 0, :]) * (c[..., 1, :] - a[..., 1, :])
            - (b[..., 1, :] - a[..., 1, :]) * (c[..., 0, :] - a[..., 0, :]))


def inside(point, triangle):
    """Whether each 2-D point lies in (or on) its triangle."""
    signs = np.array([orient(triangle[k], triangle[(k + 1) % 3], point) for k in range(3)])
    return (signs >= 0).all(axis=0) | (signs <= 0).all(axis=0)


def make_inputs(count: int, *, seed: int = 0, pairs: int = PAIRS) -> list[tuple]:
    """``count`` one-element tuples, each a (``pairs``, 18) array of triangle pairs.

    Each triangle has its vertices around its centre at uneven angles and distances, in a random
    plane: uniform random vertices make mostly thin triangles, of which few pairs (under 30%)
    intersect. The two centres of a pair lie within ``OFFSET`` per axis of a common point.
    """
    rng = np.random.default_rng(seed)
    inputs = []
    for _ in range(count):
        common = rng.uniform(RADIUS + OFFSET, 1.0 - RADIUS - OFFSET, (pairs, 1, 1, 3))
        centres = common + rng.uniform(-OFFSET, OFFSET, (pairs, 2, 1, 3))
        axes = np.linalg.qr(rng.normal(size=(pairs, 2, 3, 3)))[0][..., :2]  # 2 orthonormal columns
        angles = (rng.uniform(0.0, 2 * np.pi, (pairs, 2, 1)) + 2 * np.pi / 3 * np.arange(3)
                  + rng.uniform(-0.5, 0.5, (pairs, 2, 3)))
        radii = RADIUS * rng.uniform(0.5, 1.0, (pairs, 2, 3, 1))
        in_plane = radii * np.stack([np.cos(angles), np.sin(angles)], axis=-1)  # (pair, tri, vertex, 2)
        vertices = centres + np.einsum("ptxc,ptvc->ptvx", axes, in_plane)
        inputs.append((vertices.reshape(pairs, 18),))
    return inputs
