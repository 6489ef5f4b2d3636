"""Integer lowering in the precision family (issue 20, item 4): an integral-valued float array
(an 8-bit image stored as float64) held as int16 or int32. Which variables are offered it, the
rewritten and exported source (``.astype(np.int16)`` at the definition, ``2 * p`` for
``2.0 * p``), the exact config unchanged, results kept float, and sobel: exact in int16 + int32,
wrapped around in int16 alone, so the measured loss has something to reject."""

from __future__ import annotations

import ast
import inspect
import json

import numpy as np
import pytest

import approxify as ax
from approxify._target import Target
from approxify.config import config_from_dict, config_to_dict, setting_from_dict
from approxify.errors import InvalidArgument, InvalidConfig
from approxify.examples import sobel as sobel_module
from approxify.measure.quality import rel_l2
from approxify.transforms.precision import integers

import fixed_point_kernels as K
from exported_modules import import_exported

M = K.__name__
I16, I32, F32 = ax.Precision("int16"), ax.Precision("int32"), ax.Precision("float32")
IMAGES = K.images(3)
SOBEL = "sobel.sobel/var:"


def var(fn, name: str) -> str:
    return f"{M}.{fn.__qualname__}/var:{name}"


def choices(fn, examples) -> dict[str, list[str]]:
    """Site id -> the dtypes it offers."""
    return {s.id: [c.dtype for c in s.knob.choices]
            for s in ax.sites(fn, families=["precision"], example_inputs=examples)}


def body(fn, config, examples=None) -> str:
    """The rewritten function, normalised, without its docstring."""
    program = Target(fn, example_inputs=examples).rewrite(config)
    key = next(k for k in program.functions if k.endswith(fn.__qualname__))
    tree = ast.parse(program.source(key)).body[0]
    if ast.get_docstring(tree) is not None:
        tree.body = tree.body[1:]
    return ast.unparse(tree)


@pytest.fixture(scope="module")
def sobel_images():
    return sobel_module.make_inputs(2)  # 512 x 512: gx * gx reaches 1e6


@pytest.fixture(scope="module")
def sobel_small():
    return sobel_module.make_inputs(2, size=64)


# --- which variables are offered integer types ----------------------------------------------------


def test_sobel_offers_integers_to_its_arrays_and_not_to_its_result(sobel_small):
    offered = choices(sobel_module.sobel, sobel_small)
    for name in ("image", "p"):
        assert offered[SOBEL + name] == ["float32", "float16", "int32", "int16"]
    for name in ("gx", "gy"):  # their squares leave int16's range
        assert offered[SOBEL + name] == ["float32", "float16", "int32"]
    assert offered["sobel.sobel/return"] == ["float32", "float16"]


def test_the_site_says_the_range_it_saw(sobel_small):
    site = {s.id: s for s in ax.sites(sobel_module.sobel, families=["precision"], example_inputs=sobel_small)}
    low, high = site[SOBEL + "p"].facts["integral"]
    assert low >= 0 and high <= 255 and low < high
    assert json.dumps(site[SOBEL + "p"].facts)  # facts stay JSON-able


def test_fractional_values_get_no_integer_type():
    assert choices(K.fractional, IMAGES)[var(K.fractional, "g")] == ["float32", "float16"]


def test_a_range_beyond_int16_gets_int32_only():
    assert choices(K.wide, IMAGES)[var(K.wide, "w")] == ["float32", "float16", "int32"]


def test_an_array_written_through_gets_no_integer_type():
    # zeros where it is defined, halves after the store the profile does not see
    assert choices(K.written, IMAGES)[var(K.written, "out")] == ["float32", "float16"]


def test_a_float_scalar_gets_no_integer_type():
    assert var(K.scalar, "top") not in choices(K.scalar, IMAGES)  # a Python float: no site at all
    assert choices(K.scalar, IMAGES)[var(K.scalar, "image")][-2:] == ["int32", "int16"]


def test_float32_data_may_take_integers_and_float16_data_not():
    image = IMAGES[0][0]
    assert choices(K.neighbour_sum, [(image.astype(np.float32),)])[var(K.neighbour_sum, "p")] == \
        ["float16", "int32", "int16"]
    with pytest.raises(InvalidArgument, match="already as narrow"):  # nothing at all to lower
        ax.sites(K.neighbour_sum, families=["precision"], example_inputs=[(image.astype(np.float16),)])


