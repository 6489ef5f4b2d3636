"""Precision lowering on Python functions (project issue #3): identity at the exact setting,
before/after source at every place a cast goes, the rewritten and exported code compiles and
runs, discovery by profiling, config checking, flow groups, and the user's objects stay as they
were (design.md §5.1, §5.2, §6.5)."""

from __future__ import annotations

import ast
import importlib.util
import sys
import warnings

import numpy as np
import pytest

import approxify as ax
from approxify._target import Target
from approxify.errors import InvalidArgument, InvalidConfig, TargetFailed, UnknownSite, UnsupportedTarget
from approxify.search.groups import expand, group_sites
from approxify.transforms.precision.profile import DtypeChangeWarning
from approxify.transforms.precision.runtime import _ax_lower_float16, _ax_lower_float32

import precision_kernels as K

M = "precision_kernels"
F32, F16, F64 = ax.Precision("float32"), ax.Precision("float16"), ax.Precision("float64")
X = np.linspace(-1.5, 2.5, 6)  # float64, none of it exact in float16
ROWS = np.arange(12, dtype=np.float64).reshape(4, 3) / 7.0


def var(fn, name: str) -> str:
    return f"{M}.{fn.__qualname__}/var:{name}"


def ret(fn) -> str:
    return f"{M}.{fn.__qualname__}/return"


def norm(text: str) -> str:
    return ast.unparse(ast.parse(text))


def rewritten(fn, config, key: str | None = None) -> str:
    """The rewritten definition of ``fn`` (or of the function ``key``), normalised."""
    return norm(Target(fn).rewrite(config).source(key or f"{M}.{fn.__qualname__}"))


def precision_sites(fn, *examples) -> dict[str, ax.Site]:
    return {s.id: s for s in ax.sites(fn, families=["precision"], example_inputs=list(examples))}


def import_exported(fn, config, tmp_path, name: str):
    """Write ``ax.source`` to a file and import it as a module, as a user shipping it would."""
    path = tmp_path / f"{name}.py"
    path.write_text(ax.source(fn, config))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- 1. identity ----------------------------------------------------------------------------------

IDENTITY_CASES = [
    (K.documented, (X, X + 1.0)),
    (K.tuple_unpack, (X,)),
    (K.aug_assign, (X,)),
    (K.for_target, (ROWS,)),
    (K.zeros_default, (5,)),
    (K.inferred_constructors, ([0.1, 0.2], X, 4)),
    (K.mixed_kinds, (X, [0.1, 0.7])),
    (K.variance_pair, K.variance_inputs(1)[0]),
]


@pytest.mark.parametrize("fn, args", IDENTITY_CASES, ids=lambda v: getattr(v, "__name__", ""))
def test_exact_settings_leave_source_and_outputs_unchanged(fn, args):
    target = Target(fn, example_inputs=[args])
    sites = [s.id for s in target.sites if s.family == "precision"]
    assert sites
    before = target.program.source()
    for config in ({}, {s: F64 for s in sites}):
        program = target.rewrite(config)
        assert program.source() == before
        assert not program.helpers
        out, expected = program.build()(*args), fn(*args)
        assert type(out) is type(expected)
        np.testing.assert_array_equal(out, expected, strict=True)
    assert "_ax_" not in ax.source(fn, {s: F64 for s in sites})


# --- 2. before / after source ---------------------------------------------------------------------


def test_parameter_casts_go_after_the_docstring():
    after = rewritten(K.documented, {var(K.documented, "x"): F32, var(K.documented, "y"): F16})
    assert after == norm('''
def documented(x, y):
    """A docstring: parameter casts go after it."""
    x = _ax_lower_float32(x)
    y = _ax_lower_float16(y)
    return x + y
''')
    assert ast.get_docstring(ast.parse(after).body[0]) == "A docstring: parameter casts go after it."


def test_parameter_casts_open_a_function_without_docstring():
    assert rewritten(K.params_no_doc, {var(K.params_no_doc, "x"): F32}) == norm('''
def params_no_doc(x, n):
    x = _ax_lower_float32(x)
    return x * n
''')


