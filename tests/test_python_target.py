"""The Python target: site discovery, the exact config as identity, never touching the user's
objects, variants calling their own (transformed) helpers, and clear errors for what cannot be
lifted (design.md §5.1, §5.2, §6.5, §6.6)."""

from __future__ import annotations

import ast
import functools
import inspect
import math
import struct
import textwrap

import numpy as np
import pytest

import approxify as ax
import kernels_for_tests as K

M = "kernels_for_tests"


def sid(qualname: str, k: int = 0) -> str:
    return f"{M}.{qualname}/for#{k}"


# --- helpers --------------------------------------------------------------------------------------


def assert_identical(expected, actual):
    """Bit for bit: same types, same float bits, same array dtype/shape/values."""
    assert type(actual) is type(expected), (type(expected), type(actual))
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype and actual.shape == expected.shape
        assert expected.tobytes() == actual.tobytes()
    elif isinstance(expected, (list, tuple)):
        assert len(actual) == len(expected)
        for e, a in zip(expected, actual):
            assert_identical(e, a)
    elif isinstance(expected, (float, np.floating)):
        assert struct.pack("<d", float(expected)) == struct.pack("<d", float(actual))
    else:
        assert actual == expected


def fresh(args):
    """A deep copy of a call's arguments, so a kernel that mutates its input can be rerun."""
    out = []
    for a in args:
        if isinstance(a, np.ndarray):
            out.append(a.copy())
        elif isinstance(a, list):
            out.append([fresh([v])[0] for v in a])
        elif isinstance(a, dict):
            out.append(dict(a))
        else:
            out.append(a)
    return tuple(out)


def original_text(fn) -> str:
    return ast.unparse(ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0])


def for_lines(fn) -> list[int]:
    """File line numbers of ``fn``'s ``for`` statements, in source order."""
    lines, first = inspect.getsourcelines(fn)
    return [first + k for k, line in enumerate(lines) if line.lstrip().startswith("for ")]


RNG = np.random.default_rng(0)
W = RNG.normal(size=(4, 5)).tolist()
X = RNG.normal(size=5).tolist()
A = RNG.normal(size=8)
B = RNG.normal(size=8)
XS = [0.3 * i - 1.7 for i in range(12)]

# (test id, function factory, arguments): every kernel of kernels_for_tests that can be lifted
KERNELS = [
    ("range_sum", lambda: K.range_sum, (40,)),
    ("list_sum", lambda: K.list_sum, (XS,)),
    ("array_dot", lambda: K.array_dot, (A, B)),
    ("enumerate", lambda: K.enumerate_weighted, (XS,)),
    ("zip", lambda: K.zip_dot, (XS, XS[::-1])),
    ("dict_items", lambda: K.dict_items_sum, ({"a": 1.5, "bb": -2.0, "ccc": 0.25},)),
    ("nested", lambda: K.nested_matvec, (W, X)),
    ("relu_dense", lambda: K.relu_dense, (W, X)),
    ("array_acc", lambda: K.array_accumulate, (RNG.normal(size=(6, 3)),)),
    ("break_else_found", lambda: K.find_index, ([3, 1, 4, 1, 5], 4)),
    ("break_else_missing", lambda: K.find_index, ([3, 1, 4, 1, 5], 9)),
    ("continue", lambda: K.skip_multiples_of_three, (list(range(20)),)),
    ("return", lambda: K.first_above, (XS, 0.5)),
    ("sum_until", lambda: K.sum_until, ([1.0, 2.0, 7.0, 3.0], 7.0)),
    ("helper", lambda: K.uses_helper, (XS,)),
    ("helper_direct", lambda: K.helper_sum, (XS,)),
    ("recursion", lambda: K.tree_sum, (3, 3)),
    ("closure", lambda: K.make_scaled_sum(2.5), (XS,)),
    ("closure_helper", lambda: K.make_pipeline(1.25), (XS,)),
    ("method_super", lambda: K.Weighted(1.5).predict, (XS,)),
    ("global_constant", lambda: K.uses_global_constant, (XS,)),
    ("global_counter", lambda: K.counts_calls, (XS,)),
    ("mutates_list", lambda: K.mutates_input, ([3.0, 1.0, 2.0],)),
    ("mutates_array", lambda: K.mutates_array, (np.arange(5.0),)),
    ("hangs", lambda: K.hangs_when_perforated, ([1, 2, 3, 4],)),
    ("nan", lambda: K.nan_when_perforated, ([-1.0, -2.0, -3.0, 5.0],)),
    ("raises", lambda: K.raises_when_perforated, ([1, 2, 3, 4],)),
    ("visited_list", lambda: K.visited_list, (XS,)),
    ("counted_sum", lambda: K.counted_sum, (XS,)),
    ("sqrt_all", lambda: K.sqrt_all, ([1.0, 2.0, 9.0],)),
    ("visit_generator", lambda: K.visit_generator, (7,)),
    ("visit_nested", lambda: K.visit_nested, (3, 4)),
    ("constant_sum", lambda: K.constant_sum, (100,)),
    ("countdown", lambda: K.countdown, (XS,)),
]


