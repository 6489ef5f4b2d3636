"""Function substitution on Python functions (project issue #4): identity at the exact setting,
sites found by tracing (ids, reasons, choices), every surrogate kind through ``ax.apply``,
before/after source, the guard, fit caching, save/load without tracing, export, and the user's
objects stay as they were (design.md §5.1, §5.2, §5.6, §6.5)."""

from __future__ import annotations

import ast
import dataclasses
import json

import numpy as np
import pytest

import approxify as ax
from approxify._target import Target
from approxify.config import setting_from_dict
from approxify.errors import InvalidArgument, InvalidArgumentType, InvalidConfig, TargetFailed, UnknownSite
from approxify.transforms.substitute import python as substitute_python
from approxify.transforms.substitute import fitting, surrogates, trace
from approxify.transforms.substitute.runtime import guard_counts

import substitute_kernels as K
from exported_modules import import_exported

M = "substitute_kernels"
RNG = np.random.default_rng(4)
# traced on [0, 1] exactly: the first example holds both ends
UNIT = [(np.linspace(0.0, 1.0, 50),)] + [(RNG.uniform(0.0, 1.0, 50),) for _ in range(19)]
GRID = np.linspace(0.0, 1.0, 101)


def site(fn, callee: str) -> str:
    return f"{M}.{fn.__qualname__}/call:{callee}"


def norm(text: str) -> str:
    return ast.unparse(ast.parse(text))


def substitute_sites(fn, examples) -> dict[str, ax.Site]:
    return {s.id: s for s in ax.sites(fn, families=["substitute"], example_inputs=examples)}


def labels(s: ax.Site) -> list[str]:
    return [c.label() for c in s.knob.choices]


def rewritten(fn, config, examples, key: str | None = None) -> str:
    target = Target(fn, example_inputs=examples, families=["substitute"])
    return norm(target.rewrite(config).source(key or f"{M}.{fn.__qualname__}"))


def pairs(n: int, *, diagonal: bool = False):
    grid_i, grid_j = np.meshgrid(np.arange(10), np.arange(10))
    if diagonal:
        return [(np.arange(10), np.arange(10))] * n
    return [(grid_i.ravel(), grid_j.ravel())] * n


WAVE = [(RNG.uniform(-1, 1, 100), RNG.uniform(-1, 1, 100)) for _ in range(20)]


# --- 1. identity ----------------------------------------------------------------------------------

IDENTITY_CASES = [
    (K.call_slow_exp, UNIT, "slow_exp"),
    (K.nested, UNIT, "np.sin"),
    (K.math_loop, UNIT, "math.exp"),
    (K.uses_wave, WAVE, "wave"),
    (K.uses_norm, UNIT, "norm"),
]


@pytest.mark.parametrize("fn, examples, callee", IDENTITY_CASES, ids=lambda v: getattr(v, "__name__", ""))
@pytest.mark.parametrize("exact", [False, True], ids=["empty", "Substitute()"])
def test_exact_settings_leave_source_and_outputs_unchanged(fn, examples, callee, exact):
    config = {site(fn, callee): ax.Substitute()} if exact else {}
    target = Target(fn, example_inputs=examples, families=["substitute"])
    assert site(fn, callee) in target.site_index
    assert target.rewrite(config).source() == target.program.source()
    variant = ax.apply(fn, config, example_inputs=examples)
    for args in examples[:3]:
        assert np.array_equal(variant(*args), fn(*args))
    assert "_ax_" not in ax.source(fn, config, example_inputs=examples)


# --- 2. sites -------------------------------------------------------------------------------------


def test_sites_are_found_only_with_example_inputs():
    with pytest.raises(InvalidArgument, match="example_inputs"):
        ax.sites(K.call_slow_exp, families=["substitute"])
    assert not [s for s in ax.sites(K.call_slow_exp) if s.family == "substitute"]
    found = substitute_sites(K.call_slow_exp, UNIT)
    assert list(found) == [site(K.call_slow_exp, "slow_exp")]
    assert {s.family for s in found.values()} == {"substitute"}


def test_repeated_callees_are_numbered_in_source_order():
    found = substitute_sites(K.twice_slow_exp, UNIT)
    assert list(found) == [site(K.twice_slow_exp, "slow_exp"), site(K.twice_slow_exp, "slow_exp#2")]
    first, second = found.values()
    assert first.facts["lo"] == [0.0] and first.facts["hi"] == [1.0]
    assert second.facts["lo"] == [1.0] and second.facts["hi"] == [2.0]  # called with x + 1