def test_plain_assignment_wraps_the_value():
    assert rewritten(K.plain_assign, {var(K.plain_assign, "y"): F32}) == norm('''
def plain_assign(x):
    y = _ax_lower_float32(x * 2.0)
    return y
''')


def test_tuple_unpacking_rebinds_after_the_statement():
    assert rewritten(K.tuple_unpack, {var(K.tuple_unpack, "b"): F32}) == norm('''
def tuple_unpack(x):
    a, b = (x[:2], x[2:])
    b = _ax_lower_float32(b)
    return a.sum() + b.sum()
''')


def test_augmented_assignment_rebinds_after_the_statement():
    # the constructor gets the narrow dtype directly; the += result is cast after it
    assert rewritten(K.aug_assign, {var(K.aug_assign, "acc"): F32}) == norm('''
def aug_assign(x):
    acc = np.zeros(x.shape[0], dtype=_ax_float32)
    acc += x
    acc = _ax_lower_float32(acc)
    return acc
''')


def test_for_target_is_cast_first_thing_in_the_body():
    assert rewritten(K.for_target, {var(K.for_target, "row"): F32}) == norm('''
def for_target(rows):
    total = np.zeros(rows.shape[1])
    for row in rows:
        row = _ax_lower_float32(row)
        total = total + row
    return total
''')


def test_annotated_assignment_wraps_the_value_and_keeps_the_annotation():
    assert rewritten(K.annotated, {var(K.annotated, "z"): F32}) == norm('''
def annotated(x):
    z: np.ndarray = _ax_lower_float32(x + 1.0)
    return z
''')


def test_returned_value_is_wrapped():
    assert rewritten(K.returns_expression, {ret(K.returns_expression): F16}) == norm('''
def returns_expression(x):
    return _ax_lower_float16(x * 3.0)
''')


def test_default_float_constructor_gets_the_narrow_dtype():
    assert rewritten(K.zeros_default, {var(K.zeros_default, "out"): F32}) == norm('''
def zeros_default(n):
    out = np.zeros(n, dtype=_ax_float32)
    out[:] = 1.0 / 3.0
    return out
''')
    out = ax.apply(K.zeros_default, {var(K.zeros_default, "out"): F16})(4)
    assert out.dtype == np.float16
    np.testing.assert_array_equal(out, np.full(4, 1.0 / 3.0, dtype=np.float16))


def test_explicit_float64_dtype_is_replaced():
    after = rewritten(K.array_with_float64_dtype, {var(K.array_with_float64_dtype, "arr"): F32})
    assert "arr = np.array(xs, dtype=_ax_float32)" in after
    assert "np.float64" not in after


def test_constructors_with_inferred_dtype_get_the_cast_helper():
    fn = K.inferred_constructors
    config = {var(fn, "arr"): F32, var(fn, "like"): F32, var(fn, "ramp"): F32}
    after = rewritten(fn, config)
    assert "arr = _ax_lower_float32(np.array(xs))" in after
    assert "like = _ax_lower_float32(np.zeros_like(a))" in after
    assert "ramp = _ax_lower_float32(np.arange(n))" in after
    assert "dtype" not in after
    # the cast leaves np.arange's integers alone: the sum is exact
    out = ax.apply(fn, config)([0.25, 0.5], np.ones(3), 5)
    assert out == pytest.approx(0.75 + 0.0 + 10)


def test_nested_functions_and_lambdas_are_untouched():
    fn = K.nested_scopes
    config = {var(fn, "x"): F32, var(fn, "y"): F32, ret(fn): F32,
              var(fn, "w"): F32, var(fn, "v"): F32}  # names of the nested scopes: not this one's
    with pytest.raises(UnknownSite):
        Target(fn).rewrite(config)
    after = rewritten(fn, {var(fn, "x"): F32, var(fn, "y"): F32})
    module = ast.parse(after).body[0]
    inner = next(n for n in module.body if isinstance(n, ast.FunctionDef))
    assert ast.unparse(inner) == norm("def inner(v):\n    w = v * 2.0\n    return w\n")
    assert "double = lambda v: v * 2.0" in after
    assert "y = _ax_lower_float32(inner(x) + double(x))" in after
    out = ax.apply(fn, {var(fn, "x"): F32})(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, K.nested_scopes(X), rtol=1e-6)


