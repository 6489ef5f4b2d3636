"""Capped losses (``loss_cap=``): certificates computed on losses / cap and stated in the losses'
own units, the metric cap and its errors, failures counted as the cap, and the advice to cap when
a small bound needs too many held-out inputs (design.md §6.8: closed form, reference, simulation)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import approxify as ax
from approxify.errors import InvalidArgument, NotEnoughInputs
from approxify.measure.quality import Quality, get_quality, with_cap
from approxify.measure.runner import Reference
from approxify.stats import Certificate, bernstein_upper, certify, certify_many, uncapped

CAP, BOUND = 0.02, 1e-3


def small_losses(n=300, seed=0, scale=2e-4):
    """Losses like float32 rounding errors: tiny, and every one below the cap."""
    return np.random.default_rng(seed).uniform(0.0, 2 * scale, n)


def capped_certificate(losses, *, cap=CAP, bound=BOUND, **options):
    scaled = certify(np.asarray(losses) / cap, bound=bound / cap, method="bernstein", **options)
    return scaled, uncapped(scaled, cap=cap, bound=bound)


# --- uncapped: closed form and an external reference ----------------------------------------------


def test_uncapped_states_the_scaled_certificate_in_the_losses_units():
    losses = small_losses()
    scaled, cert = capped_certificate(losses)
    assert cert.cap == CAP and cert.bound == BOUND
    assert cert.mean == pytest.approx(scaled.mean * CAP, rel=1e-12)
    assert cert.mean == pytest.approx(losses.mean(), rel=1e-12)
    assert cert.upper == pytest.approx(scaled.upper * CAP, rel=1e-12) and cert.upper <= BOUND
    assert cert.holds is scaled.holds is True
    for name in ("n", "confidence", "method", "identical", "reliability_lower", "failures",
                 "failure_upper", "correction", "tested"):
        assert getattr(cert, name) == getattr(scaled, name), name


def test_uncapped_upper_is_bernsteins_bound_on_the_scaled_losses():
    losses = small_losses(seed=3)
    _, cert = capped_certificate(losses)
    assert cert.upper == pytest.approx(bernstein_upper(losses / CAP, confidence=0.95) * CAP, rel=1e-12)


def test_the_cap_certifies_what_raw_losses_in_0_1_cannot():
    losses = small_losses()
    with pytest.raises(NotEnoughInputs):  # losses in [0, 1]: 1e-3 needs thousands of inputs
        certify(losses, bound=BOUND)
    assert capped_certificate(losses)[1].holds


def test_a_miss_stays_a_miss():
    losses = small_losses(scale=2e-3, seed=1)  # mean ~2e-3 > bound
    scaled, cert = capped_certificate(losses)
    assert not scaled.holds and not cert.holds and cert.upper > BOUND
    assert cert.upper == pytest.approx(scaled.upper * CAP, rel=1e-12)


def _by_hand(**changes):
    fields = dict(n=300, mean=0.01, bound=0.5, confidence=0.95, method="bernstein", identical=0,
                  reliability_lower=0.0, failures=0, failure_upper=0.01)
    fields.update(changes)
    return Certificate(**fields)


def test_rounding_never_turns_a_miss_into_a_pass():
    cap, bound = 0.3, 0.07321
    upper = float(np.nextafter(bound / cap, 1.0))  # just misses in scaled units ...
    assert upper * cap <= bound  # ... but would pass once multiplied back
    cert = uncapped(_by_hand(upper=upper, bound=bound / cap, holds=False), cap=cap, bound=bound)
    assert not cert.holds and cert.upper > bound


def test_rounding_never_turns_a_pass_into_a_miss():
    cap, bound = 0.02, 0.01224
    upper = bound / cap  # passes in scaled units ...
    assert upper * cap > bound  # ... but would miss once multiplied back
    cert = uncapped(_by_hand(upper=upper, bound=bound / cap, holds=True), cap=cap, bound=bound)
    assert cert.holds and cert.upper <= bound


def test_an_untested_certificate_stays_untested():
    risky, later = small_losses(scale=3e-3, seed=2), small_losses(seed=4)
    scaled = certify_many([risky / CAP, later / CAP], bound=BOUND / CAP, method="bernstein")
    certs = [uncapped(c, cap=CAP, bound=BOUND) for c in scaled]
    assert not certs[0].holds and certs[0].tested
    assert not certs[1].tested and not certs[1].holds and certs[1].upper == 1.0
    assert certs[1].mean == pytest.approx(later.mean(), rel=1e-12)
    assert "Not tested" in certs[1].statement()
    assert uncapped(certify(later / CAP, bound=BOUND / CAP, method="bernstein"), cap=CAP,
                    bound=BOUND).holds  # alone it would have held: fixed-sequence order matters


def test_cap_one_returns_the_certificate_itself():
    cert = certify(small_losses(n=600, scale=0.01), bound=0.1)
    assert uncapped(cert, cap=1.0, bound=0.1) is cert
    assert cert.cap == 1.0 and "capped" not in cert.statement()


def test_statement_mentions_the_cap_and_failures():
    _, cert = capped_certificate(small_losses())
    text = cert.statement()
    assert "Each input's loss is capped at 0.02, and a failure counts as 0.02." in text
    assert "bound 0.001: holds" in text


def test_round_trip_keeps_the_cap():
    _, cert = capped_certificate(small_losses())
    data = json.loads(json.dumps(cert.to_dict()))
    assert data["cap"] == CAP
    assert Certificate.from_dict(data) == cert


def test_certificates_written_before_the_cap_existed_still_load():
    cert = certify(small_losses(n=600, scale=0.01), bound=0.1)
    data = cert.to_dict()
    del data["cap"]
    assert Certificate.from_dict(data) == cert


@pytest.mark.parametrize("cap", [0.0, -0.1, 1.5, float("nan")])
def test_certificate_refuses_a_cap_outside_0_1(cap):
    with pytest.raises(InvalidArgument):
        dataclasses.replace(certify(small_losses(n=600, scale=0.01), bound=0.1), cap=cap)


def test_capped_certificates_cover_by_simulation():
    """True mean 1.25 x bound: a certificate that holds is a false claim; at most 5% may."""
    rng = np.random.default_rng(7)
    n, reps, true_mean = 400, 400, 1.25 * BOUND
    false_claims = 0
    for _ in range(reps):
        # losses in [0, cap]: mostly tiny, a few at the cap (failures), mean = true_mean
        at_cap = rng.random(n) < (true_mean - 2e-4) / CAP
        losses = np.where(at_cap, CAP, rng.uniform(0.0, 4e-4, n))
        _, cert = capped_certificate(losses)
        false_claims += cert.holds
    assert false_claims / reps <= 0.05
    # and the same losses at a true mean below the bound are certified most of the time
    held = 0
    for _ in range(50):
        losses = rng.uniform(0.0, 2e-4, n)
        held += capped_certificate(losses)[1].holds
    assert held == 50


# --- with_cap: the metric side ----------------------------------------------------------------------


def test_with_cap_caps_each_loss():
    metric = with_cap(get_quality("rel_l2"), CAP, bound=BOUND)
    assert isinstance(metric, Quality) and metric.cap == CAP and metric.name == "rel_l2"
    exact = np.ones(4)
    assert metric(exact, exact * 2.0) == CAP  # a loss of 1 counts as the cap
    assert metric(exact, exact * (1 + 1e-4)) == pytest.approx(1e-4)
    assert with_cap(get_quality("rel_l2"), None, bound=BOUND) is get_quality("rel_l2")
    assert get_quality("rel_l2").cap == 1.0


@pytest.mark.parametrize("cap", [BOUND, 5e-4, 1.01, 2, 0, -0.5, True, "0.02", [0.02]])
def test_with_cap_refuses_caps_outside_bound_to_1(cap):
    with pytest.raises(InvalidArgument) as info:
        with_cap(get_quality("mean_rel"), cap, bound=BOUND)
    message = str(info.value)
    assert "loss_cap=" in message and str(BOUND) in message and "at most 1" in message


def test_with_cap_accepts_1():
    assert with_cap(get_quality("mean_rel"), 1.0, bound=BOUND).cap == 1.0


def test_with_cap_refuses_binary_metrics():
    with pytest.raises(InvalidArgument, match="mismatch"):
        with_cap(get_quality("mismatch"), CAP, bound=BOUND)


def test_approximate_checks_loss_cap_before_tuning():
    inputs = [([1.0, 2.0],)] * 10
    with pytest.raises(InvalidArgument, match="loss_cap="):
        ax.approximate(float_sum, inputs, bound=BOUND, loss_cap=BOUND / 2, progress=False)


def float_sum(xs):
    total = 0.0
    for x in xs:
        total += x
    return total


# --- failures count as the cap --------------------------------------------------------------------


def flaky(x):
    """input 0: exact, 1: raises, 2: NaN, 3: wrong shape, 4: far off (capped, not a failure)."""
    kind = int(x[0])
    if kind == 1:
        raise RuntimeError("boom")
    if kind == 2:
        return np.full(3, np.nan)
    if kind == 3:
        return np.zeros(4)
    if kind == 4:
        return x * 10.0
    return x.copy()


def test_failures_count_as_the_cap_in_reference_losses():
    inputs = [np.array([float(k), 1.0, 2.0]) for k in range(5)]
    metric = with_cap(get_quality("rel_l2"), CAP, bound=BOUND)
    reference = Reference(lambda x: x.copy(), inputs, metric, name="identity")
    losses, failures = reference.losses(flaky, list(range(5)))
    assert losses.tolist() == [0.0, CAP, CAP, CAP, CAP]
    assert [(f.index, f.kind) for f in failures] == [(1, "exception"), (2, "nonfinite"), (3, "mismatch")]
    # as the tuner certifies them: divided by the cap, failures are exactly 1
    scaled = losses / CAP
    assert scaled.tolist() == [0.0, 1.0, 1.0, 1.0, 1.0]
    certify_many([np.tile(scaled, 100)], bound=0.5, failures=[300], method="bernstein")


def test_without_a_cap_failures_count_as_one():
    inputs = [np.array([float(k), 1.0, 2.0]) for k in range(3)]
    reference = Reference(lambda x: x.copy(), inputs, get_quality("rel_l2"), name="identity")
    losses, _ = reference.losses(flaky, [0, 1, 2])
    assert losses.tolist() == [0.0, 1.0, 1.0]


# --- the advice when a small bound needs too many held-out inputs ---------------------------------


def test_not_enough_inputs_suggests_a_loss_cap_for_a_small_bound():
    inputs = [([1.0, 2.0, float(i)],) for i in range(100)]
    with pytest.raises(NotEnoughInputs) as info:
        ax.approximate(float_sum, inputs, bound=BOUND, progress=False)
    message = str(info.value)
    assert "loss_cap=0.02" in message and "50 held-out inputs" in message


def test_with_a_cap_the_advice_is_more_inputs_only():
    inputs = [([1.0, 2.0, float(i)],) for i in range(100)]
    with pytest.raises(NotEnoughInputs) as info:
        ax.approximate(float_sum, inputs, bound=BOUND, loss_cap=CAP, progress=False)
    message = str(info.value)
    assert "loss_cap=" not in message
    assert "at least 66 are needed" in message  # min_samples(bound / cap): 66, not 3389


def test_binary_metrics_are_not_advised_a_cap():
    inputs = [([1.0, 2.0, float(i)],) for i in range(100)]
    with pytest.raises(NotEnoughInputs) as info:
        ax.approximate(float_sum, inputs, quality="mismatch", bound=BOUND, progress=False)
    assert "loss_cap" not in str(info.value)


def test_the_advised_cap_would_change_something():
    inputs = [([1.0, 2.0, float(i)],) for i in range(40)]
    with pytest.raises(NotEnoughInputs) as info:
        ax.approximate(float_sum, inputs, bound=0.1, progress=False)
    assert "loss_cap=1)" not in str(info.value)