@pytest.mark.parametrize(
    "fn, callee, kind",
    [
        (K.call_slow_exp, "slow_exp", "user"),
        (K.uses_ufunc, "np.sqrt", "ufunc"),
        (K.math_loop, "math.exp", "math"),
        (K.uses_stats, "stats.norm.cdf", "stats"),
    ],
    ids=["user", "ufunc", "math", "scipy.stats"],
)
def test_callee_kinds_are_detected_and_offer_surrogates(fn, callee, kind):
    found = substitute_sites(fn, UNIT)
    s = found[site(fn, callee)]
    assert s.facts["kind"] == kind and s.facts["callee"] == callee
    assert "reason" not in s.facts
    assert s.facts["calls"] == (1000 if kind == "math" else 20)
    assert s.facts["arguments"] == 1 and s.facts["outputs"] == 1
    assert labels(s) == ["poly 4", "poly 8", "poly 16", "table 64", "table 1024", "memo 256"]


@pytest.mark.parametrize(
    "fn, examples, callee, reason",
    [
        (K.uses_string, UNIT, "scale_by", "argument 1 is not numeric (str)"),
        (K.uses_keyword, UNIT, "power", "keyword arguments (p)"),
        (K.uses_noisy, UNIT, "noisy", "side effects"),
        (K.branch, [(x, False) for (x,) in UNIT], "slow_exp", "never called"),
        (K.uses_norm, UNIT, "norm", "not element-wise"),
    ],
    ids=["non-numeric", "keyword", "side-effects", "never-called", "not-element-wise"],
)
def test_calls_that_cannot_be_substituted_are_listed_with_the_reason(fn, examples, callee, reason):
    s = substitute_sites(fn, examples)[site(fn, callee)]
    assert reason in s.facts["reason"] and reason in s.detail
    surrogates_offered = [c for c in s.knob.choices if c.kind != "alternative"]
    assert surrogates_offered == []


def test_one_argument_and_several_arguments_get_their_kinds():
    two = substitute_sites(K.uses_wave, WAVE)[site(K.uses_wave, "wave")]
    assert two.facts["arguments"] == 2 and two.facts["rows"] == 2000
    assert labels(two) == ["mlp 8", "mlp 32", "memo 256"]
    assert two.facts["lo"] == [min(x.min() for x, _ in WAVE), min(y.min() for _, y in WAVE)]


def test_too_few_traced_values_offer_fewer_choices_and_apply_says_how_many_are_needed():
    few = [(np.linspace(0.0, 1.0, 12),)]  # 12 values: poly 4 needs 10, table 16, poly 16 34
    s = substitute_sites(K.call_slow_exp, few)[site(K.call_slow_exp, "slow_exp")]
    assert labels(s) == ["poly 4", "memo 256"]
    assert s.facts["too_few_rows"] == ["poly 8", "poly 16", "table 64", "table 1024"]
    with pytest.raises(InvalidConfig, match=r"call_slow_exp/call:slow_exp.*at least 34 traced values.*gave 12"):
        ax.apply(K.call_slow_exp, {s.id: ax.Substitute("poly", degree=16)}, example_inputs=few)
    wave = substitute_sites(K.uses_wave, WAVE[:5])[site(K.uses_wave, "wave")]  # 500 rows
    assert labels(wave) == ["mlp 8", "memo 256"] and wave.facts["too_few_rows"] == ["mlp 32"]


def test_alternatives_are_offered_even_where_surrogates_are_not():
    s = substitute_sites(K.uses_norm, UNIT)[site(K.uses_norm, "norm")]
    assert labels(s) == ["alternative fast_norm", "alternative rough_norm"]


def test_keyword_arguments_named_like_the_tracers_parameters_are_traced():
    s = substitute_sites(K.uses_fn_keyword, UNIT)[site(K.uses_fn_keyword, "takes_fn")]
    assert "keyword arguments (fn)" in s.facts["reason"]


def test_example_inputs_the_program_fails_on_are_refused_naming_the_input():
    with pytest.raises(TargetFailed, match=r"call_slow_exp raised TypeError.*example input #1"):
        ax.sites(K.call_slow_exp, families=["substitute"], example_inputs=[UNIT[0], ("text",)])


# --- 3. each surrogate kind through ax.apply ------------------------------------------------------


def test_poly_reproduces_a_smooth_user_function_on_its_range():
    config = {site(K.call_slow_exp, "slow_exp"): ax.Substitute("poly", degree=8)}
    variant = ax.apply(K.call_slow_exp, config, example_inputs=UNIT)
    exact = K.call_slow_exp(GRID)
    approx = variant(GRID)
    assert np.max(np.abs(approx / exact - 1)) < 1e-6
    assert not np.array_equal(approx, exact)  # it is a surrogate, not the function


def test_table_reproduces_sin():
    examples = [(np.linspace(0.0, 3.0, 200),)] + [(RNG.uniform(0.0, 3.0, 200),) for _ in range(19)]
    config = {site(K.uses_sin, "np.sin"): ax.Substitute("table", points=1024)}
    variant = ax.apply(K.uses_sin, config, example_inputs=examples)
    x = np.linspace(0.0, 3.0, 301)
    assert np.max(np.abs(variant(x) - np.sin(x))) < 1e-4