def test_integral_only_on_some_inputs_is_not_integral():
    mixed = [K.images(1, step=2)[0], K.images(1, seed=1)[0]]  # even levels, then odd ones too
    assert "int16" in choices(K.halves, mixed[:1])[var(K.halves, "h")]
    assert "int16" not in choices(K.halves, mixed)[var(K.halves, "h")]


# --- the rewrite ----------------------------------------------------------------------------------


def test_sobel_before_and_after(sobel_small):
    config = {SOBEL + "p": I16, SOBEL + "gx": I32, SOBEL + "gy": I32}
    original = ast.parse(inspect.getsource(sobel_module.sobel)).body[0]
    original.body = original.body[1:]
    assert body(sobel_module.sobel, {}, sobel_small) == ast.unparse(original)
    assert body(sobel_module.sobel, config, sobel_small) == (
        "def sobel(image):\n"
        "    p = np.pad(image, 1, mode='edge').astype(np.int16)\n"
        "    gx = (p[:-2, 2:] + 2 * p[1:-1, 2:] + p[2:, 2:] - (p[:-2, :-2] + 2 * p[1:-1, :-2] + p[2:, :-2]))"
        ".astype(np.int32)\n"
        "    gy = (p[2:, :-2] + 2 * p[2:, 1:-1] + p[2:, 2:] - (p[:-2, :-2] + 2 * p[:-2, 1:-1] + p[:-2, 2:]))"
        ".astype(np.int32)\n"
        "    return np.sqrt(gx * gx + gy * gy)"
    )


def test_literals_become_ints_only_in_an_integer_variables_definition(sobel_small):
    # p alone: gx's literals stay floats, so gx computes in float64 as before (exact, and
    # no int16 product that could wrap)
    text = body(sobel_module.sobel, {SOBEL + "p": I16}, sobel_small)
    assert "2.0 * p[1:-1, 2:]" in text and ".astype(np.int16)" in text


def test_only_integral_literals_within_range_become_ints():
    text = body(K.literals, {var(K.literals, "q"): I16})  # unprofiled: any variable may be named
    assert ("q = (2 * p[1:, 1:] - 1 + p[1:, :-1] * 0.5 + p[1:, 1:] // 4 + 70000.0 * 0)"
            ".astype(np.int16)") in text
    assert "return q / 3.0" in text  # a returned value keeps its literals


def test_a_parameter_is_cast_on_entry():
    text = body(K.box_blur, {var(K.box_blur, "image"): I16}, IMAGES)
    assert text.splitlines()[1] == "    image = image.astype(np.int16)"


def test_without_a_numpy_alias_the_cast_names_a_runtime_constant():
    call, constant = integers.cast(ast.Name(id="x", ctx=ast.Load()), "int32", None)
    assert ast.unparse(call) == "x.astype(_ax_int32)" and constant == "_ax_int32"
    call, constant = integers.cast(ast.Name(id="x", ctx=ast.Load()), "int32", "np")
    assert ast.unparse(call) == "x.astype(np.int32)" and constant is None


def test_an_integer_result_is_returned_as_float():
    config = {var(K.neighbour_sum, "p"): I16}
    assert "return _ax_float_result(p[1:-1, 1:-1] + p[1:-1, 2:])" in body(K.neighbour_sum, config, IMAGES)
    out = ax.apply(K.neighbour_sum, config, example_inputs=IMAGES)(*IMAGES[0])
    exact = K.neighbour_sum(*IMAGES[0])
    assert out.dtype == np.float64 and out.shape == exact.shape
    np.testing.assert_array_equal(out, exact)


def test_a_result_known_to_be_float_is_not_guarded():
    assert "_ax_float_result" not in body(K.box_blur, {var(K.box_blur, "p"): I16}, IMAGES)  # a division
    assert "_ax_float_result" not in body(K.wide, {var(K.wide, "w"): I32}, IMAGES)  # np.sqrt


# --- outputs --------------------------------------------------------------------------------------


def test_the_exact_config_is_bit_identical(sobel_small):
    variant = ax.apply(sobel_module.sobel, {}, example_inputs=sobel_small)
    for (image,) in sobel_small:
        exact = sobel_module.sobel(image)
        out = variant(image)
        assert out.dtype == exact.dtype and out.tobytes() == exact.tobytes()


