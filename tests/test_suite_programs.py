"""The suite programs jmeint, jpeg, kmeans (segmentation) and swaptions: known answers, independent references, their
quality functions, deterministic inputs, the sites approxify finds, and a tiny tuning run each."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pytest

import approxify as ax
from benchmarks.programs import dct, jmeint, jpeg, kmeans, swaptions

# -- jmeint ---------------------------------------------------------------------------------------

FLOOR = ((0, 0, 0), (1, 0, 0), (0, 1, 0))  # a triangle in the plane z = 0


def answer(first, second) -> float:
    return float(jmeint.jmeint(np.array([[*np.ravel(first), *np.ravel(second)]], dtype=float))[0])


def shifted(triangle, offset):
    return [tuple(np.add(v, offset)) for v in triangle]


@pytest.mark.parametrize(("second", "expected"), [
    (((0.1, 0.25, -1), (0.4, 0.25, -1), (0.25, 0.25, 1)), 1.0),  # pierces the floor inside it
    (shifted(FLOOR, (5, 5, 5)), 0.0),  # far away
    (((2.1, 0.25, -1), (2.4, 0.25, -1), (2.25, 0.25, 1)), 0.0),  # crosses the plane, not the triangle
    (((0.25, 0.25, 0), (0.5, 0.25, 1), (0.25, 0.5, 1)), 1.0),  # touches it with one vertex
    (((0.2, 0.2, 1e-3), (0.6, 0.2, 1), (0.2, 0.6, 1)), 0.0),  # just above it
    (shifted(FLOOR, (0.2, 0.2, 0)), 1.0),  # coplanar, overlapping edges
    (((0.1, 0.1, 0), (0.3, 0.1, 0), (0.1, 0.3, 0)), 1.0),  # coplanar, inside without crossing
    (shifted(FLOOR, (2, 0, 0)), 0.0),  # coplanar, apart
    (((2, 0, 0), (3, 0, 0), (2, -1, 0)), 0.0),  # coplanar, an edge on the same line, apart
])
def test_jmeint_known_pairs_both_ways(second, expected):
    assert answer(FLOOR, second) == expected
    assert answer(second, FLOOR) == expected


def segment_hits_triangle(a, b, triangle) -> bool:
    """Möller–Trumbore on the segment a-b (t in [0, 1]); plain Python, one pair at a time."""
    v0, v1, v2 = (np.asarray(v, dtype=float) for v in triangle)
    direction, e1, e2 = b - a, v1 - v0, v2 - v0
    h = np.cross(direction, e2)
    det = e1 @ h
    if abs(det) < 1e-15:
        return False  # parallel: random triangles are never coplanar
    s = a - v0
    u = (s @ h) / det
    q = np.cross(s, e1)
    v = (direction @ q) / det
    t = (e2 @ q) / det
    return u >= 0 and v >= 0 and u + v <= 1 and 0 <= t <= 1


def reference(row) -> float:
    """Non-coplanar triangles meet exactly when an edge of one crosses the other."""
    p, q = row[:9].reshape(3, 3), row[9:].reshape(3, 3)
    for edges, other in ((p, q), (q, p)):
        for k in range(3):
            if segment_hits_triangle(edges[k], edges[(k + 1) % 3], other):
                return 1.0
    return 0.0


def test_jmeint_agrees_with_an_edge_crossing_reference():
    (pairs,) = jmeint.make_inputs(1, seed=7, pairs=200)[0]
    expected = np.array([reference(row) for row in pairs])
    assert np.array_equal(jmeint.jmeint(pairs), expected)
    swapped = np.concatenate([pairs[:, 9:], pairs[:, :9]], axis=1)
    assert np.array_equal(jmeint.jmeint(swapped), expected)


def test_jmeint_inputs_in_the_unit_cube_and_about_half_intersect():
    inputs = jmeint.make_inputs(3, seed=1)
    for (pairs,) in inputs:
        assert pairs.shape == (jmeint.PAIRS, 18)
        assert pairs.min() >= 0.0 and pairs.max() <= 1.0
        assert 0.3 <= jmeint.jmeint(pairs).mean() <= 0.6


def test_miss_rate():
    exact = np.array([1.0, 0.0, 1.0, 0.0])
    assert jmeint.QUALITY is jmeint.miss_rate
    assert jmeint.miss_rate(exact, exact) == 0.0
    assert jmeint.miss_rate(exact, np.array([1.0, 1.0, 1.0, 0.0])) == 0.25
    assert jmeint.miss_rate(exact, 1.0 - exact) == 1.0
    assert jmeint.miss_rate(exact, np.array([0.9, 0.2, 0.6, 0.4])) == 0.0  # scores read at 0.5


# -- jpeg -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("level", [0.0, 37.0, 128.0, 129.0, 200.0, 255.0])
def test_jpeg_constant_image_round_trips_within_a_gray_level(level):
    image = np.full((32, 48), level)
    out = jpeg.jpeg(image)
    assert np.abs(out - level).max() <= 1.0 + 1e-9  # the DC step of 16 is 2 gray levels
    if level in (0.0, 128.0, 200.0, 255.0):  # DC quantized exactly (or clipped back)
        np.testing.assert_allclose(out, level, atol=1e-9)


def test_jpeg_decodes_close_to_the_original():
    (image,) = jpeg.make_inputs(1, seed=2)[0]
    out = jpeg.jpeg(image)
    assert out.shape == image.shape == (256, 256) and out.dtype == np.float64
    assert out.min() >= 0.0 and out.max() <= 255.0
    assert 0.001 < jpeg.image_rmse(image, out) < 0.03  # lossy, but by a few gray levels


def test_jpeg_inverse_dct_inverts_the_forward_one():
    (image,) = jpeg.make_inputs(1, seed=3, size=64)[0]
    basis = dct.dct_matrix()
    np.testing.assert_allclose(jpeg.block_idct(dct.block_dct(image, basis), basis) + 128.0, image,
                               atol=1e-9)


def test_jpeg_inputs_are_the_dct_images():
    (image,) = jpeg.make_inputs(1, seed=4, size=64)[0]
    assert np.array_equal(image, dct.make_inputs(1, seed=4, size=64)[0][0])


def test_image_rmse():
    a = np.zeros((8, 8))
    assert jpeg.QUALITY is jpeg.image_rmse
    assert jpeg.image_rmse(a, a) == 0.0
    assert jpeg.image_rmse(a, a + 25.5) == pytest.approx(0.1)
    assert jpeg.image_rmse(a, a + 1e4) == 1.0


# -- swaptions ------------------------------------------------------------------------------------

DT = swaptions.DT


def bonds(rate, count):
    """Today's zero-coupon bond prices P(0, k DT), k = 1..count."""
    curve = swaptions.initial_curve(rate, count)
    return [math.exp(-DT * sum(curve[:k])) for k in range(1, count + 1)]