def test_memo_of_two_integer_arguments_is_exact_on_visited_cells():
    config = {site(K.uses_combo, "combo"): ax.Substitute("memo", cells=256)}
    variant = ax.apply(K.uses_combo, config, example_inputs=pairs(3))
    i, j = pairs(1)[0]
    assert np.allclose(variant(i, j), K.uses_combo(i, j), rtol=1e-14, atol=0)
    assert guard_counts(variant)[site(K.uses_combo, "combo")] == {"values": 100, "fallbacks": 0}


def test_mlp_fits_a_smooth_function_of_two_arguments():
    config = {site(K.uses_wave, "wave"): ax.Substitute("mlp", hidden=(8,))}
    variant = ax.apply(K.uses_wave, config, example_inputs=WAVE)
    x, y = np.random.default_rng(9).uniform(-1, 1, (2, 500))
    assert np.max(np.abs(variant(x, y) - K.uses_wave(x, y))) < 0.1


def test_a_function_returning_a_tuple_of_arrays_is_substituted_by_a_tuple():
    examples = [(np.linspace(0.0, 3.0, 100),)] * 20
    config = {site(K.uses_polar, "polar"): ax.Substitute("poly", degree=12)}
    variant = ax.apply(K.uses_polar, config, example_inputs=examples)
    x = np.linspace(0.0, 3.0, 57)
    result = variant(x)
    assert isinstance(result, tuple) and len(result) == 2
    assert all(part.shape == x.shape for part in result)
    assert np.allclose(result[0], np.cos(x), atol=1e-8) and np.allclose(result[1], np.sin(x), atol=1e-8)
    assert "_ax_sub_0(polar, x)" in rewritten(K.uses_polar, config, examples)


# --- 4. before/after source -----------------------------------------------------------------------


def test_a_call_becomes_a_call_of_the_guarded_surrogate():
    config = {site(K.call_slow_exp, "slow_exp"): ax.Substitute("poly", degree=8)}
    after = rewritten(K.call_slow_exp, config, UNIT)
    assert after == norm("def call_slow_exp(x):\n    return _ax_sub_0(slow_exp, x) * 2.0\n")
    # the callee's own definition stays as it was
    key = f"{M}.slow_exp"
    assert rewritten(K.call_slow_exp, config, UNIT, key) == norm(Target(K.slow_exp).program.source())


def test_nested_calls_are_both_replaced_outer_first():
    config = {site(K.nested, "np.sin"): ax.Substitute("poly", degree=8),
              site(K.nested, "slow_exp"): ax.Substitute("table", points=64)}
    after = rewritten(K.nested, config, UNIT)
    assert after == norm(
        'def nested(x):\n    """Nested calls: ``np.sin`` outside, ``slow_exp`` inside."""\n'
        "    return _ax_sub_0(np.sin, _ax_sub_1(slow_exp, x))\n"
    )
    compile(ast.parse(after), "<variant>", "exec")
    variant = ax.apply(K.nested, config, example_inputs=UNIT)
    assert np.allclose(variant(GRID), K.nested(GRID), atol=1e-3)


def test_only_the_configured_one_of_repeated_calls_is_replaced():
    config = {site(K.twice_slow_exp, "slow_exp#2"): ax.Substitute("poly", degree=8)}
    assert rewritten(K.twice_slow_exp, config, UNIT).endswith("return slow_exp(x) + _ax_sub_0(slow_exp, x + 1.0)")


def test_an_alternative_replaces_the_callee():
    config = {site(K.uses_norm, "norm"): ax.Substitute("alternative", name="fast_norm")}
    assert rewritten(K.uses_norm, config, UNIT) == norm("def uses_norm(v):\n    return _ax_sub_0(v) * 2.0\n")
    v = np.array([3.0, 4.0, 12.0])
    variant = ax.apply(K.uses_norm, config)  # alternatives need no tracing
    assert variant(v) == 2.0 * K.fast_norm(v) == 26.0
    rough = ax.apply(K.uses_norm, {site(K.uses_norm, "norm"): ax.Substitute("alternative", name="rough_norm")})
    assert rough(v) == 2.0 * K.rough_norm(v) == 38.0


def test_an_unknown_alternative_lists_the_registered_ones():
    config = {site(K.uses_norm, "norm"): ax.Substitute("alternative", name="slow_norm")}
    with pytest.raises(InvalidConfig, match=r"'slow_norm'.*fast_norm, rough_norm.*ax.alternatives"):
        ax.apply(K.uses_norm, config)


# --- 5. the guard ---------------------------------------------------------------------------------

OUTSIDE = np.concatenate([GRID, [-0.5, -1e-9, 1.0 + 1e-9, 1.5, 3.0]])
OUT_MASK = (OUTSIDE < 0.0) | (OUTSIDE > 1.0)


