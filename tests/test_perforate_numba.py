"""Loop perforation of numba-compiled functions: every choice the Python function gets is offered,
compiles, and runs the iterations the Python variant runs (same outputs, bit for bit, since the
summation order is the same); the source of each compiled form; the exact config; export."""

from __future__ import annotations

import math

import numpy as np
import pytest

numba = pytest.importorskip(
    "numba", reason="numba is an optional extra (pip install 'approxify[numba]'); these tests "
                    "compile numba variants")

import approxify as ax
from approxify._target import Target
from approxify.transforms.perforate.compiled import kept_share
from approxify.transforms.perforate.runtime import _ax_kept, _ax_random

import kernels_for_tests as K
import numba_kernels as N
import numba_loops as L
from exported_modules import import_exported

RNG = np.random.default_rng(1)
X, Y = RNG.standard_normal(101), RNG.standard_normal(101)
CASES = [
    (L.range_mean, (X,)),
    (L.strided_range_sum, (X,)),
    (K.list_sum, (X,)),  # for x in xs
    (K.enumerate_weighted, (X,)),  # iterators: no length
    (K.zip_dot, (X, Y)),
    (L.sum_until, (np.abs(X), 20.0)),
    (L.first_above, (X, 1.5)),
    (L.count_and_skip, (X,)),
    (K.array_accumulate, (RNG.standard_normal((13, 7)),)),  # acc += row, an array
    (K.nested_matvec, (RNG.standard_normal((9, 101)), X)),  # two sites, out[i] += ...
]


def same(expected, actual) -> bool:
    return bool(np.array_equal(expected, actual)) and np.shape(expected) == np.shape(actual)


def sid(fn, k: int = 0) -> str:
    return f"numba_loops.{fn.__name__}/for#{k}"


def body(fn, config) -> str:
    """The rewritten definition of ``fn`` (a dispatcher: as its variant compiles it)."""
    text = Target(fn).rewrite(config).source()
    return text[text.index("def "):]


@pytest.mark.slow
@pytest.mark.parametrize("fn, args", CASES, ids=[fn.__name__ for fn, _ in CASES])
def test_every_choice_runs_the_python_variants_iterations(fn, args):
    compiled = numba.njit(fn)
    sites = ax.sites(compiled, families=["perforate"])
    python_sites = ax.sites(fn, families=["perforate"])
    assert [(s.id, s.knob.choices) for s in sites] == [(s.id, s.knob.choices) for s in python_sites]
    differ = []
    for site in sites:
        for setting in site.knob.choices:
            config = {site.id: setting}
            expected, got = ax.apply(fn, config)(*args), ax.apply(compiled, config)(*args)
            if not same(expected, got):
                differ.append(f"{site.id} {setting.label()}: python {expected}, numba {got}")
    assert differ == []


def test_short_loops_run_alike():
    compiled = numba.njit(L.sum_until)
    settings = [ax.Perforate(0.75, "random", compensate=True), ax.Perforate(0.5, "random"),
                ax.Perforate(0.5, "truncate", compensate=True), ax.Perforate(0.25, compensate=True)]
    for setting in settings:
        config = {sid(L.sum_until): setting}
        python, numba_variant = ax.apply(L.sum_until, config), ax.apply(compiled, config)
        for n in range(5):
            assert python(X[:n], 1.0) == numba_variant(X[:n], 1.0), (setting.label(), n)


def test_random_over_a_long_iterator_runs_alike():
    config = {"kernels_for_tests.enumerate_weighted/for#0": ax.Perforate(0.5, "random", seed=5)}
    xs = RNG.standard_normal(3000)  # past the flags Python computes ahead for an iterator
    fn = K.enumerate_weighted
    assert ax.apply(fn, config)(xs) == ax.apply(numba.njit(fn), config)(xs)


def test_compensation_is_offered_on_a_compiled_loop_with_an_accumulator():
    (site,) = ax.sites(numba.njit(L.range_mean), families=["perforate"])
    policies = {(c.policy, c.compensate) for c in site.knob.choices}
    assert policies == {(p, c) for p in ("modulo", "truncate", "random") for c in (False, True)}


def test_the_exact_config_is_the_users_function():
    compiled = numba.njit(K.nested_matvec)
    w, x = CASES[-1][1]
    exact = {f"kernels_for_tests.nested_matvec/for#{k}": ax.Perforate() for k in (0, 1)}
    assert body(compiled, exact) == body(compiled, {})
    assert "_ax_" not in body(compiled, exact)
    for config in ({}, exact):
        assert same(compiled(w, x), ax.apply(compiled, config)(w, x))


def test_compiled_random_picks_each_iteration_in_the_loop():
    after = body(numba.njit(K.list_sum),
                 {"kernels_for_tests.list_sum/for#0": ax.Perforate(0.5, "random", seed=3)})
    assert "_ax_items_0 = xs" in after and "_ax_n_0 = _ax_size(_ax_items_0)" in after
    assert "_ax_m_0 = _ax_kept(_ax_n_0, 1, 2)" in after  # the count truncate runs
    assert "for x in _ax_items_0:\n        _ax_seen_0 += 1\n        if not _ax_pick(" in after
    picked = "_ax_seen_0 - 1, _ax_n_0 - _ax_seen_0 + 1, _ax_m_0 - _ax_ran_0, 1, 2):"
    assert picked + "\n            continue\n        _ax_ran_0 += 1\n        total += x" in after