def test_profiled_and_unprofiled_configs_rewrite_the_same_way():
    config = {var(K.for_target, "total"): F32, var(K.for_target, "row"): F16}
    profiled = Target(K.for_target, example_inputs=[(ROWS,)]).rewrite(config).source()
    assert profiled == Target(K.for_target).rewrite(config).source()


def test_callee_sites_are_rewritten_in_the_callee():
    config = {var(K.flow_helper, "b"): F32}
    program = Target(K.flow_caller).rewrite(config)
    assert program.source(f"{M}.flow_caller") == Target(K.flow_caller).program.source(f"{M}.flow_caller")
    assert "b = _ax_lower_float32(a * 2.0)" in program.source(f"{M}.flow_helper")
    out = program.build()(X, X)
    assert out == pytest.approx(K.flow_caller(X, X), rel=1e-6)


# --- 2b. the rewritten code compiles, runs, and is narrow where it should be ----------------------

LOWER_ALL = [
    (K.documented, (X, X + 1.0), np.float32),
    (K.params_no_doc, (X, 3), np.float32),
    (K.plain_assign, (X,), np.float32),
    (K.tuple_unpack, (X,), np.float32),
    (K.aug_assign, (X,), np.float32),
    (K.for_target, (ROWS,), np.float32),
    (K.annotated, (X,), np.float32),
    (K.returns_expression, (X,), np.float32),
    (K.zeros_default, (5,), np.float32),
    (K.array_with_float64_dtype, ([0.1, 0.2, 0.3],), np.float32),
    (K.mixed_kinds, (X, [0.1, 0.7]), np.float32),
    (K.int_and_float, (X, 4), np.float32),
]


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("fn, args, kind", LOWER_ALL, ids=lambda v: getattr(v, "__name__", ""))
def test_lowering_every_site_runs_and_returns_the_narrow_type(fn, args, kind, dtype):
    sites = precision_sites(fn, args)
    variant = ax.apply(fn, {s: ax.Precision(dtype) for s in sites})
    out, exact = variant(*args), fn(*args)
    assert np.asarray(out).dtype == np.dtype(dtype)
    assert np.asarray(exact).dtype == np.float64
    tolerance = 1e-6 if dtype == "float32" else 2e-3
    np.testing.assert_allclose(np.asarray(out, dtype=np.float64), exact, rtol=tolerance, atol=tolerance)


def test_lowering_one_parameter_alone_follows_numpy_promotion():
    variant = ax.apply(K.documented, {var(K.documented, "x"): F32})
    assert variant(X, X).dtype == np.float64  # float32 + float64 -> float64: only a cast was added
    out = ax.apply(K.documented, {var(K.documented, "x"): F32, var(K.documented, "y"): F32})(X, X)
    assert out.dtype == np.float32


@pytest.mark.parametrize("fn, args, config", [
    (K.aug_assign, (X,), {"acc": F32}),
    (K.for_target, (ROWS,), {"total": F16, "row": F32}),
    (K.inferred_constructors, ([0.5, 1.5], X, 3), {"arr": F32, "like": F16, "ramp": F32}),
    (K.documented, (X, X), {"x": F32, "y": F32}),
    (K.flow_caller, (X, X + 2.0), {"u": F32, "w": F16}),
], ids=["aug_assign", "for_target", "constructors", "docstring", "callee"])
def test_exported_module_runs_without_approxify_and_matches_apply(fn, args, config, tmp_path):
    config = {var(fn, n): s for n, s in config.items()}
    text = ax.source(fn, config)
    compile(text, "<exported>", "exec")
    assert "import approxify" not in text and "from approxify" not in text
    module = import_exported(fn, config, tmp_path, f"exported_{fn.__name__}")
    expected = ax.apply(fn, config)(*args)
    out = getattr(module, fn.__name__)(*args)
    assert type(out) is type(expected)
    np.testing.assert_array_equal(out, expected, strict=True)