def test_values_outside_the_traced_range_run_the_exact_function_and_are_counted():
    s = site(K.call_slow_exp, "slow_exp")
    config = {s: ax.Substitute("poly", degree=4)}
    variant = ax.apply(K.call_slow_exp, config, example_inputs=UNIT)
    exact, approx = K.call_slow_exp(OUTSIDE), variant(OUTSIDE)
    assert np.array_equal(approx[OUT_MASK], exact[OUT_MASK])  # bit for bit
    assert not np.array_equal(approx[~OUT_MASK], exact[~OUT_MASK])
    assert guard_counts(variant) == {s: {"values": OUTSIDE.size, "fallbacks": 5}}
    evaluation = ax.evaluate(K.call_slow_exp, config, [(OUTSIDE,), (GRID,)], repeats=1, example_inputs=UNIT)
    assert evaluation.guards == {s: {"values": OUTSIDE.size + GRID.size, "fallbacks": 5}}


def test_all_values_outside_and_nan_fall_back():
    config = {site(K.call_slow_exp, "slow_exp"): ax.Substitute("table", points=64)}
    variant = ax.apply(K.call_slow_exp, config, example_inputs=UNIT)
    x = np.array([2.0, np.nan, -3.0])
    assert np.array_equal(variant(x), K.call_slow_exp(x), equal_nan=True)
    assert guard_counts(variant)[site(K.call_slow_exp, "slow_exp")]["fallbacks"] == 3


def test_with_two_arguments_only_the_values_outside_fall_back_whichever_side_or_nan():
    s = site(K.uses_wave, "wave")
    variant = ax.apply(K.uses_wave, {s: ax.Substitute("memo", cells=8)}, example_inputs=WAVE)
    x = np.array([0.1, 0.2, 5.0, 0.3, -0.4, 0.5])  # 5.0 above x's range
    y = np.array([0.1, -7.0, 0.2, np.nan, 0.3, 9.0])  # -7.0 below, 9.0 above y's range, NaN
    outside = np.array([False, True, True, True, False, True])
    exact, approx = K.uses_wave(x, y), variant(x, y)
    assert np.array_equal(approx[outside], exact[outside], equal_nan=True)  # bit for bit
    assert not np.array_equal(approx[~outside], exact[~outside])
    assert guard_counts(variant)[s] == {"values": 6, "fallbacks": 4}


def test_margin_widens_the_trusted_range():
    s = site(K.call_slow_exp, "slow_exp")
    variant = ax.apply(K.call_slow_exp, {s: ax.Substitute("poly", degree=8, margin=0.5)}, example_inputs=UNIT)
    inside, outside = np.array([-0.4, 1.2, 1.5]), np.array([-0.6, 1.6])
    approx = variant(inside)
    assert guard_counts(variant)[s] == {"values": 3, "fallbacks": 0}
    assert not np.array_equal(approx, K.call_slow_exp(inside))
    assert np.array_equal(variant(outside), K.call_slow_exp(outside))
    assert guard_counts(variant)[s] == {"values": 5, "fallbacks": 2}


def test_unguarded_surrogates_predict_everywhere():
    s = site(K.call_slow_exp, "slow_exp")
    variant = ax.apply(K.call_slow_exp, {s: ax.Substitute("poly", degree=4, guard=False)}, example_inputs=UNIT)
    x = np.array([3.0])
    approx, exact = variant(x), K.call_slow_exp(x)
    assert abs(approx[0] / exact[0] - 1) > 1e-3  # the polynomial extrapolates, badly
    assert guard_counts(variant)[s] == {"values": 1, "fallbacks": 0}


def test_python_float_calls_take_the_same_guard():
    s = site(K.scalar_loop, "scalar_exp")
    variant = ax.apply(K.scalar_loop, {s: ax.Substitute("poly", degree=8)}, example_inputs=UNIT)
    exact, approx = K.scalar_loop(OUTSIDE), variant(OUTSIDE)
    assert np.array_equal(approx[OUT_MASK], exact[OUT_MASK])
    assert np.max(np.abs(approx[~OUT_MASK] / exact[~OUT_MASK] - 1)) < 1e-6
    assert not np.array_equal(approx, exact)
    assert guard_counts(variant)[s] == {"values": OUTSIDE.size, "fallbacks": 5}


def test_a_call_inside_a_callee_is_substituted_and_counted():
    s = site(K.scalar_exp, "math.exp")
    variant = ax.apply(K.scalar_loop, {s: ax.Substitute("poly", degree=6)}, example_inputs=UNIT)
    x = np.array([0.5, 2.0])
    approx, exact = variant(x), K.scalar_loop(x)
    assert approx[1] == exact[1] and approx[0] == pytest.approx(exact[0], rel=1e-6)
    assert guard_counts(variant) == {s: {"values": 2, "fallbacks": 1}}
    assert "return _ax_sub_0(math.exp, v) * 1.0" in rewritten(K.scalar_loop, {s: ax.Substitute("poly", degree=6)},
                                                             UNIT, f"{M}.scalar_exp")