def forward_value(strike, expiry, tenor, rate):
    """Today's value of the forward-starting payer swap."""
    steps, end = round(expiry / DT), round((expiry + tenor) / DT)
    p = bonds(rate, end)
    return p[steps - 1] - p[end - 1] - strike * DT * sum(p[steps:end])


def one_period_price(strike, expiry, vol, rate):
    """Closed form for a swap of one period: a put on the bond P(T, T + DT) in Ho–Lee."""
    steps = round(expiry / DT)
    p_t, p_s = bonds(rate, steps + 1)[-2:]
    x = 1.0 / (1.0 + strike * DT)
    spread = vol * DT * math.sqrt(expiry)
    h = math.log(p_s / (p_t * x)) / spread + spread / 2
    n = NormalDist().cdf
    return (x * p_t * n(-h + spread) - p_s * n(-h)) / x


def test_swaptions_prices_positive_and_deterministic():
    for args in swaptions.make_inputs(5, seed=3):
        value = swaptions.price(*args, paths=200)
        assert value > 0.0
        assert swaptions.price(*args, paths=200) == value
        assert swaptions.price(*args[:-1], args[-1] + 1, paths=200) != value


def test_swaptions_price_rises_with_volatility():
    strike = swaptions.forward_swap_rate(2.0, 3.0, 0.03)
    low, mid, high = (swaptions.price(strike, 2.0, 3.0, vol, 0.03, 5, paths=500)
                      for vol in (0.005, 0.01, 0.015))
    assert low < mid < high


