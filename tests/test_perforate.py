"""Loop perforation on Python functions: before/after source per policy, the rewritten and
exported code compiles and runs standalone, and which iterations run (design.md §6.5)."""

from __future__ import annotations

import ast
import math
import zlib

import numpy as np
import pytest

import approxify as ax
import kernels_for_tests as K

M = "kernels_for_tests"


def sid(qualname: str, k: int = 0) -> str:
    return f"{M}.{qualname}/for#{k}"


def one(fn, setting, k: int = 0):
    """The variant of ``fn`` with only its ``for#k`` loop set to ``setting``."""
    return ax.apply(fn, {sid(fn.__qualname__, k): setting})


def function_text(fn, config) -> str:
    """The rewritten definition of ``fn`` as the exported module gives it (normalised)."""
    module = ast.parse(ax.source(fn, config))
    defs = [n for n in module.body if isinstance(n, ast.FunctionDef) and n.name == fn.__name__]
    assert len(defs) == 1
    return ast.unparse(defs[0])


def norm(text: str) -> str:
    return ast.unparse(ast.parse(text))


def exported_namespace(fn, config) -> dict:
    """Exec the exported module in a fresh namespace, as a user shipping it would."""
    text = ax.source(fn, config)
    namespace: dict = {"__name__": "exported_variant"}
    exec(compile(text, f"<exported {fn.__name__}>", "exec"), namespace)  # noqa: S102
    return namespace


def same(expected, actual) -> bool:
    if isinstance(expected, np.ndarray):
        return isinstance(actual, np.ndarray) and np.array_equal(expected, actual, equal_nan=True)
    if isinstance(expected, float) and math.isnan(expected):
        return isinstance(actual, float) and math.isnan(actual)
    return type(expected) is type(actual) and expected == actual


HALF = ax.Perforate(0.5)


# --- before / after source ------------------------------------------------------------------------


def test_modulo_half_on_a_plain_range_is_a_strided_range():
    after = function_text(K.visit_range, {sid("visit_range"): HALF})
    assert after == norm(
        """
def visit_range(n):
    seen = []
    for i in range(0, n, 2):
        seen.append(i)
    return seen
"""
    )
    assert "_ax_" not in ax.source(K.visit_range, {sid("visit_range"): HALF})


def test_modulo_every_fourth_on_a_plain_range_is_a_strided_range():
    after = function_text(K.visit_range, {sid("visit_range"): ax.Perforate(0.75)})
    assert "for i in range(0, n, 4):" in after


def test_modulo_on_a_list_calls_the_modulo_helper():
    after = function_text(K.visit_list, {sid("visit_list"): HALF})
    assert after == norm(
        """
def visit_list(xs):
    seen = []
    for x in _ax_modulo(xs, 1, 2):
        seen.append(x)
    return seen
"""
    )


def test_modulo_three_quarters_kept_is_numerator_over_denominator():
    assert "_ax_modulo(xs, 3, 4)" in function_text(K.visit_list, {sid("visit_list"): ax.Perforate(0.25)})
    assert "_ax_modulo(range(n), 3, 4)" in function_text(
        K.visit_range, {sid("visit_range"): ax.Perforate(0.25)}
    )


def test_truncate_calls_the_truncate_helper():
    after = function_text(K.visit_list, {sid("visit_list"): ax.Perforate(0.5, "truncate")})
    assert "for x in _ax_truncate(xs, 1, 2):" in after  # the kept share 1/2


def test_random_calls_the_random_helper_with_a_per_site_seed():
    site = sid("visit_list")
    after = function_text(K.visit_list, {site: ax.Perforate(0.5, "random", seed=7)})
    seed = zlib.crc32(site.encode()) ^ 7
    assert f"for x in _ax_random(xs, 1, 2, {seed}):" in after


