"""Reach (issue 19): callees behind a module attribute, a method, a constructor, a staticmethod or
classmethod, and a function passed as an argument are lifted; the calls not followed are listed
with their reason; the user's classes and modules are never changed."""

import json
import math

import pytest

import approxify as ax
from approxify._target import Target
from approxify.cli import main
from approxify.errors import InvalidArgument

import reach_helpers
import reach_kernels as rk

WINDOW = "reach_kernels.Smoother.window/for#0"
HALF = ax.Perforate(rate=0.5, policy="modulo", compensate=True)


@pytest.fixture(scope="module")
def inputs():
    return rk.make_inputs(100)


def _ids(sites):
    return {s.id for s in sites}


def test_static_calls_are_followed_without_a_run():
    found = _ids(ax.sites(rk.pipeline, modules=["reach_helpers"]))
    # Smoother.norm(ys): a staticmethod through its class; reach_helpers.total: a module attribute
    assert {"reach_kernels.Smoother.norm/for#0", "reach_helpers.total/for#0"} <= found
    # s.smooth(xs): s is a local variable, only a run says what it is
    assert WINDOW not in found


def test_a_run_follows_methods_of_objects_and_functions_passed_as_arguments(inputs):
    found = _ids(ax.sites(rk.pipeline, modules=["reach_helpers"], example_inputs=inputs[:2]))
    assert {WINDOW, "reach_kernels.square/for#0",  # transform(v): the argument, traced
            "reach_kernels.Smoother.__init__/for#0"} <= found  # cls(8) in a classmethod


def test_sites_list_what_they_did_not_follow_and_why():
    found = ax.sites(rk.pipeline)
    reasons = {k.call: k.reason for k in found.skipped}
    assert "not the user's; name it in modules=" in reasons["reach_helpers.total"]
    assert reasons["s.smooth"] == "a local variable or argument: pass example_inputs= to resolve it from a run"
    assert reasons["math.sqrt"].startswith("builtin or C function")
    table = repr(found)
    assert table.splitlines()[0].split() == ["site", "family", "where", "what", "choices"]
    assert "calls not followed" in table and "reach_kernels.Smoother.norm/for#0" in table
    assert "Site(" not in table


def test_after_a_run_the_reason_says_what_was_called(inputs):
    found = ax.sites(rk.pipeline, modules=["reach_helpers"], example_inputs=inputs[:2])
    reasons = {k.call: k.reason for k in found.skipped}
    assert "s.smooth" not in reasons and "transform" not in reasons
    assert reasons["len"] == "builtin"
    assert reasons["self.weights.append"] == ("an attribute set at run time: called list.append "
                                              "(builtin or C) on the example inputs")
    assert all("example_inputs=" not in r for r in reasons.values())


def test_a_variant_of_a_method_leaves_the_class_and_its_objects_alone(inputs):
    members = dict(vars(rk.Smoother))
    codes = {name: getattr(v, "__code__", None) for name, v in members.items()}
    xs, fn = inputs[0]
    exact = rk.pipeline(xs, fn)
    target = Target(rk.pipeline, modules=["reach_helpers"], example_inputs=inputs[:2])
    variant = target.build({WINDOW: HALF})
    approximated = variant(xs, fn)
    assert approximated != exact
    assert len(approximated) == len(exact)
    assert sum(approximated[:-2]) == pytest.approx(sum(exact[:-2]), rel=0.1)  # compensated
    assert rk.pipeline(xs, fn) == exact  # the user's program still runs as before
    assert dict(vars(rk.Smoother)) == members
    assert {name: getattr(v, "__code__", None) for name, v in vars(rk.Smoother).items()} == codes


def test_the_exact_config_is_bit_identical_and_rewires_nothing(inputs):
    target = Target(rk.pipeline, modules=["reach_helpers"], example_inputs=inputs[:2])
    xs, fn = inputs[3]
    assert target.build({})(xs, fn) == rk.pipeline(xs, fn)
    assert "_ax_swap" not in target.rewrite({}).source()


