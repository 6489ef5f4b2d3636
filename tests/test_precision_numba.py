"""numba-compiled targets: sites from numba's type maps, variants compiled again as dispatchers
(``cache=True`` dropped), callees followed, perforation, export, and the user's dispatcher kept as
it was. The install hint without numba is tested here and, with a stand-in, in test_precision.py."""

from __future__ import annotations

import sys

import numpy as np
import pytest

numba = pytest.importorskip(
    "numba", reason="numba is an optional extra (pip install 'approxify[numba]'); these tests "
                    "compile numba variants")

import approxify as ax
from approxify._target import Target
from approxify.errors import InvalidConfig, UnsupportedTarget

import numba_kernels as N
from exported_modules import import_exported

M = "numba_kernels"
F32, F16 = ax.Precision("float32"), ax.Precision("float16")
RNG = np.random.default_rng(0)
X = RNG.standard_normal(200)
W = RNG.standard_normal(200)


def var(fn, name: str) -> str:
    return f"{M}.{fn.py_func.__qualname__}/var:{name}"


def ret(fn) -> str:
    return f"{M}.{fn.py_func.__qualname__}/return"


def precision_sites(fn, *examples) -> dict[str, ax.Site]:
    return {s.id: s for s in ax.sites(fn, families=["precision"], example_inputs=list(examples))}


def is_dispatcher(value) -> bool:
    return isinstance(value, numba.core.registry.CPUDispatcher)


def test_sites_come_from_numba_type_maps_including_float_scalars():
    sites = precision_sites(N.weighted_sum, (X, W))
    assert set(sites) == {var(N.weighted_sum, "x"), var(N.weighted_sum, "w"),
                          var(N.weighted_sum, "total"), ret(N.weighted_sum)}
    assert sites[var(N.weighted_sum, "total")].facts["held"] == "float64 scalar"
    assert sites[var(N.weighted_sum, "x")].facts["held"] == "float64 array"
    for site in sites.values():
        assert site.knob.choices == (F32,)  # compiled code offers float32 only


def test_integer_variables_in_compiled_code_are_no_sites():
    sites = precision_sites(N.count_positive, (X,))
    assert set(sites) == {var(N.count_positive, "xs")}


def test_sites_of_an_njit_callee_are_found():
    sites = precision_sites(N.sum_of_squares, (X,))
    assert {var(N.square, "v"), var(N.square, "s"), ret(N.square)} <= set(sites)
    assert var(N.sum_of_squares, "acc") in sites
    assert len({s.facts["group"] for s in sites.values()}) == 1  # x -> v -> s -> acc


def test_a_python_function_calling_an_njit_function():
    sites = precision_sites(N.python_root, (X,))
    root, callee = f"{M}.python_root", f"{M}.weighted_sum"
    assert set(sites) == {f"{root}/var:x", f"{root}/var:y", f"{callee}/var:x", f"{callee}/var:w",
                          f"{callee}/var:total", f"{callee}/return"}  # the root returns a Python float
    assert sites[f"{root}/var:y"].knob.choices == (F32, F16)
    assert sites[f"{callee}/var:w"].knob.choices == (F32,)
    assert len({s.facts["group"] for s in sites.values()}) == 1  # arguments link y and x to the callee
    variant = ax.apply(N.python_root, {s: F32 for s in sites})
    assert not is_dispatcher(variant) and is_dispatcher(variant.__globals__["weighted_sum"])
    assert variant(X) == pytest.approx(N.python_root(X), rel=1e-5)


def test_a_config_naming_integers_in_compiled_code_changes_nothing():
    config = {var(N.count_positive, "n"): F32, ret(N.count_positive): F32}
    out = ax.apply(N.count_positive, config)(X)
    assert type(out) is int and out == int(np.sum(X > 0))


def test_float32_variant_is_a_dispatcher_close_to_the_exact_result():
    sites = precision_sites(N.weighted_sum, (X, W))
    variant = ax.apply(N.weighted_sum, {s: F32 for s in sites})
    assert is_dispatcher(variant) and variant is not N.weighted_sum
    out = variant(X, W)
    exact = N.weighted_sum.py_func(X, W)
    assert float(np.float32(out)) == out  # a float32 value (numba boxes it as a Python float)
    assert out != exact
    assert out == pytest.approx(exact, rel=1e-5)
    assert [str(s) for s in variant.nopython_signatures[0].args] == ["array(float64, 1d, C)"] * 2