def test_compensate_on_a_plain_range_uses_the_sized_fast_path():
    after = function_text(K.constant_sum, {sid("constant_sum"): ax.Perforate(0.5, compensate=True)})
    assert after == norm(
        """
def constant_sum(n):
    total = 0.0
    _ax_seen_0 = range(n)
    _ax_ran_0 = _ax_seen_0[::2]
    _ax_before_0_0 = _ax_snapshot(total)
    for _ in _ax_ran_0:
        total += 1.5
    total = _ax_rescale(total, _ax_before_0_0, _ax_seen_0, _ax_ran_0)
    return total
"""
    )


def test_compensate_with_break_counts_with_a_tally():
    after = function_text(K.sum_until, {sid("sum_until"): ax.Perforate(0.5, compensate=True)})
    assert "_ax_tally_0 = _ax_Tally(" in after
    assert "_ax_before_0_0 = _ax_snapshot(total)" in after
    assert "for x in _ax_modulo(xs, 1, 2, _ax_tally_0):" in after
    assert "total = _ax_compensate(total, _ax_before_0_0, _ax_tally_0)" in after


@pytest.mark.parametrize("policy", ["modulo", "truncate", "random"])
def test_compensate_on_a_list_snapshots_and_rescales(policy):
    after = function_text(K.list_sum, {sid("list_sum"): ax.Perforate(0.5, policy, compensate=True)})
    assert "_ax_before_0_0 = _ax_snapshot(total)" in after
    assert "total = _ax_rescale(" in after or "total = _ax_compensate(" in after
    assert f"_ax_{policy}(" in after


def test_compensate_on_a_subscript_accumulator():
    after = function_text(K.nested_matvec, {sid("nested_matvec", 1): ax.Perforate(0.5, compensate=True)})
    assert "_ax_snapshot(out[i])" in after
    assert "out[i] = _ax_rescale(out[i]," in after
    assert after.index("for i in range(len(w)):") < after.index("_ax_snapshot(out[i])")


