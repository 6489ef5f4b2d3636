"""Certified speedups: the median ratio's order-statistic interval (closed form, scipy, coverage
by simulation), the choice of the best by lower limits and ``min_gain``, the front's retiming of
lucky figures, and how results show the interval (old results without one still load)."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy.stats import quantile_test

import approxify as ax
from approxify.measure.cost import time_pair
from approxify.measure.evaluation import Evaluation
from approxify.measure.inputs import InputSet
from approxify.measure.median_interval import (SPEEDUP_CONFIDENCE, coverage, median_interval,
                                               repeats_for)
from approxify.report.html import render
from approxify.report.result import Candidate, Result
from approxify.report.terminal import frontier_rows, speedup_text
from approxify.search.choice import choose
from approxify.search.front import RETIME_REPEATS, settled_front
from approxify.search.request import check_min_gain
import tuning_kernels as tk

# -- the interval ---------------------------------------------------------------------------


def test_the_interval_of_fixed_ratios_in_closed_form():
    five = median_interval([1.3, 1.1, 1.2, 1.0, 1.4])
    assert (five.low, five.high, five.rank) == (1.0, 1.4, 1)  # [min, max]
    assert five.coverage == pytest.approx(1 - 2 / 2**5)  # misses only if all five fall on one side
    nine = median_interval(range(9, 0, -1))
    assert (nine.low, nine.high, nine.rank) == (2.0, 8.0, 2)
    assert nine.coverage == pytest.approx(1 - 2 * (1 + 9) / 2**9)
    fifteen = median_interval(range(15))
    assert (fifteen.low, fifteen.high) == (3.0, 11.0)
    assert fifteen.coverage == pytest.approx(1 - 2 * (1 + 15 + 105 + 455) / 2**15)


def test_too_few_ratios_give_the_widest_interval_with_its_actual_coverage():
    three = median_interval([1.2, 0.9, 1.5])
    assert (three.low, three.high) == (0.9, 1.5) and three.coverage == pytest.approx(0.75)
    one = median_interval([1.3])
    assert (one.low, one.high, one.coverage) == (1.3, 1.3, 0.0)
    none = median_interval([])
    assert math.isnan(none.low) and none.coverage == 0.0
    assert repeats_for(SPEEDUP_CONFIDENCE) == 5 and repeats_for(0.95) == 6 and repeats_for(0.99) == 8
    for confidence in (0.5, 0.75, 0.9, 0.95, 0.99):
        r = repeats_for(confidence)
        assert coverage(r, 1) >= confidence > coverage(r - 1, 1)


def _brute_force(values, confidence):
    """The largest k whose [x_(k), x_(r+1-k)] covers with probability >= confidence, from the
    binomial terms themselves."""
    x, r = sorted(values), len(values)
    best = 1
    for k in range(1, (r + 1) // 2 + 1):
        below = sum(math.comb(r, j) for j in range(k)) / 2**r  # P(fewer than k values below the median)
        if 1 - 2 * below >= confidence:
            best = k
    return x[best - 1], x[r - best]


@pytest.mark.parametrize("confidence", [0.8, 0.9, 0.95])
def test_the_interval_matches_a_brute_force_count_and_scipys_quantile_test(confidence):
    rng = np.random.default_rng(1)
    for r in range(1, 61):
        values = rng.lognormal(0.1, 0.3, size=r)
        found = median_interval(values, confidence)
        assert (found.low, found.high) == _brute_force(values, confidence)
        if coverage(r, 1) >= confidence:  # scipy's interval exists only from enough values
            ci = quantile_test(values, q=float(np.median(values)), p=0.5).confidence_interval(confidence)
            assert (found.low, found.high) == pytest.approx((ci.low, ci.high))


DISTRIBUTIONS = {  # name: (draw(rng, shape), true median)
    "lognormal": (lambda rng, shape: rng.lognormal(0.2, 0.5, shape), math.exp(0.2)),
    "exponential": (lambda rng, shape: 0.8 + rng.exponential(0.3, shape), 0.8 + 0.3 * math.log(2)),
    "uniform": (lambda rng, shape: rng.uniform(0.9, 1.3, shape), 1.1),
    "cauchy": (lambda rng, shape: 1.2 + 0.05 * rng.standard_cauchy(shape), 1.2),  # wild outliers
}


@pytest.mark.parametrize("name", DISTRIBUTIONS)
@pytest.mark.parametrize("r", [5, 9, 15, 30])
def test_the_interval_covers_the_true_median_as_often_as_it_says(name, r):
    draw, median = DISTRIBUTIONS[name]
    trials = 4000
    samples = draw(np.random.default_rng(r), (trials, r))
    first = median_interval(samples[0])  # its rank and coverage depend on r alone
    ordered = np.sort(samples, axis=1)
    low, high = ordered[:, first.rank - 1], ordered[:, r - first.rank]
    assert (low[0], high[0]) == (first.low, first.high)
    assert all(median_interval(samples[i]).low == low[i] for i in range(0, trials, 500))
    hits = np.mean((low <= median) & (median <= high))
    assert first.coverage >= SPEEDUP_CONFIDENCE
    tolerance = 4 * math.sqrt(first.coverage * (1 - first.coverage) / trials)
    assert abs(hits - first.coverage) <= tolerance  # continuous: exact coverage, so both sides
    lower = np.mean(low <= median)  # the lower limit alone: a 95% one-sided bound
    assert lower >= 1 - (1 - SPEEDUP_CONFIDENCE) / 2 - tolerance


def test_paired_timing_and_summaries_carry_the_interval():
    def f(n):
        return sum(range(n))

    timing = time_pair(f, f, InputSet([2000, 3000]), [0, 1], repeats=7)
    assert timing.speedup_low <= timing.speedup <= timing.speedup_high
    interval = median_interval(timing.ratios)
    assert (timing.speedup_low, timing.speedup_high, timing.coverage) == \
        (interval.low, interval.high, interval.coverage)
    assert {"speedup_low", "speedup_high", "coverage"} <= set(timing.to_dict())
    timed = Evaluation(np.zeros(2), (), timing.speedup, timing).summary()
    assert (timed["speedup_low"], timed["speedup_high"]) == (timing.speedup_low, timing.speedup_high)
    proxy = Evaluation(np.zeros(2), (), 1.8, None).summary()  # a proxy cost is deterministic
    assert proxy["speedup"] == proxy["speedup_low"] == proxy["speedup_high"] == 1.8


# -- the choice of the best -----------------------------------------------------------------

EXACT = Candidate({}, "exact", {"speedup": 1.0, "mean_loss": 0.0})


def certified(name: str, speedup: float, low: float, high: float, *, holds: bool = True) -> Candidate:
    figures = {"speedup": speedup, "speedup_low": low, "speedup_high": high, "mean_loss": 0.01}
    return Candidate({name: ax.Perforate(0.5)}, "search", dict(figures), heldout=figures,
                     certificate=SimpleNamespace(holds=holds))


def test_a_one_percent_change_never_beats_the_exact_program():
    for interval in ((0.97, 1.05), (1.005, 1.015)):  # noisy or tight, 1.01x is not 5%
        best, notes = choose([certified("tiny", 1.01, *interval)], EXACT, min_gain=0.05)
        assert best is EXACT
        assert any("tiny" in n and "not certified 5% faster than the exact program" in n for n in notes)
        assert any("best is the exact program" in n for n in notes)
    tight = certified("deterministic", 1.04, 1.04, 1.04)  # a proxy's figure: low = estimate
    assert choose([tight], EXACT, min_gain=0.05)[0] is EXACT
    assert choose([tight], EXACT, min_gain=0.03)[0] is tight


def test_a_do_nothing_config_with_a_lucky_estimate_is_not_shipped():
    lucky = certified("nothing", 1.51, 0.97, 1.60)  # measured 1.51x, but it may well be 1.0x
    real = certified("real", 1.14, 1.09, 1.19)
    for front in ([lucky, real], [real, lucky]):
        best, notes = choose(front, EXACT, min_gain=0.05)
        assert best is real
        assert any(n.startswith("nothing") and "its lower limit 0.97 is below" in n for n in notes)
    assert choose([lucky], EXACT, min_gain=0.05)[0] is EXACT


def test_a_faster_config_is_preferred_only_when_certified_faster_by_the_minimum_gain():
    safe = certified("safe", 1.20, 1.15, 1.25)
    near = certified("near", 1.30, 1.24, 1.36)  # 1.24 < 1.20 * 1.05 = 1.26: not certified apart
    far = certified("far", 1.50, 1.40, 1.60)
    best, notes = choose([safe, near], EXACT, min_gain=0.05)
    assert best is safe and any("near" in n and "the safer" in n and "safe" in n for n in notes)
    assert choose([safe, near, far], EXACT, min_gain=0.05)[0] is far
    assert choose([safe, near], EXACT, min_gain=0.0)[0] is near  # 1.24 > 1.20
    twin = certified("twin", 1.20, 1.20, 1.20)
    assert choose([twin, certified("same", 1.20, 1.20, 1.20)], EXACT, min_gain=0.0)[0] is twin
    uncertified = certified("unsafe", 3.0, 2.9, 3.1, holds=False)
    assert choose([safe, uncertified], EXACT, min_gain=0.05)[0] is safe
    assert choose([uncertified], EXACT, min_gain=0.05)[0] is EXACT


# -- the front times lucky figures again -----------------------------------------------------


def test_a_lucky_config_entering_the_front_is_timed_again_and_the_real_one_comes_back():
    def point(name: str, speedup: float, loss: float) -> Candidate:
        return Candidate({name: ax.Perforate(0.5)}, "search",
                         {"speedup": speedup, "mean_loss": loss, "failures": 0})

    nothing, real, slow = point("nothing", 1.51, 0.0), point("real", 1.14, 0.01), point("slow", 1.02, 0.02)
    again = {"nothing": 1.00, "real": 1.13, "slow": 1.01}
    timed, remembered = [], {}

    def retime(config, *, repeats):
        (name,) = config
        timed.append((name, repeats))
        return again[name], SimpleNamespace(speedup_low=again[name] - 0.02, speedup_high=again[name] + 0.02,
                                            to_dict=lambda: {"repeats": repeats})

    tuner = SimpleNamespace(cost="time", repeats=3, retime=retime,
                            remember=lambda config, figures: remembered.update({next(iter(config)): figures}))
    front = settled_front([EXACT, nothing, real, slow], 0.05, 8, tuner)
    assert real in front  # it was pushed off by the lucky figure, and is back
    assert ("nothing", 3 * RETIME_REPEATS) in timed and ("real", 3 * RETIME_REPEATS) in timed
    assert len(timed) == len({name for name, _ in timed})  # each config timed again once at most
    assert nothing.tuning["speedup"] == 1.00 and nothing.tuning["first_speedup"] == 1.51
    assert real.tuning["speedup_low"] == pytest.approx(1.11) and remembered["real"] is real.tuning
    proxy = SimpleNamespace(cost=lambda fn, inputs: 1.0, repeats=3, retime=retime)
    timed.clear()
    settled_front([EXACT, point("nothing", 1.51, 0.0)], 0.05, 8, proxy)
    assert timed == []  # a proxy cost gives the same figure every time


def test_out_of_rounds_the_front_holds_only_configs_timed_twice(monkeypatch):
    from approxify.search import front as fronts

    monkeypatch.setattr(fronts, "MAX_ROUNDS", 1)
    nothing = Candidate({"nothing": ax.Perforate(0.5)}, "search", {"speedup": 1.51, "mean_loss": 0.0, "failures": 0})
    real = Candidate({"real": ax.Perforate(0.5)}, "search", {"speedup": 1.14, "mean_loss": 0.01, "failures": 0})
    timing = SimpleNamespace(speedup_low=0.98, speedup_high=1.02, to_dict=lambda: {"repeats": 9})
    tuner = SimpleNamespace(cost="time", repeats=3, retime=lambda config, *, repeats: (1.0, timing),
                            remember=lambda config, figures: None)
    front = settled_front([EXACT, nothing, real], 0.05, 8, tuner)
    assert real not in front  # back on the front by its first figure only: not timed twice
    assert all("first_speedup" in c.tuning for c in front)


# -- the argument --------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "error", "words"), [
    ("5%", ax.InvalidArgumentType, "min_gain= expects a number"),
    (True, ax.InvalidArgumentType, "got True"),
    (None, ax.InvalidArgumentType, "got None"),
    (-0.1, ax.InvalidArgument, "expects a fraction in [0, 1)"),
    (5, ax.InvalidArgument, "did you mean 0.05?"),
    (float("nan"), ax.InvalidArgument, "got nan"),
    (float("inf"), ax.InvalidArgument, "got inf"),
])
def test_a_min_gain_that_is_no_fraction_is_refused(value, error, words):
    with pytest.raises(error) as info:
        ax.approximate(tk.smooth_mean, tk.make_inputs(40, size=20), progress=False, min_gain=value)
    message = str(info.value)
    assert words in message and "min_gain=" in message and "e.g. min_gain=0.05" in message


def test_min_gain_accepts_fractions():
    assert check_min_gain(0) == 0.0 and check_min_gain(0.05) == 0.05 and check_min_gain(0.5) == 0.5


# -- what a result shows ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def result():
    """A tuned result whose best is its first certified config, whatever the timing noise
    decided (on a loaded machine the exact program may be the honest best)."""
    tuned = ax.approximate(tk.smooth_mean, tk.make_inputs(400), quality="rel_l2", bound=0.05,
                           budget=ax.Budget(trials=6), seed=0, progress=False, repeats=3)
    data = tuned.to_dict()
    data["best"] = next(i for i, c in enumerate(tuned.pareto) if c.certified)
    return Result.from_dict(data)


def test_the_summary_the_report_and_the_file_show_the_interval(result, tmp_path):
    best = result.best
    assert not best.is_exact and best.speedup_low <= best.speedup <= best.speedup_high
    shown = f"{best.speedup:.2f}x [{best.speedup_low:.2f}, {best.speedup_high:.2f}]"
    assert f"speedup {shown} on held-out inputs (median of" in result.summary()
    assert best.heldout["timing"]["repeats"] >= 5  # at least the repetitions a 90% interval needs
    for row, candidate in zip(frontier_rows(result), result.pareto):
        assert row[3] == speedup_text(candidate.speedup, candidate.speedup_low, candidate.speedup_high)
    data = result.report_data()
    assert (data["best"]["speedup_low"], data["best"]["speedup_high"]) == (best.speedup_low, best.speedup_high)
    front = [p for p in data["tradeoff"] if p["front"]]
    assert all(p["heldout_speedup_low"] <= p["heldout_speedup"] <= p["heldout_speedup_high"] for p in front)
    assert f"<b>Speedup</b> {shown} on held-out inputs (a 90% interval" in render(data)
    loaded = ax.load(result.save(tmp_path / "r.json"))
    assert loaded.best.speedup_low == best.speedup_low and loaded.settings["min_gain"] == 0.05
    assert shown in loaded.summary()


def test_a_result_saved_before_intervals_still_loads_and_shows_the_speedup_alone(result):
    data = result.to_dict()
    for candidate in [data["exact"], *data["pareto"], *data["points"]]:
        for figures in (candidate["tuning"], candidate.get("heldout") or {}):
            figures.pop("speedup_low", None)
            figures.pop("speedup_high", None)
            if figures.get("timing"):
                figures["timing"] = {k: v for k, v in figures["timing"].items()
                                     if k not in ("speedup_low", "speedup_high", "coverage")}
    old = Result.from_dict(data)
    assert old.best.speedup_low is None and old.best.speedup_high is None
    assert f"speedup {old.best.speedup:.2f}x on held-out inputs" in old.summary()
    assert "[" not in old.summary().split("best:")[1].splitlines()[1]
    assert old.report_data()["best"]["speedup_low"] is None
    assert f"<b>Speedup</b> {old.best.speedup:.2f}x on held-out inputs, mean loss" in render(old.report_data())


def test_the_command_line_passes_min_gain_and_refuses_a_bad_one(monkeypatch, capsys):
    from approxify import cli

    given = {}

    def approximate(fn, inputs, **options):
        given.update(options)
        raise ax.InvalidArgument("stop here")  # the call is what this test is about

    monkeypatch.setattr(cli, "approximate", approximate)
    argv = ["tune", "tuning_kernels:smooth_mean", "--inputs", "tuning_kernels:make_inputs", "--quiet"]
    assert cli.main([*argv, "--min-gain", "0.1"]) == 2 and given["min_gain"] == 0.1
    assert cli.main(argv) == 2 and given["min_gain"] == 0.05
    monkeypatch.undo()
    assert cli.main([*argv, "--min-gain", "5"]) == 2
    assert "approxify: error: min_gain= expects a fraction in [0, 1)" in capsys.readouterr().err


def test_a_call_that_is_preempted_now_and_then_does_not_decide_the_speedup():
    import time

    def work(n):
        return sum(range(n))

    calls = [0]

    def interrupted(n):  # the same work, every 7th call held up 5 ms (as a preempted call is)
        calls[0] += 1
        if calls[0] % 7 == 0:
            time.sleep(0.005)
        return sum(range(n))

    timing = time_pair(work, interrupted, InputSet([30000] * 16), list(range(16)), repeats=5)
    assert timing.loops == 1 and timing.batches >= 2  # calls timed one by one, batches interleaved
    # no input is held up in every batch, and its fastest call counts: the speedup is 1, not 0.4
    assert 0.8 < timing.speedup < 1.25
