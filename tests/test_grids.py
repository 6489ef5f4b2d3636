"""Maps and stencils over grids are sites (issue 20, item 2): the element-wise chain a function
returns is computed on every k-th row and column and filled back once, at the return, by
repetition or linear interpolation. Before/after source, the exact config identical, shapes and
dtypes kept, the fills checked by hand, programs that must not be sites, the export."""

import ast
import json
import textwrap

import numpy as np
import pytest

import approxify as ax
from approxify._target import Target
from approxify.config import setting_from_dict
from approxify.errors import InvalidArgument, InvalidConfig
from approxify.examples import sobel as sobel_example
from approxify.transforms.perforate.grids import _ax_grid_linear

import grid_kernels as gk
from exported_modules import import_exported

M = "grid_kernels"
G = ax.Perforate.grid
RNG = np.random.default_rng(0)
A = RNG.random((70, 90))
CHOICES = [G(2), G(3), G(2, "linear"), G(3, "linear")]


def _target(fn, *args):
    return Target(fn, isolation="none", example_inputs=[args])


def _grid_sites(fn, *args):
    return {s.id: s for s in _target(fn, *args).sites if "/grid#" in s.id}


def _problems(fn, *args):
    return _target(fn, *args).program.observed("perforate").grids.problems


def _source(fn, config, *args):
    tree = _target(fn, *args).rewrite(config).functions[f"{M}.{fn.__name__}"].tree
    return ast.unparse(tree)


def _same(source, expected):
    assert source == textwrap.dedent(expected).strip()


def _by_hand_nearest(y, k, shape):
    return np.repeat(np.repeat(y, k, axis=-2), k, axis=-1)[..., :shape[-2], :shape[-1]]


def _by_hand_linear(y, k, shape):
    """np.interp along the columns, then along the rows (it holds the last value past the end)."""
    rows = np.stack([np.interp(np.arange(shape[-2]), np.arange(y.shape[-2]) * k, column) for column in y.T], axis=1)
    return np.stack([np.interp(np.arange(shape[-1]), np.arange(y.shape[-1]) * k, row) for row in rows])


# -- sites -------------------------------------------------------------------------------------

def test_sobel_is_one_chain_from_the_slices_of_p_to_the_returned_magnitude():
    image = sobel_example.make_inputs(1, size=64)[0]
    sites = [s for s in ax.sites(sobel_example.sobel, families="perforate", example_inputs=[image])]
    grid = [s for s in sites if "/grid#" in s.id]
    assert [s.id for s in grid] == ["sobel.sobel/grid#0"]
    assert grid[0].detail == "np.sqrt(gx * gx + gy * gy) (map of 24 arrays on a 64 x 64 grid)"
    assert grid[0].facts["followed"] == ["gx", "gy"]
    assert grid[0].knob.choices == tuple(CHOICES)
    assert not any("/grid#" in s.id for s in ax.sites(sobel_example.sobel, families="perforate"))  # no run


def test_maps_through_names_scalars_ints_and_batches_are_sites():
    assert list(_grid_sites(gk.normalized, A)) == [f"{M}.normalized/grid#0"]  # lo, hi: numbers
    assert _grid_sites(gk.clipped, A)[f"{M}.clipped/grid#0"].facts["followed"] == ["out"]
    assert list(_grid_sites(gk.halves, (A * 255).astype(np.uint8)))
    assert list(_grid_sites(gk.batch, RNG.random((3, 40, 50))))
    assert list(_grid_sites(gk.two_maps, A)) == [f"{M}.two_maps/grid#0", f"{M}.two_maps/grid#1"]
    outside = _grid_sites(gk.used_outside, A)  # g is returned too: the chain starts at g
    assert list(outside) == [f"{M}.used_outside/grid#0"] and outside[f"{M}.used_outside/grid#0"].facts["followed"] == []


@pytest.mark.parametrize("fn, args, reason", [
    (gk.broadcast, (RNG.random((2, 70, 90)), A), "its leaves have different shapes: (2, 70, 90), (70, 90)"),
    (gk.mutated, (A.copy(),), "`p` is changed in place (`p[0]`, line"),
    (gk.passed_on, (A.copy(),), "`p` is given to `_fill` (line"),
    (gk.twice, (A,), "`g` is assigned more than once"),
    (gk.augmented, (A,), "`g` is assigned more than once"),
    (gk.line, (RNG.random(500),), "`x[1:]` is 1-D, not a grid"),
    (gk.rgb, (RNG.random((64, 64, 3)),), "are (64, 3), not a grid of at least 32 x 32 (a channels-last image"),
    (gk.scaled_by, (A, 2.0), "`t` is a float, not an array"),
    (gk.small, (RNG.random((16, 16)),), "are (15, 16), not a grid of at least 32 x 32"),
])
def test_hostile_programs_are_not_sites_and_the_observation_says_why(fn, args, reason):
    assert _grid_sites(fn, *args) == {}
    assert reason in _problems(fn, *args)[(f"{M}.{fn.__name__}", 0)]


