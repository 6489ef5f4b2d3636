"""More loop forms are sites (issue 19, item 3): comprehension clauses (``comp#k``) and ``while``
loops (``while#k``). Before/after source for each form, values against hand-written
references, the exact config unchanged, the user's function untouched."""

import ast
import math
import textwrap
import zlib

import numpy as np
import pytest

import approxify as ax
from approxify._target import Target
from approxify.errors import InvalidConfig
from approxify.report.export import export_source

import forms_kernels as fk

M = "forms_kernels"
P = ax.Perforate


def _sites(fn):
    return {s.id: s for s in ax.sites(fn, families="perforate")}


def _rewritten(fn, config):
    """The rewritten definition of ``fn`` as source, without its docstring."""
    program = Target(fn, isolation="none").rewrite(config)
    tree = program.functions[f"{M}.{fn.__name__}"].tree
    if ast.get_docstring(tree):
        tree.body = tree.body[1:]
    return ast.unparse(tree)


def _same(source, expected):
    assert source == textwrap.dedent(expected).strip()


# -- comprehensions --------------------------------------------------------------------------

def test_each_comprehension_clause_is_a_site_and_says_what_reduces_it():
    found = _sites(fk.pair_products)
    assert list(found) == [f"{M}.pair_products/comp#0", f"{M}.pair_products/comp#1"]
    assert found[f"{M}.pair_products/comp#1"].detail == "for b in range(4) (generator expression in sum)"
    assert _sites(fk.mean_size)[f"{M}.mean_size/comp#0"].facts["reduction"] == "mean"
    kinds = [s.detail for s in _sites(fk.keyed).values()]
    assert kinds == ["for i in range(n) (dict comprehension)", "for i in range(n) (set comprehension)"]


def test_only_a_sum_offers_compensation_and_a_local_named_sum_is_not_one():
    def compensated(fn):
        return any(c.compensate for s in _sites(fn).values() for c in s.knob.choices)

    assert compensated(fk.total_of_doubles) and compensated(fk.normalised)  # sum, math.fsum
    assert not compensated(fk.squares) and not compensated(fk.mean_size)
    assert not compensated(fk.shadowed_sum)


def test_a_list_comprehension_over_a_range_is_strided_as_by_hand():
    _same(_rewritten(fk.keyed, {f"{M}.keyed/comp#0": P(0.5)}), """
        def keyed(n):
            return ({i: i + 1 for i in range(0, n, 2) if i % 3}, {i % 5 for i in range(n)})
    """)
    assert ax.apply(fk.keyed, {f"{M}.keyed/comp#0": P(0.5)})(10)[0] == {2: 3, 4: 5, 8: 9}


def test_a_compensated_sum_is_scaled_by_items_seen_over_items_run():
    config = {f"{M}.total_of_doubles/comp#0": P(0.5, compensate=True)}
    _same(_rewritten(fk.total_of_doubles, config), """
        def total_of_doubles(n):
            return (_ax_kept_c0 := _ax_Kept()).scaled(sum((2 * x for x in _ax_kept_c0.ran(_ax_modulo(_ax_kept_c0.seen(range(n)), 1, 2)))))
    """)
    variant = ax.apply(fk.total_of_doubles, config)
    assert variant(10) == 2 * sum(range(0, 10, 2)) * 10 / 5
    assert ax.apply(fk.total_of_doubles, {f"{M}.total_of_doubles/comp#0": P(0.5)})(10) == 40


def test_an_inner_clause_is_compensated_over_all_its_evaluations():
    xs = [1.0, 2.0, 3.0]
    variant = ax.apply(fk.pair_products, {f"{M}.pair_products/comp#1": P(0.5, "truncate", compensate=True)})
    assert variant(xs) == pytest.approx(sum(a * b for a in xs for b in range(2)) * 2)
    assert fk.pair_products(xs) == 36.0


def test_a_normalised_sum_stays_an_estimate_of_the_mean_square():
    xs = [float(v) for v in range(1, 101)]
    variant = ax.apply(fk.normalised, {f"{M}.normalised/comp#0": P(0.75, "random", compensate=True)})
    kept = variant(xs)
    assert kept != fk.normalised(xs) and kept == pytest.approx(fk.normalised(xs), rel=0.3)


