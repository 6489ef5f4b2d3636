"""Surrogate models for function substitution: accuracy of each kind on known functions against a
stated bound, exact JSON round trips, validation errors, determinism and recorded metadata."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from approxify.errors import ApproxifyError
from approxify.transforms.substitute.surrogates import (
    KINDS,
    Samples,
    Surrogate,
    TooFewSamples,
    fit,
    minimum_samples,
)

FAST_MLP = {"epochs": 60, "seconds": None}  # small and deterministic: epochs, not the clock, end it


def uniform(lo: float, hi: float, n: int, d: int = 1, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(lo, hi, (n, d))


def dense(surrogate: Surrogate, n: int = 10_001) -> np.ndarray:
    """Evenly spaced points over the surrogate's (one-argument) trained range."""
    return np.linspace(surrogate.lo[0], surrogate.hi[0], n)[:, None]


def exp_samples(n: int = 2000) -> Samples:
    X = uniform(0.0, 1.0, n)
    return Samples(X, np.exp(X))


def fitted(kind: str, samples: Samples | None = None) -> Surrogate:
    return fit(kind, samples or exp_samples(), options=FAST_MLP if kind == "mlp" else {})


# -- accuracy on known functions -----------------------------------------------------------------


def test_poly_fits_exp_to_a_millionth_relative_error_at_degree_8():
    s = fit("poly", exp_samples(), options={"degree": 8})
    x = dense(s)
    assert np.max(np.abs(s.predict(x) / np.exp(x) - 1)) < 1e-6


def test_poly_predictions_match_numpy_chebval():
    s = fit("poly", exp_samples(), options={})
    x = dense(s)
    unit = (x[:, 0] - (s.lo[0] + s.hi[0]) / 2) / ((s.hi[0] - s.lo[0]) / 2)
    np.testing.assert_allclose(
        s.predict(x)[:, 0], np.polynomial.chebyshev.chebval(unit, s.coefficients[:, 0]), rtol=1e-14
    )


def test_table_fits_sin_to_a_thousandth_with_256_points():
    X = uniform(0.0, math.pi, 5000)
    s = fit("table", Samples(X, np.sin(X)), options={"points": 256})
    x = dense(s)
    assert np.max(np.abs(s.predict(x) - np.sin(x))) < 1e-3


def test_table_matches_np_interp_on_its_own_grid_and_clamps_beyond_the_ends():
    X = uniform(0.0, math.pi, 5000)
    s = fit("table", Samples(X, np.sin(X)), options={"points": 64})
    grid = np.linspace(s.lo[0], s.hi[0], 64)
    x = np.linspace(-1.0, 4.0, 2001)
    np.testing.assert_allclose(
        s.predict(x[:, None])[:, 0], np.interp(x, grid, s.values[:, 0]), rtol=0, atol=1e-14
    )


def test_table_is_exact_on_a_line_sampled_off_its_grid_points():
    # least squares on hat functions, unlike binned means, has no bias when samples sit between
    # grid points, and bridges grid points no sample touches with straight lines
    X = uniform(-2.0, 5.0, 16, seed=3)
    s = fit("table", Samples(X, 3 * X + 1), options={"points": 256})
    x = dense(s)
    np.testing.assert_allclose(s.predict(x), 3 * x + 1, rtol=0, atol=1e-5)


def test_mlp_fits_a_smooth_2d_function_to_a_mean_error_below_2e_3():
    X = uniform(0.0, 1.0, 2000, d=2)
    Y = (np.sin(X[:, 0]) * np.cos(X[:, 1]))[:, None]
    s = fit("mlp", Samples(X, Y), options={"epochs": 400, "seconds": None})
    test = uniform(0.0, 1.0, 20_000, d=2, seed=1)
    error = np.abs(s.predict(test)[:, 0] - np.sin(test[:, 0]) * np.cos(test[:, 1]))
    assert error.mean() < 2e-3
    assert (
        s.validation_rmse[0] < 4e-3
        and s.epochs_run <= 400
        and s.stopped_by in ("patience", "epochs")
    )