def test_python_float_calls_to_a_math_function_are_guarded():
    s = site(K.math_loop, "math.exp")
    variant = ax.apply(K.math_loop, {s: ax.Substitute("table", points=1024)}, example_inputs=UNIT)
    assert variant(np.array([2.0, 3.0])) == K.math_loop(np.array([2.0, 3.0]))
    assert variant(GRID) == pytest.approx(K.math_loop(GRID), rel=1e-5)
    assert guard_counts(variant)[s] == {"values": 2 + GRID.size, "fallbacks": 2}


def test_memo_falls_back_in_cells_it_never_saw():
    s = site(K.uses_combo, "combo")
    config = {s: ax.Substitute("memo", cells=256)}
    variant = ax.apply(K.uses_combo, config, example_inputs=pairs(2, diagonal=True))
    i, j = pairs(1)[0]
    exact, approx = K.uses_combo(i, j), variant(i, j)
    off = i != j
    assert np.array_equal(approx[off], exact[off])  # inside the traced box, but never seen
    assert np.allclose(approx[~off], exact[~off], rtol=1e-14, atol=0)
    assert guard_counts(variant)[s] == {"values": 100, "fallbacks": 90}
    unguarded = ax.apply(K.uses_combo, {s: ax.Substitute("memo", cells=256, guard=False)},
                         example_inputs=pairs(2, diagonal=True))
    assert np.array_equal(unguarded(i, j)[off], exact[off])  # no answer is no answer, guard or not


def test_memo_answers_python_numbers_like_numpy_numbers():
    values = list(range(511))  # cells=256 over [0, 510]: a step of 2, odd values half-way
    s = site(K.half_step_loop, "half_step")
    variant = ax.apply(K.half_step_loop, {s: ax.Substitute("memo", cells=256)}, example_inputs=[(values,)])
    probe = list(range(12))
    as_python = variant(probe)  # ints: the pure-Python scalar path
    as_numpy = variant([np.float64(v) for v in probe])  # NumPy scalars: the array path
    assert as_python == as_numpy


# --- 6. fits are cached ---------------------------------------------------------------------------


@pytest.fixture
def no_earlier_fits(monkeypatch):
    """Forget the surrogates this test process fitted before (they are reused across targets)."""
    from approxify.transforms.substitute import fitting

    monkeypatch.setattr(fitting, "_FITTED", type(fitting._FITTED)())


def test_surrogates_are_fitted_once_per_site_and_setting(monkeypatch, no_earlier_fits):
    fitted = []
    real_fit = surrogates.fit

    def counting_fit(*args, **kwargs):
        fitted.append(args[0])
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(surrogates, "fit", counting_fit)
    s = site(K.call_slow_exp, "slow_exp")
    target = Target(K.call_slow_exp, example_inputs=UNIT, families=["substitute"])
    first = target.build({s: ax.Substitute("poly", degree=8)})
    (key,) = target.program.fits
    surrogate = target.program.fits[key].surrogate
    second = target.build({s: ax.Substitute("poly", degree=8)})
    guarded_differently = target.build({s: ax.Substitute("poly", degree=8, margin=0.2, guard=True)})
    assert fitted == ["poly"]
    assert target.program.fits[key].surrogate is surrogate
    assert np.array_equal(first(GRID), second(GRID)) and np.array_equal(first(GRID), guarded_differently(GRID))
    target.build({s: ax.Substitute("poly", degree=4)})
    assert fitted == ["poly", "poly"] and len(target.program.fits) == 2


def test_another_target_with_the_same_traces_reuses_the_fit_and_other_traces_do_not(monkeypatch,
                                                                                   no_earlier_fits):
    fitted = []
    real_fit = surrogates.fit
    monkeypatch.setattr(surrogates, "fit", lambda *a, **k: fitted.append(a[0]) or real_fit(*a, **k))
    s = site(K.call_slow_exp, "slow_exp")
    config = {s: ax.Substitute("mlp", hidden=(4,))}
    first = Target(K.call_slow_exp, example_inputs=UNIT, families=["substitute"]).build(config)
    again = Target(K.call_slow_exp, example_inputs=UNIT, families=["substitute"]).build(config)
    assert fitted == ["mlp"]  # trained once: a time-budgeted training would differ the second time
    assert np.array_equal(first(GRID), again(GRID))
    Target(K.call_slow_exp, example_inputs=UNIT[:-1], families=["substitute"]).build(config)
    assert fitted == ["mlp", "mlp"]  # other traces, another fit


# --- 6b. recheck: a yes/no test's unsure answers go to the exact function -----------------------