def test_compensating_a_comprehension_that_is_not_summed_is_refused():
    with pytest.raises(InvalidConfig, match=r"comp#0: compensate=True scales a sum"):
        ax.apply(fk.squares, {f"{M}.squares/comp#0": P(0.5, compensate=True)})


# -- while loops -----------------------------------------------------------------------------

def test_a_counting_while_loop_keeps_every_kth_iteration_by_scaling_its_step():
    config = {f"{M}.count_up/while#0": P(0.5, compensate=True)}
    _same(_rewritten(fk.count_up, config), """
        def count_up(n, step):
            i = 0
            acc = 0.0
            _ax_start_w0 = i
            _ax_before_w0_0 = _ax_snapshot(acc)
            while i < n:
                acc += i * 0.5
                i += step * 2
            acc = _ax_rescale(acc, _ax_before_w0_0, _ax_steps(_ax_start_w0, n, step, False), _ax_steps(_ax_start_w0, n, step * 2, False))
            return acc
    """)
    assert ax.apply(fk.count_up, config)(10, 1) == 0.5 * (0 + 2 + 4 + 6 + 8) * 10 / 5
    assert ax.apply(fk.count_up, {f"{M}.count_up/while#0": P(0.5)})(10, 1) == 10.0


def test_truncating_a_loop_counting_down_scales_its_bound():
    config = {f"{M}.count_down/while#0": P(0.5, "truncate")}
    _same(_rewritten(fk.count_down, config), """
        def count_down(n):
            j = n
            total = 0
            _ax_stop_w0 = j + (1 - j) * 0.5
            while j >= _ax_stop_w0:
                total += j
                j -= 2
            return total
    """)
    assert ax.apply(fk.count_down, config)(10) == 10 + 8 + 6  # j >= 5.5
    compensated = ax.apply(fk.count_down, {f"{M}.count_down/while#0": P(0.5, "truncate", compensate=True)})
    assert compensated(10) == pytest.approx(24 * 5 / 3)  # 5 exact iterations (10..2), 3 run


def test_a_float_clock_loop_is_a_counting_loop():
    site = _sites(fk.float_time)[f"{M}.float_time/while#0"]
    assert site.facts["form"] == "counting" and P(0.5, compensate=True) in site.knob.choices
    variant = ax.apply(fk.float_time, {f"{M}.float_time/while#0": P(0.5, compensate=True)})
    assert variant(math.pi, 1e-3) == pytest.approx(fk.float_time(math.pi, 1e-3), rel=1e-3)


def test_a_walk_keeps_its_control_and_skips_its_work():
    config = {f"{M}.linked_sum/while#0": P(0.25, compensate=True)}
    _same(_rewritten(fk.linked_sum, config), """
        def linked_sum(node):
            total = 0.0
            _ax_count_w0 = 0
            _ax_ran_w0 = 0
            _ax_before_w0_0 = _ax_snapshot(total)
            while node is not None:
                _ax_keep_w0 = _ax_count_w0 * 3 % 4 < 3
                _ax_count_w0 += 1
                _ax_ran_w0 += _ax_keep_w0
                if _ax_keep_w0:
                    total += node[0]
                node = node[1]
            total = _ax_rescale(total, _ax_before_w0_0, _ax_count_w0, _ax_ran_w0)
            return total
    """)
    values = [float(v) for v in range(1, 9)]
    kept = [v for c, v in enumerate(values) if c * 3 % 4 < 3]
    assert ax.apply(fk.linked_sum, config)(fk.linked(values)) == pytest.approx(sum(kept) * 8 / 6)


def test_random_skipping_keeps_the_share_asked_with_no_setup_per_entry():
    site = f"{M}.linked_sum/while#0"
    values = [1.0] * 4000
    variant = ax.apply(fk.linked_sum, {site: P(0.25, "random")})
    assert variant(fk.linked(values)) == pytest.approx(3000, abs=30)
    source = _rewritten(fk.linked_sum, {site: P(0.25, "random")})
    assert "_ax_random" not in source and "% 4294967296 <" in source  # a hash, inline


