"""Refining a search over a model's roles layer by layer: the moves it tries, and the greedy
pass that keeps as many as the bound allows."""

from __future__ import annotations

import math

import pytest

import approxify as ax
from approxify.report.result import Candidate
from approxify.search.progress import Progress
from approxify.search.refine import refine
from approxify.search.study import Sensitivity

BF16, INT8 = ax.Precision("bfloat16"), ax.Precision("int8")
GROUP = "blocks:layers.*.fc/precision"
MEMBERS = [f"layers.{i}.fc/precision" for i in range(4)]
INT8_LOSS = [0.001, 0.002, 0.004, 0.008]  # what int8 on each layer adds; bf16 adds nothing


class Layers:
    """A stand-in for the tuner's Measurer: loss adds up over the layers in int8, each of which
    saves 10% of the time."""

    def __init__(self, stored=()) -> None:
        self.measured: list[dict] = []
        self.stored = list(stored)

    def figures(self, config):
        self.measured.append(dict(config))
        return self._layers(config)

    def known(self, config):  # measured already, by the search or a run before (a resumed study)
        return self._layers(config) if config in self.measured or config in self.stored else None

    @staticmethod
    def _layers(config):
        int8 = [i for i, m in enumerate(MEMBERS) if config.get(m) == INT8]
        return {"mean_loss": 0.001 + sum(INT8_LOSS[i] for i in int8), "failures": 0,
                "speedup": 1.5 * 1.1 ** len(int8)}


@pytest.mark.parametrize("resumed", [False, True])
def test_refinement_moves_layer_by_layer_as_far_as_the_bound_allows(resumed):
    # a rerun (resumed study) knows every config's figures and yields the same candidates
    measurer, stored = Layers(stored=_all_int8_subsets() if resumed else ()), []
    base = {m: BF16 for m in MEMBERS}
    everywhere = {m: INT8 for m in MEMBERS}  # over the bound: 0.016
    points = [Candidate(c, "search", measurer.figures(c)) for c in (base, everywhere)]
    singles = [Sensitivity(GROUP, BF16, {"mean_loss": 0.0, "failures": 0, "speedup": 1.5}, True, ""),
               Sensitivity(GROUP, INT8, {"mean_loss": 0.015, "failures": 0, "speedup": 2.2}, True, "")]
    found = refine(measurer, points, singles, {GROUP: MEMBERS}, bound=0.01, bar=Progress(enabled=False),
                   store=lambda c, f: stored.append(c))
    alone = [p for p in found[:4]]  # each layer's int8 alone on top of the best config
    assert [next(m for m in MEMBERS if p.config[m] == INT8) for p in alone] == MEMBERS
    # then greedily, cheapest first: layers 0, 1, 2 fit (0.001 + 0.007); adding layer 3 would not
    # (layer 0 with the config is the first config alone, and all four layers a search point:
    # measured once, one candidate each)
    assert [[m for m in MEMBERS if p.config[m] == INT8] for p in found[4:]] == [MEMBERS[:2], MEMBERS[:3]]
    assert found[5].tuning["speedup"] == math.prod([1.5, 1.1, 1.1, 1.1])
    assert found[5].tuning["mean_loss"] == pytest.approx(0.008)
    assert all(p.origin == "refine" for p in found) and len(found) == 6
    assert len(stored) == (0 if resumed else 6)


def _all_int8_subsets():
    import itertools

    return [{m: INT8 if m in chosen else BF16 for m in MEMBERS}
            for k in range(len(MEMBERS) + 1) for chosen in itertools.combinations(MEMBERS, k)]


def test_nothing_to_refine_without_groups_or_a_config_within_the_bound():
    measurer = Layers()
    base = Candidate({m: BF16 for m in MEMBERS}, "search", {"mean_loss": 0.02, "failures": 0, "speedup": 1.5})
    single = Sensitivity(GROUP, INT8, {"mean_loss": 0.015, "failures": 0, "speedup": 2.2}, True, "")
    kwargs = {"bound": 0.01, "bar": Progress(enabled=False), "store": lambda c, f: None}
    assert refine(measurer, [base], [single], {GROUP: MEMBERS}, **kwargs) == []  # over the bound
    fits = Candidate(base.config, "search", {**base.tuning, "mean_loss": 0.001})
    assert refine(measurer, [fits], [single], {}, **kwargs) == []
    assert measurer.measured == []