def test_sobel_in_int16_and_int32_is_exact(sobel_images):
    config = {SOBEL + "p": I16, SOBEL + "gx": I32, SOBEL + "gy": I32}
    variant = ax.apply(sobel_module.sobel, config, example_inputs=sobel_images)
    for (image,) in sobel_images:
        exact, out = sobel_module.sobel(image), variant(image)
        assert out.shape == exact.shape and out.dtype == np.float64
        np.testing.assert_array_equal(out, exact)  # integer arithmetic on integers is exact


@pytest.mark.filterwarnings("ignore:invalid value encountered in sqrt")
def test_sobel_in_int16_alone_wraps_around(sobel_images):
    config = {SOBEL + "p": I16, SOBEL + "gx": I16, SOBEL + "gy": I16}
    variant = ax.apply(sobel_module.sobel, config, example_inputs=sobel_images)
    losses = []
    for (image,) in sobel_images:
        exact, out = sobel_module.sobel(image), variant(image)
        assert out.shape == exact.shape and out.dtype.kind == "f"  # np.sqrt of int16: float32
        losses.append(rel_l2(exact, out))
    # gx * gx beyond 32767 wraps (sums go negative: NaN roots, which count as loss 1) on an
    # image with strong edges; one with none beyond 181 gray levels a pixel is exact
    assert any(np.isnan(loss) or loss > 0.1 for loss in losses)


def test_int16_image_with_float32_gradients_is_float32_accurate(sobel_images):
    config = {SOBEL + "p": I16, SOBEL + "gx": F32, SOBEL + "gy": F32}
    variant = ax.apply(sobel_module.sobel, config, example_inputs=sobel_images)
    image = sobel_images[0][0]
    out = variant(image)
    assert out.dtype == np.float32 and rel_l2(sobel_module.sobel(image), out) < 1e-6


@pytest.mark.parametrize("fn, name, dtype", [
    (K.box_blur, "p", I16), (K.box_blur, "total", I16), (K.unsharp, "p", I16),
    (K.unsharp, "sharp", I16), (K.wide, "w", I32),
])
def test_third_party_kernels_are_exact_and_keep_float_results(fn, name, dtype):
    variant = ax.apply(fn, {var(fn, name): dtype}, example_inputs=IMAGES)
    for (image,) in IMAGES:
        exact, out = fn(image), variant(image)
        assert out.shape == exact.shape and out.dtype.kind == "f"
        assert rel_l2(exact, out) < 1e-12


def test_a_cast_of_fractional_values_truncates_as_astype_does():
    even = K.images(2, step=2)  # the profile sees integral halves only
    config = {var(K.halves, "h"): I16}
    variant = ax.apply(K.halves, config, example_inputs=even)
    np.testing.assert_array_equal(variant(*even[0]), K.halves(*even[0]))  # exact on what it saw
    (odd,) = K.images(1, seed=7)[0]
    expected = (odd / 2.0).astype(np.int16) + 0.25  # 3.5 -> 3: NumPy's astype truncates
    np.testing.assert_array_equal(variant(odd), expected)
    assert rel_l2(K.halves(odd), variant(odd)) > 1e-3  # what a held-out loss measures


def test_the_users_function_and_inputs_stay_as_they_were(sobel_small):
    source, code = inspect.getsource(sobel_module.sobel), sobel_module.sobel.__code__
    image = sobel_small[0][0]
    before = image.copy()
    config = {SOBEL + "image": I16, SOBEL + "p": I16, SOBEL + "gx": I32, SOBEL + "gy": I32}
    ax.apply(sobel_module.sobel, config, example_inputs=sobel_small)(image)
    assert image.dtype == np.float64 and image.tobytes() == before.tobytes()
    assert inspect.getsource(sobel_module.sobel) == source and sobel_module.sobel.__code__ is code
    assert sobel_module.sobel(image).dtype == np.float64


# --- export ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn, config, examples", [
    (sobel_module.sobel, {SOBEL + "p": I16, SOBEL + "gx": I32, SOBEL + "gy": I32}, "sobel"),
    (K.unsharp, {var(K.unsharp, "p"): I16, var(K.unsharp, "sharp"): I16}, "images"),
    (K.neighbour_sum, {var(K.neighbour_sum, "p"): I16}, "images"),
], ids=["sobel", "unsharp", "neighbour_sum"])
def test_exported_source_runs_without_approxify_and_matches_apply(fn, config, examples, tmp_path, sobel_small):
    inputs = sobel_small if examples == "sobel" else IMAGES
    text = ax.source(fn, config, example_inputs=inputs)
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert not [line for line in imports if "approxify" in line]
    assert ".astype(np.int16)" in text and "_ax_lower" not in text
    module = import_exported(text, tmp_path, f"exported_{fn.__name__}")
    variant = ax.apply(fn, config, example_inputs=inputs)
    for (image,) in inputs:
        shipped, applied = getattr(module, fn.__name__)(image), variant(image)
        assert shipped.dtype == applied.dtype and shipped.tobytes() == applied.tobytes()