def test_swaptions_zero_volatility_is_the_forward_swap():
    strike = 0.8 * swaptions.forward_swap_rate(3.0, 2.0, 0.04)  # in the money
    expected = forward_value(strike, 3.0, 2.0, 0.04)
    assert expected > 0
    assert swaptions.price(strike, 3.0, 2.0, 0.0, 0.04, 1, paths=10) == pytest.approx(expected, rel=1e-12)


def test_swaptions_one_period_matches_the_closed_form():
    strike = swaptions.forward_swap_rate(2.0, DT, 0.03)
    value = swaptions.price(strike, 2.0, DT, 0.01, 0.03, 11, paths=8000)
    assert value == pytest.approx(one_period_price(strike, 2.0, 0.01, 0.03), rel=0.03)


def test_swaptions_drift_keeps_bond_prices_martingales():
    # with a strike of -1 the swap is always worth more than 0: the price is its forward value,
    # which needs the discrete HJM drift on every forward rate (without it: about 1% off)
    value = swaptions.price(-1.0, 5.0, 5.0, 0.015, 0.03, 0, paths=2000)
    assert value == pytest.approx(forward_value(-1.0, 5.0, 5.0, 0.03), rel=0.006)


def test_swaptions_inputs_near_the_money():
    for strike, expiry, tenor, vol, rate, _ in swaptions.make_inputs(20, seed=2):
        assert 1.0 <= expiry <= 5.0 and 1.0 <= tenor <= 5.0 and 0.005 <= vol <= 0.015
        assert 0.8 <= strike / swaptions.forward_swap_rate(expiry, tenor, rate) <= 1.1


# -- kmeans segmentation --------------------------------------------------------------------------

def test_kmeans_segment_keeps_the_shape_with_at_most_k_colours():
    (image,) = kmeans.make_inputs(1, seed=3, size=48)[0]
    out = kmeans.segment(image)
    assert out.shape == image.shape == (48, 48, 3)
    assert len(np.unique(out.reshape(-1, 3), axis=0)) <= kmeans.CLUSTERS
    assert kmeans.QUALITY(image, out) < 0.1


def test_kmeans_segment_reproduces_k_flat_regions():
    colours = np.array([[250, 10, 10], [10, 200, 30], [20, 20, 220], [240, 240, 0], [0, 0, 0],
                        [128, 128, 128]], dtype=float)[:kmeans.CLUSTERS]
    image = np.repeat(colours[None, :, :], 5, axis=1).repeat(12, axis=0)  # k vertical bands
    out = kmeans.segment(image)
    assert kmeans.QUALITY(image, out) < 1e-12
    assert np.array_equal(kmeans.segment(image), out)  # deterministic start, no random draw


def test_kmeans_segment_inputs_are_rgb_images_it_leaves_alone():
    images = kmeans.make_inputs(2, seed=1, size=16)
    assert all(len(args) == 1 and args[0].shape == (16, 16, 3) for args in images)
    assert all(args[0].min() >= 0 and args[0].max() <= 255 for args in images)
    before = images[0][0].copy()
    kmeans.segment(images[0][0])
    assert np.array_equal(images[0][0], before)  # the centroids are a copy of some pixels