def test_a_local_name_np_is_not_numpy():
    assert f"{M}.local_np/grid#0" not in _grid_sites(gk.local_np, A)


# -- rewriting ---------------------------------------------------------------------------------

@pytest.mark.parametrize("setting, returned", [
    (G(2), "np.repeat(np.repeat(a[1:-1:2, 2::2] - a[1:-1:2, :-2:2], 2, axis=-2), 2, axis=-1)[..., :_ax_h0, :_ax_w0]"),
    (G(3), "np.repeat(np.repeat(a[1:-1:3, 2::3] - a[1:-1:3, :-2:3], 3, axis=-2), 3, axis=-1)[..., :_ax_h0, :_ax_w0]"),
    (G(2, "linear"), "_ax_grid_linear(a[1:-1:2, 2::2] - a[1:-1:2, :-2:2], 2, _ax_h0, _ax_w0)"),
    (G(3, "linear"), "_ax_grid_linear(a[1:-1:3, 2::3] - a[1:-1:3, :-2:3], 3, _ax_h0, _ax_w0)"),
])
def test_a_stencil_is_computed_on_the_sampled_grid_and_filled_at_the_return(setting, returned):
    _same(_source(gk.shifted_diff, {f"{M}.shifted_diff/grid#0": setting}, A), f"""
        def shifted_diff(a):
            _ax_h0, _ax_w0 = a[1:-1, 2:].shape[-2:]
            return {returned}
    """)


def test_named_leaves_are_sampled_as_views_and_numbers_are_left_alone():
    _same(_source(gk.normalized, {f"{M}.normalized/grid#0": G(2)}, A), """
        def normalized(img):
            lo = img.min()
            hi = np.max(img)
            _ax_h0, _ax_w0 = img.shape[-2:]
            return np.repeat(np.repeat((img[..., ::2, ::2] - lo) / (hi - lo) * np.pi, 2, axis=-2), 2, axis=-1)[..., :_ax_h0, :_ax_w0]
    """)
    _same(_source(gk.clipped, {f"{M}.clipped/grid#0": G(3, "linear")}, A), """
        def clipped(img):
            out = np.clip(img[..., ::3, ::3] * 1.5 - 10.0, 0.0, 255.0)
            _ax_h0, _ax_w0 = img.shape[-2:]
            return _ax_grid_linear(out, 3, _ax_h0, _ax_w0)
    """)


def test_the_exact_config_is_the_original_tree_and_bit_identical():
    target = _target(sobel_example.sobel, sobel_example.make_inputs(1, size=64)[0][0])
    lifted = target.program.functions["sobel.sobel"]
    exact = target.rewrite({"sobel.sobel/grid#0": ax.Perforate()}).functions["sobel.sobel"].tree
    assert ast.dump(exact) == ast.dump(lifted.tree)
    image = sobel_example.make_inputs(1, seed=3, size=80)[0][0]
    assert np.array_equal(ax.apply(sobel_example.sobel, {})(image), sobel_example.sobel(image))


@pytest.mark.parametrize("setting", CHOICES)
@pytest.mark.parametrize("fn, args", [
    (gk.shifted_diff, (RNG.random((101, 67)),)),
    (gk.normalized, (RNG.random((64, 64)).astype(np.float32),)),
    (gk.halves, ((RNG.random((65, 99)) * 255).astype(np.uint8),)),
    (gk.batch, (RNG.random((3, 40, 50)),)),
    (sobel_example.sobel, (sobel_example.make_inputs(1, size=97)[0][0],)),
])
def test_outputs_keep_their_shape_and_dtype_and_the_samples_are_exact(fn, args, setting):
    site = next(iter(_grid_sites(fn, *args)))
    exact = fn(*args)
    got = ax.apply(fn, {site: setting})(*args)
    k = setting.grid_step
    assert (got.shape, got.dtype) == (exact.shape, exact.dtype)
    assert np.array_equal(got[..., ::k, ::k], exact[..., ::k, ::k])  # the computed points are the exact ones


def test_nearest_is_np_repeat_by_hand():
    image = sobel_example.make_inputs(1, size=101)[0][0]
    got = ax.apply(sobel_example.sobel, {"sobel.sobel/grid#0": G(3)})(image)
    exact = sobel_example.sobel(image)
    assert np.array_equal(got, _by_hand_nearest(exact[::3, ::3], 3, exact.shape))


def test_linear_is_interpolation_along_each_axis_by_hand():
    y = RNG.random((12, 9))
    for k, shape in ((2, (23, 17)), (3, (34, 25)), (3, (36, 27))):  # the last sample held to the far edge
        assert np.allclose(_ax_grid_linear(y, k, *shape), _by_hand_linear(y, k, shape), rtol=0, atol=1e-12)
    image = sobel_example.make_inputs(1, size=70)[0][0]
    got = ax.apply(sobel_example.sobel, {"sobel.sobel/grid#0": G(2, "linear")})(image)
    exact = sobel_example.sobel(image)
    assert np.allclose(got, _by_hand_linear(exact[::2, ::2], 2, exact.shape), rtol=0, atol=1e-9)