@pytest.fixture(params=KERNELS, ids=[k[0] for k in KERNELS])
def kernel(request):
    _, make, args = request.param
    return make(), args


# --- site discovery -------------------------------------------------------------------------------


def test_site_ids_are_pre_order_with_file_and_line():
    found = ax.sites(K.relu_dense)
    assert [s.id for s in found] == [sid("relu_dense", k) for k in range(3)]
    assert [s.where for s in found] == [f"{M}.py:{line}" for line in for_lines(K.relu_dense)]
    assert all(s.family == "perforate" and s.target == "python" for s in found)
    assert found[0].detail == "for i in range(len(w))"
    assert found[1].detail == "for j in range(len(x))"


def test_site_facts_name_the_accumulators():
    outer, inner, relu = ax.sites(K.nested_matvec) + ax.sites(K.relu_dense)[2:]
    assert outer.facts["accumulators"] == []  # out[i] changes with the outer loop's i
    assert inner.facts["accumulators"] == ["out[i]"]
    assert relu.facts["accumulators"] == []
    assert ax.sites(K.array_accumulate)[0].facts["accumulators"] == ["acc"]
    assert ax.sites(K.sum_until)[0].facts["early_exit"] is True
    assert ax.sites(K.list_sum)[0].facts["early_exit"] is False


def test_every_site_has_an_exact_knob_and_compensated_choices_only_with_an_accumulator():
    with_acc = ax.sites(K.list_sum)[0]
    without = ax.sites(K.visit_list)[0]
    for site in (with_acc, without):
        assert site.knob.exact == ax.Perforate() and site.knob.exact.is_exact
        assert not any(c.is_exact for c in site.knob.choices)
    assert any(c.compensate for c in with_acc.knob.choices)
    assert not any(c.compensate for c in without.knob.choices)


def test_sites_inside_helpers_are_found_after_the_targets_own():
    found = ax.sites(K.uses_helper)
    assert [s.id for s in found] == [sid("uses_helper"), sid("helper_sum")]
    assert found[1].where == f"{M}.py:{for_lines(K.helper_sum)[0]}"


def test_recursive_function_is_lifted_once():
    assert [s.id for s in ax.sites(K.tree_sum)] == [sid("tree_sum")]


def test_closure_and_captured_helper_sites():
    assert [s.id for s in ax.sites(K.make_scaled_sum(2.0))] == [sid("make_scaled_sum.scaled_sum")]
    found = [s.id for s in ax.sites(K.make_pipeline(1.0))]
    assert found == [sid("make_pipeline.shift_all")]


def test_bound_method_sites_use_the_class_qualname():
    found = ax.sites(K.Weighted(2.0).predict)
    assert [s.id for s in found] == [sid("Weighted.predict")]
    assert found[0].where == f"{M}.py:{for_lines(K.Weighted.predict)[0]}"


