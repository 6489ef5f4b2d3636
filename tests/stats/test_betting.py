"""The betting bound (stats/betting.py), tested three ways: closed form, the paper's authors'
own code (confseq, vendored in confseq_reference.py), and coverage by simulation."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest

from approxify.stats import betting, betting_upper, certify, clopper_pearson_upper, min_samples
from approxify.stats.bounds import bernstein_upper

from tests.stats.confseq_reference import lambda_predmix_eb, negative_capital
from tests.stats.distributions import DISTRIBUTIONS, draw, tolerance_for


# --- closed form --------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 5, 60, 400])
def test_all_zero_capital_has_a_closed_form(n):
    # with every loss 0 the variance estimate is (1/4 + sum of mu_i^2) / (t + 1) with mu_i =
    # 1/(2(i+1)), and each factor is 1 + min(bet, 0.9/(1 - m)) * m
    m, delta = 0.05, 0.05
    t = np.arange(1, n + 1)
    means = 0.5 / (t + 1)
    variances = (0.25 + np.cumsum(means**2)) / (t + 1)
    before = np.concatenate(([0.25], variances[:-1]))
    bet = np.minimum(np.sqrt(2 * math.log(20) / (n * before)), 0.9 / 0.95)
    expected = np.cumsum(np.log1p(bet * m))
    got = betting.log_capital_below(np.zeros(n), m, betting.bets(np.zeros(n), delta=delta, horizon=n))
    np.testing.assert_allclose(got, expected, rtol=1e-12)


def test_once_every_bet_is_at_its_truncation_zero_losses_match_the_geometric_formula():
    # (1 + 0.9 m / (1 - m))^n >= 1/delta, up to the first few (smaller) bets: within 2%
    for bound in (0.01, 0.02, 0.05, 0.1):
        geometric = math.ceil(math.log(20) / math.log1p(0.9 * bound / (1 - bound)))
        assert geometric <= min_samples(bound, confidence=0.95, method="betting") <= 1.02 * geometric + 1


def test_zero_losses_certify_within_twelve_percent_of_clopper_pearson():
    for bound in (0.01, 0.02, 0.05, 0.1):
        cp = min_samples(bound, confidence=0.95, method="clopper-pearson")
        assert min_samples(bound, confidence=0.95, method="betting") <= 1.15 * cp


def test_the_issue_example_two_hundred_near_zero_losses_certify_two_percent():
    # issue 18: "200 held-out inputs are refused for a mean-loss bound of 0.02 ("at least 432
    # are needed")" under Maurer-Pontil; betting needs 167 and certifies 0.02 from 200
    losses = np.random.default_rng(0).beta(0.5, 200, size=200)
    assert min_samples(0.02, confidence=0.95, method="betting") == 167
    assert certify(losses, bound=0.02).holds
    assert bernstein_upper(losses, confidence=0.95) > 0.02


def test_upper_bound_is_the_edge_of_the_rejected_set():
    rng = np.random.default_rng(3)
    losses = rng.beta(1, 10, size=150)
    delta = 0.05
    upper = betting.upper_bound(losses, delta=delta)
    losses = np.sort(losses)[np.random.default_rng(150).permutation(150)]  # the order the bound reads
    raw = betting.bets(losses, delta=delta, horizon=losses.size)
    threshold = math.log(1 / delta)
    assert betting.log_capital_below(losses, upper, raw).max() >= threshold
    assert betting.log_capital_below(losses, upper - 1e-9, raw).max() < threshold
    assert losses.mean() < upper < 1


def test_ones_give_the_trivial_bound():
    assert betting_upper(np.ones(50), confidence=0.95) == 1.0
    assert betting_upper([0.3], confidence=0.95) == 1.0


# --- external reference: confseq's own betting martingale -------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_capital_equals_confseq_betting_mart(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 300))
    losses = np.clip(rng.beta(0.7, 8, size=n) + (rng.random(n) < 0.02), 0, 1)
    for m in (0.02, 0.1, 0.35, 0.8):
        ours = betting.log_capital_below(losses, m, betting.bets(losses, delta=0.05, horizon=n))
        theirs = np.log(negative_capital(losses, m, alpha=0.05, fixed_n=n,
                                         trunc_scale=betting.TRUNCATION))
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_anytime_bets_equal_confseq_predmix():
    losses = np.random.default_rng(9).random(80)
    np.testing.assert_allclose(betting.bets(losses, delta=0.1), lambda_predmix_eb(losses, alpha=0.1),
                               rtol=1e-12)


# --- coverage by simulation -------------------------------------------------------------------

REPS = 300


@pytest.mark.parametrize("name", DISTRIBUTIONS)
@pytest.mark.parametrize("n", [40, 300])
def test_betting_upper_bound_covers_the_mean(name, n):
    rng = np.random.default_rng(zlib.crc32(f"{name}/{n}".encode()))
    mean = DISTRIBUTIONS[name].mean
    misses = sum(betting.upper_bound(draw(name, n, rng), delta=0.05) < mean for _ in range(REPS))
    assert misses / REPS <= 0.05 + tolerance_for(0.05, REPS)


@pytest.mark.parametrize("name", DISTRIBUTIONS)
def test_anytime_drop_rarely_drops_a_config_at_the_bound(name):
    # a config whose mean equals the bound must be dropped (lower sequence above the bound at
    # some t <= n, looking after every input) at most delta of the time
    rng = np.random.default_rng(len(name))
    mean = DISTRIBUTIONS[name].mean
    drops = sum(betting.lower_crosses(draw(name, 400, rng), mean, delta=0.05) is not None
                for _ in range(REPS))
    assert drops / REPS <= 0.05 + tolerance_for(0.05, REPS)


def test_anytime_drop_stops_a_bad_config_early():
    losses = np.random.default_rng(1).beta(2, 8, size=400)  # mean 0.2, against a bound of 0.05
    stop = betting.lower_crosses(losses, 0.05, delta=0.05)
    assert stop is not None and stop < 60


def test_betting_is_tighter_than_bernstein_on_small_alike_losses():
    losses = np.random.default_rng(2).beta(1, 60, size=300)
    assert betting_upper(losses, confidence=0.95) < 0.7 * bernstein_upper(losses, confidence=0.95)
    assert betting_upper(losses, confidence=0.95) >= losses.mean()


def test_clopper_pearson_stays_the_bound_for_binary_losses():
    losses = np.zeros(300)
    losses[:3] = 1
    certificate = certify(losses, bound=0.05)
    assert certificate.method == "clopper-pearson"
    assert certificate.upper == clopper_pearson_upper(3, 300, confidence=0.95)


@pytest.mark.parametrize("seed", range(4))
def test_certifies_agrees_with_the_upper_bound(seed):
    rng = np.random.default_rng(seed)
    losses = rng.beta(1, 30, size=200)
    upper = betting.upper_bound(losses, delta=0.05)
    for bound in (upper * 0.98, upper * 1.02, losses.mean() * 0.9, 0.5):
        assert betting.certifies(losses, bound, delta=0.05) == (upper <= bound)