def test_memo_is_exact_on_integer_arguments_and_nan_for_cells_never_seen():
    i, j = np.meshgrid(np.arange(10.0), np.arange(10.0), indexing="ij")
    X = np.column_stack([i.ravel(), j.ravel()])
    seen = (X[:, 0] + X[:, 1]) % 3 != 0  # leave a third of the cells out of the traces
    Y = (X[:, 0] * 10 + X[:, 1])[:, None]
    s = fit(
        "memo",
        Samples(np.repeat(X[seen], 2, axis=0), np.repeat(Y[seen], 2, axis=0)),
        options={"cells": 10},
    )
    out = s.predict(X)
    np.testing.assert_array_equal(out[seen], Y[seen])
    assert np.isnan(out[~seen]).all()
    outside = np.array([[-1.0, 0.0], [0.0, 9.6], [np.nan, 1.0], [np.inf, 1.0]])
    assert np.isnan(s.predict(outside)).all()


def test_memo_averages_the_results_traced_in_one_cell():
    X = np.array([[0.0], [0.01], [1.0]])
    s = fit("memo", Samples(X, np.array([[1.0], [3.0], [5.0]])), options={"cells": 11})
    np.testing.assert_array_equal(s.predict(np.array([[0.02], [0.98]])), [[2.0], [5.0]])


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_predicts_several_outputs(kind):
    X = uniform(0.0, 1.0, 2000)
    samples = Samples(X, np.column_stack([np.sin(X[:, 0]), np.cos(X[:, 0])]))
    s = fitted(kind, samples)
    x = np.linspace(0.1, 0.9, 11)[:, None]
    out = s.predict(x)
    assert out.shape == (11, 2) and out.dtype == np.float64 and s.n_outputs == 2
    bound = {"table": 1e-5, "poly": 1e-9, "mlp": 0.05, "memo": 0.02}[kind]
    np.testing.assert_allclose(
        out, np.column_stack([np.sin(x[:, 0]), np.cos(x[:, 0])]), rtol=0, atol=bound
    )


@pytest.mark.parametrize("kind", KINDS)
def test_a_constant_argument_does_not_divide_by_zero(kind):
    X = np.full((1000, 1), 2.0)
    with np.errstate(all="raise"):
        s = fitted(kind, Samples(X, np.column_stack([np.arange(1000.0) % 2, np.full(1000, 7.0)])))
        out = s.predict(np.array([[2.0]]))
    np.testing.assert_allclose(out, [[0.5, 7.0]], atol=0.05 if kind == "mlp" else 1e-12)


@pytest.mark.parametrize("kind", ["table", "poly", "memo"])
def test_nan_arguments_give_nan_rows(kind):
    s = fitted(kind)
    out = s.predict(np.array([[0.5], [np.nan]]))
    assert np.isfinite(out[0]).all() and np.isnan(out[1]).all()


# -- persistence ---------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_json_round_trip_predicts_bit_for_bit_alike(kind):
    s = fitted(kind)
    text = json.dumps(s.to_dict(), allow_nan=False)  # strict JSON: no NaN or Infinity tokens
    back = Surrogate.from_dict(json.loads(text))
    x = np.linspace(-0.5, 1.5, 5001)[:, None]  # inside, at the edges of and outside the range
    assert type(back) is type(s) and back.kind == kind
    assert np.array_equal(back.predict(x), s.predict(x), equal_nan=True)
    assert np.array_equal(back.lo, s.lo) and np.array_equal(back.hi, s.hi)
    assert back.fit_seconds == s.fit_seconds


def test_json_round_trip_keeps_non_finite_values():
    X = np.array([[0.0], [0.0], [1.0]])
    s = fit(
        "memo", Samples(X, np.array([[1e308], [1e308], [1.0]])), options={}
    )  # the mean overflows
    back = Surrogate.from_dict(json.loads(json.dumps(s.to_dict(), allow_nan=False)))
    assert np.array_equal(back.predict(X), [[np.inf], [np.inf], [1.0]])


def test_from_dict_names_the_kinds_when_the_dict_is_not_a_surrogate():
    with pytest.raises(ValueError, match="'table', 'poly', 'mlp', 'memo'"):
        Surrogate.from_dict({"kind": "spline"})
    with pytest.raises(ValueError, match="to_dict"):
        Surrogate.from_dict({"kind": "poly", "lo": [0.0]})


# -- errors --------------------------------------------------------------------------------------


def test_too_few_samples_names_the_count_needed_and_given():
    X = uniform(0.0, 1.0, 5)
    with pytest.raises(
        TooFewSamples, match="poly of degree 8 needs at least 18 traced values, got 5"
    ) as info:
        fit("poly", Samples(X, np.exp(X)), options={})
    assert (info.value.needed, info.value.given) == (18, 5)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ApproxifyError)