def test_a_loop_with_a_break_keeps_what_the_break_reads():
    site = _sites(fk.first_large)[f"{M}.first_large/while#0"]
    assert site.facts["accumulators"] == ["energy"]
    xs = [1.0] * 50
    acc, energy, i = ax.apply(fk.first_large, {site.id: P(0.5, compensate=True)})(xs, 20.0)
    assert (acc, i) == fk.first_large(xs, 20.0)[::2]  # the exit happens where the exact one's does
    assert energy == pytest.approx(fk.first_large(xs, 20.0)[1])


@pytest.mark.parametrize("fn, why", [
    (fk.newton_sqrt, "every statement of its body feeds its condition"),
    (fk.polled, "its condition calls queue.pending"),
    (fk.walk_with_return, "every statement of its body feeds its condition or its exits"),
])
def test_a_while_loop_whose_exit_needs_every_statement_has_no_choices_and_says_why(fn, why):
    (site,) = [s for s in _sites(fn).values() if "/while#" in s.id]
    assert site.knob.choices == () and why in site.facts["reason"] and why in site.detail


def test_nested_loops_of_every_form_compose():
    config = {f"{M}.nested/for#0": P(0.5, compensate=True), f"{M}.nested/while#0": P(0.5, compensate=True)}
    variant = ax.apply(fk.nested, config)
    assert variant(8) == pytest.approx(sum(k * i for k in range(0, 8, 2) for i in range(0, 8, 2)) * 4)


# -- what must not change --------------------------------------------------------------------

@pytest.mark.parametrize("fn, args", [
    (fk.pair_products, ([1.5, 2.5],)), (fk.keyed, (12,)), (fk.count_up, (9, 2)), (fk.count_down, (9,)),
    (fk.linked_sum, (fk.linked([0.1, 0.2, 0.3]),)), (fk.first_large, ([0.5] * 9, 2.2)),
])
def test_the_exact_config_is_bit_identical_and_the_user_function_untouched(fn, args):
    code = fn.__code__
    for site in _sites(fn).values():
        for choice in site.knob.choices:
            ax.apply(fn, {site.id: choice})(*args)  # every choice runs
    assert ax.apply(fn, {})(*args) == fn(*args)
    assert fn.__code__ is code


def test_exported_forms_run_as_the_variant_does(tmp_path):
    config = {f"{M}.linked_sum/while#0": P(0.5, "random", compensate=True)}
    namespace = {}
    exec(compile(export_source(Target(fk.linked_sum, isolation="none"), config), "exported", "exec"), namespace)
    node = fk.linked([float(v) for v in range(30)])
    assert namespace["linked_sum"](node) == ax.apply(fk.linked_sum, config)(node)
    config = {f"{M}.count_up/while#0": P(0.75, "truncate", compensate=True)}
    exec(compile(export_source(Target(fk.count_up, isolation="none"), config), "exported", "exec"), namespace)
    assert namespace["count_up"](17, 1) == ax.apply(fk.count_up, config)(17, 1)
    config = {f"{M}.pair_products/comp#1": P(0.5, "modulo", compensate=True)}
    exec(compile(export_source(Target(fk.pair_products, isolation="none"), config), "exported", "exec"), namespace)
    assert namespace["pair_products"]([1.0, 2.5]) == ax.apply(fk.pair_products, config)([1.0, 2.5])


def test_numba_compiles_the_while_forms_and_keeps_what_python_keeps():
    nk = pytest.importorskip("numba_kernels", reason="numba is an optional extra")
    site = f"{M}.while_sum/while#0"
    jitted_choices = _sites(nk.while_sum)[site].knob.choices
    assert set(jitted_choices) == set(_sites(fk.while_sum)[site].knob.choices)
    assert any(c.compensate for c in jitted_choices)  # the compensation's helpers compile too
    x = np.linspace(0.0, 1.0, 37)
    for setting in jitted_choices:
        jitted = ax.apply(nk.while_sum, {site: setting})
        assert jitted(x) == ax.apply(fk.while_sum, {site: setting})(x), setting.label()
    # numba's int64 hash wraps, and its % 2**32 agrees with Python's unbounded one
    seed = zlib.crc32(site.encode()) % 2**32
    kept = [v for c, v in enumerate(x) if (c + seed) * 2654435761 % 2**32 < 0.75 * 2**32]
    assert ax.apply(nk.while_sum, {site: P(0.25, "random")})(x) == pytest.approx(sum(kept), rel=1e-12)
