"""Bounds tested three ways (design.md §6.8): closed forms, scipy as an external reference, and
coverage by simulation. Plus the error messages and the promise never to mutate the input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from approxify.errors import InvalidArgument, InvalidArgumentType, NotEnoughInputs
from approxify.stats import (
    bernstein_upper,
    betting_upper,
    clopper_pearson_lower,
    clopper_pearson_upper,
    hoeffding_upper,
    mean_upper_bound,
    min_samples,
)

CONFIDENCES = [0.5, 0.8, 0.9, 0.95, 0.99, 0.999]


# --- 1. closed forms ------------------------------------------------------------------------------


def test_hoeffding_matches_hand_computation():
    # mean 0.2, n=100, delta=0.05: 0.2 + sqrt(ln(20) / 200) = 0.2 + 0.1223873...
    losses = [0.0, 0.4] * 50
    assert hoeffding_upper(losses, confidence=0.95) == pytest.approx(0.3223873415340408, abs=1e-15)


@pytest.mark.parametrize("n", [1, 7, 100, 10_000])
@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_hoeffding_formula(n, confidence):
    losses = np.linspace(0.0, 0.2, n)
    expected = min(1.0, losses.mean() + math.sqrt(math.log(1 / (1 - confidence)) / (2 * n)))
    assert hoeffding_upper(losses, confidence=confidence) == pytest.approx(expected, rel=1e-12)


def test_bernstein_matches_hand_computation():
    # mean 0.5, V = 0.25 * 100/99, n=100, delta=0.05, ln(2/delta) = ln(40)
    losses = [0.0, 1.0] * 50
    assert bernstein_upper(losses, confidence=0.95) == pytest.approx(0.7234376248253158, abs=1e-15)


def test_bernstein_constant_losses_leave_only_the_range_term():
    # V = 0: mean + 7 ln(2/delta) / (3 (n - 1)) = 0.05 + 7 ln(40) / 297
    assert bernstein_upper([0.05] * 100, confidence=0.95) == pytest.approx(
        0.05 + 7 * math.log(40) / 297, rel=1e-12
    )


def test_bounds_are_clipped_to_one():
    assert hoeffding_upper([1.0, 1.0], confidence=0.95) == 1.0
    assert bernstein_upper([0.9, 1.0], confidence=0.95) == 1.0
    assert mean_upper_bound([0.5], confidence=0.95) == (1.0, "betting")
    assert mean_upper_bound([0.5], confidence=0.95, method="union") == (1.0, "hoeffding")


def test_bernstein_beats_hoeffding_when_losses_are_mostly_zero():
    losses = np.zeros(2000)
    losses[::50] = 0.3
    assert bernstein_upper(losses, confidence=0.95) < hoeffding_upper(losses, confidence=0.95)


@pytest.mark.parametrize("n", [1, 2, 10, 400, 100_000])
@pytest.mark.parametrize("confidence", CONFIDENCES)
def test_clopper_pearson_at_the_extremes(n, confidence):
    delta = 1 - confidence
    assert clopper_pearson_upper(0, n, confidence=confidence) == pytest.approx(
        1 - delta ** (1 / n), rel=1e-10
    )
    assert clopper_pearson_lower(n, n, confidence=confidence) == pytest.approx(
        delta ** (1 / n), rel=1e-10
    )
    assert clopper_pearson_upper(n, n, confidence=confidence) == 1.0
    assert clopper_pearson_lower(0, n, confidence=confidence) == 0.0


@pytest.mark.parametrize("k", [0, 1, 5, 19, 20])
def test_clopper_pearson_lower_mirrors_upper(k):
    lower = clopper_pearson_lower(k, 20, confidence=0.9)
    assert lower == pytest.approx(1 - clopper_pearson_upper(20 - k, 20, confidence=0.9), abs=1e-12)
    assert lower <= k / 20 <= clopper_pearson_upper(k, 20, confidence=0.9)


def test_mean_upper_bound_auto_picks_clopper_pearson_for_binary_losses():
    losses = [0, 0, 1, 0] * 25
    bound, method = mean_upper_bound(losses, confidence=0.95)
    assert method == "clopper-pearson"
    assert bound == clopper_pearson_upper(25, 100, confidence=0.95)
    assert mean_upper_bound([True, False], confidence=0.9)[1] == "clopper-pearson"


@pytest.mark.parametrize("spread", [0.01, 0.3, 0.9])
def test_mean_upper_bound_union_is_the_union_bound_at_half_delta(spread):
    losses = np.linspace(0.0, spread, 300)
    half = 1 - 0.05 / 2
    candidates = {
        "hoeffding": hoeffding_upper(losses, confidence=half),
        "bernstein": bernstein_upper(losses, confidence=half),
    }
    bound, method = mean_upper_bound(losses, confidence=0.95, method="union")
    assert bound == min(candidates.values())
    assert candidates[method] == bound


@pytest.mark.parametrize("spread", [0.01, 0.3, 0.9])
def test_mean_upper_bound_auto_is_betting_for_fractional_losses(spread):
    losses = np.linspace(0.0, spread, 300)
    assert mean_upper_bound(losses, confidence=0.95) == (betting_upper(losses, confidence=0.95), "betting")


def test_mean_upper_bound_explicit_methods():
    losses = np.linspace(0.0, 0.5, 50)
    assert mean_upper_bound(losses, confidence=0.9, method="hoeffding") == (
        hoeffding_upper(losses, confidence=0.9),
        "hoeffding",
    )
    assert mean_upper_bound(losses, confidence=0.9, method="bernstein") == (
        bernstein_upper(losses, confidence=0.9),
        "bernstein",
    )
    binary = [0.0, 1.0, 0.0]
    assert mean_upper_bound(binary, confidence=0.9, method="clopper-pearson") == (
        clopper_pearson_upper(1, 3, confidence=0.9),
        "clopper-pearson",
    )


@pytest.mark.parametrize(
    ("method", "binary", "expected"),
    [
        ("hoeffding", False, 600),  # ceil(ln 20 / (2 * 0.05**2)) = ceil(599.15)
        ("bernstein", False, 174),  # 1 + ceil(7 ln 40 / 0.15) = 1 + ceil(172.15)
        ("clopper-pearson", False, 59),  # ceil(ln 0.05 / ln 0.95) = ceil(58.4)
        ("auto", True, 59),
        ("union", False, 206),  # bernstein at delta/2: 1 + ceil(7 ln 80 / 0.15) = 1 + ceil(204.5)
        # every bet at its truncation 0.9 / (1 - m) would need ceil(ln 20 / ln(1 + 0.9 * 0.05 /
        # 0.95)) = ceil(64.7) = 65; the first bet, sqrt(2 ln 20 / (0.25 n)) = 0.60, is below it
        ("auto", False, 66),
        ("betting", False, 66),
    ],
)
def test_min_samples_known_values(method, binary, expected):
    assert min_samples(0.05, confidence=0.95, method=method, binary=binary) == expected


def test_min_samples_rule_of_three():
    # zero events in n trials certify p <= 0.01 at 95% once n >= ln(0.05)/ln(0.99) = 298.07
    assert min_samples(0.01, confidence=0.95, method="clopper-pearson") == 299


BOUNDS = [0.001, 0.013, 0.05, 0.1, 0.25, 0.5, 0.9]


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
def test_min_samples_closed_forms(bound, confidence):
    delta = 1 - confidence
    closed = {
        "hoeffding": math.ceil(math.log(1 / delta) / (2 * bound**2)),
        "bernstein": 1 + math.ceil(7 * math.log(2 / delta) / (3 * bound)),
        "clopper-pearson": math.ceil(math.log(delta) / math.log(1 - bound)),
    }
    for method, n in closed.items():
        # the ceil of a float can land one off when the real value is (nearly) an integer
        assert abs(min_samples(bound, confidence=confidence, method=method) - n) <= 1


def _zero_loss_bound(method, binary, n, confidence):
    """The bound a perfect variant gets, through the public functions only."""
    if method == "auto" and not binary:
        # tiny non-binary losses: auto must use its Hoeffding/Bernstein branch
        return mean_upper_bound(np.full(n, 1e-300), confidence=confidence)[0]
    if method == "bernstein" and n < 2:
        return 1.0
    return mean_upper_bound(np.zeros(n), confidence=confidence, method=method)[0]


@pytest.mark.parametrize("bound", BOUNDS)
@pytest.mark.parametrize("confidence", [0.5, 0.9, 0.95, 0.99])
@pytest.mark.parametrize(
    ("method", "binary"),
    [("hoeffding", False), ("bernstein", False), ("clopper-pearson", False),
     ("auto", True), ("auto", False)],
)
def test_min_samples_is_exact(bound, confidence, method, binary):
    n = min_samples(bound, confidence=confidence, method=method, binary=binary)
    assert _zero_loss_bound(method, binary, n, confidence) <= bound
    if n > 1:
        assert _zero_loss_bound(method, binary, n - 1, confidence) > bound


# --- 2. external reference: scipy's binomtest (its own root finder, not beta.ppf) ----------------


@pytest.mark.parametrize("n", [1, 2, 5, 30, 400, 5000])
@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95, 0.99])
def test_clopper_pearson_matches_scipy_binomtest(n, confidence):
    delta = 1 - confidence
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        result = scipy_stats.binomtest(k, n)
        two_sided = result.proportion_ci(confidence_level=1 - 2 * delta, method="exact")
        upper = clopper_pearson_upper(k, n, confidence=confidence)
        lower = clopper_pearson_lower(k, n, confidence=confidence)
        assert upper == pytest.approx(two_sided.high, abs=1e-10)
        assert lower == pytest.approx(two_sided.low, abs=1e-10)
        one_sided = scipy_stats.binomtest(k, n, alternative="less").proportion_ci(
            confidence_level=confidence, method="exact"
        )
        assert upper == pytest.approx(one_sided.high, abs=1e-10)


# --- 3. coverage by simulation -------------------------------------------------------------------

TRIALS = 2000


def _allowed_miss_rate(confidence, trials=TRIALS):
    """delta plus a 3-sigma binomial Monte Carlo margin."""
    delta = 1 - confidence
    return delta + 3 * math.sqrt(delta * (1 - delta) / trials)


def _miss_rate(samples, true_mean, confidence, method):
    misses = [mean_upper_bound(row, confidence=confidence, method=method)[0] < true_mean
              for row in samples]
    return float(np.mean(misses))


def _bernoulli(rng, p, n):
    return (rng.random((TRIALS, n)) < p).astype(float), p


def _beta(rng, a, b, n):
    return rng.beta(a, b, size=(TRIALS, n)), a / (a + b)


def _zero_inflated(rng, zero, a, b, n):
    """Point mass at 0 with probability `zero`, else Beta(a, b): the typical approximation."""
    values = np.where(rng.random((TRIALS, n)) < zero, 0.0, rng.beta(a, b, size=(TRIALS, n)))
    return values, (1 - zero) * a / (a + b)


def _almost_binary(rng, n):
    """Mass at 0, at 1 (failures) and a little at 0.99: auto then often sees an all-0/1 sample
    and uses Clopper-Pearson on data that is not quite binary (its least favourable case)."""
    values = rng.choice([0.0, 0.99, 1.0], p=[0.794, 0.006, 0.2], size=(TRIALS, n))
    return values, 0.006 * 0.99 + 0.2


SCENARIOS = {
    "bernoulli-rare": lambda rng: _bernoulli(rng, 0.02, 100),
    "bernoulli-common": lambda rng: _bernoulli(rng, 0.3, 40),
    "beta-skewed": lambda rng: _beta(rng, 0.5, 6.0, 60),
    "beta-central": lambda rng: _beta(rng, 4.0, 4.0, 20),
    "zero-inflated": lambda rng: _zero_inflated(rng, 0.8, 2.0, 5.0, 200),
    "almost-binary": lambda rng: _almost_binary(rng, 10),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("method", ["auto", "hoeffding", "bernstein", "union"])
def test_upper_bounds_cover_the_true_mean(scenario, method):
    confidence = 0.9
    samples, true_mean = SCENARIOS[scenario](np.random.default_rng(20240611))
    assert _miss_rate(samples, true_mean, confidence, method) <= _allowed_miss_rate(confidence)


@pytest.mark.parametrize("p", [0.01, 0.1, 0.5])
def test_clopper_pearson_covers_and_is_nearly_exact(p):
    confidence = 0.9
    samples, _ = _bernoulli(np.random.default_rng(7), p, 80)
    rate = _miss_rate(samples, p, confidence, "clopper-pearson")
    assert rate <= _allowed_miss_rate(confidence)
    # the harness has power: a bound computed at a much lower confidence misses far more often
    assert _miss_rate(samples, p, 0.5, "clopper-pearson") > _allowed_miss_rate(confidence)


def test_clopper_pearson_lower_covers():
    confidence, p, n = 0.9, 0.7, 50
    k = np.random.default_rng(11).binomial(n, p, size=TRIALS)
    misses = [clopper_pearson_lower(int(x), n, confidence=confidence) > p for x in k]
    assert np.mean(misses) <= _allowed_miss_rate(confidence)


# --- errors: name the argument, what was expected, what was given, the fix ------------------------


@pytest.mark.parametrize(
    ("losses", "error", "words"),
    [
        ([], InvalidArgument, ["losses", "empty", "held-out"]),
        ([0.1, float("nan")], InvalidArgument, ["losses", "NaN", "index 1", "loss 1"]),
        ([0.1, -0.2], InvalidArgument, ["losses", "[0, 1]", "-0.2", "index 1", "np.clip"]),
        ([0.1, 1.5], InvalidArgument, ["losses", "[0, 1]", "1.5"]),
        ([0.1, float("inf")], InvalidArgument, ["losses", "[0, 1]", "inf"]),
        ([[0.1, 0.2], [0.3, 0.4]], InvalidArgument, ["losses", "1-D", "(2, 2)", "np.ravel"]),
        ("0.1", InvalidArgumentType, ["losses", "str", "list"]),
        (None, InvalidArgumentType, ["losses", "NoneType"]),
        (0.3, InvalidArgument, ["losses", "1-D", "()"]),
        (["a", "b"], InvalidArgumentType, ["losses", "float"]),
    ],
)
def test_bad_losses_are_explained(losses, error, words):
    for function in (hoeffding_upper, bernstein_upper, mean_upper_bound):
        with pytest.raises(error) as info:
            function(losses, confidence=0.95)
        for word in words:
            assert word in str(info.value)


@pytest.mark.parametrize(
    ("confidence", "error", "words"),
    [
        (95, InvalidArgument, ["confidence", "between 0 and 1", "95", "0.95", "percentage"]),
        (0.0, InvalidArgument, ["confidence", "between 0 and 1", "0.95"]),
        (1.0, InvalidArgument, ["confidence", "between 0 and 1"]),
        (float("nan"), InvalidArgument, ["confidence", "finite"]),
        (True, InvalidArgumentType, ["confidence", "real number", "bool"]),
        ("0.95", InvalidArgumentType, ["confidence", "real number", "str"]),
    ],
)
def test_bad_confidence_is_explained(confidence, error, words):
    calls = [
        lambda: hoeffding_upper([0.1], confidence=confidence),
        lambda: clopper_pearson_upper(1, 5, confidence=confidence),
        lambda: min_samples(0.1, confidence=confidence),
    ]
    for call in calls:
        with pytest.raises(error) as info:
            call()
        for word in words:
            assert word in str(info.value)


def test_unknown_method_lists_the_known_ones():
    with pytest.raises(InvalidArgument) as info:
        mean_upper_bound([0.1], confidence=0.9, method="chernoff")
    message = str(info.value)
    known = ["'auto'", "'hoeffding'", "'bernstein'", "'clopper-pearson'"]
    for word in ["method", "'chernoff'", *known]:
        assert word in message
    with pytest.raises(InvalidArgument, match="method"):
        min_samples(0.1, confidence=0.9, method="Hoeffding")


def test_clopper_pearson_method_refuses_fractional_losses():
    with pytest.raises(InvalidArgument) as info:
        mean_upper_bound([0.0, 0.25, 1.0], confidence=0.9, method="clopper-pearson")
    for word in ["clopper-pearson", "0 or 1", "0.25", "index 1", "method='auto'"]:
        assert word in str(info.value)


def test_bernstein_needs_two_losses():
    with pytest.raises(NotEnoughInputs) as info:
        bernstein_upper([0.1], confidence=0.9)
    assert "at least 2" in str(info.value) and "hoeffding_upper" in str(info.value)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("k", "n", "error", "words"),
    [
        (3, 2, InvalidArgument, ["k", "at most n=2", "k=3", "swapped"]),
        (-1, 5, InvalidArgument, ["k", "at least 0", "-1"]),
        (0, 0, InvalidArgument, ["n", "at least 1", "0"]),
        (1.0, 5, InvalidArgumentType, ["k", "int", "float"]),
        (1, True, InvalidArgumentType, ["n", "int", "bool"]),
    ],
)
def test_bad_counts_are_explained(k, n, error, words):
    for function in (clopper_pearson_upper, clopper_pearson_lower):
        with pytest.raises(error) as info:
            function(k, n, confidence=0.9)
        for word in words:
            assert word in str(info.value)


def test_counts_accept_numpy_integers():
    assert clopper_pearson_upper(np.int64(0), np.int32(10), confidence=0.9) == pytest.approx(
        1 - 0.1 ** (1 / 10), rel=1e-12
    )


@pytest.mark.parametrize("bound", [0.0, 1.0, 5, -0.1])
def test_min_samples_refuses_bounds_outside_the_unit_interval(bound):
    with pytest.raises(InvalidArgument) as info:
        min_samples(bound, confidence=0.95)
    assert "bound" in str(info.value) and "0.05" in str(info.value)


@pytest.mark.parametrize(("bound", "method"), [(1e-9, "hoeffding"), (1e-200, "auto"),
                                               (5e-324, "bernstein"), (1e-300, "clopper-pearson")])
def test_min_samples_refuses_impossible_precision(bound, method):
    with pytest.raises(InvalidArgument) as info:
        min_samples(bound, confidence=0.95, method=method)
    assert "2**53" in str(info.value) and "larger bound" in str(info.value)


def test_min_samples_binary_must_be_a_bool():
    with pytest.raises(InvalidArgumentType, match="binary"):
        min_samples(0.1, confidence=0.9, binary=1)


def test_errors_subclass_the_builtins():
    with pytest.raises(ValueError):
        hoeffding_upper([], confidence=0.9)
    with pytest.raises(TypeError):
        hoeffding_upper(None, confidence=0.9)


# --- inputs --------------------------------------------------------------------------------------


def test_inputs_are_not_mutated_and_types_are_accepted():
    array = np.array([0.0, 0.25, 1.0, 0.5])
    before = array.copy()
    as_list = [0.0, 0.25, 1.0, 0.5]
    results = {
        mean_upper_bound(loss, confidence=0.9, method=m)
        for loss in (array, as_list, tuple(as_list), array.astype(np.float32))
        for m in ("auto",)
    }
    assert len(results) == 1
    hoeffding_upper(array, confidence=0.9)
    bernstein_upper(array, confidence=0.9)
    assert np.array_equal(array, before) and as_list == [0.0, 0.25, 1.0, 0.5]


def test_results_are_plain_python_types():
    bound, method = mean_upper_bound(np.zeros(10), confidence=0.9)
    assert type(bound) is float and type(method) is str
    assert type(hoeffding_upper(np.zeros(3), confidence=0.9)) is float
    assert type(clopper_pearson_lower(2, 3, confidence=0.9)) is float
    assert type(min_samples(0.1, confidence=0.9)) is int
