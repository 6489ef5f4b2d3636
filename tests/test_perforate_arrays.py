"""Reductions over arrays are sites (issue 20, item 1): the reduced axis is sampled (strided,
the first part, or a seeded subset) and sums are scaled by elements seen / kept. Before/after
source, unbiasedness over seeds, the exact config unchanged, shapes and dtypes kept."""

import ast
import textwrap
import zlib

import numpy as np
import pytest

import approxify as ax
from approxify._target import Target
from approxify.report.export import export_source

import array_kernels as ak

M = "array_kernels"
P = ax.Perforate
RNG = np.random.default_rng(0)
X, W = RNG.random(1000), RNG.random(1000)


def _sites(fn, examples):
    return {s.id: s for s in ax.sites(fn, families="perforate", example_inputs=examples)}


def _source(fn, examples, config):
    tree = Target(fn, isolation="none", example_inputs=examples).rewrite(config).functions[f"{M}.{fn.__name__}"].tree
    return ast.unparse(tree)


def _same(source, expected):
    assert source == textwrap.dedent(expected).strip()


def test_reductions_are_sites_only_where_a_run_saw_a_long_float_axis():
    assert not any("/reduce#" in s.id for s in ax.sites(ak.total, families="perforate"))  # no run
    found = _sites(ak.moments, [(X,)])
    assert list(found) == [f"{M}.moments/reduce#{k}" for k in range(3)]
    assert found[f"{M}.moments/reduce#0"].detail == "x.mean() (scale-free; axis of 1000 on the example inputs)"
    assert all(not c.compensate for s in found.values() for c in s.knob.choices)  # a mean needs no scaling
    assert _sites(ak.short_and_int, [(X, 1000)]) == {}
    assert _sites(ak.of_a_list, [(list(X),)]) == {}
    summed = _sites(ak.total, [(X,)])[f"{M}.total/reduce#0"]
    assert summed.knob.choices and all(c.compensate for c in summed.knob.choices)


def test_a_strided_sum_is_what_one_writes_by_hand_and_exactly_rescaled():
    config = {f"{M}.total/reduce#0": P(0.5, compensate=True)}
    _same(_source(ak.total, [(X,)], config), """
        def total(x):
            return np.sum(x[::2]) * (x.shape[0] / x[::2].shape[0])
    """)
    x = X[:999]  # an odd length: 500 kept of 999
    assert ax.apply(ak.total, config)(x) == pytest.approx(np.sum(x[::2]) * 999 / 500, rel=1e-15)


def test_an_operand_that_is_an_expression_is_evaluated_once():
    config = {f"{M}.energy/reduce#0": P(0.75, "truncate", compensate=True)}
    _same(_source(ak.energy, [(X, W, [])], config), """
        def energy(x, w, log):
            return np.sum((_ax_operand_r0_0 := weighted(x, w, log))[:(_ax_kept_r0 := _ax_head(_ax_operand_r0_0.shape[0], 0.25))]) * (_ax_operand_r0_0.shape[0] / _ax_kept_r0)
    """)
    log = []
    got = ax.apply(ak.energy, config)(X, W, log)
    assert log == [1] and got == pytest.approx(np.sum((X * W)[:250]) * 4, rel=1e-12)


def test_dot_and_matmul_sample_the_contracted_axis_of_both_operands():
    config = {f"{M}.products/reduce#0": P(0.5, compensate=True),
              f"{M}.products/reduce#1": P(0.5, "random", compensate=True)}
    source = _source(ak.products, [(X, W)], config)
    assert "np.dot(a[..., ::2], b[::2]) * (a.shape[-1] / a[..., ::2].shape[-1])" in source
    assert "a[..., (_ax_kept_r1 := _ax_subset(a.shape[-1], 0.5, " in source and "@ b[_ax_kept_r1]" in source
    dot, matmul = ax.apply(ak.products, config)(X, W)
    assert dot == pytest.approx(np.dot(X[::2], W[::2]) * 2, rel=1e-12)
    idx = np.sort(np.random.default_rng(_seed(f"{M}.products/reduce#1")).choice(1000, 500, replace=False))
    assert matmul == pytest.approx(X[idx] @ W[idx] * 2, rel=1e-12)


def _seed(site_id):
    return zlib.crc32(site_id.encode())


def test_a_matrix_times_a_vector_keeps_its_shape():
    m, v = RNG.random((20, 300)), RNG.random(300)
    site = _sites(ak.projections, [(m, v)])[f"{M}.projections/reduce#0"]
    out = ax.apply(ak.projections, {site.id: P(0.5, compensate=True)})(m, v)
    assert out.shape == (20,) and out == pytest.approx(m[:, ::2] @ v[::2] * 2, rel=1e-12)


def test_an_axis_is_sampled_where_it_is_reduced_and_the_output_shape_is_kept():
    img = RNG.random((40, 300)).astype(np.float32)
    found = _sites(ak.row_sums, [(img,)])
    config = {f"{M}.row_sums/reduce#0": P(0.5, compensate=True), f"{M}.row_sums/reduce#1": P(0.75, "truncate")}
    _same(_source(ak.row_sums, [(img,)], config), """
        def row_sums(img):
            return (img[:, ::2].sum(axis=1) * (img.shape[1] / img[:, ::2].shape[1]), np.mean(img[..., :(_ax_kept_r1 := _ax_head(img.shape[-1], 0.25))], axis=-1))
    """)
    assert set(found) == set(config)
    sums, means = ax.apply(ak.row_sums, config)(img)
    exact_sums, exact_means = ak.row_sums(img)
    assert (sums.shape, sums.dtype, means.shape, means.dtype) == (exact_sums.shape, np.float32, exact_means.shape, np.float32)
    assert means == pytest.approx(img[:, :75].mean(axis=1), rel=1e-6)


def test_a_compensated_random_sum_is_unbiased_over_seeds():
    site = f"{M}.total/reduce#0"
    estimates = [ax.apply(ak.total, {site: P(0.75, "random", compensate=True, seed=s)})(X) for s in range(400)]
    spread = np.std(estimates) / np.sqrt(len(estimates))
    assert abs(np.mean(estimates) - np.sum(X)) < 4 * spread  # mean over seeds: the exact sum
    assert np.std(estimates) > 0  # the seeds do draw different subsets


def test_the_exact_config_is_identical_and_a_saved_config_needs_no_run():
    assert ax.apply(ak.moments, {})(X) == ak.moments(X)
    config = {f"{M}.moments/reduce#2": P(0.5)}  # no example inputs: found in the source
    assert ax.apply(ak.moments, config)(X)[2] == np.var(X[::2])


def test_the_exported_source_runs_as_the_variant_does():
    config = {f"{M}.products/reduce#1": P(0.25, "random", compensate=True)}
    namespace = {}
    exec(compile(export_source(Target(ak.products, isolation="none"), config), "exported", "exec"), namespace)
    assert namespace["products"](X, W) == ax.apply(ak.products, config)(X, W)