# --- checking and settings ------------------------------------------------------------------------


@pytest.mark.parametrize("fn, name, dtype, words", [
    (K.fractional, "g", I16, "not only arrays of integer values"),
    (K.wide, "w", I16, "spanned [0.0, 255000.0], beyond int16's -32768..32767"),
])
def test_an_integer_type_a_site_does_not_offer_is_invalid_config(fn, name, dtype, words):
    with pytest.raises(InvalidConfig) as info:
        Target(fn, example_inputs=IMAGES).check({var(fn, name): dtype})
    message = str(info.value)
    assert var(fn, name) in message and dtype.dtype in message and words in message
    assert "use one of" in message


def test_a_returned_value_takes_no_integer_type(sobel_small):
    with pytest.raises(InvalidConfig, match="a returned value keeps a float type; use one of float32, float16"):
        Target(sobel_module.sobel, example_inputs=sobel_small).check({"sobel.sobel/return": I32})
    with pytest.raises(InvalidConfig):  # unprofiled (a saved result rebuilt): still no integers
        Target(sobel_module.sobel).check({"sobel.sobel/return": I32})


def test_numba_code_is_offered_no_integer_type():
    pytest.importorskip("numba")
    import numba_kernels as N

    examples = [(np.arange(12.0),)]  # integral floats: Python code would be offered integers
    site = {s.id: s for s in ax.sites(N.stencil, families=["precision"], example_inputs=examples)}
    assert site and all(c.dtype == "float32" for s in site.values() for c in s.knob.choices)
    with pytest.raises(InvalidConfig, match="numba-compiled"):
        Target(N.stencil, example_inputs=examples).check({"numba_kernels.stencil/var:u": I16})
    with pytest.raises(InvalidConfig, match="numba-compiled"):
        Target(N.stencil).check({"numba_kernels.stencil/var:u": I16})


@pytest.mark.parametrize("setting", [I16, I32])
def test_integer_settings_validate_and_round_trip_through_json(setting):
    config = {var(K.box_blur, "p"): setting}
    assert config_from_dict(json.loads(json.dumps(config_to_dict(config)))) == config
    assert setting.label() == setting.dtype and not setting.is_exact


def test_an_unknown_integer_type_and_smoothing_on_int16_are_invalid_arguments():
    with pytest.raises(InvalidArgument, match="int16"):
        ax.Precision("int12")
    with pytest.raises(InvalidArgument, match="int8 only"):
        ax.Precision("int16", smoothing=0.5)


def test_a_flow_group_is_offered_integers_member_by_member(sobel_small):
    from approxify.search.groups import expand, group_sites

    found = ax.sites(sobel_module.sobel, example_inputs=sobel_small, families=["precision"])
    assert [c.dtype for c in {s.id: s for s in found}["sobel.sobel/var:gx"].knob.choices if c.dtype.startswith("int")] \
        == ["int32"]  # gx * gx leaves int16
    tuned, groups = group_sites(list(found), "flow")
    (group,) = [s for s in tuned if s.id in groups]
    integers = [c for c in group.knob.choices if c.dtype == "integers"]
    assert len(integers) == 1
    config = expand({group.id: integers[0]}, groups)
    assert {site: s.dtype for site, s in config.items()} == {
        "sobel.sobel/var:image": "int16", "sobel.sobel/var:p": "int16", "sobel.sobel/var:gx": "int32",
        "sobel.sobel/var:gy": "int32", "sobel.sobel/return": "float64"}
    variant = ax.apply(sobel_module.sobel, config, example_inputs=sobel_small)
    image = sobel_small[0][0]
    assert np.array_equal(variant(image), sobel_module.sobel(image))
    assert setting_from_dict(integers[0].to_dict()) == integers[0]


def test_int16_refused_where_a_square_would_overflow_says_so(sobel_small):
    with pytest.raises(InvalidConfig, match=r"an expression of it alone \(a square, say\) leaves int16"):
        Target(sobel_module.sobel, example_inputs=sobel_small).check({SOBEL + "gx": I16})