def test_a_rewired_call_goes_through_swap_and_a_module_attribute_to_a_name(inputs):
    target = Target(rk.pipeline, modules=["reach_helpers"], example_inputs=inputs[:2])
    program = target.rewrite({WINDOW: HALF, "reach_helpers.total/for#0": HALF})
    built = program.build_all()
    smooth = built["reach_kernels.Smoother.smooth"]
    pipeline = built["reach_kernels.pipeline"]
    assert "_ax_swap" in smooth.__code__.co_names or any(
        "_ax_swap" in getattr(c, "co_names", ()) for c in smooth.__code__.co_consts)
    assert "_ax_fn_reach_helpers_total" in pipeline.__code__.co_names
    assert reach_helpers.total.__code__.co_names == ()  # the user's module function: untouched


def test_an_override_in_a_subclass_runs_as_written(inputs):
    xs, _ = inputs[0]
    target = Target(rk.sharpened, example_inputs=[(xs,)])
    assert WINDOW in _ids(target.sites)  # Smoother.smooth, reached through Sharper(4).smooth
    assert target.build({WINDOW: HALF})(xs) == rk.sharpened(xs)  # Sharper.window is not changed


def test_a_tuned_result_keeps_what_the_run_followed(inputs, tmp_path):
    result = ax.approximate(rk.pipeline, inputs, bound=0.1, modules=["reach_helpers"],
                            families=["perforate"], budget=ax.Budget(trials=4), seed=0,
                            progress=False, repeats=3)
    assert WINDOW in {p["site"] for p in result.sensitivity}
    assert {k["call"] for k in result.skipped} >= {"math.sqrt", "len"}
    assert "calls not followed: " in result.summary()
    path = result.save(tmp_path / "reach.json")
    saved = json.loads(path.read_text())
    assert saved["followed"] and saved["skipped"] == result.skipped
    html = result.report(tmp_path / "reach.html").read_text()
    assert "Calls not followed" in html and "math.sqrt(...)" in html
    loaded = ax.load(path)
    config = {WINDOW: HALF}
    xs, fn = inputs[0]
    assert loaded.program(config)(xs, fn) == result.program(config)(xs, fn) != rk.pipeline(xs, fn)