def test_lowered_array_result_is_float32():
    variant = ax.apply(N.cached_scale, {var(N.cached_scale, "out"): F32})
    out = variant(X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, N.cached_scale.py_func(X), rtol=1e-6)
    source = Target(N.cached_scale).rewrite({var(N.cached_scale, "out"): F32}).source()
    assert "out = np.zeros(x.shape[0], dtype=_ax_float32)" in source


def test_cache_true_is_dropped_from_variants_but_kept_on_the_original():
    # numba keeps cache=True as the dispatcher's cache object, not in targetoptions
    assert type(N.cached_scale._cache).__name__ == "FunctionCache"
    options = dict(N.cached_scale.targetoptions)
    for config in ({}, {var(N.cached_scale, "x"): F32}):
        variant = ax.apply(N.cached_scale, config)
        assert is_dispatcher(variant)
        assert type(variant._cache).__name__ == "NullCache"  # never written to the user's cache
        assert not variant.targetoptions.get("cache")
        assert variant.targetoptions.get("nopython") == options.get("nopython") is True
    assert N.cached_scale.targetoptions == options
    assert type(N.cached_scale._cache).__name__ == "FunctionCache"
    sites = precision_sites(N.cached_scale, (X,))  # typemaps exist: variants are compiled afresh
    assert {var(N.cached_scale, "x"), var(N.cached_scale, "out"), ret(N.cached_scale)} <= set(sites)


def test_the_users_dispatchers_are_untouched():
    before = {fn: (fn.py_func.__code__, list(fn.signatures), dict(fn.targetoptions))
              for fn in (N.sum_of_squares, N.square)}
    sites = precision_sites(N.sum_of_squares, (X,))
    variant = ax.apply(N.sum_of_squares, {s: F32 for s in sites})
    variant(X)
    ax.apply(N.sum_of_squares, {})(X)
    after = {fn: (fn.py_func.__code__, list(fn.signatures), dict(fn.targetoptions))
             for fn in (N.sum_of_squares, N.square)}
    assert after == before  # nothing compiled the user's square for float32 (or at all)
    assert N.sum_of_squares.py_func.__globals__["square"] is N.square


def test_exact_variant_is_bit_identical():
    variant = ax.apply(N.sum_of_squares, {})
    assert is_dispatcher(variant)
    assert variant(X) == N.sum_of_squares(X)
    source = Target(N.sum_of_squares).rewrite({}).source()
    assert source == Target(N.sum_of_squares).program.source() and "_ax_" not in source


def test_a_compiled_input_that_changes_dtype_warns():
    from approxify.transforms.precision.profile import DtypeChangeWarning

    with pytest.warns(DtypeChangeWarning, match="variable 'x' changes dtype"):
        sites = precision_sites(N.loop_mean, (X.astype(np.float32),), (X,))
    assert sites[var(N.loop_mean, "x")].facts["dtype"] == "float64"


def test_a_compiled_dtype_change_warning_names_each_inputs_own_dtype():
    from approxify.transforms.precision.profile import DtypeChangeWarning

    with pytest.warns(DtypeChangeWarning) as record:
        precision_sites(N.loop_mean, (X.astype(np.float32),), (X,))
    (message,) = [str(w.message) for w in record if "variable 'x'" in str(w.message)]
    assert "input #0: float32; input #1: float64)" in message


def test_float16_is_invalid_in_compiled_code():
    with pytest.raises(InvalidConfig, match="numba-compiled") as info:
        ax.apply(N.weighted_sum, {var(N.weighted_sum, "total"): F16})
    assert "float32" in str(info.value)


def test_perforation_works_on_an_njit_function():
    site = f"{M}.loop_mean/for#0"
    assert site in {s.id for s in ax.sites(N.loop_mean, families=["perforate"])}
    half = ax.apply(N.loop_mean, {site: ax.Perforate(0.5)})
    assert is_dispatcher(half)
    assert half(X) == pytest.approx(X[::2].sum() / X.size, rel=1e-12)
    quarter = ax.apply(N.loop_mean, {site: ax.Perforate(0.75)})
    assert quarter(X) == pytest.approx(X[::4].sum() / X.size, rel=1e-12)
    assert "for i in range(0, x.shape[0], 2):" in Target(N.loop_mean).rewrite(
        {site: ax.Perforate(0.5)}).source()


