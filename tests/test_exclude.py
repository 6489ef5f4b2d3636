"""``exclude=``: site ids or glob patterns the search leaves exact (how the benchmark tunes
"today's families alone" beside the array sites of issue 20)."""

import numpy as np
import pytest

import approxify as ax

import array_kernels as ak

RNG = np.random.default_rng(0)
INPUTS = [(RNG.random(4000),) for _ in range(60)]
M = "array_kernels.moments"


def _tune(**options):
    return ax.approximate(ak.moments, INPUTS, bound=0.1, budget=ax.Budget(trials=3), holdout=30,
                          loss_cap=0.5, isolation="none", progress=False, **options)


@pytest.fixture(scope="module")
def tuned():
    return _tune(), _tune(exclude=["*/reduce#*", f"{M}/nothing#9"])  # the second matches nothing


def test_excluded_sites_are_never_searched_and_the_exact_config_is_unchanged(tuned):
    everything, excluded = tuned
    assert any("/reduce#" in site for p in everything.points for site in p.config)  # they pay
    assert excluded.settings["sites"] == [f"{M}/var:x"]
    for point in excluded.points:
        assert not any("/reduce#" in site for site in point.config)
    assert excluded.points[0].is_exact and excluded.points[0].config == {}
    assert excluded.exact.config == {} and excluded.exact.tuning["mean_loss"] == 0.0
    assert excluded.exact.tuning["mean_loss"] == everything.exact.tuning["mean_loss"]
    assert excluded.settings["study_name"] != everything.settings["study_name"]  # another search


def test_sites_excludes_the_same_way():
    found = ax.sites(ak.moments, example_inputs=INPUTS[:2], exclude=f"{M}/reduce#1")
    assert [s.id for s in found] == [f"{M}/reduce#0", f"{M}/reduce#2", f"{M}/var:x"]


@pytest.mark.parametrize("exclude", [[3], ["*/reduce#*", None], 7])
def test_a_non_string_entry_is_refused_naming_exclude(exclude):
    with pytest.raises(ax.InvalidArgumentType, match=r"exclude= expects site ids or glob patterns"):
        _tune(exclude=exclude)
    with pytest.raises(TypeError, match=r"exclude="):
        ax.sites(ak.moments, exclude=exclude)