def test_cli_sites_prints_the_table_and_the_calls_not_followed(capsys):
    assert main(["sites", "reach_kernels:pipeline"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("site ") and "calls not followed" in out and "math.sqrt(...)" in out


@pytest.mark.parametrize("name", ["no_such_module_here", "reach_helpers.nothing"])
def test_a_module_that_cannot_be_imported_is_refused(name):
    with pytest.raises(InvalidArgument, match=f"modules= names '{name}', which is not a module"):
        ax.sites(rk.pipeline, modules=[name])


def test_the_exported_module_redirects_the_calls_it_changed(inputs, tmp_path, monkeypatch):
    target = Target(rk.pipeline, modules=["reach_helpers"], example_inputs=inputs[:2])
    config = {WINDOW: HALF, "reach_helpers.total/for#0": HALF}
    source = ax.source(rk.pipeline, config, modules=["reach_helpers"], example_inputs=inputs[:2])
    assert "_ax_swap(self.window)(xs, i)" in source and "import approxify" not in source
    (tmp_path / "exported_reach.py").write_text(source)
    monkeypatch.syspath_prepend(str(tmp_path))
    exported = __import__("exported_reach")
    xs, fn = inputs[1]
    assert exported.pipeline(xs, fn) == target.build(config)(xs, fn) != rk.pipeline(xs, fn)


def test_methods_written_as_third_party_code_writes_them_are_lifted():
    site = "reach_kernels.Written.scaled/for#0"
    examples = [([1.0, 2.0],)]  # Written().scaled: the object is made in the call, a run finds it
    assert site in _ids(ax.sites(rk.written, example_inputs=examples))  # a column-0 comment, a docstring
    variant = ax.apply(rk.written, {site: ax.Perforate(0.5)}, example_inputs=examples)
    assert variant([1.0, 2.0, 3.0]) == [3.0, 9.0]  # the default from the class body: 3.0
    assert rk.Written.scaled.__defaults__ == (3.0,) and rk.written([1.0]) == [3.0]


def test_pyperformance_nbody_through_module_attributes():
    from benchmarks.programs import pyperf_drivers as d

    found = _ids(ax.sites(d.nbody_energy, modules=d.MODULES))  # no run needed: all static
    assert {"bm_nbody.advance/for#0", "bm_nbody.advance/for#1", "bm_nbody.report_energy/for#0"} <= found


def test_pyperformance_spectral_norm_through_a_function_passed_as_an_argument():
    from benchmarks.programs import pyperf_drivers as d

    assert "bm_spectral_norm.part_A_times_u/for#0" not in _ids(ax.sites(d.spectral_norm, modules=d.MODULES))
    found = ax.sites(d.spectral_norm, modules=d.MODULES, example_inputs=d.spectral_inputs(2, size=8))
    assert {"bm_spectral_norm.part_A_times_u/for#0", "bm_spectral_norm.part_At_times_u/for#0"} <= _ids(found)
    xs = d.spectral_inputs(1, size=20)[0]
    config = {"bm_spectral_norm.part_A_times_u/for#0": HALF}
    variant = ax.apply(d.spectral_norm, config, modules=d.MODULES, example_inputs=[xs])
    assert variant(*xs) == pytest.approx(_spectral_norm_by_hand(*xs, halve_a=True), rel=1e-12)
    assert _spectral_norm_by_hand(*xs, halve_a=False) == pytest.approx(d.spectral_norm(*xs), rel=1e-12)


def _spectral_norm_by_hand(u, *, halve_a):
    """The driver with A·u's inner sum over every other j, doubled (modulo 2 with compensation)."""
    from benchmarks.programs.pyperf_drivers import bm_spectral_norm

    entry = bm_spectral_norm.eval_A

    def times(u, transposed, halve):
        kept = range(0, len(u), 2) if halve else range(len(u))
        scale = len(u) / len(kept)
        return [scale * sum((entry(j, i) if transposed else entry(i, j)) * u[j] for j in kept)
                for i in range(len(u))]

    for _ in range(3):
        v = times(times(u, False, halve_a), True, False)
        u = times(times(v, False, halve_a), True, False)
    return math.sqrt(sum(a * b for a, b in zip(u, v)) / sum(b * b for b in v))


def test_pyperformance_scimark_fft_stages_are_a_counting_while_loop():
    from benchmarks.programs import pyperf_drivers as d

    found = {s.id: s for s in ax.sites(d.scimark_fft, modules=d.MODULES, families="perforate")}
    stages = found["bm_scimark.FFT_transform_internal/while#0"]
    assert stages.facts["form"] == "counting" and ax.Perforate(0.5) in stages.knob.choices
    assert found["bm_scimark.FFT_bitreverse/while#0"].knob.choices == ()  # k and j feed its exit
    ((data,),) = d.scimark_inputs(1, points=16)
    assert ax.apply(d.scimark_fft, {}, modules=d.MODULES)(data) == d.scimark_fft(data)
    halved = ax.apply(d.scimark_fft, {stages.id: ax.Perforate(0.5)}, modules=d.MODULES)(data)
    assert halved[0] != d.scimark_fft(data)[0] and len(halved[0]) == len(data)


def test_the_reach_benchmark_measures_a_program_quickly():
    from benchmarks import reach

    row = reach.measure("portfolio", quick=True)
    assert {"portfolio.Asset.terminal/for#0", "portfolio.Portfolio.expected_value/for#0"} <= {
        s["id"] for s in row["sites"]}
    assert row["skipped"] > 0 and row["evaluations"] > 0
    assert "## Reach" in "\n".join(reach.markdown({"rows": [row], "bound": 0.05, "trials": 2,
                                                   "tuning": 12, "heldout": 100}))
