"""A custom metric outside [0, 1]: NaN or negative is an error naming the metric; above 1 (no
``loss_cap=``) counts as 1, is counted, and the result says so; ``loss_cap=`` caps by choice."""

from __future__ import annotations

import math

import pytest

import approxify as ax
from approxify.measure.quality import get_quality, with_cap

import tuning_kernels as tk

SITE = "tuning_kernels.smooth_mean/for#0"
HALF = {SITE: ax.Perforate(0.5)}  # uncompensated: the mean is off by half


@pytest.fixture(scope="module")
def inputs():
    return tk.make_inputs(400)


def scaled_error(exact, approx):
    """Relative error times 10: above 1 wherever the variant is more than 10% off."""
    return 10 * abs(exact - approx) / abs(exact)


def test_values_above_one_are_counted_as_one_and_recorded(inputs):
    evaluation = ax.evaluate(tk.smooth_mean, HALF, inputs[:20], quality=scaled_error, repeats=1)
    assert evaluation.above_one == 20 and evaluation.max_loss == 1.0
    assert evaluation.summary()["above_one"] == 20


def test_loss_cap_caps_by_choice_and_nothing_is_recorded(inputs):
    metric = with_cap(get_quality(scaled_error), 1.0, bound=0.05)
    assert metric(1.0, 2.0) == 1.0
    evaluation = ax.evaluate(tk.smooth_mean, HALF, inputs[:20], quality=metric, repeats=1)
    assert evaluation.above_one == 0 and evaluation.max_loss == 1.0


@pytest.mark.parametrize("value", [math.nan, -0.5])
def test_nan_or_negative_on_a_variant_is_an_error_naming_the_metric(inputs, value):
    def broken(exact, approx):
        return 0.0 if exact == approx else value

    with pytest.raises(ax.QualityError) as info:
        ax.evaluate(tk.smooth_mean, HALF, inputs[:5], quality=broken, repeats=1)
    message = str(info.value)
    assert "'broken' returned" in message and repr(value) in message and "Fix the metric" in message


def test_the_result_says_when_the_best_configs_held_out_losses_went_above_one(inputs):
    largest = sorted(tk.smooth_mean(*x) for x in inputs)[-10]

    def spiky(exact, approx):  # the ten largest outputs give 3 for any change
        error = abs(exact - approx) / abs(exact)
        return 3.0 if error and exact >= largest else error

    result = ax.approximate(tk.smooth_mean, inputs, quality=spiky, bound=0.2, seed=0,
                            budget=ax.Budget(trials=2), progress=False, repeats=1)
    assert result.best.certified and result.best.heldout["above_one"] > 0
    note = next(n for n in result.notes if "above 1" in n)
    assert "'spiky'" in note and "capped at 1" in note and "loss_cap=1" in note
    assert note in result.summary()


def test_a_quality_capped_by_hand_below_one_cuts_its_losses():
    assert ax.Quality("capped", lambda e, a: 0.7, cap=0.5)(1.0, 2.0) == 0.5