def test_compiled_truncate_iterates_a_shorter_range():
    after = body(numba.njit(L.range_mean), {sid(L.range_mean): ax.Perforate(0.75, "truncate")})
    assert "_ax_items_0 = range(x.shape[0])\n    _ax_n_0 = len(_ax_items_0)" in after
    assert "_ax_m_0 = _ax_kept(_ax_n_0, 1, 4)\n    for i in _ax_first(_ax_items_0, _ax_m_0):" in after
    lazy = body(numba.njit(K.enumerate_weighted),
                {"kernels_for_tests.enumerate_weighted/for#0": ax.Perforate(0.5, "truncate")})
    assert "_ax_items_0 = _ax_sized(enumerate(xs))" in lazy  # counted, as in Python


def test_compiled_modulo_keeps_p_of_every_q_iterations():
    after = body(numba.njit(K.list_sum), {"kernels_for_tests.list_sum/for#0": ax.Perforate(0.25)})
    assert "if (_ax_seen_0 - 1) * 3 % 4 >= 3:\n            continue" in after
    assert "for i in range(0, x.shape[0], 2):" in body(
        numba.njit(L.range_mean), {sid(L.range_mean): ax.Perforate(0.5)})  # as by hand


def test_compiled_compensation_counts_in_local_integers():
    after = body(numba.njit(L.range_mean), {sid(L.range_mean): ax.Perforate(0.5, compensate=True)})
    assert "for i in range(_ax_items_0.start, _ax_items_0.stop, _ax_items_0.step * 2):" in after
    assert "_ax_seen_0 += 2\n        _ax_ran_0 += 1\n        total += x[i]" in after
    assert "else:\n        _ax_seen_0 = len(_ax_items_0)" in after  # ran to the end: all seen
    assert "total = _ax_rescale(total, _ax_before_0_0, _ax_seen_0, _ax_ran_0)" in after
    site = "kernels_for_tests.array_accumulate/for#0"
    rows = body(numba.njit(K.array_accumulate), {site: ax.Perforate(0.5, "truncate", compensate=True)})
    assert "_ax_before_0_0 = _ax_snapshot(acc)" in rows  # an array: a copy


def test_compensated_float32_accumulator_stays_float32_like_numpy():
    m = CASES[-2][1][0]
    config = {"kernels_for_tests.array_accumulate/var:acc": ax.Precision("float32"),
              "kernels_for_tests.array_accumulate/for#0": ax.Perforate(0.5, "random", compensate=True)}
    fn = K.array_accumulate
    expected, got = ax.apply(fn, config)(m), ax.apply(numba.njit(fn), config)(m)
    assert got.dtype == expected.dtype == np.float32 and same(expected, got)


EXPORTED = [
    ax.Perforate(0.5, "random", compensate=True),
    ax.Perforate(0.75, "truncate"),
    ax.Perforate(0.25, "modulo", compensate=True),
    ax.Perforate(0.5, "modulo", compensate=True),
]


@pytest.mark.parametrize("setting", EXPORTED, ids=[s.label() for s in EXPORTED])
def test_exported_numba_variant_compiles_and_runs_like_the_variant(tmp_path, setting):
    config = {"numba_kernels.loop_mean/for#0": setting}
    text = ax.source(N.loop_mean, config)
    assert "@numba.njit" in text and "_ax_numba_perforation()" in text
    module = import_exported(text, tmp_path, "exported_loop_mean")
    assert isinstance(module.loop_mean, numba.core.registry.CPUDispatcher)
    assert module.loop_mean(X) == ax.apply(N.loop_mean, config)(X)
    defined = {name for name in vars(module) if name.startswith("_ax_")}
    if setting.policy != "random":
        assert not defined & {"_ax_pick", "_ax_hash", "_ax_random"}  # only the helpers it uses


# --- the kept count: one rounding rule for truncate and random ------------------------------------


@pytest.mark.parametrize("rate", [0.25, 0.5, 0.75, 0.1, 0.2, 0.3, 0.6, 0.7, 0.9, 1 / 3, 2 / 3, 0.05])
def test_the_kept_count_is_ceil_of_n_keep_rounded_to_nine_digits(rate):
    p, q = kept_share(1 - rate)
    for n in range(0, 5000):
        assert _ax_kept(n, p, q) == math.ceil(round(n * (1 - rate), 9)), n


def test_random_runs_as_many_iterations_as_truncate():
    compiled = numba.njit(L.count_and_skip)
    site = "numba_loops.count_and_skip/for#0"
    ones = np.ones(40)
    for rate in (0.25, 0.5, 0.75, 0.7):
        counts = {policy: ax.apply(compiled, {site: ax.Perforate(rate, policy)})(ones)
                  for policy in ("truncate", "random")}
        assert counts["truncate"] == counts["random"] == math.ceil(round(40 * (1 - rate), 9))


def test_random_subsets_are_uniform_over_positions_and_seeds():
    hits = np.zeros(40)
    for seed in range(400):
        chosen = _ax_random(range(40), 1, 4, seed)
        assert len(chosen) == 10 and list(chosen) == sorted(set(chosen))
        hits[list(chosen)] += 1
    assert np.all(np.abs(hits / 400 - 0.25) < 0.1)  # each position kept about a quarter of the time
    lazy = [sum(1 for _ in _ax_random(iter(range(2000)), 1, 4, seed)) for seed in range(20)]
    assert all(400 < k < 600 for k in lazy)  # an iterator: each item with probability 1/4
