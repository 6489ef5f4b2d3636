"""Certificates: fields against the bounds, statements in words, JSON round trip, validation,
and family-wise coverage of certify_many by simulation (design.md §6.8)."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from approxify.errors import InvalidArgument, InvalidArgumentType, NotEnoughInputs
from approxify.stats import (
    Certificate,
    certify,
    certify_many,
    clopper_pearson_lower,
    clopper_pearson_upper,
    mean_upper_bound,
)


def _example(**changes):
    fields = dict(
        n=400,
        mean=0.021,
        upper=0.0412,
        bound=0.05,
        confidence=0.95,
        method="bernstein",
        holds=True,
        identical=340,
        reliability_lower=0.8123,
        failures=1,
        failure_upper=0.0075,
    )
    fields.update(changes)
    return Certificate(**fields)


def _mostly_zero(n=400, seed=0):
    rng = np.random.default_rng(seed)
    losses = np.where(rng.random(n) < 0.85, 0.0, rng.beta(1.0, 30.0, n))
    losses[:2] = 1.0  # two failures
    return losses


# --- certify: fields agree with the bounds --------------------------------------------------------


def test_certify_fields_come_from_the_bounds():
    losses = _mostly_zero()
    certificate = certify(losses, bound=0.05, failures=2)
    upper, method = mean_upper_bound(losses, confidence=0.95)
    identical = int(np.count_nonzero(losses == 0.0))
    assert certificate == Certificate(
        n=400,
        mean=float(losses.mean()),
        upper=upper,
        bound=0.05,
        confidence=0.95,
        method=method,
        holds=upper <= 0.05,
        identical=identical,
        reliability_lower=clopper_pearson_lower(identical, 400, confidence=0.95),
        failures=2,
        failure_upper=clopper_pearson_upper(2, 400, confidence=0.95),
        selected_upper=upper,  # certified alone: the same bound
    )
    assert certificate.correction == "none" and certificate.tested


def test_certify_holds_and_does_not_hold():
    losses = _mostly_zero()
    assert certify(losses, bound=0.03).holds  # betting upper 0.0253
    assert not certify(losses, bound=0.025).holds


def test_tolerance_counts_small_losses_as_identical():
    losses = [0.0, 1e-7, 1e-3, 0.5]
    assert certify(losses, bound=0.99, confidence=0.5).identical == 1
    assert certify(losses, bound=0.99, confidence=0.5, tolerance=1e-6).identical == 2


def test_binary_losses_use_clopper_pearson():
    losses = np.zeros(300)
    losses[:3] = 1.0
    certificate = certify(losses, bound=0.05, failures=3)
    assert certificate.method == "clopper-pearson"
    assert certificate.upper == clopper_pearson_upper(3, 300, confidence=0.95)
    assert certificate.failure_upper == certificate.upper


def test_certify_does_not_mutate_its_input():
    losses = _mostly_zero()
    before = losses.copy()
    as_list = losses.tolist()
    assert certify(losses, bound=0.1) == certify(as_list, bound=0.1)
    certify_many([losses, as_list], bound=0.1)
    assert np.array_equal(losses, before) and as_list == before.tolist()


# --- statements -----------------------------------------------------------------------------------


def test_statement_when_the_bound_holds():
    assert _example().statement() == (
        "With 95% confidence the mean loss on inputs like these is at most 0.0412 "
        "(bound 0.05: holds; bernstein, n=400 held-out inputs). "
        "Identical output on at least 81.2% of inputs; failure rate at most 0.75%."
    )


def test_statement_when_the_bound_does_not_hold():
    text = _example(upper=0.0712, holds=False).statement()
    assert "at most 0.0712 (bound 0.05: does not hold; bernstein, n=400 held-out inputs)" in text


def test_statement_rounds_outwards():
    text = _example(upper=0.041201, reliability_lower=0.81299, failure_upper=0.0074101).statement()
    assert "at most 0.0413 " in text  # upper bound rounded up
    assert "at least 81.2% " in text  # lower bound rounded down
    assert "at most 0.742%." in text
    assert _example(confidence=0.99999).statement().startswith("With 99.99% confidence")


def test_statement_with_tolerance_and_bonferroni():
    text = _example(tolerance=0.001, confidence=1 - 0.05 / 3, correction="bonferroni").statement()
    assert text.startswith("With 98.33% confidence")
    assert "bernstein, Bonferroni-corrected, n=400" in text
    assert "Output within tolerance 0.001 on at least 81.2% of inputs" in text


def test_statement_when_not_tested():
    certificate = _example(
        upper=1.0, holds=False, tested=False, correction="fixed-sequence", mean=0.03125
    )
    assert certificate.statement() == (
        "Not tested: the fixed-sequence procedure stopped at an earlier configuration that did "
        "not hold, so nothing is certified here (bound 0.05; observed mean loss 0.0312 on "
        "n=400 held-out inputs)."
    )


# --- JSON round trip ------------------------------------------------------------------------------


def _round_trip(certificate):
    text = json.dumps(certificate.to_dict(), allow_nan=False)
    return Certificate.from_dict(json.loads(text))


def test_json_round_trip_is_exact():
    losses = _mostly_zero()
    certificates = [
        _example(),
        _example(tolerance=1e-6),
        certify(losses, bound=0.05, failures=2, tolerance=1e-9),
        *certify_many([losses * 0.5, losses, losses], bound=0.015, failures=[0, 2, 2]),
        *certify_many([losses, losses], bound=0.1, correction="bonferroni"),
    ]
    assert any(not c.tested for c in certificates)
    for certificate in certificates:
        assert _round_trip(certificate) == certificate
        assert _round_trip(certificate).to_dict() == certificate.to_dict()


def test_to_dict_holds_plain_python_values_even_from_numpy_scalars():
    certificate = _example(n=np.int64(400), mean=np.float32(0.25), identical=np.int32(300),
                           holds=np.bool_(True))
    data = certificate.to_dict()
    assert {type(v) for v in data.values()} <= {int, float, bool, str, type(None)}
    assert type(data["n"]) is int and type(data["mean"]) is float and type(data["holds"]) is bool


def test_from_dict_names_missing_and_unknown_keys():
    data = _example().to_dict()
    del data["mean"]
    data["colour"] = "red"
    with pytest.raises(InvalidArgument) as info:
        Certificate.from_dict(data)
    assert "missing ['mean']" in str(info.value) and "unknown ['colour']" in str(info.value)
    assert "to_dict()" in str(info.value)
    with pytest.raises(InvalidArgumentType, match="mapping"):
        Certificate.from_dict([("n", 1)])


# --- validation in __post_init__ ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "error", "words"),
    [
        (dict(holds=False), InvalidArgument, ["holds", "upper <= bound", "certify()"]),
        (dict(upper=0.06), InvalidArgument, ["holds", "upper <= bound"]),
        (dict(method="auto"), InvalidArgument, ["method", "'auto'", "'bernstein'", "'hoeffding'"]),
        (dict(identical=401), InvalidArgument, ["identical", "at most 400"]),
        (dict(identical=400), InvalidArgument, ["identical", "failures", "n (400)"]),
        (dict(mean=1.5), InvalidArgument, ["mean", "[0, 1]"]),
        (dict(confidence=95), InvalidArgument, ["confidence", "percentage"]),
        (dict(correction="holm"), InvalidArgument, ["correction", "'bonferroni'"]),
        (dict(tested=False), InvalidArgument, ["tested=False", "holds=False"]),
        (dict(tolerance=1.0), InvalidArgument, ["tolerance", "[0, 1)"]),
        (dict(n=400.0), InvalidArgumentType, ["n", "int", "float"]),
        (dict(holds=1), InvalidArgumentType, ["holds", "True or False"]),
    ],
)
def test_inconsistent_certificates_are_refused(changes, error, words):
    with pytest.raises(error) as info:
        _example(**changes)
    for word in words:
        assert word in str(info.value)


def test_certificates_are_frozen_and_keyword_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        _example().holds = False
    with pytest.raises(TypeError):
        Certificate(400, 0.02, 0.04, 0.05, 0.95, "bernstein", True, 340, 0.0, 0.8, 1, 0.01)


# --- certify: errors ------------------------------------------------------------------------------


def test_too_few_inputs_are_refused_before_anything_is_claimed():
    with pytest.raises(NotEnoughInputs) as info:
        certify(np.zeros(50), bound=0.01)
    for word in ["losses", "50", "299", "bound=0.01", "even if every loss is 0", "more held-out"]:
        assert word in str(info.value)
    with pytest.raises(NotEnoughInputs, match=r"loss_lists\[1\]"):
        certify_many([np.zeros(400), np.full(50, 0.001)], bound=0.05)


def test_failures_must_be_recorded_as_loss_one():
    with pytest.raises(InvalidArgument) as info:
        certify([0.0, 1.0, 0.5] * 40, bound=0.9, failures=41)
    assert "failures" in str(info.value) and "loss 1" in str(info.value)
    with pytest.raises(InvalidArgument, match="at most 3"):
        certify([1.0, 1.0, 1.0], bound=0.99, confidence=0.5, failures=4)
    with pytest.raises(InvalidArgumentType, match="failures"):
        certify([1.0], bound=0.99, confidence=0.1, failures=1.0)


def test_certify_checks_its_options():
    with pytest.raises(InvalidArgument, match="bound"):
        certify([0.0] * 100, bound=5)
    with pytest.raises(InvalidArgument, match="method"):
        certify([0.0] * 100, bound=0.1, method="exact")
    with pytest.raises(InvalidArgument, match="tolerance"):
        certify([0.0] * 100, bound=0.1, tolerance=-1e-3)


# --- certify_many ---------------------------------------------------------------------------------


def test_bonferroni_certifies_each_at_the_corrected_confidence():
    lists = [_mostly_zero(seed=s) for s in range(4)]
    certificates = certify_many(lists, bound=0.05, confidence=0.9, correction="bonferroni")
    for losses, certificate in zip(lists, certificates):
        expected = certify(losses, bound=0.05, confidence=1 - 0.1 / 4)
        assert certificate == dataclasses.replace(expected, correction="bonferroni", family=4)


def test_fixed_sequence_stops_at_the_first_failure():
    safe, risky = np.zeros(400), np.full(400, 0.2)
    certificates = certify_many([safe, safe, risky, safe], bound=0.05, confidence=0.9)
    assert [c.holds for c in certificates] == [True, True, False, False]
    assert [c.tested for c in certificates] == [True, True, True, False]
    assert all(c.confidence == 0.9 and c.correction == "fixed-sequence" for c in certificates)
    assert certificates[3].mean == 0.0 and certificates[3].upper == 1.0
    # the test at the full level; the figures printed at 1 - 0.1 / 4, true for all four at once
    alone, joint = certify(safe, bound=0.05, confidence=0.9), certify(safe, bound=0.05, confidence=1 - 0.1 / 4)
    assert certificates[0] == dataclasses.replace(
        alone, correction="fixed-sequence", family=4, selected_upper=joint.upper,
        reliability_lower=joint.reliability_lower, failure_upper=joint.failure_upper)


def test_certify_many_takes_failures_and_a_2d_array():
    losses = np.zeros((3, 200))
    losses[1, :4] = 1.0
    certificates = certify_many(losses, bound=0.2, failures=[0, 4, 0])
    assert [c.failures for c in certificates] == [0, 4, 0]
    assert certificates[1].failure_upper == clopper_pearson_upper(4, 200, confidence=1 - 0.05 / 3)


@pytest.mark.parametrize(
    ("call", "error", "words"),
    [
        (lambda: certify_many([0.1, 0.2], bound=0.5), InvalidArgument, ["flat", "certify("]),
        (lambda: certify_many(np.zeros(100), bound=0.5), InvalidArgument, ["flat"]),
        (lambda: certify_many([], bound=0.5), InvalidArgument, ["loss_lists", "empty"]),
        (lambda: certify_many(None, bound=0.5), InvalidArgumentType, ["loss_lists"]),
        (lambda: certify_many([[0.1], [2.0]], bound=0.5), InvalidArgument, ["loss_lists[1]"]),
        (lambda: certify_many([[0.0] * 99] * 2, bound=0.5, failures=[0]), InvalidArgument,
         ["failures", "one count per configuration (2)", "got 1"]),
        (lambda: certify_many([[0.0] * 99] * 2, bound=0.5, failures=0), InvalidArgumentType,
         ["failures", "None or a sequence"]),
        (lambda: certify_many([[0.0] * 99] * 2, bound=0.5, correction="none"), InvalidArgument,
         ["correction", "'bonferroni'", "'fixed-sequence'"]),
    ],
)
def test_certify_many_errors_are_explained(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


# --- family-wise coverage by simulation -----------------------------------------------------------

TRIALS = 1000
BOUND, CONFIDENCE, N = 0.1, 0.9, 200


def _allowed_error_rate(trials=TRIALS):
    delta = 1 - CONFIDENCE
    return delta + 3 * math.sqrt(delta * (1 - delta) / trials)


def _family_error_rate(true_means, correction, seed):
    """How often some certificate holds for a configuration whose true mean exceeds BOUND."""
    rng = np.random.default_rng(seed)
    means = np.asarray(true_means)
    draws = (rng.random((TRIALS, means.size, N)) < means[None, :, None]).astype(float)
    false = means > BOUND
    errors = 0
    for lists in draws:
        certificates = certify_many(lists, bound=BOUND, confidence=CONFIDENCE,
                                    correction=correction)
        errors += any(c.holds and f for c, f in zip(certificates, false))
    return errors / TRIALS


ALL_FALSE = [0.105] * 5  # every claim barely false: the hardest case for a family
MIXED = [0.03, 0.06, 0.105, 0.11, 0.2]  # safe first, as fixed-sequence asks


@pytest.mark.parametrize("correction", ["bonferroni", "fixed-sequence"])
@pytest.mark.parametrize("true_means", [ALL_FALSE, MIXED], ids=["all-false", "mixed"])
def test_family_wise_error_is_controlled(correction, true_means):
    rate = _family_error_rate(true_means, correction, seed=2021)
    assert rate <= _allowed_error_rate()


def test_without_correction_the_family_error_is_too_high():
    """Power check for the simulation above: testing five barely-false claims each at 90%
    produces false certificates far more often than 10% of the time."""
    rng = np.random.default_rng(2021)
    draws = (rng.random((TRIALS, 5, N)) < 0.105).astype(float)
    errors = sum(
        any(certify(losses, bound=BOUND, confidence=CONFIDENCE).holds for losses in lists)
        for lists in draws
    )
    assert errors / TRIALS > _allowed_error_rate()


def test_fixed_sequence_keeps_its_power_on_safe_configurations():
    """Fixed-sequence tests the safe configurations in front at full confidence, so it certifies
    them exactly as often as certifying each alone, and more often than Bonferroni does."""
    rng = np.random.default_rng(5)
    draws = (rng.random((300, len(MIXED), N)) < np.asarray(MIXED)[None, :, None]).astype(float)
    sequence, bonferroni = 0, 0
    for lists in draws:
        fixed = certify_many(lists, bound=BOUND, confidence=CONFIDENCE)
        alone = [certify(losses, bound=BOUND, confidence=CONFIDENCE) for losses in lists[:2]]
        assert [c.holds for c in fixed[:2]] == [c.holds for c in alone]
        sequence += fixed[1].holds
        bonferroni += certify_many(lists, bound=BOUND, confidence=CONFIDENCE,
                                   correction="bonferroni")[1].holds
    assert sequence > bonferroni