DISC = [(RNG.uniform(-1, 1, 200), RNG.uniform(-1, 1, 200)) for _ in range(20)]
RECHECKED = ax.Substitute("mlp", hidden=(8,), recheck=0.2)


def test_a_yes_no_test_is_offered_rechecked_surrogates_and_other_calls_are_not():
    disc = substitute_sites(K.uses_disc, DISC)[site(K.uses_disc, "in_disc")]
    assert disc.facts["levels"] == [0.0, 1.0]
    assert labels(disc) == ["mlp 8", "mlp 32"] + [f"mlp {h} recheck {r:g}" for h in (8, 32)
                                                  for r in substitute_python.RECHECK] + ["memo 256"]
    combo = substitute_sites(K.uses_combo, pairs(20))[site(K.uses_combo, "combo")]
    assert "levels" not in combo.facts and not any("recheck" in label for label in labels(combo))


def test_recheck_rounds_sure_answers_and_runs_the_exact_test_on_unsure_ones():
    s = site(K.uses_disc, "in_disc")
    plain = ax.apply(K.uses_disc, {s: ax.Substitute("mlp", hidden=(8,))}, example_inputs=DISC)
    rechecked = ax.apply(K.uses_disc, {s: RECHECKED}, example_inputs=DISC)  # the same fitted mlp
    x, y = np.meshgrid(np.linspace(-0.9, 0.9, 61), np.linspace(-0.9, 0.9, 61))
    x, y = x.ravel(), y.ravel()
    score, exact, got = plain(x, y), K.uses_disc(x, y), rechecked(x, y)
    unsure = np.abs(score - 0.5) < 0.2
    assert 0 < unsure.sum() < len(x)
    assert np.array_equal(got[unsure], exact[unsure])
    assert np.array_equal(got[~unsure], (score[~unsure] > 0.5).astype(float))
    assert guard_counts(rechecked)[s] == {"values": len(x), "fallbacks": int(unsure.sum())}
    assert np.mean(got != exact) <= np.mean((score > 0.5) != exact)


def test_recheck_on_python_floats_takes_the_same_decision():
    s = site(K.above_loop, "above")
    examples = [(np.linspace(0.0, 1.0, 400),)]
    setting = ax.Substitute("poly", degree=4)
    plain = ax.apply(K.above_loop, {s: setting}, example_inputs=examples)
    rechecked = ax.apply(K.above_loop, {s: dataclasses.replace(setting, recheck=0.3)}, example_inputs=examples)
    values = np.linspace(0.0, 1.0, 101)
    score, exact, got = plain(values), K.above_loop(values), rechecked(values)
    unsure = np.abs(score - 0.5) < 0.3
    assert 0 < unsure.sum() < len(values)
    assert np.array_equal(got[unsure], exact[unsure])
    assert np.array_equal(got[~unsure], (score[~unsure] > 0.5).astype(float))
    assert guard_counts(rechecked)[s] == {"values": len(values), "fallbacks": int(unsure.sum())}


def test_recheck_on_a_call_that_is_not_a_yes_no_test_is_refused():
    s = site(K.uses_combo, "combo")
    with pytest.raises(InvalidConfig, match=r"recheck is for a yes/no test.*combo.*drop recheck"):
        ax.apply(K.uses_combo, {s: RECHECKED}, example_inputs=pairs(20))


def test_a_rechecked_result_saves_the_two_answers_with_its_fit():
    s = site(K.uses_disc, "in_disc")
    target = Target(K.uses_disc, example_inputs=DISC, families=["substitute"])
    target.build({s: RECHECKED})
    fitted = next(f for key, f in target.program.fits.items() if key.startswith(s))
    assert fitted.levels == (0.0, 1.0)
    assert fitting.Fitted.from_dict(json.loads(json.dumps(fitted.to_dict()))).levels == (0.0, 1.0)


# --- 7. save and load -----------------------------------------------------------------------------


def test_a_saved_result_rebuilds_its_variant_bit_for_bit_without_tracing(tmp_path, monkeypatch):
    inputs = [(np.linspace(0.0, 1.0, 200),)] + [(RNG.uniform(0.0, 1.0, 200),) for _ in range(59)]
    result = ax.approximate(K.call_slow_exp, inputs, families=["substitute"], quality="rel_l2", bound=0.05,
                            loss_cap=0.1, budget=ax.Budget(trials=4), progress=False, repeats=1, seed=0)
    substituted = [c for c in [result.best, *result.pareto]
                   if any(s.kind not in ("exact", "alternative") for s in c.config.values())]
    assert substituted, "the search kept no substituted config"
    config = substituted[0].config
    before = result.program(config)
    expected = [before(*args) for args in inputs[:10]]
    path = result.save(tmp_path / "result.json")
    data = json.loads(path.read_text())
    assert data["fits"] and all(key.split("|")[0] in config for key in data["fits"])
    assert all(isinstance(v["surrogate"], dict) and "kind" in v["surrogate"] for v in data["fits"].values())
    assert "pickle" not in path.read_text()

    def no_tracing(*args, **kwargs):
        raise AssertionError("a loaded result must not trace the program again")

    def no_fitting(*args, **kwargs):
        raise AssertionError("a loaded result must not fit surrogates again")

    monkeypatch.setattr(trace, "trace_program", no_tracing)
    monkeypatch.setattr(substitute_python, "trace_program", no_tracing)
    monkeypatch.setattr(surrogates, "fit", no_fitting)
    loaded = ax.load(path)
    after = loaded.program(config)
    for args, want in zip(inputs[:10], expected):
        assert np.array_equal(after(*args), want)
    assert "_ax_Substituted(" in loaded.source(config)