# --- 3. integers, objects and complex values are never cast ---------------------------------------


def test_integer_variables_are_no_sites():
    sites = precision_sites(K.int_and_float, (X, 4))
    assert set(sites) == {var(K.int_and_float, "x"), var(K.int_and_float, "picked"), ret(K.int_and_float)}


def test_a_config_naming_integer_variables_changes_nothing():
    fn = K.int_and_float
    config = {var(fn, "idx"): F32, var(fn, "count"): F16, var(fn, "n"): F32}
    after = rewritten(fn, config)
    assert "idx = _ax_lower_float32(np.arange(n))" in after and "count = _ax_lower_float16(n * 2)" in after
    out = ax.apply(fn, config)(X, 9)  # resolve path: no profile, the casts are in place
    expected = fn(X, 9)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, expected, strict=True)


def test_complex_and_object_data_pass_through_a_config_unchanged():
    z = np.array([1 + 2j, 3 - 1j])
    variant = ax.apply(K.complex_data, {var(K.complex_data, "z"): F32, var(K.complex_data, "w"): F16,
                                        ret(K.complex_data): F32})
    out = variant(z)
    assert out.dtype == np.complex128
    np.testing.assert_array_equal(out, z * 2)
    assert variant([1, "a"]) == [1, "a", 1, "a"]


@pytest.mark.parametrize("value", [
    np.arange(4), np.arange(4, dtype=np.int8), np.array([True, False]), np.array([1 + 1j]),
    np.array(["a", None], dtype=object), 3, True, 2 + 1j, "text", None, [1.5, 2.5], (0.1,),
    np.int64(7), np.complex128(1j),
], ids=repr)
def test_casts_return_non_float_values_as_they_are(value):
    for cast in (_ax_lower_float32, _ax_lower_float16):
        assert cast(value) is value


def test_casts_only_ever_narrow():
    f32 = np.ones(3, dtype=np.float32)
    f16 = np.ones(3, dtype=np.float16)
    assert _ax_lower_float32(f32) is f32 and _ax_lower_float32(f16) is f16  # never widened
    assert _ax_lower_float16(f16) is f16
    assert _ax_lower_float16(f32).dtype == np.float16
    assert _ax_lower_float32(np.ones(2)).dtype == np.float32
    assert type(_ax_lower_float32(0.1)) is np.float32
    assert type(_ax_lower_float32(np.float64(0.1))) is np.float32
    assert type(_ax_lower_float16(np.float32(0.1))) is np.float16
    assert _ax_lower_float32(np.float16(0.5)).dtype == np.float16
    original = np.linspace(0, 1, 5)
    lowered = _ax_lower_float32(original)
    assert lowered is not original and original.dtype == np.float64  # a copy, never in place


# --- 4. discovery ---------------------------------------------------------------------------------


def test_sites_come_from_profiled_float_data_only():
    sites = precision_sites(K.mixed_kinds, (X, [0.5, 1.5]))
    fn = K.mixed_kinds
    assert list(sites) == [var(fn, "x"), var(fn, "m"), var(fn, "arr"), ret(fn)]
    # Python floats in interpreted code (total, v) and lists (xs) are no sites
    assert sites[var(fn, "m")].facts["held"] == "float64 scalar"  # np.mean gives a NumPy scalar
    assert sites[var(fn, "x")].facts == {**sites[var(fn, "x")].facts, "dtype": "float64",
                                         "held": "float64 array", "shape": [6]}
    for site in sites.values():
        assert site.family == "precision" and site.target == "python"
        assert site.knob.exact == F64
        assert site.knob.choices == (F32, F16)
        assert site.where.startswith("precision_kernels.py:")


def test_without_example_inputs_there_are_no_precision_sites():
    assert [s for s in ax.sites(K.mixed_kinds) if s.family == "precision"] == []
    assert any(s.family == "precision" for s in ax.sites(K.mixed_kinds, example_inputs=[(X, [0.5])]))


