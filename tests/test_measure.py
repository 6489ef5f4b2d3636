"""Measurement: quality metrics in closed form, the reference checks (metric and exact program),
failures as data, inputs never mutated, and speedups measured side by side or by a proxy
(design.md §5.2, §5.4, §5.5)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import approxify as ax
import kernels_for_tests as K
from approxify.measure.quality import (
    BUILTIN,
    OutputMismatch,
    get_quality,
    mean_rel,
    mismatch,
    rel_l2,
)

M = "kernels_for_tests"
HALF = ax.Perforate(0.5)


def sid(qualname: str, k: int = 0) -> str:
    return f"{M}.{qualname}/for#{k}"


def flat_cost(fn, inputs):
    """A proxy cost that never runs anything: evaluations that are not about speed stay fast."""
    return 1.0


def iterations(fn, inputs):
    """A deterministic cost proxy: loop iterations ``counted_sum`` runs over all inputs."""
    total = 0
    for xs in inputs:
        counter = [0]
        fn(list(xs), counter)
        total += counter[0]
    return total


# --- quality metrics: closed forms ----------------------------------------------------------------


@pytest.mark.parametrize(
    "exact, approx, expected",
    [
        ([3.0, 4.0], [3.0, 4.0], 0.0),
        ([3.0, 4.0], [3.0, 4.5], 0.1),  # 0.5 / 5
        ([3.0, 4.0], [0.0, 0.0], 1.0),  # 5 / 5
        ([3.0, 4.0], [6.0, 8.0], 1.0),
        ([1.0], [10.0], 1.0),  # 9, capped at 1
        (2.0, 2.5, 0.25),
        ([[1.0, 2.0], [2.0, 4.0]], [[1.0, 2.0], [2.0, 3.0]], 0.2),  # 1 / 5, Frobenius
        ([0.0, 0.0], [0.0, 0.0], 0.0),
        ([0.0, 0.0], [0.0, 1e-9], 1.0),  # exact all zero: any difference is total
        (np.array([6.0, 8.0]), [6.0, 8.0 + 1e-3], 1e-4),
    ],
)
def test_rel_l2(exact, approx, expected):
    assert rel_l2(exact, approx) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert BUILTIN["rel_l2"](exact, approx) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "exact, approx, expected",
    [
        ([2.0, 4.0], [3.0, 4.0], 0.25),  # (1/2 + 0) / 2
        ([2.0, 0.0], [2.0, 1.0], 0.5),  # zero exact, nonzero diff: 1
        ([2.0, 0.0], [2.0, 0.0], 0.0),
        ([1.0, 1.0], [5.0, 1.0], 0.5),  # 4 capped at 1
        ([-2.0, 10.0, 4.0, 1.0], [-1.0, 12.0, 4.0, 1.0], (0.5 + 0.2) / 4),
        ([], [], 0.0),
        (8.0, 6.0, 0.25),
    ],
)
def test_mean_rel(exact, approx, expected):
    assert mean_rel(exact, approx) == pytest.approx(expected, rel=1e-12, abs=1e-15)


@pytest.mark.parametrize(
    "exact, approx, expected",
    [
        ([1, 2, 3], [1, 2, 3], 0.0),
        ([1, 2, 3], [1, 2, 4], 1.0),
        ([1, 2], (1, 2), 1.0),  # a different type is a different output
        (np.array([1.0, np.nan]), np.array([1.0, np.nan]), 0.0),
        (np.array([1.0, 2.0]), np.array([1.0, 2.0, 3.0]), 1.0),
        (math.nan, math.nan, 0.0),
        ("abc", "abc", 0.0),
        ("abc", "abd", 1.0),
        ({"a": [1, 2]}, {"a": [1, 2]}, 0.0),
        (None, None, 0.0),
        ([(1, "x"), (2, "y")], [(1, "x"), (2, "z")], 1.0),
    ],
)
def test_mismatch(exact, approx, expected):
    assert mismatch(exact, approx) == expected
    assert BUILTIN["mismatch"].binary and not BUILTIN["rel_l2"].binary


@pytest.mark.parametrize("metric", [rel_l2, mean_rel])
def test_shapes_that_differ_cannot_be_compared(metric):
    with pytest.raises(OutputMismatch, match="shape"):
        metric([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(OutputMismatch):
        metric([1.0, 2.0], "12")


class ModelOutput(dict):
    """What a Hugging Face model returns: a mapping with ``to_tuple``, its main output first."""

    def to_tuple(self):
        return tuple(self.values())


def test_a_hugging_face_model_output_is_compared_by_its_first_field():
    exact = ModelOutput(logits=np.array([[1.0, 2.0]]), past_key_values=object())
    approx = ModelOutput(logits=np.array([[1.0, 2.2]]), past_key_values=object())
    assert rel_l2(exact, approx) == pytest.approx(rel_l2(exact["logits"], approx["logits"]))
    with pytest.raises(OutputMismatch):
        rel_l2({"logits": np.ones(2)}, {"logits": np.ones(2)})  # a plain dict is not one


def test_quality_passes_values_above_one_on_and_rejects_negative_or_nan():
    # above 1 is counted as 1 by the runner, which records it (tests/test_metric_range.py)
    assert ax.Quality("big", lambda e, a: 7.5)(1.0, 2.0) == 7.5
    with pytest.raises(ax.QualityError, match="'neg' returned -0.1; .* >= 0"):
        ax.Quality("neg", lambda e, a: -0.1)(1.0, 2.0)
    with pytest.raises(ax.QualityError, match="'nan' returned nan"):
        ax.Quality("nan", lambda e, a: math.nan)(1.0, 2.0)


def test_get_quality_resolves_names_callables_and_quality_objects():
    assert get_quality("mean_rel") is BUILTIN["mean_rel"]
    custom = ax.Quality("custom", lambda e, a: 0.0, binary=True)
    assert get_quality(custom) is custom

    def my_loss(exact, approx):
        return 0.0

    assert get_quality(my_loss).name == "my_loss"


def test_unknown_quality_name_lists_the_builtins():
    with pytest.raises(ax.InvalidArgument) as info:
        ax.evaluate(K.list_sum, {}, [[1.0]], quality="l2", cost=flat_cost)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ax.ApproxifyError)
    text = str(info.value)
    assert "'l2'" in text and "mean_rel, mismatch, rel_l2" in text


def test_quality_of_the_wrong_type():
    with pytest.raises(ax.InvalidArgumentType) as info:
        ax.evaluate(K.list_sum, {}, [[1.0]], quality=42, cost=flat_cost)
    assert isinstance(info.value, TypeError) and "quality=" in str(info.value)


# --- the reference: the metric and the exact program are checked first ---------------------------


def test_custom_callable_quality():
    def abs_error(exact, approx):
        return abs(exact - approx)

    inputs = [[0.1, 0.2, 0.3, 0.4], [0.5, 0.0, 0.25, 0.0]]  # half keeps items 0 and 2
    result = ax.evaluate(K.list_sum, {sid("list_sum"): HALF}, inputs, quality=abs_error,
                         cost=flat_cost)
    assert result.losses.tolist() == pytest.approx([0.6, 0.0], abs=1e-12)
    assert result.failures == () and result.identical == 1


def test_quality_that_raises_on_exact_outputs_is_a_quality_error_before_any_variant_runs():
    def fragile(exact, approx):  # runs in the sandbox: what it saw comes back in its message
        raise ZeroDivisionError("compared with itself" if exact is approx else "compared with another")

    with pytest.raises(ax.QualityError) as info:
        ax.evaluate(K.hangs_when_perforated, {sid("hangs_when_perforated"): HALF}, [[1, 2, 3, 4]],
                    quality=fragile, cost=flat_cost)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ax.ApproxifyError)
    text = str(info.value)
    assert "ZeroDivisionError: compared with itself" in text  # the exact output against itself only
    assert "fragile" in text and "ZeroDivisionError" in text and "#0" in text


def test_quality_nonzero_on_identical_outputs_is_a_quality_error():
    def always_half(exact, approx):
        return 0.5

    with pytest.raises(ax.QualityError) as info:
        ax.evaluate(K.list_sum, {}, [[1.0, 2.0]], quality=always_half, cost=flat_cost)
    assert "always_half" in str(info.value) and "0.5" in str(info.value)


def test_builtin_quality_that_cannot_read_the_exact_output_is_a_quality_error():
    with pytest.raises(ax.QualityError, match="rel_l2"):
        ax.evaluate(K.visit_list, {}, [["a", "b"]], quality="rel_l2", cost=flat_cost)
    result = ax.evaluate(K.visit_list, {}, [["a", "b"]], quality="mismatch", cost=flat_cost)
    assert result.losses.tolist() == [0.0]


def test_exact_program_failing_is_target_failed_naming_the_input():
    with pytest.raises(ax.TargetFailed) as info:
        ax.evaluate(K.sqrt_all, {}, [[1.0, 4.0], [-1.0], [9.0]], cost=flat_cost)
    exc = info.value
    assert isinstance(exc, RuntimeError) and isinstance(exc, ax.ApproxifyError)
    text = str(exc)
    assert "input #1" in text and "ValueError" in text and "sqrt_all" in text
    assert isinstance(exc.__cause__, ValueError)


def test_unknown_site_is_raised_before_anything_runs():
    with pytest.raises(ax.UnknownSite):
        ax.evaluate(K.list_sum, {"kernels_for_tests.list_sum/for#3": HALF}, [[1.0]], cost=flat_cost)


# --- failures in a variant are data ---------------------------------------------------------------


def test_variant_exception_is_a_failure():
    inputs = [[1, 2, 3, 4], [5]]  # one item: nothing skipped on the second input
    result = ax.evaluate(K.raises_when_perforated, {sid("raises_when_perforated"): HALF}, inputs,
                         cost=flat_cost)
    assert result.losses.tolist() == [1.0, 0.0]
    (failure,) = result.failures
    assert (failure.index, failure.kind) == (0, "exception")
    assert "IndexError" in failure.message
    assert failure.to_dict() == {"index": 0, "kind": "exception", "message": failure.message}


def test_variant_nan_is_a_nonfinite_failure():
    inputs = [[-1.0, -2.0, -3.0, 5.0], [2.0, 1.0, 4.0, 3.0]]
    result = ax.evaluate(K.nan_when_perforated, {sid("nan_when_perforated"): HALF}, inputs,
                         cost=flat_cost)
    assert result.losses[0] == 1.0 and 0.0 < result.losses[1] < 1.0  # 3 vs 2.5
    assert [(f.index, f.kind) for f in result.failures] == [(0, "nonfinite")]


def test_variant_output_of_another_shape_is_a_mismatch_failure():
    result = ax.evaluate(K.visited_list, {sid("visited_list"): HALF}, [[1.0, 2.0, 3.0, 4.0]],
                         cost=flat_cost)
    assert result.losses.tolist() == [1.0]
    assert [(f.index, f.kind) for f in result.failures] == [(0, "mismatch")]
    assert "shape" in result.failures[0].message


def test_variant_that_hangs_is_a_timeout_failure():
    inputs = [[1, 2, 3, 4, 5, 6], [7]]
    result = ax.evaluate(K.hangs_when_perforated, {sid("hangs_when_perforated"): HALF}, inputs,
                         timeout=0.2, repeats=1)
    assert result.losses.tolist() == [1.0, 0.0]
    assert [(f.index, f.kind) for f in result.failures] == [(0, "timeout")]
    assert result.speedup is not None and result.speedup > 0 and math.isfinite(result.speedup)
    assert result.summary()["failure_kinds"] == ["timeout"]


def test_variant_that_hangs_inside_a_proxy_cost_is_stopped():
    def runs_it(fn, inputs):
        for xs in inputs:
            fn(list(xs))
        return 1.0

    inputs = [[1, 2, 3, 4, 5, 6]]
    result = ax.evaluate(K.hangs_when_perforated, {sid("hangs_when_perforated"): HALF}, inputs,
                         timeout=0.2, cost=runs_it)
    assert result.speedup == 0.0
    assert [f.kind for f in result.failures] == ["timeout"]


def test_mixed_failures_are_counted_and_summarised():
    inputs = [[1, 2, 3, 4], [5], [6, 7]]
    result = ax.evaluate(K.raises_when_perforated, {sid("raises_when_perforated"): HALF}, inputs,
                         cost=flat_cost)
    assert result.failure_count == 2 and [f.index for f in result.failures] == [0, 2]
    assert result.n == 3 and result.identical == 1
    assert result.mean_loss == pytest.approx(2 / 3) and result.max_loss == 1.0
    summary = result.summary()
    json.dumps(summary)  # plain data
    assert summary["failures"] == 2 and summary["failure_kinds"] == ["exception"]


# --- inputs are never mutated ---------------------------------------------------------------------


def _inputs_for_mutation():
    return [
        [3.0, 1.0, 2.0],
        ([5.0, 4.0, 6.0],),
        ax.Args([9.0, 7.0, 8.0], out=np.ones(3)),
    ]


@pytest.mark.parametrize("config", [{}, {sid("mutates_input"): HALF}], ids=["exact", "perforated"])
@pytest.mark.parametrize("cost", ["time", flat_cost], ids=["time", "proxy"])
def test_inputs_are_not_mutated_by_a_function_that_mutates_its_arguments(config, cost):
    inputs = _inputs_for_mutation()
    result = ax.evaluate(K.mutates_input, config, inputs, cost=cost, repeats=1)
    assert inputs[0] == [3.0, 1.0, 2.0]
    assert inputs[1] == ([5.0, 4.0, 6.0],)
    assert inputs[2].args == ([9.0, 7.0, 8.0],)
    assert np.array_equal(inputs[2].kwargs["out"], np.ones(3))
    if not config:  # every call saw the original input, so the exact program matches itself
        assert result.losses.tolist() == [0.0, 0.0, 0.0]


def test_numpy_inputs_are_not_mutated():
    arrays = [np.arange(4.0), np.array([2.0, -1.0])]
    kept = [a.copy() for a in arrays]
    result = ax.evaluate(K.mutates_array, {}, arrays, repeats=1)
    assert all(np.array_equal(a, k) for a, k in zip(arrays, kept))
    assert result.losses.tolist() == [0.0, 0.0]

    matrix = np.arange(6.0).reshape(3, 2)  # a 2-D array: one input per row
    ax.evaluate(K.mutates_array, {sid("mutates_array"): HALF}, matrix, repeats=1)
    assert np.array_equal(matrix, np.arange(6.0).reshape(3, 2))


def test_args_with_keywords_reach_the_function():
    inputs = [ax.Args([1.0, 2.0, 3.0, 4.0], counter=None), ax.Args(xs=[1.0, 1.0])]
    result = ax.evaluate(K.counted_sum, {sid("counted_sum"): HALF}, inputs, cost=flat_cost)
    assert result.losses.tolist() == pytest.approx([0.6, 0.5])  # |10 - 4| / 10, |2 - 1| / 2


# --- cost and speedup -----------------------------------------------------------------------------


def test_exact_config_speedup_is_a_positive_ratio_with_repeats():
    inputs = [[0.5 * i for i in range(50)] for _ in range(3)]
    result = ax.evaluate(K.list_sum, {}, inputs, repeats=2)
    assert result.losses.tolist() == [0.0, 0.0, 0.0] and result.failures == ()
    assert result.speedup > 0 and math.isfinite(result.speedup)
    timing = result.timing
    assert timing.repeats == 2 and len(timing.ratios) == 2
    assert all(r > 0 and math.isfinite(r) for r in timing.ratios)
    assert timing.exact_seconds > 0 and timing.variant_seconds > 0 and timing.loops >= 1
    assert result.speedup == pytest.approx(float(np.median(timing.ratios)))
    assert result.config == {}


@pytest.mark.parametrize(
    "setting, expected",
    [
        (ax.Perforate(), 1.0),
        (HALF, 2.0),
        (ax.Perforate(0.75), 4.0),
        (ax.Perforate(0.5, "truncate"), 2.0),
        (ax.Perforate(0.25), 12 / 9),
        (ax.Perforate(0.5, "random"), 2.0),
    ],
)
def test_proxy_cost_gives_the_exact_ratio(setting, expected):
    inputs = [[1.0] * 12, [2.0] * 24]
    result = ax.evaluate(K.counted_sum, {sid("counted_sum"): setting}, inputs, cost=iterations)
    assert result.speedup == pytest.approx(expected, rel=1e-12)
    assert result.timing is None
    assert result.config == {sid("counted_sum"): setting}


def test_proxy_cost_must_be_positive_for_the_exact_program():
    with pytest.raises(ax.InvalidArgument, match="positive"):
        ax.evaluate(K.list_sum, {}, [[1.0]], cost=lambda fn, inputs: 0.0)


def test_unknown_cost_name():
    with pytest.raises(ax.InvalidArgumentType, match="cost="):
        ax.evaluate(K.list_sum, {}, [[1.0]], cost="flops")


# --- arguments ------------------------------------------------------------------------------------


@pytest.mark.parametrize("inputs", [[], (), np.empty((0, 3))], ids=["list", "tuple", "array"])
def test_empty_inputs(inputs):
    with pytest.raises(ax.InvalidArgument) as info:
        ax.evaluate(K.list_sum, {}, inputs)
    assert "empty" in str(info.value) and isinstance(info.value, ValueError)


def test_inputs_that_are_not_a_sequence():
    with pytest.raises(ax.InvalidArgumentType, match="inputs"):
        ax.evaluate(K.list_sum, {}, 5)


def test_inputs_from_a_generator_are_accepted():
    result = ax.evaluate(K.list_sum, {}, ([float(i)] * 3 for i in range(3)), cost=flat_cost)
    assert result.n == 3


@pytest.mark.parametrize("repeats", [0, -1, 1.5, True])
def test_repeats_must_be_a_whole_number(repeats):
    with pytest.raises(ax.InvalidArgument, match="repeats"):
        ax.evaluate(K.list_sum, {}, [[1.0]], repeats=repeats)


def test_variant_failure_inside_a_proxy_cost_is_not_raised():
    def runs_it(fn, inputs):
        for xs in inputs:
            fn(list(xs))
        return 1.0

    result = ax.evaluate(K.raises_when_perforated, {sid("raises_when_perforated"): HALF},
                         [[1, 2, 3, 4]], cost=runs_it)
    assert [f.kind for f in result.failures] == ["exception"]


def test_time_pair_can_time_a_function_against_itself():
    from approxify.measure.cost import time_pair
    from approxify.measure.inputs import InputSet

    def f(x):
        return sum(range(x))

    timing = time_pair(f, f, InputSet([100, 200]), [0, 1], repeats=3)
    assert len(timing.ratios) == 3 and all(r > 0 for r in timing.ratios)


def test_a_variants_floating_point_warnings_are_data_not_terminal_noise():
    import warnings

    from approxify.measure.quality import get_quality
    from approxify.measure.runner import Reference

    def exact(x):
        return np.array([x])

    def overflowing(x):
        return np.array([x]) * np.float64(1e308) * 10.0  # inf, with an overflow warning

    reference = Reference(exact, [1.0, 2.0], get_quality("rel_l2"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        losses, failures = reference.losses(overflowing, [0, 1])
    assert list(losses) == [1.0, 1.0] and {f.kind for f in failures} == {"nonfinite"}