# --- 8. export ------------------------------------------------------------------------------------

EXPORT_CASES = [
    (K.call_slow_exp, "slow_exp", ax.Substitute("poly", degree=8), UNIT, (OUTSIDE,)),
    (K.scalar_loop, "scalar_exp", ax.Substitute("table", points=64), UNIT, (OUTSIDE,)),
    (K.uses_combo, "combo", ax.Substitute("memo", cells=256), pairs(2, diagonal=True), pairs(1)[0]),
    (K.uses_polar, "polar", ax.Substitute("poly", degree=12), UNIT, (OUTSIDE,)),
    (K.uses_norm, "norm", ax.Substitute("alternative", name="fast_norm"), UNIT, (GRID,)),
    (K.uses_disc, "in_disc", RECHECKED, DISC, DISC[0]),
]


@pytest.mark.parametrize("fn, callee, setting, examples, args", EXPORT_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_exported_source_runs_like_the_variant(fn, callee, setting, examples, args, tmp_path):
    config = {site(fn, callee): setting}
    text = ax.source(fn, config, example_inputs=examples)
    compile(text, "<exported>", "exec")
    module = import_exported(text, tmp_path, f"exported_{fn.__name__}")
    variant = ax.apply(fn, config, example_inputs=examples)
    got, want = getattr(module, fn.__name__)(*args), variant(*args)
    if isinstance(want, tuple):
        assert isinstance(got, tuple) and all(np.array_equal(g, w) for g, w in zip(got, want))
    else:
        assert np.array_equal(got, want)


# --- 9. the user's objects ------------------------------------------------------------------------


def test_the_users_function_globals_and_inputs_are_not_changed():
    code, callee_code = K.call_slow_exp.__code__, K.slow_exp.__code__
    names = dict(vars(K))
    examples = [(x.copy(),) for (x,) in UNIT]
    copies = [x.copy() for (x,) in examples]
    config = {site(K.call_slow_exp, "slow_exp"): ax.Substitute("poly", degree=8)}
    ax.sites(K.call_slow_exp, families=["substitute"], example_inputs=examples)
    variant = ax.apply(K.call_slow_exp, config, example_inputs=examples)
    probe = OUTSIDE.copy()
    variant(probe)
    ax.evaluate(K.call_slow_exp, config, examples[:3], repeats=1, example_inputs=examples)
    ax.source(K.call_slow_exp, config, example_inputs=examples)
    assert K.call_slow_exp.__code__ is code and K.slow_exp.__code__ is callee_code
    assert dict(vars(K)) == names and all(vars(K)[k] is v for k, v in names.items())
    assert all(np.array_equal(x, c) for (x,), c in zip(examples, copies))
    assert np.array_equal(probe, OUTSIDE)
    assert K.call_slow_exp(GRID) is not None and not hasattr(K.slow_exp, "__approxify_alternatives__")


# --- 10. numba ------------------------------------------------------------------------------------


def test_calls_inside_numba_code_are_listed_without_choices():
    pytest.importorskip("numba")
    found = substitute_sites(K.jit_kernel, UNIT)
    assert list(found) == [site(K.jit_kernel, "np.sqrt"), site(K.jit_kernel, "np.exp")]
    for s in found.values():
        assert s.knob.choices == () and "numba" in s.facts["reason"]


def test_a_surrogate_inside_numba_code_is_refused():
    pytest.importorskip("numba")
    with pytest.raises(InvalidConfig, match="numba"):
        variant = ax.apply(K.jit_kernel, {site(K.jit_kernel, "np.sqrt"): ax.Substitute("poly", degree=4)},
                           example_inputs=UNIT)
        variant(GRID)


# --- 11. errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(kind="spline"), InvalidArgument, r"exact, table, poly, mlp, memo, alternative.*'spline'"),
        (dict(kind="poly", degree=0), InvalidArgument, r"degree=.*>= 1, got 0"),
        (dict(kind="table", points=True), InvalidArgument, r"points=.*got True"),
        (dict(kind="mlp", hidden=(0,)), InvalidArgument, r"hidden="),
        (dict(kind="alternative"), InvalidArgument, r"name="),
        (dict(kind="poly", margin=2), InvalidArgument, r"margin=.*\[0, 1\], got 2"),
        (dict(kind="poly", margin=-0.1), InvalidArgument, r"margin="),
        (dict(kind="poly", guard="yes"), InvalidArgumentType, r"guard="),
        (dict(kind="mlp", recheck=0.6), InvalidArgument, r"recheck=.*\(0, 0.5\], got 0.6.*recheck=None"),
        (dict(kind="mlp", recheck=0), InvalidArgument, r"recheck=.*got 0"),
        (dict(kind="alternative", name="f", recheck=0.2), InvalidArgument, r"recheck=.*not to 'alternative'"),
    ],
)
def test_bad_settings_are_refused(kwargs, error, message):
    with pytest.raises(error, match=message):
        ax.Substitute(**kwargs)