@pytest.mark.parametrize(
    ("kind", "options", "needed"),
    [
        ("table", {}, 16),
        ("poly", {"degree": 2}, 6),
        ("mlp", {"hidden": (16,)}, 490),
        ("mlp", {"hidden": 2}, 200),
    ],
)
def test_minimum_sample_counts(kind, options, needed):
    X = uniform(0.0, 1.0, needed - 1)
    with pytest.raises(TooFewSamples, match=f"at least {needed} traced values, got {needed - 1}"):
        fit(kind, Samples(X, X), options=options)


def test_minimum_samples_states_the_rule_fit_enforces():
    assert minimum_samples("poly", 1) == 18
    assert minimum_samples("poly", 1, options={"degree": 3}) == 8
    assert minimum_samples("table", 1) == 16 and minimum_samples("memo", 3, 2) == 1
    assert minimum_samples("mlp", 2) == 650  # (2 + 1) * 16 + (16 + 1) * 1 = 65 weights
    assert minimum_samples("mlp", 1, 2, options={"hidden": (8, 8)}) == max(200, 10 * (16 + 72 + 18))
    with pytest.raises(ValueError, match="is not a surrogate kind"):
        minimum_samples("spline", 1)


def test_memo_needs_one_finite_sample_and_non_finite_rows_are_dropped_before_counting():
    X = np.array([[np.nan], [np.inf], [1.0]])
    Y = np.array([[1.0], [1.0], [np.nan]])
    with pytest.raises(TooFewSamples, match=r"got 0 \(3 non-finite dropped\)"):
        fit("memo", Samples(X, Y), options={})


@pytest.mark.parametrize("kind", ["table", "poly"])
def test_one_argument_kinds_refuse_two_arguments_and_suggest_the_others(kind):
    X = uniform(0.0, 1.0, 100, d=2)
    with pytest.raises(ValueError, match="one argument.*2 arguments.*'mlp' or 'memo'"):
        fit(kind, Samples(X, X[:, :1]), options={})


def test_unknown_kind_lists_the_kinds():
    with pytest.raises(ValueError, match=r"kind='spline'.*\('table', 'poly', 'mlp', 'memo'\)"):
        fit("spline", exp_samples(), options={})


@pytest.mark.parametrize(
    ("kind", "options", "message"),
    [
        ("table", {"points": 1}, r"points=1 \(kind 'table'\) must be an integer >= 2"),
        ("poly", {"degree": -1}, "degree=-1 .* integer >= 0"),
        ("poly", {"degree": 2.5}, "degree=2.5 .* integer >= 0"),
        ("poly", {"degree": True}, "degree=True"),
        ("mlp", {"hidden": (16, 0)}, r"hidden=\(16, 0\) .* layer widths >= 1"),
        ("mlp", {"validation": 1.0}, "validation=1.0 .* strictly between 0 and 1"),
        ("mlp", {"seconds": 0}, "seconds=0 .* > 0"),
        ("mlp", {"learning_rate": float("nan")}, "learning_rate=nan"),
        ("mlp", {"epochs": 0}, "epochs=0"),
        ("memo", {"cells": 1}, "cells=1 .* integer >= 2"),
        (
            "poly",
            {"points": 8},
            r"\['points'\] are not options of surrogate kind 'poly'; its options are \['degree'\]",
        ),
    ],
)
def test_bad_options_name_the_option_and_what_was_expected(kind, options, message):
    with pytest.raises(ValueError, match=message):
        fit(kind, exp_samples(), options=options)


def test_memo_refuses_a_grid_too_large_to_index():
    X = uniform(0.0, 1.0, 10, d=8)
    with pytest.raises(ValueError, match=r"cells=1024 over 8 arguments .* lower cells"):
        fit("memo", Samples(X, X[:, :1]), options={"cells": 1024})