def test_python_floats_alone_are_no_site():
    with pytest.raises(InvalidArgument, match="nothing to lower") as info:
        ax.sites(K.python_floats_only, families=["precision"], example_inputs=[([0.5, 1.5],)])
    assert "total: float64 python" in str(info.value)


def test_a_float32_input_offers_only_float16():
    x32 = X.astype(np.float32)
    sites = precision_sites(K.plain_assign, (x32,))
    assert set(sites) == {var(K.plain_assign, "x"), var(K.plain_assign, "y"), ret(K.plain_assign)}
    for site in sites.values():
        assert site.knob.choices == (F16,)
        assert site.facts["dtype"] == "float32"


def test_a_float32_scalar_offers_only_float16():
    sites = precision_sites(K.plain_assign, (np.float32(1.5),))
    assert sites[var(K.plain_assign, "y")].knob.choices == (F16,)
    assert sites[var(K.plain_assign, "y")].facts["held"] == "float32 scalar"


def test_precision_sites_need_example_inputs():
    with pytest.raises(InvalidArgument, match="example_inputs") as info:
        ax.sites(K.plain_assign, families=["precision"])
    assert "example_inputs=inputs[:3]" in str(info.value)
    with pytest.raises(InvalidArgument, match="example_inputs"):
        ax.sites(K.plain_assign, families="precision")


@pytest.mark.parametrize("fn, args, held", [
    (K.no_floats, ([1, 2, 3],), ["xs: list", "n: int", "return: int"]),
    (K.complex_data, (np.ones(3, dtype=complex),), ["z: complex128", "w: complex128"]),
])
def test_no_float_data_is_an_error_naming_what_variables_held(fn, args, held):
    with pytest.raises(InvalidArgument, match="found no float data") as info:
        ax.sites(fn, families=["precision"], example_inputs=[args])
    message = str(info.value)
    assert f"{M}.{fn.__name__}" in message
    for words in held:
        assert words in message


def test_float16_data_offers_nothing_narrower():
    with pytest.raises(InvalidArgument) as info:
        ax.sites(K.plain_assign, families=["precision"], example_inputs=[(np.ones(3, dtype=np.float16),)])
    assert "x: float16 array" in str(info.value)


def test_the_error_for_data_already_narrowest_does_not_claim_there_is_no_float_data():
    with pytest.raises(InvalidArgument) as info:
        ax.sites(K.plain_assign, families=["precision"], example_inputs=[(np.ones(3, dtype=np.float16),)])
    assert "no float data" not in str(info.value)


def test_approximate_with_no_float_data_is_an_error_before_tuning():
    inputs = [([i, i + 1, i + 2],) for i in range(200)]
    with pytest.raises(InvalidArgument, match="found no float data") as info:
        ax.approximate(K.no_floats, inputs, families=["precision"], bound=0.1, progress=False)
    assert "doubled: list" in str(info.value)


def test_an_input_that_changes_dtype_warns_naming_the_variable():
    with pytest.warns(DtypeChangeWarning) as record:
        sites = precision_sites(K.passthrough, (X,), (X.astype(np.float32),))
    messages = [str(w.message) for w in record if issubclass(w.category, DtypeChangeWarning)]
    assert any("variable 'x'" in m and "input #0: float64" in m and "input #1: float32" in m
               for m in messages)
    assert any("variable 'y'" in m for m in messages)
    assert sites[var(K.passthrough, "x")].knob.choices == (F32, F16)  # lowers from the widest


def test_inputs_of_one_dtype_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", DtypeChangeWarning)
        precision_sites(K.passthrough, (X,), (X + 1.0,), (X * 3.0,))


def test_dtype_change_warning_points_at_the_callers_line():
    with pytest.warns(DtypeChangeWarning) as record:
        precision_sites(K.passthrough, (X,), (X.astype(np.float32),))
    assert all("approxify" not in w.filename for w in record)


def test_a_failing_exact_program_during_profiling_is_target_failed():
    with pytest.raises(TargetFailed) as info:
        ax.sites(K.fails_on_negative, families=["precision"], example_inputs=[(X + 2.0,), (X,)])
    message = str(info.value)
    assert "ValueError: negative input" in message and "example input #1" in message
    assert isinstance(info.value.__cause__, ValueError)