def test_linear_reproduces_a_linear_ramp_away_from_the_far_edge():
    rows, columns = np.mgrid[0:67, 0:95]
    ramp = 3.0 * rows - 5.0 * columns + 7.0
    got = ax.apply(gk.ramp_map, {f"{M}.ramp_map/grid#0": G(3, "linear")}, )(ramp)
    inside = (slice(0, 67 - 66 % 3), slice(0, 95 - 94 % 3))  # up to the last sample: rows 0..66, columns 0..93
    assert np.allclose(got[inside], gk.ramp_map(ramp)[inside], rtol=0, atol=1e-9)
    assert np.array_equal(got[:, -1], got[:, -2])  # past the last sample column its value is held


def test_linear_rounds_integers_back_to_their_dtype():
    image = (RNG.random((64, 80)) * 255).astype(np.uint8)
    got = ax.apply(gk.halves, {f"{M}.halves/grid#0": G(2, "linear")})(image)
    exact = gk.halves(image)
    by_hand = np.rint(_by_hand_linear(exact[::2, ::2].astype(float), 2, exact.shape)).astype(np.uint8)
    assert got.dtype == np.uint8 and np.array_equal(got, by_hand)


def test_two_maps_of_one_return_are_filled_each_once():
    config = {f"{M}.two_maps/grid#0": G(2), f"{M}.two_maps/grid#1": G(3, "linear")}
    first, second = ax.apply(gk.two_maps, config)(A)
    exact_first, exact_second = gk.two_maps(A)
    assert np.array_equal(first, _by_hand_nearest(exact_first[::2, ::2], 2, exact_first.shape))
    assert second.shape == exact_second.shape and np.array_equal(second[::3, ::3], exact_second[::3, ::3])


def test_the_users_function_and_arrays_are_unchanged():
    image = sobel_example.make_inputs(1, size=64)[0][0]
    kept, code = image.copy(), sobel_example.sobel.__code__
    config = {"sobel.sobel/grid#0": G(2, "linear")}
    ax.apply(sobel_example.sobel, config)(image)
    evaluation = ax.evaluate(sobel_example.sobel, config, [(image,)], repeats=1, isolation="none")
    assert evaluation.n == 1 and 0 < evaluation.mean_loss < 1 and not evaluation.failures
    assert np.array_equal(image, kept) and sobel_example.sobel.__code__ is code
    assert np.array_equal(sobel_example.sobel(image), ax.apply(sobel_example.sobel, {})(image))


def test_the_exported_source_runs_without_approxify_as_the_variant_does(tmp_path):
    image = sobel_example.make_inputs(1, seed=1, size=75)[0][0]
    for number, setting in enumerate(CHOICES):
        config = {"sobel.sobel/grid#0": setting}
        text = ax.source(sobel_example.sobel, config)
        assert "approxify" not in "".join(line for line in text.splitlines() if "import" in line)
        module = import_exported(text, tmp_path, f"exported_sobel_{number}")
        assert np.array_equal(module.sobel(image), ax.apply(sobel_example.sobel, config)(image))


# -- the setting -------------------------------------------------------------------------------

def test_grid_settings_round_trip_through_json_and_refuse_other_shares():
    for setting in CHOICES:
        assert setting_from_dict(json.loads(json.dumps(setting.to_dict()))) == setting
    assert [s.label() for s in CHOICES] == ["grid ::2 nearest", "grid ::3 nearest", "grid ::2 linear", "grid ::3 linear"]
    with pytest.raises(InvalidArgument, match=r"rate must be 1 - 1/k\*\*2 .* got 0.5; build it with Perforate.grid"):
        ax.Perforate(0.5, "grid-linear")
    with pytest.raises(InvalidArgument, match="nothing to compensate"):
        ax.Perforate(0.75, "grid-nearest", compensate=True)
    with pytest.raises(InvalidArgument, match="whole number >= 2"):
        G(1)


def test_a_grid_policy_on_a_loop_and_a_loop_policy_on_a_grid_are_refused():
    with pytest.raises(InvalidConfig, match="samples a map over a grid"):
        ax.apply(gk.loop_sum, {f"{M}.loop_sum/for#0": G(2)})
    with pytest.raises(InvalidConfig, match="one of grid-nearest, grid-linear"):
        ax.apply(gk.shifted_diff, {f"{M}.shifted_diff/grid#0": ax.Perforate(0.5)})


def test_a_saved_config_needs_no_run():
    config = {f"{M}.shifted_diff/grid#0": G(2)}  # no example inputs: found in the source
    assert np.array_equal(ax.apply(gk.shifted_diff, config)(A), _by_hand_nearest(gk.shifted_diff(A)[::2, ::2], 2, (70, 88)))


def test_a_grid_policy_on_a_layer_is_refused():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    with pytest.raises(InvalidConfig, match="a layer takes Perforate"):
        ax.apply(model, {"0": G(2)})