def test_settings_round_trip_through_json():
    for setting in [ax.Substitute("mlp", hidden=(8, 4)), ax.Substitute("poly", degree=3, margin=0.25),
                    ax.Substitute("memo", cells=16, guard=False), ax.Substitute("alternative", name="fast_norm"),
                    RECHECKED]:
        assert setting_from_dict(json.loads(json.dumps(setting.to_dict()))) == setting
    assert "recheck" not in ax.Substitute("poly", degree=3).to_dict()  # the form saved before recheck
    assert RECHECKED.label() == "mlp 8 recheck 0.2"


def test_a_config_naming_an_unknown_call_site_is_refused():
    with pytest.raises(UnknownSite, match=r"call:nope.*call_slow_exp/call:slow_exp"):
        ax.apply(K.call_slow_exp, {site(K.call_slow_exp, "nope"): ax.Substitute("poly", degree=4)},
                 example_inputs=UNIT)
    with pytest.raises(InvalidConfig, match="perforate"):
        ax.apply(K.call_slow_exp, {site(K.call_slow_exp, "slow_exp"): ax.Perforate(rate=0.5)})


def test_a_surrogate_without_example_inputs_asks_for_them():
    with pytest.raises(InvalidConfig, match=r"call_slow_exp/call:slow_exp.*example_inputs="):
        ax.apply(K.call_slow_exp, {site(K.call_slow_exp, "slow_exp"): ax.Substitute("poly", degree=4)})


def test_alternatives_expect_functions():
    with pytest.raises(InvalidArgumentType, match=r"expects functions.*got 3"):
        ax.alternatives(3)


def test_a_function_with_side_effects_is_never_replaced():
    s = site(K.uses_noisy, "noisy")
    with pytest.raises(InvalidConfig, match="side effects"):
        ax.apply(K.uses_noisy, {s: ax.Substitute("poly", degree=4)}, example_inputs=UNIT)


def test_a_surrogate_for_an_unsubstitutable_call_names_the_reason():
    s = site(K.uses_string, "scale_by")
    with pytest.raises(InvalidConfig, match="not numeric"):
        ax.apply(K.uses_string, {s: ax.Substitute("poly", degree=4)}, example_inputs=UNIT)


def test_a_call_whose_results_depend_on_other_elements_is_not_element_wise():
    """The guard's fallback runs the exact function on part of an array: only element-wise
    functions allow that, so tracing checks it on half the values."""
    x = np.linspace(0.0, 1.0, 64)
    (found,) = [s for s in ax.sites(K.uses_centred, families=["substitute"], example_inputs=[(x,)])
                if s.id.endswith("call:centred")]
    assert found.knob.choices == ()
    assert "not element-wise" in found.facts["reason"]


def test_functions_named_with_calls_become_sites_and_must_be_named_again_to_apply():
    curve = site(K.uses_named, "LIBRARY.curve")
    plain = {s.id for s in ax.sites(K.uses_named, families=["substitute"], example_inputs=UNIT)}
    assert curve not in plain  # a method of some object: not offered by default
    named = {s.id: s for s in ax.sites(K.uses_named, families=["substitute"], example_inputs=UNIT,
                                       calls=[K.LIBRARY.curve])}
    assert named[curve].knob.choices and named[curve].facts["kind"] == "named"
    config = {curve: ax.Substitute("poly", degree=8)}
    variant = ax.apply(K.uses_named, config, example_inputs=UNIT, calls=[K.LIBRARY.curve])
    np.testing.assert_allclose(variant(GRID), K.uses_named(GRID), rtol=1e-6, atol=1e-9)
    with pytest.raises(UnknownSite, match="calls="):
        ax.apply(K.uses_named, config, example_inputs=UNIT)
    with pytest.raises(ax.InvalidArgumentType, match="calls="):
        ax.sites(K.uses_named, calls=[3])