def test_nested_and_sequential_loops_numbering():
    assert [s.id for s in ax.sites(K.visit_nested)] == [sid("visit_nested", 0), sid("visit_nested", 1)]
    # the generator expression's clause is a site of its own, numbered apart from the for loops
    assert [s.id for s in ax.sites(K.visit_generator)] == [sid("visit_generator"), f"{M}.visit_generator/comp#0"]


def test_sites_are_stable_and_selectable():
    first = [s.id for s in ax.sites(K.relu_dense)]
    assert first == [s.id for s in ax.sites(K.relu_dense)]
    assert [s.id for s in ax.sites(K.relu_dense, select="*/for#1")] == [sid("relu_dense", 1)]
    assert [s.id for s in ax.sites(K.uses_helper, select=f"{M}.helper_*")] == [sid("helper_sum")]
    with pytest.raises(ax.UnknownSite):
        ax.sites(K.relu_dense, select="*/for#9")


# --- identity at the exact setting (§5.1) ---------------------------------------------------------


def test_exact_config_is_bit_identical(kernel):
    fn, args = kernel
    expected = fn(*fresh(args))
    all_exact = {s.id: ax.Perforate() for s in ax.sites(fn)}
    assert all_exact, "every kernel here has at least one loop"
    for config in ({}, all_exact):
        variant = ax.apply(fn, config)
        assert variant is not fn
        assert_identical(expected, variant(*fresh(args)))


def test_exact_source_is_the_original_source(kernel):
    fn, _ = kernel
    all_exact = {s.id: ax.Perforate() for s in ax.sites(fn)}
    for config in ({}, all_exact):
        text = ax.source(fn, config)
        assert textwrap.dedent(inspect.getsource(fn)) in text  # as written, comments included
        assert "_ax_" not in text  # no runtime helper is needed by the exact program
        compile(text, "<exported>", "exec")


def test_exact_variant_has_new_code_but_same_name_and_defaults():
    variant = ax.apply(K.counted_sum, {})
    assert variant.__code__ is not K.counted_sum.__code__
    assert variant.__name__ == "counted_sum" and variant.__qualname__ == "counted_sum"
    assert variant.__defaults__ == (None,)
    assert variant.__globals__ is not vars(K)


# --- the user's objects are never touched (§5.2) --------------------------------------------------


def _snapshot_module():
    return {name: value for name, value in vars(K).items()}


@pytest.mark.parametrize(
    "fn, config, args",
    [
        (K.counts_calls, {sid("counts_calls"): ax.Perforate(0.5)}, (XS,)),
        (K.uses_helper, {sid("uses_helper"): ax.Perforate(0.5),
                         sid("helper_sum"): ax.Perforate(0.75, "truncate", compensate=True)}, (XS,)),
        (K.uses_global_constant, {sid("uses_global_constant"): ax.Perforate(0.5, "random")}, (XS,)),
        (K.tree_sum, {sid("tree_sum"): ax.Perforate(0.5, compensate=True)}, (2, 4)),
    ],
    ids=["counter", "helper", "constant", "recursion"],
)
def test_building_and_running_variants_leaves_the_module_untouched(fn, config, args):
    before = _snapshot_module()
    code, raw = fn.__code__, fn.__code__.co_code
    defaults, calls = fn.__defaults__, K.CALLS
    helper_code = K.helper_sum.__code__
    for cfg in ({}, config):
        ax.sites(fn)
        ax.source(fn, cfg)
        variant = ax.apply(fn, cfg)
        variant(*args)
        variant(*args)
    after = _snapshot_module()
    assert after.keys() == before.keys()
    changed = [name for name in before if after[name] is not before[name]]
    assert changed == []
    assert fn.__code__ is code and fn.__code__.co_code == raw and fn.__defaults__ == defaults
    assert fn.__globals__ is vars(K)
    assert K.helper_sum.__code__ is helper_code
    assert K.CALLS == calls
    assert K.LOG == []


def test_global_statement_in_variant_rebinds_its_own_namespace():
    calls = K.CALLS
    variant = ax.apply(K.counts_calls, {sid("counts_calls"): ax.Perforate(0.5)})
    variant([1.0]), variant([1.0]), variant([1.0])
    assert variant.__globals__["CALLS"] == calls + 3
    assert K.CALLS == calls


