"""Input sampling (issue 20 item 3): a call whose result is a sum or a mean of its array
arguments' rows runs on a sample of them, a sum rescaled; found by the run or declared with
``ax.statistic``; never where the callee changes its arguments or cannot run on part of them."""

from __future__ import annotations

import numpy as np
import pytest

import approxify as ax
import statistic_kernels as K
from exported_modules import import_exported

M = K.__name__
RNG = np.random.default_rng(11)
PAIRS = [(RNG.normal(size=200), RNG.uniform(size=200)) for _ in range(3)]
TABLES = [(RNG.normal(size=(200, 3)), RNG.normal(size=(200, 3))) for _ in range(3)]
SERIES = [(RNG.uniform(1.0, 2.0, 300),) for _ in range(3)]
POWER = f"{M}.signal_power/sample#0:0,1"


def sample_sites(fn, examples) -> dict[str, ax.Site]:
    return {s.id: s for s in ax.sites(fn, families=["perforate"], example_inputs=examples) if "/sample#" in s.id}


def test_sums_and_means_are_found_by_the_run_and_the_marker_declares_the_others():
    power = sample_sites(K.signal_power, PAIRS)[POWER]
    assert power.facts["statistic"] == "sum" and power.facts["rows"] == 200
    assert "rows of x, w" in power.detail and all(c.compensate for c in power.knob.choices)
    error = sample_sites(K.calibration, TABLES)[f"{M}.calibration/sample#0:0,1"]
    assert error.facts["statistic"] == "mean" and not any(c.compensate for c in error.knob.choices)
    assert sample_sites(K.uses_spread, SERIES)[f"{M}.uses_spread/sample#0"].facts["statistic"] == "mean"


@pytest.mark.parametrize("fn", [K.normalised_total, K.uses_centre, K.uses_picky, K.uses_short],
                         ids=lambda f: f.__name__)
def test_calls_that_are_not_statistics_of_long_rows_are_not_sampled(fn):
    assert sample_sites(fn, SERIES) == {}


@pytest.mark.parametrize("policy, call", [
    ("modulo", "total_power(x[::2], w[::2]) * (x.shape[0] / x[::2].shape[0])"),
    ("truncate", "total_power(x[:(_ax_kept_s0 := _ax_head(x.shape[0], 0.5))], w[:_ax_kept_s0]) "
                 "* (x.shape[0] / _ax_kept_s0)"),
])
def test_a_sampled_call_is_written_as_a_person_would(policy, call):
    config = {POWER: ax.Perforate(0.5, policy, compensate=True)}
    assert f"return {call} / 1000.0" in ax.source(K.signal_power, config, example_inputs=PAIRS)


def test_modulo_keeps_every_other_row_and_rescales_the_sum():
    x, w = PAIRS[0]
    variant = ax.apply(K.signal_power, {POWER: ax.Perforate(0.5, "modulo", compensate=True)}, example_inputs=PAIRS)
    assert variant(x, w) == pytest.approx(K.total_power(x[::2], w[::2]) * 2 / 1000.0, rel=1e-15)
    odd = (x[:199], w[:199])  # 100 of 199 rows kept: scaled by 199/100
    assert variant(*odd) == pytest.approx(K.total_power(x[:199:2], w[:199:2]) * 1.99 / 1000.0, rel=1e-15)
    mean = ax.apply(K.calibration, {f"{M}.calibration/sample#0:0,1": ax.Perforate(0.5)}, example_inputs=TABLES)
    got, want = mean(*TABLES[0]), K.calibration(*TABLES[0])
    assert type(got) is type(want) and got == pytest.approx(K.mean_error(TABLES[0][0][::2], TABLES[0][1][::2]).sum())


def test_the_exact_config_is_the_original_program():
    for config in ({}, {POWER: ax.Perforate()}):
        variant = ax.apply(K.signal_power, config, example_inputs=PAIRS)
        assert all(variant(*p) == K.signal_power(*p) for p in PAIRS)
        assert "_ax_" not in ax.source(K.signal_power, config, example_inputs=PAIRS)


def test_a_random_sample_of_a_sum_is_unbiased_with_the_variance_of_sampling_without_replacement():
    """Closed form: m of n rows drawn without replacement and scaled by n/m estimate the total
    with variance n^2 (1 - m/n) s^2 / m (s^2 the rows' variance, ddof=1)."""
    x, w = PAIRS[0]
    rows = w * x * x / 1000.0
    n, m = len(rows), 100
    estimates = np.array([
        ax.apply(K.signal_power, {POWER: ax.Perforate(0.5, "random", compensate=True, seed=seed)})(x, w)
        for seed in range(300)])
    variance = n * n * (1 - m / n) * rows.var(ddof=1) / m
    assert abs(estimates.mean() - rows.sum()) < 4 * np.sqrt(variance / len(estimates))
    assert estimates.var(ddof=1) == pytest.approx(variance, rel=0.3)


def test_a_saved_config_rebuilds_without_a_run_and_the_users_objects_are_unchanged():
    x, w = PAIRS[1]
    copies = (x.copy(), w.copy())
    config = {POWER: ax.Perforate(0.75, "modulo", compensate=True)}
    with_run = ax.apply(K.signal_power, config, example_inputs=PAIRS)(x, w)
    assert ax.apply(K.signal_power, config)(x, w) == with_run  # the id names the rows sampled
    assert np.array_equal(x, copies[0]) and np.array_equal(w, copies[1])
    assert K.signal_power(x, w) == K.total_power(x, w) / 1000.0 and not hasattr(K.total_power, "__approxify_statistic__")


def test_the_exported_call_runs_without_approxify(tmp_path):
    config = {POWER: ax.Perforate(0.5, "random", compensate=True)}
    module = import_exported(ax.source(K.signal_power, config, example_inputs=PAIRS), tmp_path, "sampled_power")
    variant = ax.apply(K.signal_power, config, example_inputs=PAIRS)
    assert all(module.signal_power(*p) == variant(*p) for p in PAIRS)


def test_the_marker_takes_sum_or_mean():
    with pytest.raises(ax.InvalidArgument, match=r"ax.statistic\(kind\) expects one of 'sum', 'mean', got 'median'"):
        ax.statistic("median")
    with pytest.raises(ax.InvalidArgumentType, match="decorates a function"):
        ax.statistic("sum")(3)


def test_a_decorated_function_is_found_through_its_wrapper():
    site = sample_sites(K.uses_mean_abs, SERIES)[f"{M}.uses_mean_abs/sample#0"]
    assert site.facts["statistic"] == "mean"
    variant = ax.apply(K.uses_mean_abs, {site.id: ax.Perforate(0.5)}, example_inputs=SERIES)
    assert variant(*SERIES[0]) == K.mean_abs(SERIES[0][0][::2]) + 1.0


def test_a_callee_that_hangs_on_part_of_its_rows_is_not_sampled_and_sites_returns():
    assert sample_sites(K.uses_hanging, SERIES) == {}  # SERIES: 300 rows; each half hangs