# --- 5. configs: resolve without a profile, and errors --------------------------------------------


def test_apply_needs_no_profile():
    fn = K.variance_pair
    (x,) = K.variance_inputs(1)[0]
    variant = ax.apply(fn, {var(fn, "centered"): F32, var(fn, "direct"): F32})
    out = variant(x)
    np.testing.assert_allclose(out, fn(x), rtol=1e-5)
    evaluation = ax.evaluate(fn, {var(fn, "centered"): F32}, K.variance_inputs(4), quality="mean_rel",
                             repeats=1)
    assert evaluation.failure_count == 0 and 0 < evaluation.mean_loss < 1e-5


def test_unknown_variables_are_unknown_sites():
    with pytest.raises(UnknownSite, match="var:nope"):
        ax.apply(K.plain_assign, {var(K.plain_assign, "nope"): F32})
    with pytest.raises(UnknownSite):
        ax.apply(K.plain_assign, {f"{M}.no_such_function/var:x": F32})
    with pytest.raises(UnknownSite):
        ax.apply(K.plain_assign, {f"{M}.plain_assign/val:y": F32})
    with pytest.raises(UnknownSite):  # a tuning group id is no site
        ax.apply(K.plain_assign, {f"flow:{var(K.plain_assign, 'y')}": F32})


@pytest.mark.parametrize("dtype", ["bfloat16", "int8"])
def test_dtypes_python_code_does_not_offer_are_invalid_config(dtype):
    with pytest.raises(InvalidConfig) as info:
        ax.apply(K.plain_assign, {var(K.plain_assign, "y"): ax.Precision(dtype)})
    message = str(info.value)
    assert dtype in message and "float32, float16" in message and var(K.plain_assign, "y") in message


def test_unknown_dtype_is_invalid_argument():
    with pytest.raises(InvalidArgument, match="float8") as info:
        ax.Precision("float8")
    assert "float32" in str(info.value)


def test_a_perforation_setting_on_a_precision_site_is_invalid_config():
    with pytest.raises(InvalidConfig, match="precision site"):
        ax.apply(K.plain_assign, {var(K.plain_assign, "y"): ax.Perforate(0.5)})


def test_a_precision_setting_on_a_loop_site_is_invalid_config():
    with pytest.raises(InvalidConfig, match="perforate site"):
        ax.apply(K.for_target, {f"{M}.for_target/for#0": F32})


def test_precision_settings_round_trip_through_json():
    assert ax.Precision("float16").to_dict() == {"family": "precision", "dtype": "float16"}
    variant = ax.apply(K.plain_assign, {var(K.plain_assign, "y"): {"family": "precision", "dtype": "float16"}})
    assert variant(X).dtype == np.float16
    assert F64.is_exact and not F32.is_exact and F32.label() == "float32" and F64.label() == "exact"


# --- 6. flow groups -------------------------------------------------------------------------------


def test_groups_follow_assignments_calls_and_returns():
    sites = precision_sites(K.flow_caller, (X, X + 1.0))
    group = {s: site.facts["group"] for s, site in sites.items()}
    chain = [var(K.flow_caller, "x"), var(K.flow_caller, "u"), var(K.flow_caller, "v"),
             var(K.flow_helper, "a"), var(K.flow_helper, "b"), ret(K.flow_helper)]
    apart = [var(K.flow_caller, "other"), var(K.flow_caller, "w")]
    assert {group[s] for s in chain} == {var(K.flow_caller, "x")}  # named by its first site
    assert {group[s] for s in apart} == {var(K.flow_caller, "other")}
    assert group[ret(K.flow_caller)] == ret(K.flow_caller)  # fed by a list: joins neither chain
    assert set(group) == set(chain) | set(apart) | {ret(K.flow_caller)}


def test_keyword_arguments_link_caller_and_callee():
    sites = precision_sites(K.flow_keyword, (X,))
    groups = {site.facts["group"] for site in sites.values()}
    assert len(groups) == 1
    assert var(K.flow_helper, "a") in sites