def test_original_still_runs_exactly_after_variants_were_built():
    expected = K.uses_helper(XS)
    ax.apply(K.uses_helper, {sid("helper_sum"): ax.Perforate(0.5)})(XS)
    assert K.uses_helper(XS) == expected
    assert K.helper_sum([1.0, 2.0, 3.0, 4.0]) == 10.0


# --- variants call their own helpers --------------------------------------------------------------


def test_variant_calls_the_transformed_helper():
    xs = [1.0, 2.0, 3.0, 4.0]  # squares 1, 4, 9, 16
    assert K.uses_helper(xs) == 31.0
    variant = ax.apply(K.uses_helper, {sid("helper_sum"): ax.Perforate(0.5)})
    assert variant(xs) == 1.0 + 9.0 + 1.0
    assert variant.__globals__["helper_sum"] is not K.helper_sum


def test_recursive_calls_go_to_the_variant():
    assert K.tree_sum(2, 4) == 16.0
    variant = ax.apply(K.tree_sum, {sid("tree_sum"): ax.Perforate(0.5)})
    assert variant(2, 4) == 4.0  # 2 children per level at both levels


def test_closure_variant_keeps_captured_values():
    fn = K.make_scaled_sum(2.0)
    variant = ax.apply(fn, {sid("make_scaled_sum.scaled_sum"): ax.Perforate(0.5)})
    assert variant([1.0, 10.0, 100.0, 1000.0]) == 2.0 * 101.0
    assert fn([1.0, 10.0, 100.0, 1000.0]) == 2.0 * 1111.0


def test_closure_variant_calls_the_transformed_captured_helper():
    fn = K.make_pipeline(1.0)
    variant = ax.apply(fn, {sid("make_pipeline.shift_all"): ax.Perforate(0.5, "truncate")})
    assert fn([1.0, 2.0, 3.0, 4.0]) == 14.0
    assert variant([1.0, 2.0, 3.0, 4.0]) == 5.0


def test_bound_method_variant_with_zero_argument_super():
    model = K.Weighted(3.0)
    assert model.predict([1.0, 2.0, 3.0]) == 3.0 * 2.0 * 6.0  # Base.factor, not Weighted.factor
    exact = ax.apply(model.predict, {})
    assert inspect.ismethod(exact) and exact.__self__ is model
    assert exact([1.0, 2.0, 3.0]) == 36.0
    half = ax.apply(model.predict, {sid("Weighted.predict"): ax.Perforate(0.5)})
    assert half([1.0, 2.0, 3.0]) == 3.0 * 2.0 * 4.0
    model.weight = 1.0  # the variant is bound to the same instance, not a copy
    assert half([1.0, 2.0, 3.0]) == 2.0 * 4.0


# --- clear errors (§6.6) --------------------------------------------------------------------------


def _check_error(exc_info, kind, builtin, *fragments):
    exc = exc_info.value
    assert isinstance(exc, kind) and isinstance(exc, builtin) and isinstance(exc, ax.ApproxifyError)
    for fragment in fragments:
        assert fragment in str(exc), (fragment, str(exc))


def _exec_defined():
    namespace: dict = {}
    exec("def made_by_exec(xs):\n    for x in xs:\n        pass\n    return 0\n", namespace)  # noqa: S102
    return namespace["made_by_exec"]


@pytest.mark.parametrize(
    "obj, fragments",
    [
        (K.square_lambda, ("lambda", "def")),
        (len, ("builtin", "len")),
        (math.sqrt, ("builtin", "sqrt")),
        (K.squares_gen, ("generator", "squares_gen", "list(")),
        (K.async_sum, ("async", "async_sum", "asyncio.run")),
        (_exec_defined(), ("made_by_exec", "no source", ".py file")),
        (functools.partial(K.list_sum), ("partial",)),
        (K.Weighted(1.0), ("Weighted",)),
    ],
    ids=["lambda", "len", "math.sqrt", "generator", "async", "exec", "partial", "object"],
)
@pytest.mark.parametrize("api", ["sites", "apply", "source"])
def test_unsupported_targets_raise_clear_errors(obj, fragments, api):
    call = {"sites": lambda: ax.sites(obj), "apply": lambda: ax.apply(obj, {}),
            "source": lambda: ax.source(obj, {})}[api]
    with pytest.raises(ax.UnsupportedTarget) as info:
        call()
    _check_error(info, ax.UnsupportedTarget, TypeError, *fragments)