def test_exported_module_is_standalone():
    text = ax.source(K.uses_helper, {sid("helper_sum"): ax.Perforate(0.5, "random", compensate=True)})
    imports = [n for n in ast.parse(text).body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert all("approxify" not in ast.unparse(n) for n in imports)
    assert "@runtime_helper" not in text
    assert f"{M}:uses_helper" in text  # the docstring names the original
    names = {n.name for n in ast.parse(text).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert {"uses_helper", "helper_sum", "_ax_random", "_ax_snapshot", "_ax_rescale"} <= names


# --- the rewritten program compiles, builds and runs, for every legal setting ---------------------

LINT_TARGETS = [
    (K.relu_dense, ([[1.0, -2.0, 3.0]] * 3, [0.5, 0.25, 2.0])),
    (K.sum_until, ([1.0, 2.0, 3.0, 4.0, 5.0], 4.0)),
    (K.array_accumulate, (np.arange(12.0).reshape(4, 3),)),
    (K.dict_items_sum, ({"a": 1.0, "bb": 2.0, "ccc": 3.0},)),
    (K.visit_generator, (9,)),
    (K.uses_helper, ([1.0, 2.0, 3.0],)),
    (K.find_index, ([5, 3, 1], 1)),
]


@pytest.mark.parametrize("fn, args", LINT_TARGETS, ids=[f.__name__ for f, _ in LINT_TARGETS])
def test_every_choice_compiles_and_runs(fn, args):
    for site in ax.sites(fn):
        for setting in site.knob.choices:
            config = {site.id: setting}
            text = ax.source(fn, config)
            compile(text, "<exported>", "exec")
            ast.parse(text)
            ax.apply(fn, config)(*args)  # runs without error on a benign input


EXPORT_CASES = [
    (K.visit_range, {sid("visit_range"): HALF}, (11,)),
    (K.visit_range, {sid("visit_range"): ax.Perforate(0.25)}, (11,)),
    (K.visit_list, {sid("visit_list"): ax.Perforate(0.5, "truncate")}, (list("abcdefg"),)),
    (K.list_sum, {sid("list_sum"): ax.Perforate(0.5, "random", compensate=True, seed=3)},
     ([0.1 * i for i in range(30)],)),
    (K.constant_sum, {sid("constant_sum"): ax.Perforate(0.75, "truncate", compensate=True)}, (37,)),
    (K.sum_until, {sid("sum_until"): ax.Perforate(0.5, compensate=True)}, ([1.0] * 9 + [7.0, 1.0], 7.0)),
    (K.uses_helper, {sid("helper_sum"): ax.Perforate(0.5)}, ([1.0, 2.0, 3.0, 4.0],)),
    (K.nested_matvec, {sid("nested_matvec", 1): ax.Perforate(0.25, "modulo", compensate=True)},
     ([[1.0, 2.0, 3.0, 4.0, 5.0]] * 3, [1.0, -1.0, 0.5, 2.0, 1.0])),
    (K.array_accumulate, {sid("array_accumulate"): ax.Perforate(0.5, "random", compensate=True)},
     (np.arange(24.0).reshape(8, 3),)),
    (K.visit_enumerate, {sid("visit_enumerate"): ax.Perforate(0.5, "random", seed=1)}, ("abcdefgh",)),
    (K.visit_zip, {sid("visit_zip"): ax.Perforate(0.25, "modulo")}, ([1, 2, 3, 4, 5], "vwxyz")),
    (K.visit_dict_items, {sid("visit_dict_items"): ax.Perforate(0.5, "truncate")},
     ({"a": 1, "b": 2, "c": 3},)),
    (K.visit_generator, {sid("visit_generator"): ax.Perforate(0.5, "random")}, (20,)),
    (K.uses_global_constant, {sid("uses_global_constant"): HALF}, ([1.0, 2.0, 3.0],)),
    (K.tree_sum, {sid("tree_sum"): ax.Perforate(0.5, compensate=True)}, (3, 4)),
    (K.find_index, {sid("find_index"): HALF}, ([9, 8, 7, 6], 7)),
    (K.relu_dense, {sid("relu_dense", 0): HALF, sid("relu_dense", 1): ax.Perforate(0.5, "truncate")},
     ([[1.0, -2.0, 3.0]] * 4, [0.5, 0.25, 2.0])),
]


@pytest.mark.parametrize("fn, config, args", EXPORT_CASES,
                         ids=[f"{f.__name__}-{i}" for i, (f, _, _) in enumerate(EXPORT_CASES)])
def test_exported_module_runs_standalone_like_the_variant(fn, config, args):
    namespace = exported_namespace(fn, config)
    expected = ax.apply(fn, config)(*args)
    assert same(expected, namespace[fn.__name__](*args))


def test_exported_closure_needs_its_free_variable_defined():
    fn = K.make_scaled_sum(2.0)
    text = ax.source(fn, {sid("make_scaled_sum.scaled_sum"): HALF})
    assert "# k: a variable of the enclosing function" in text
    namespace: dict = {"k": 2.0}
    exec(compile(text, "<exported>", "exec"), namespace)  # noqa: S102
    assert namespace["scaled_sum"]([1.0, 2.0, 3.0]) == ax.apply(fn, {sid("make_scaled_sum.scaled_sum"): HALF})(
        [1.0, 2.0, 3.0]
    )


def test_exported_function_with_a_global_statement_runs():
    namespace = exported_namespace(K.counts_calls, {})
    assert namespace["counts_calls"]([1.0, 2.0]) == 3.0


# --- which iterations run -------------------------------------------------------------------------


def test_modulo_half_runs_every_other_iteration():
    assert one(K.visit_range, HALF)(10) == [0, 2, 4, 6, 8]
    assert one(K.visit_range, HALF)(9) == [0, 2, 4, 6, 8]


def test_modulo_three_quarters_kept_runs_three_of_every_four():
    got = one(K.visit_range, ax.Perforate(0.25))(40)
    assert len(got) == 30 and got[0] == 0
    for block in range(10):
        assert len([i for i in got if 4 * block <= i < 4 * block + 4]) == 3
    assert got == sorted(set(got))


def test_modulo_quarter_kept_runs_every_fourth():
    assert one(K.visit_range, ax.Perforate(0.75))(10) == [0, 4, 8]


@pytest.mark.parametrize("rate, kept, block", [(0.2, 4, 5), (0.3, 7, 10), (0.6, 2, 5), (2 / 3, 1, 3)])
def test_modulo_with_other_rates_keeps_the_share_in_every_block(rate, kept, block):
    n = 60
    got = one(K.visit_list, ax.Perforate(rate))(list(range(n)))
    assert len(got) == n * kept // block and got[0] == 0 and got == sorted(set(got))
    for start in range(0, n, block):
        assert len([i for i in got if start <= i < start + block]) == kept


def test_truncate_runs_the_first_part():
    assert one(K.visit_range, ax.Perforate(0.5, "truncate"))(10) == [0, 1, 2, 3, 4]
    assert one(K.visit_range, ax.Perforate(0.75, "truncate"))(10) == [0, 1, 2]  # ceil(2.5)
    assert one(K.visit_range, ax.Perforate(0.25, "truncate"))(10) == list(range(8))  # ceil(7.5)
    assert one(K.visit_list, ax.Perforate(0.5, "truncate"))(list("abcde")) == list("abc")


def test_truncate_rate_with_inexact_float_keep():
    assert one(K.visit_range, ax.Perforate(0.7, "truncate"))(10) == [0, 1, 2]


def test_random_is_reproducible_and_runs_as_many_as_truncate():
    setting = ax.Perforate(0.5, "random", seed=11)
    first = one(K.visit_range, setting)(40)
    assert first == one(K.visit_range, setting)(40)
    assert len(first) == 20 and first == sorted(set(first)) and set(first) <= set(range(40))
    assert len(one(K.visit_range, ax.Perforate(0.75, "random"))(10)) == 3  # ceil(2.5), as truncate
    assert len(one(K.visit_list, ax.Perforate(0.25, "random"))(list(range(10)))) == 8  # ceil(7.5)
    assert len(one(K.visit_range, ax.Perforate(0.7, "random"))(10)) == 3  # 1 - 0.7 read as 3/10
    others = {tuple(one(K.visit_range, ax.Perforate(0.5, "random", seed=s))(40)) for s in range(5)}
    assert len(others) > 1  # the seed matters


@pytest.mark.parametrize("rate", [0.25, 0.5, 0.75, 0.7, 1 / 3])
def test_random_runs_as_many_iterations_as_truncate(rate):
    random, truncate = (one(K.visit_list, ax.Perforate(rate, p)) for p in ("random", "truncate"))
    for n in range(60):
        xs = list(range(n))
        assert len(random(xs)) == len(truncate(xs)) == math.ceil(round(n * (1 - rate), 9)), n
        assert random(xs) == random(xs)  # the same subset on every entry of the loop


def test_random_differs_between_sites_with_the_same_seed():
    setting = ax.Perforate(0.5, "random")
    a = one(K.visit_range, setting)(40)
    b = one(K.visit_list, setting)(list(range(40)))
    assert len(a) == len(b) == 20 and a != b


def test_random_on_a_lazy_iterable_is_reproducible():
    setting = ax.Perforate(0.5, "random", seed=2)
    first = one(K.visit_generator, setting)(200)
    assert first == one(K.visit_generator, setting)(200)
    squares = [i * i for i in range(200)]
    assert set(first) <= set(squares) and first == sorted(first)
    assert 60 < len(first) < 140  # each iteration kept with probability 0.5


def test_nested_loops_are_perforated_separately():
    full = [(i, j) for i in range(4) for j in range(4)]
    assert K.visit_nested(4, 4) == full
    outer = one(K.visit_nested, HALF, 0)(4, 4)
    assert outer == [(i, j) for i in (0, 2) for j in range(4)]
    inner = one(K.visit_nested, HALF, 1)(4, 4)
    assert inner == [(i, j) for i in range(4) for j in (0, 2)]
    both = ax.apply(K.visit_nested, {sid("visit_nested", 0): HALF,
                                     sid("visit_nested", 1): ax.Perforate(0.5, "truncate")})(4, 4)
    assert both == [(i, j) for i in (0, 2) for j in (0, 1)]


# --- iterables ------------------------------------------------------------------------------------

ITERABLES = [
    ("list", K.visit_list, (list(range(10)),), list(range(10))),
    ("array", K.visit_array, (np.arange(10.0),), [float(i) for i in range(10)]),
    ("enumerate", K.visit_enumerate, ("abcdefghij",), list(enumerate("abcdefghij"))),
    ("zip", K.visit_zip, (list(range(10)), "abcdefghij"), list(zip(range(10), "abcdefghij"))),
    ("dict_items", K.visit_dict_items, ({c: i for i, c in enumerate("abcdefghij")},),
     [(c, i) for i, c in enumerate("abcdefghij")]),
    ("generator", K.visit_generator, (10,), [i * i for i in range(10)]),
]


@pytest.mark.parametrize("fn, args, full", [c[1:] for c in ITERABLES], ids=[c[0] for c in ITERABLES])
def test_policies_on_each_iterable(fn, args, full):
    assert fn(*args) == full
    assert one(fn, HALF)(*args) == full[::2]
    assert one(fn, ax.Perforate(0.75))(*args) == full[::4]
    assert one(fn, ax.Perforate(0.5, "truncate"))(*args) == full[:5]
    assert one(fn, ax.Perforate(0.75, "truncate"))(*args) == full[:3]
    picked = one(fn, ax.Perforate(0.5, "random", seed=4))(*args)
    assert picked == one(fn, ax.Perforate(0.5, "random", seed=4))(*args)
    assert all(item in full for item in picked)
    assert [full.index(item) for item in picked] == sorted(full.index(item) for item in picked)
    if fn in (K.visit_list, K.visit_array, K.visit_dict_items):
        assert len(picked) == 5  # sized: exactly ceil(n * keep) iterations, as truncate
    else:
        assert 0 <= len(picked) <= 10  # lazy (enumerate, zip, generator): each kept with prob. keep


# --- compensation ---------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["modulo", "truncate", "random"])
@pytest.mark.parametrize("rate", [0.5, 0.75])
def test_compensation_preserves_a_constant_sum_exactly(policy, rate):
    variant = one(K.constant_sum, ax.Perforate(rate, policy, compensate=True))
    assert variant(1000) == 1500.0
    assert one(K.constant_sum, ax.Perforate(rate, policy))(1000) == 1500.0 * (1 - rate)


@pytest.mark.parametrize("policy", ["modulo", "truncate", "random"])
def test_compensation_with_a_non_dyadic_share(policy):
    assert one(K.constant_sum, ax.Perforate(0.25, policy, compensate=True))(1000) == pytest.approx(
        1500.0, rel=1e-12
    )
    assert one(K.constant_sum, ax.Perforate(0.5, policy, compensate=True))(7) == pytest.approx(10.5)


@pytest.mark.parametrize("policy", ["modulo", "random"])
def test_compensation_keeps_a_sum_of_iid_numbers_close(policy):
    xs = np.random.default_rng(5).normal(5.0, 1.0, size=2000).tolist()
    exact = K.list_sum(xs)
    compensated = one(K.list_sum, ax.Perforate(0.5, policy, compensate=True))(xs)
    plain = one(K.list_sum, ax.Perforate(0.5, policy))(xs)
    assert abs(compensated - exact) / exact < 0.02
    assert abs(plain - exact / 2) / exact < 0.02


def test_compensation_of_a_decrement():
    variant = one(K.countdown, ax.Perforate(0.5, compensate=True))
    assert variant([2.0] * 10) == K.countdown([2.0] * 10) == 80.0


def test_compensation_of_a_subscript_accumulator():
    w = [[1.0] * 6 for _ in range(3)]
    x = [2.0] * 6
    for policy in ("modulo", "truncate", "random"):
        variant = one(K.nested_matvec, ax.Perforate(0.5, policy, compensate=True), 1)
        assert variant(w, x) == [12.0, 12.0, 12.0]
    assert one(K.nested_matvec, HALF, 1)(w, x) == [6.0, 6.0, 6.0]


def test_compensation_of_a_numpy_accumulator_updated_in_place():
    rows = np.tile(np.array([1.0, -2.0, 0.5]), (8, 1))
    kept = rows.copy()
    for policy in ("modulo", "truncate", "random"):
        got = one(K.array_accumulate, ax.Perforate(0.5, policy, compensate=True))(rows)
        assert np.allclose(got, [8.0, -16.0, 4.0])
    assert np.array_equal(one(K.array_accumulate, HALF)(rows), [4.0, -8.0, 2.0])
    assert np.array_equal(rows, kept)


def test_compensation_with_a_break_stays_close():
    variant = one(K.constant_sum_with_break, ax.Perforate(0.5, compensate=True))
    assert K.constant_sum_with_break(1000, 500) == 750.0
    assert variant(1000, 500) == pytest.approx(750.0, rel=0.01)
    assert variant(1000, 5000) == 1500.0  # no break: every iteration seen, scale exactly 2


def test_truncate_compensation_when_the_break_comes_before_the_cut():
    # the exact loop runs i = 0, 1 and breaks at 2; the truncated loop (first 5) does the same
    variant = one(K.constant_sum_with_break, ax.Perforate(0.5, "truncate", compensate=True))
    assert variant(10, 2) == K.constant_sum_with_break(10, 2) == 3.0


def test_compensation_through_recursion():
    variant = one(K.tree_sum, ax.Perforate(0.5, compensate=True))
    assert variant(3, 4) == K.tree_sum(3, 4) == 64.0


# --- control flow keeps its meaning ---------------------------------------------------------------


def test_break_and_else():
    xs = list(range(10))
    modulo = one(K.find_index, HALF)
    assert (modulo(xs, 4), modulo(xs, 3)) == (4, -1)  # 3 is skipped: the else branch runs
    truncate = one(K.find_index, ax.Perforate(0.5, "truncate"))
    assert (truncate(xs, 2), truncate(xs, 7)) == (2, -1)
    assert (K.find_index(xs, 7), K.find_index(xs, 11)) == (7, -1)


def test_continue():
    xs = list(range(12))
    assert K.skip_multiples_of_three(xs) == sum(x for x in xs if x % 3)
    assert one(K.skip_multiples_of_three, HALF)(xs) == 2 + 4 + 8 + 10


def test_return_inside_the_loop():
    xs = [1, 5, 2, 7, 3]
    variant = one(K.first_above, HALF)  # sees 1, 2, 3
    assert (K.first_above(xs, 4), variant(xs, 4)) == (5, None)
    assert variant(xs, 1.5) == 2


def test_break_with_plain_perforation():
    xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert one(K.sum_until, HALF)(xs, 5.0) == 1.0 + 3.0
    assert one(K.sum_until, HALF)(xs, 4.0) == 1.0 + 3.0 + 5.0  # 4 skipped: never breaks


def test_strided_range_keeps_the_iterations_of_every_range_form():
    from approxify.transforms.perforate.python import _strided_range
    import ast

    for text in ["range(10)", "range(3, 17)", "range(3, 17, 3)", "range(20, 1, -2)", "range(2, 30, s)"]:
        call = ast.parse(text, mode="eval").body
        for k in (2, 3, 4):
            rewritten = ast.unparse(_strided_range(call, k))
            assert list(eval(rewritten, {"s": 5})) == list(eval(text, {"s": 5}))[::k], rewritten