def test_loops_link_the_iterable_and_the_target():
    sites = precision_sites(K.for_target, (ROWS,))
    assert len({s.facts["group"] for s in sites.values()}) == 1


def test_group_sites_and_expand():
    sites = list(precision_sites(K.flow_caller, (X, X + 1.0)).values())
    tuned, groups = group_sites(sites, "flow")
    ids = [s.id for s in tuned]
    assert ids == [f"flow:{var(K.flow_caller, 'x')}", f"flow:{var(K.flow_caller, 'other')}",
                   ret(K.flow_caller)]
    assert groups[ids[0]] == [var(K.flow_caller, n) for n in ("x", "u", "v")] + [
        var(K.flow_helper, "a"), var(K.flow_helper, "b"), ret(K.flow_helper)]
    assert groups[ids[1]] == [var(K.flow_caller, "other"), var(K.flow_caller, "w")]
    assert tuned[0].knob.choices == (F32, F16) and tuned[0].facts["members"] == groups[ids[0]]
    assert "6 variables linked by data flow" in tuned[0].detail
    config = expand({ids[1]: F16, ids[2]: F32}, groups)
    assert config == {var(K.flow_caller, "other"): F16, var(K.flow_caller, "w"): F16, ret(K.flow_caller): F32}
    assert group_sites(sites, "none") == (sites, {})
    out = ax.apply(K.flow_caller, config)(X, X + 1.0)
    assert out == pytest.approx(K.flow_caller(X, X + 1.0), rel=1e-3)


def test_a_group_offers_only_the_choices_all_its_members_have():
    x32 = X.astype(np.float32)
    sites = list(precision_sites(K.documented, (x32, X)).values())  # x float32, y float64
    tuned, _ = group_sites(sites, "flow")
    assert len(tuned) == 1 and tuned[0].knob.choices == (F16,)


def _cast_count(fn, inputs) -> float:
    """A deterministic cost proxy: every cast the variant's code makes counts as a saving."""
    import dis

    casts = sum(1 for i in dis.get_instructions(fn) if str(i.argval).startswith("_ax_lower"))
    return 1.0 / (1 + casts)


@pytest.fixture(scope="module")
def flow_result():
    rng = np.random.default_rng(1)
    inputs = [(rng.random(64) + 1.0, rng.random(64) + 1.0) for _ in range(230)]
    result = ax.approximate(K.flow_caller, inputs, quality="rel_l2", bound=1e-3, loss_cap=0.02,
                            families=["precision"], holdout=200, cost=_cast_count, progress=False,
                            budget=ax.Budget(trials=4), seed=0)
    return result, inputs


def test_a_flow_grouped_result_names_real_sites_only(flow_result):
    result, _ = flow_result
    assert result.settings["grouping"] == "flow" and result.settings["strategy"] == "tpe"
    assert result.best.certified and not result.best.is_exact
    known = set(precision_sites(K.flow_caller, (X, X)))
    for candidate in [result.best, *result.pareto, *result.points]:
        assert all(not s.startswith("flow:") for s in candidate.config)
        assert set(candidate.config) <= known
    for group, members in result.stats["groups"].items():
        assert group.startswith("flow:") and set(members) <= known
        lowered = {m for m in members if m in result.best.config}
        assert lowered in (set(), set(members))  # a group is lowered as one
        assert len({result.best.config[m] for m in lowered}) <= 1


def test_a_saved_precision_result_reproduces_the_variant(flow_result, tmp_path):
    result, inputs = flow_result
    loaded = ax.load(result.save(tmp_path / "precision.json"))
    assert loaded.best.config == result.best.config
    assert loaded.best.certificate == result.best.certificate
    again, now, direct = loaded.program(), result.program(), ax.apply(K.flow_caller, result.best.config)
    for args in inputs[:10]:
        out = again(*args)
        assert out == now(*args) == direct(*args)
        assert type(out) is type(now(*args))
    assert "_ax_lower_float" in loaded.source()