def test_unknown_site_lists_the_sites():
    with pytest.raises(ax.UnknownSite) as info:
        ax.apply(K.relu_dense, {f"{M}.relu_dense/for#7": ax.Perforate(0.5)})
    _check_error(info, ax.UnknownSite, KeyError, "for#7", sid("relu_dense", 0),
                 sid("relu_dense", 2), "ax.sites")
    assert isinstance(info.value, ValueError) and isinstance(info.value, ax.InvalidArgument)
    assert not str(info.value).startswith("'")  # not KeyError's quoted repr


def test_unknown_site_in_a_helper_module_name():
    with pytest.raises(ax.UnknownSite) as info:
        ax.source(K.uses_helper, {"other.helper_sum/for#0": ax.Perforate(0.5)})
    _check_error(info, ax.UnknownSite, KeyError, sid("uses_helper"), sid("helper_sum"),
                 "Did you mean")


@pytest.mark.parametrize("setting", [0.5, "modulo", None, (0.5, "modulo")])
def test_setting_of_the_wrong_type(setting):
    with pytest.raises(ax.InvalidArgumentType) as info:
        ax.apply(K.list_sum, {sid("list_sum"): setting})
    _check_error(info, ax.InvalidArgumentType, TypeError, sid("list_sum"), "Perforate")


def test_config_that_is_not_a_mapping():
    with pytest.raises(ax.InvalidArgumentType) as info:
        ax.apply(K.list_sum, [sid("list_sum")])
    _check_error(info, ax.InvalidArgumentType, TypeError, "config", "list")


def test_setting_dict_of_an_unknown_family():
    with pytest.raises(ax.InvalidConfig) as info:
        ax.apply(K.list_sum, {sid("list_sum"): {"family": "teleport", "rate": 0.5}})
    _check_error(info, ax.InvalidConfig, ValueError, "teleport", "perforate")


def test_setting_dict_round_trips_into_a_variant():
    as_dict = ax.Perforate(0.5).to_dict()
    variant = ax.apply(K.visit_range, {sid("visit_range"): as_dict})
    assert variant(6) == [0, 2, 4]


def test_compensate_without_accumulator_names_the_site():
    site = sid("visit_range")
    with pytest.raises(ax.InvalidConfig) as info:
        ax.apply(K.visit_range, {site: ax.Perforate(0.5, compensate=True)})
    _check_error(info, ax.InvalidConfig, ValueError, site, "compensate=True", "accumulator",
                 f"{M}.py:{for_lines(K.visit_range)[0]}", "compensate=False")


@pytest.mark.parametrize(
    "kwargs, kind, builtin, fragment",
    [
        ({"rate": 1.0}, ax.InvalidArgument, ValueError, "[0, 1)"),
        ({"rate": -0.1}, ax.InvalidArgument, ValueError, "rate"),
        ({"rate": "0.5"}, ax.InvalidArgumentType, TypeError, "rate"),
        ({"rate": True}, ax.InvalidArgumentType, TypeError, "rate"),
        ({"policy": "skip"}, ax.InvalidArgument, ValueError, "modulo"),
        ({"compensate": 1}, ax.InvalidArgumentType, TypeError, "compensate"),
        ({"seed": 1.5}, ax.InvalidArgumentType, TypeError, "seed"),
    ],
)
def test_invalid_perforate_settings(kwargs, kind, builtin, fragment):
    with pytest.raises(kind) as info:
        ax.Perforate(**kwargs)
    _check_error(info, kind, builtin, fragment)
