"""``strategy="delta"``: ddmin on synthetic predicates, and precision tuning end to end on a
kernel whose variance formula cancels (only part of it may be lowered), certification with a
loss cap, argument errors before tuning, and resuming from storage without measuring again."""

from __future__ import annotations

import dis

import numpy as np
import pytest

import approxify as ax
from approxify.errors import InvalidArgument
from approxify.search.delta import ddmin

import precision_kernels as K

# --- ddmin ----------------------------------------------------------------------------------------


def needs(required):
    """A predicate "keeping ``H`` exact fits" that holds exactly when H contains ``required``,
    recording every set it was asked about."""
    calls = []

    def fits_keeping(high):
        calls.append(list(high))
        return set(required) <= set(high)

    return fits_keeping, calls


def test_ddmin_finds_the_two_sites_that_must_stay_high():
    fits, calls = needs({3, 7})
    assert ddmin(list(range(10)), fits) == [3, 7]
    distinct = {tuple(c) for c in calls}
    assert len(distinct) <= 10 * 10 // 2  # ddmin's quadratic worst case, far below 2**10 subsets


@pytest.mark.parametrize("required", [{0}, {9}, {4, 5}, {0, 9}, {1, 2, 3}, set(range(10))])
def test_ddmin_returns_exactly_the_required_set_for_monotone_predicates(required):
    fits, _ = needs(required)
    assert set(ddmin(list(range(10)), fits)) == required


def test_ddmin_result_is_1_minimal_for_random_monotone_predicates():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(2, 16))
        items = [f"site{i}" for i in range(n)]
        required = {s for s in items if rng.random() < 0.3} or {items[int(rng.integers(n))]}
        fits, _ = needs(required)
        high = ddmin(items, fits)
        assert fits(high)
        assert all(not fits([h for h in high if h != one]) for one in high)  # 1-minimal
        assert high == [s for s in items if s in high]  # a subset, in the given order


def test_ddmin_with_alternatives_keeps_one_of_them():
    # either site 2 or site 5 kept exact is enough (non-monotone in the union sense)
    def fits(high):
        return 2 in high or 5 in high

    high = ddmin(list(range(8)), fits)
    assert high in ([2], [5])


def test_ddmin_of_one_item_is_that_item():
    fits, calls = needs({"a"})
    assert ddmin(["a"], fits) == ["a"]
    assert calls == []


# --- approximate(strategy="delta") ----------------------------------------------------------------

SITE = "precision_kernels.variance_pair"
SENSITIVE = {f"{SITE}/var:x", f"{SITE}/var:m", f"{SITE}/var:m2"}  # cancellation in m2 - m*m
HARMLESS = {f"{SITE}/var:raw", f"{SITE}/var:centered", f"{SITE}/var:direct", f"{SITE}/return"}


def lowered_names(fn) -> set[str]:
    """Variables the variant casts: the store (or return) that follows each cast helper."""
    names, pending = set(), False
    for instruction in dis.get_instructions(fn):
        if str(instruction.argval).startswith("_ax_lower"):
            pending = True
        elif pending and instruction.opname == "STORE_FAST":
            names.add(instruction.argval)
            pending = False
        elif pending and instruction.opname.startswith("RETURN"):
            names.add("return")
            pending = False
    return names


def cost_counting(paying):
    """A deterministic cost proxy: each lowered variable in ``paying`` saves time, others none."""

    def cost(fn, inputs):
        return 1.0 / (1 + len(lowered_names(fn) & set(paying)))

    return cost


ALL = {"x", "m", "m2", "raw", "centered", "direct", "return"}


@pytest.fixture(scope="module")
def inputs():
    return K.variance_inputs(260)


def run_delta(inputs, **changes):
    options = dict(quality="mean_rel", bound=1e-3, loss_cap=0.02, families=["precision"],
                   strategy="delta", grouping="none", holdout=250, cost=cost_counting(ALL),
                   progress=False, budget=ax.Budget(trials=60), seed=0)
    options.update(changes)
    return ax.approximate(K.variance_pair, inputs, **options)


def test_lowered_names_reads_the_variant():
    config = {f"{SITE}/var:m": ax.Precision("float32"), f"{SITE}/return": ax.Precision("float32")}
    assert lowered_names(ax.apply(K.variance_pair, config)) == {"m", "return"}
    assert lowered_names(K.variance_pair) == set()