def test_sites_kmeans_segment_loops():
    ids = {s.id for s in ax.sites(kmeans.segment, families=["perforate"],
                                  example_inputs=kmeans.make_inputs(3, size=16))}
    assert ids == {"kmeans.segment/for#0", "kmeans.segment/for#1"}  # iterations, clusters


# -- all of them ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("module", "kwargs"), [
    (jmeint, {"pairs": 16}), (jpeg, {"size": 16}), (kmeans, {"size": 16}), (swaptions, {}),
])
def test_make_inputs_deterministic_per_seed(module, kwargs):
    def same(a, b):
        return all(np.array_equal(x, y) for xs, ys in zip(a, b) for x, y in zip(xs, ys))

    first = module.make_inputs(3, seed=1, **kwargs)
    assert len(first) == 3 and all(isinstance(args, tuple) for args in first)
    assert same(first, module.make_inputs(3, seed=1, **kwargs))
    assert not same(first, module.make_inputs(3, seed=2, **kwargs))


def test_sites_jpeg_precision():
    ids = {s.id for s in ax.sites(jpeg.jpeg, families=["precision"],
                                  example_inputs=jpeg.make_inputs(3, size=32))}
    assert {"jpeg.jpeg/var:quantized", "jpeg.block_idct/var:rows"} <= ids


def test_sites_swaptions_loops():
    ids = {s.id for s in ax.sites(swaptions.price, families=["perforate"])}
    assert {f"swaptions.price/for#{k}" for k in range(3)} | {"swaptions.swap_value/for#0",
                                                             "swaptions.initial_curve/comp#0"} == ids


def test_sites_jmeint_substitutes_the_helper():
    found = {s.id: s for s in ax.sites(jmeint.jmeint, families=["substitute"],
                                       example_inputs=jmeint.make_inputs(3))}
    helper = found["jmeint.jmeint/call:intersects"]
    assert helper.knob.choices  # element-wise in the 18 coordinates: surrogates are offered


def test_exact_config_is_bit_identical():
    (pairs,) = jmeint.make_inputs(1, pairs=64)[0]
    assert np.array_equal(ax.apply(jmeint.jmeint, {})(pairs), jmeint.jmeint(pairs))
    (image,) = jpeg.make_inputs(1, size=32)[0]
    assert np.array_equal(ax.apply(jpeg.jpeg, {})(image), jpeg.jpeg(image))
    args = swaptions.make_inputs(1)[0]
    assert ax.apply(swaptions.price, {})(*args, paths=50) == swaptions.price(*args, paths=50)


@pytest.mark.parametrize(("fn", "inputs", "quality", "options"), [
    (jmeint.jmeint, lambda: jmeint.make_inputs(180, pairs=128), jmeint.QUALITY, {"bound": 0.1}),
    (jpeg.jpeg, lambda: jpeg.make_inputs(180, size=32), jpeg.QUALITY, {"bound": 0.1}),
    # small budgets: few paths (the 7th argument), one loop, a bound 50 held-out inputs can reach
    (swaptions.price, lambda: [a + (40,) for a in swaptions.make_inputs(100)], swaptions.QUALITY,
     {"bound": 0.2, "select": "swaptions.price/for#0"}),
], ids=["jmeint", "jpeg", "swaptions"])
def test_approximate_end_to_end(fn, inputs, quality, options):
    items = inputs()
    result = ax.approximate(fn, items, quality=quality, holdout=len(items) // 2,
                            budget=ax.Budget(trials=4), seed=0, repeats=1, progress=False, **options)
    assert result.settings["sites"]
    best = result.best
    assert best.is_exact or (best.certified and best.certificate.upper <= options["bound"])


def test_swaption_inputs_can_name_the_number_of_paths():
    plain, with_paths = swaptions.make_inputs(3, seed=2), swaptions.make_inputs(3, seed=2, paths=40)
    assert all(len(a) == 6 for a in plain) and [(*a, 40) for a in plain] == with_paths
    assert swaptions.price(*with_paths[0]) == swaptions.price(*plain[0], paths=40)