def test_predict_refuses_the_wrong_number_of_arguments():
    s = fitted("poly")
    with pytest.raises(ValueError, match=r"shape \(n, 1\).*got shape \(3, 2\)"):
        s.predict(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        s.predict(np.zeros(3))


def test_samples_must_be_two_dimensional_with_matching_rows():
    with pytest.raises(ValueError, match=r"Samples.X must be a 2-D array.*shape \(5,\).*reshape"):
        Samples(np.zeros(5), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="5 rows in X and 4 in Y"):
        Samples(np.zeros((5, 1)), np.zeros((4, 1)))


# -- determinism and metadata --------------------------------------------------------------------


def test_mlp_forward_is_the_tanh_network_in_every_block_and_precision():
    from approxify.transforms.substitute import mlp
    from approxify.transforms.substitute.predict import _ax_Predictor

    rng = np.random.default_rng(4)
    sizes = (3, 7, 5, 2)  # two hidden layers
    weights = []
    for fan_in, fan_out in zip(sizes, sizes[1:]):
        weights += [rng.normal(size=(fan_in, fan_out)), rng.normal(size=fan_out)]
    X = rng.normal(size=(_ax_Predictor.block_rows + 5, 3))  # a full block and a partial one
    h = X
    for W, b in zip(weights[0:-2:2], weights[1:-2:2]):
        h = np.tanh(h @ W + b)
    reference = h @ weights[-2] + weights[-1]
    out = mlp.forward(weights, X)
    assert out.shape == (len(X), 2) and out.dtype == np.float64
    np.testing.assert_allclose(out, reference, rtol=1e-12, atol=1e-12)
    single = mlp.forward([w.astype(np.float32) for w in weights], X)
    assert single.dtype == np.float32
    np.testing.assert_allclose(single, reference, rtol=0, atol=1e-4)


def test_an_mlp_surrogate_predicts_in_float32_and_answers_in_the_argument_dtype():
    from approxify.transforms.substitute import mlp

    s = fitted("mlp")
    x = dense(s, 1001)
    exact_precision = mlp.forward(s.weights, x)  # the float64 network
    y = s.predict(x)
    assert y.dtype == np.float64 and s.predict(x.astype(np.float32)).dtype == np.float32
    assert not np.array_equal(y, exact_precision)  # float32 arithmetic...
    np.testing.assert_allclose(y, exact_precision, rtol=0, atol=1e-5)  # ...far below the fit's error


def test_mlp_is_deterministic_for_a_seed():
    samples, x = exp_samples(), np.linspace(0, 1, 101)[:, None]
    first = fit("mlp", samples, options=FAST_MLP, seed=7).predict(x)
    assert np.array_equal(first, fit("mlp", samples, options=FAST_MLP, seed=7).predict(x))
    assert not np.array_equal(first, fit("mlp", samples, options=FAST_MLP, seed=8).predict(x))


def test_mlp_stops_at_its_time_budget():
    s = fit("mlp", exp_samples(), options={"seconds": 0.05, "epochs": 10**6, "patience": 10**6})
    assert s.stopped_by == "seconds" and s.fit_seconds < 1.0


@pytest.mark.parametrize("kind", KINDS)
def test_fit_records_its_time_and_the_observed_finite_range(kind):
    X = uniform(-3.0, 2.0, 2000, d=1 if kind in ("table", "poly") else 2)
    Y = np.sin(X.sum(axis=1, keepdims=True))
    X_dirty = np.vstack(
        [X, [[np.nan] * X.shape[1], [100.0] * X.shape[1]]]
    )  # the 100 row has no result
    Y_dirty = np.vstack([Y, [[0.0], [np.inf]]])
    s = fitted(kind, Samples(X_dirty, Y_dirty))
    assert s.fit_seconds > 0 and s.kind == kind and s.n_arguments == X.shape[1]
    np.testing.assert_array_equal(s.lo, X.min(axis=0))
    np.testing.assert_array_equal(s.hi, X.max(axis=0))


@pytest.mark.parametrize("degree", [2, 8, 12])
def test_poly_predictions_match_chebval_whichever_rule_evaluates_them(degree):
    """Low degrees run Horner's rule on power coefficients, high ones Clenshaw's recurrence."""
    x = np.linspace(-3.0, 2.0, 257)
    fitted = fit("poly", Samples(x[:, None], np.tanh(x)[:, None]), options={"degree": degree})
    unit = (x - (x.min() + x.max()) / 2) / ((x.max() - x.min()) / 2)
    expected = np.polynomial.chebyshev.chebval(unit, fitted.coefficients[:, 0])
    np.testing.assert_allclose(fitted.predict(x[:, None])[:, 0], expected, rtol=0, atol=1e-12)


def test_poly_predicts_float32_rows_in_float32_and_other_kinds_in_float64():
    x = np.linspace(0.0, 1.0, 200)
    samples = Samples(x[:, None], np.exp(x)[:, None])
    rows = x[:, None].astype(np.float32)
    assert fit("poly", samples, options={"degree": 6}).predict(rows).dtype == np.float32
    assert fit("table", samples, options={"points": 32}).predict(rows).dtype == np.float64