@pytest.fixture(scope="module")
def delta_result(inputs):
    return run_delta(inputs)


def test_float32_everywhere_breaks_the_bound(delta_result):
    everything = next(p for p in delta_result.points if set(p.config) == SENSITIVE | HARMLESS)
    assert everything.tuning["mean_loss"] > 1e-3


def test_delta_keeps_the_sensitive_variables_exact_and_is_certified(delta_result):
    best = delta_result.best
    assert set(best.config) == HARMLESS  # a maximal set: every harmless variable is lowered
    assert all(s.dtype == "float32" for s in best.config.values())
    assert best.certified
    cert = best.certificate
    assert cert.n == 250 and cert.bound == 1e-3 and cert.cap == 0.02 and cert.upper <= 1e-3
    assert "capped at 0.02" in cert.statement()
    assert delta_result.settings["strategy"] == "delta" and delta_result.settings["loss_cap"] == 0.02
    assert {p.origin for p in delta_result.points} == {"exact", "delta"}
    assert delta_result.stats["trials"] == sum(1 for p in delta_result.points if p.origin == "delta")
    (x,) = inputs_one = K.variance_inputs(1, seed=9)[0]
    out = delta_result.program()(x)
    np.testing.assert_allclose(out, K.variance_pair(*inputs_one), rtol=1e-5)


def test_every_measured_config_leaving_a_sensitive_variable_lowered_breaks_the_bound(delta_result):
    for point in delta_result.points:
        if set(point.config) & SENSITIVE:
            assert point.tuning["mean_loss"] > 1e-3, point.describe()


def test_lowerings_that_do_not_pay_are_dropped(inputs):
    paying = {"centered", "direct", "return"}  # lowering raw saves nothing under this proxy
    result = run_delta(inputs, cost=cost_counting(paying))
    assert set(result.best.config) == {f"{SITE}/var:{n}" for n in ("centered", "direct")} | {f"{SITE}/return"}
    assert result.best.certified


def test_flow_grouping_lowers_linked_variables_together_or_not_at_all(inputs):
    result = run_delta(inputs, grouping="flow")
    (members,) = result.stats["groups"].values()
    assert set(members) == SENSITIVE | HARMLESS  # everything feeds everything here
    assert result.best.is_exact  # and all of it together breaks the bound
    for point in result.points:
        assert set(point.config) in (set(), set(members))


@pytest.mark.parametrize("argument, value, choices", [
    ("strategy", "greedy", "tpe, delta, random, exhaustive"),
    ("grouping", "hifp", "flow, blocks, none"),
])
def test_unknown_strategy_or_grouping_is_refused_before_tuning(argument, value, choices):
    few = K.variance_inputs(4)  # too few to certify anything: the argument error must come first
    with pytest.raises(InvalidArgument) as info:
        ax.approximate(K.variance_pair, few, bound=1e-3, progress=False, **{argument: value})
    message = str(info.value)
    assert f"{argument}=" in message and repr(value) in message and choices in message


def test_a_rerun_with_the_same_storage_does_not_measure_again(inputs, tmp_path):
    storage = f"sqlite:///{tmp_path / 'delta.db'}"
    first = run_delta(inputs, storage=storage)
    again = run_delta(inputs, storage=storage)
    assert again.settings["study_name"] == first.settings["study_name"]
    assert again.best.config == first.best.config
    assert [p.config for p in again.points] == [p.config for p in first.points]
    measured_first = first.stats["evaluations"]
    # the rerun measures only the exact program and the certification on held-out inputs
    assert again.stats["evaluations"] == 1 + len(again.pareto) < measured_first
    assert measured_first >= 1 + len(first.pareto) + first.stats["trials"]


def test_delta_measures_every_config_once_within_the_budget(inputs):
    result = run_delta(inputs, budget=ax.Budget(trials=3))
    assert result.stats["trials"] == 3
    keys = [tuple(sorted((k, v.label()) for k, v in p.config.items())) for p in result.points]
    assert len(keys) == len(set(keys))
    assert not any(s.startswith("flow:") for p in result.points for s in p.config)