def test_every_perforation_choice_offered_on_an_njit_loop_compiles():
    (site,) = ax.sites(N.loop_mean, families=["perforate"])
    broken = []
    for setting in site.knob.choices:
        try:
            ax.apply(N.loop_mean, {site.id: setting})(X)
        except Exception as exc:  # noqa: BLE001 - collect every choice that does not compile
            broken.append(f"{setting.label()}: {type(exc).__name__}")
    assert broken == []


def test_exported_numba_variant_runs_when_imported(tmp_path):
    sites = precision_sites(N.sum_of_squares, (X,))
    config = {var(N.sum_of_squares, "acc"): F32, var(N.square, "s"): F32}
    assert set(config) <= set(sites)
    text = ax.source(N.sum_of_squares, config)
    assert "@numba.njit" in text and "_ax_numba_casts()" in text
    module = import_exported(text, tmp_path, "exported_sum_of_squares")
    assert is_dispatcher(module.sum_of_squares)
    expected = ax.apply(N.sum_of_squares, config)(X)
    assert module.sum_of_squares(X) == expected
    assert expected == pytest.approx(float(np.sum(X * X)), rel=1e-5)


def test_without_numba_the_error_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "numba", None)  # `import numba` now raises ImportError
    with pytest.raises(UnsupportedTarget) as info:
        ax.apply(N.weighted_sum, {var(N.weighted_sum, "total"): F32})
    assert "pip install 'approxify[numba]'" in str(info.value)
    assert "numba-compiled" in str(info.value)


def test_a_tuple_of_floats_in_compiled_code_is_no_site():
    x = X + 0.1
    sites = precision_sites(N.pair_of_sums, (x,))
    for site in (var(N.pair_of_sums, "t"), ret(N.pair_of_sums)):
        if site in sites:  # offered: then lowering it must change the values
            out = ax.apply(N.pair_of_sums, {site: F32})(x)
            assert out != N.pair_of_sums(x), f"{site} is a site whose lowering is a no-op"


def _cast_count(fn, inputs) -> float:
    """A deterministic cost proxy: every cast in the variant's code counts as a saving."""
    import dis

    code = getattr(fn, "py_func", fn)
    return 1.0 / (1 + sum(1 for i in dis.get_instructions(code) if str(i.argval).startswith("_ax_lower")))


def test_delta_tuning_of_an_njit_function_is_certified():
    rng = np.random.default_rng(1)
    inputs = [(rng.random(100) + 1.0, rng.random(100) + 1.0) for _ in range(230)]
    result = ax.approximate(N.weighted_sum, inputs, quality="rel_l2", bound=1e-3, loss_cap=0.02,
                            families=["precision"], strategy="delta", grouping="none", holdout=200,
                            cost=_cast_count, progress=False, seed=0)
    assert result.best.certified
    assert set(result.best.config) == {var(N.weighted_sum, "x"), var(N.weighted_sum, "w"),
                                       var(N.weighted_sum, "total"), ret(N.weighted_sum)}
    fast = result.program()
    assert is_dispatcher(fast)
    assert fast(*inputs[0]) == pytest.approx(N.weighted_sum(*inputs[0]), rel=1e-5)


def test_float_literals_of_lowered_expressions_become_float32_in_compiled_code():
    """numba types 0.25 as float64, which would pull a lowered stencil back to float64."""
    sites = precision_sites(N.stencil, (X,))
    config = {site: F32 for site in sites}
    source = Target(N.stencil).rewrite(config).source()
    assert "_ax_float32(0.25) * (u[i - 1] - _ax_float32(2.0) * u[i] + u[i + 1])" in source
    variant = ax.apply(N.stencil, config)
    np.testing.assert_allclose(variant(X), N.stencil(X), rtol=1e-5, atol=1e-5)
    (result,) = variant.overloads.values()
    assert str(result.fndesc.restype) == "array(float32, 1d, C)"
    # every float value in the compiled loop is float32: no float64 variable remains
    float64 = [name for name, t in result.fndesc.typemap.items()
               if str(t) == "float64" and not name.startswith("$const")]  # the literals themselves
    assert float64 == []


def test_float_literals_stay_float64_where_nothing_is_lowered():
    config = {var(N.stencil, "u"): F32}  # only the input: out stays float64, so do its literals
    source = Target(N.stencil).rewrite(config).source()
    assert "0.25 * (u[i - 1] - 2.0 * u[i] + u[i + 1])" in source