def test_methods_and_closures_have_precision_sites():
    scaler = K.Scaler(np.float64(2.5))
    sites = precision_sites(scaler.apply, (X,))
    assert set(sites) == {f"{M}.Scaler.apply/var:x", f"{M}.Scaler.apply/var:y", f"{M}.Scaler.apply/return"}
    out = ax.apply(scaler.apply, {s: F32 for s in sites})(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, X * 2.5, rtol=1e-6)
    shift = K.make_shift(np.float64(0.25))
    sites = precision_sites(shift, (X,))
    assert set(sites) == {f"{M}.make_shift.shift/var:x", f"{M}.make_shift.shift/var:y",
                          f"{M}.make_shift.shift/return"}  # the closed-over offset is no variable here
    out = ax.apply(shift, {s: F16 for s in sites})(X)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out, X + 0.25, rtol=1e-3)


# --- 7. the user's function, globals and inputs stay as they were ---------------------------------


def test_users_function_globals_and_inputs_are_untouched():
    code, weights, table = K.scales_with_globals.__code__, K.WEIGHTS.copy(), dict(K.TABLE)
    x = np.linspace(0.0, 1.0, 8)
    x_before = x.copy()
    sites = precision_sites(K.scales_with_globals, (x,))
    variant = ax.apply(K.scales_with_globals, {s: F16 for s in sites})
    assert variant(x).dtype == np.float16
    assert K.scales_with_globals.__code__ is code
    assert K.WEIGHTS.dtype == np.float64 and np.array_equal(K.WEIGHTS, weights)
    assert K.TABLE == table
    assert x.dtype == np.float64 and np.array_equal(x, x_before)
    assert not [name for name in vars(K) if name.startswith("_ax_")]
    np.testing.assert_array_equal(K.scales_with_globals(x), x * weights * 2.0)


def test_profiling_and_variants_do_not_rebind_module_globals():
    before = K.CALLS
    sites = precision_sites(K.counts_calls, (X,), (X,))
    variant = ax.apply(K.counts_calls, {s: F32 for s in sites})
    variant(X)
    assert K.CALLS == before


def test_profiling_does_not_mutate_example_inputs():
    x = X.copy()
    sites = precision_sites(K.scale_in_place, (x,))  # the program doubles its argument in place
    assert var(K.scale_in_place, "x") in sites
    np.testing.assert_array_equal(x, X)


def test_a_lowered_parameter_leaves_the_callers_array_alone():
    x = X.copy()
    out = ax.apply(K.scale_in_place, {var(K.scale_in_place, "x"): F32})(x)
    np.testing.assert_array_equal(x, X)  # the cast made a float32 copy: the caller's array is kept
    assert out.dtype == np.float32


# --- 8b. numba-compiled targets when numba cannot be imported (runs without numba) ----------------


class FakeDispatcher:
    """Looks like a numba dispatcher to approxify (module name and py_func), without numba."""

    __module__ = "numba.core.registry"

    def __init__(self, py_func):
        self.py_func = py_func
        self.targetoptions = {"nopython": True}

    def __call__(self, *args):
        return self.py_func(*args)


def test_a_numba_target_without_numba_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` raises ImportError
    with pytest.raises(UnsupportedTarget) as info:
        ax.apply(FakeDispatcher(K.plain_assign), {})
    assert "pip install 'approxify[numba]'" in str(info.value)


def test_a_view_written_through_is_no_site_but_a_view_only_read_is():
    """Lowering a view copies it: writes through the copy would miss the viewed array."""
    x = np.arange(1.0, 5.0)
    written = {s.id for s in ax.sites(K.halve_tail, families=["precision"], example_inputs=[(x,)])}
    assert f"{M}.halve_tail/var:tail" not in written and f"{M}.halve_tail/var:y" in written
    read = {s.id for s in ax.sites(K.read_view, families=["precision"], example_inputs=[(x,)])}
    assert f"{M}.read_view/var:head" in read
    lowered = ax.apply(K.halve_tail, {f"{M}.halve_tail/var:y": F32})(x)
    np.testing.assert_array_equal(lowered, K.halve_tail(x))  # the base lowered: writes still land
