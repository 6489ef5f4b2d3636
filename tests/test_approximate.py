"""The tuner end to end: split, errors before tuning, certification, results, resume."""

import json
import os

import numpy as np
import pytest

import approxify as ax

import tuning_kernels as tk

SITE = "tuning_kernels.smooth_mean/for#0"


@pytest.fixture(scope="module")
def inputs():
    return tk.make_inputs(400)


@pytest.fixture(scope="module")
def result(inputs):
    return ax.approximate(tk.smooth_mean, inputs, quality="rel_l2", bound=0.05,
                          budget=ax.Budget(trials=6), seed=0, progress=False, repeats=3)


def test_best_is_certified_on_heldout_and_faster(result):
    best = result.best
    assert not best.is_exact
    assert best.certified
    cert = best.certificate
    assert cert.n == 200 and cert.upper <= 0.05 and cert.bound == 0.05
    assert cert.method == "betting" and cert.correction == "fixed-sequence"
    assert best.heldout["n"] == 200 and best.tuning["n"] == 200
    assert best.speedup > 1.0
    assert set(best.config) == {SITE}


def test_pareto_ordered_by_tuning_loss_and_within_bound(result):
    losses = [c.tuning["mean_loss"] for c in result.pareto]
    assert losses == sorted(losses)
    assert all(c.tuning["mean_loss"] <= 0.05 for c in result.pareto)
    from approxify.search.front import FRONT_NOISE

    speedups = [c.tuning["speedup"] for c in result.pareto]
    # a front: more loss buys more speed (configs within the timing noise of it are kept too)
    assert all(max(speedups[:i + 1]) <= s * (1 + FRONT_NOISE) for i, s in enumerate(speedups))


def test_sensitivity_drops_settings_that_break_the_bound(result):
    by_label = {s["label"]: s for s in result.sensitivity}
    # without compensation the mean is off by the skipped share: far beyond the bound
    assert by_label["modulo 50%"]["kept"] is False
    assert "bound" in by_label["modulo 50%"]["reason"]
    assert by_label["modulo 50% +comp"]["kept"] is True


def test_program_matches_apply_and_original_is_untouched(result, inputs):
    code_before = tk.smooth_mean.__code__
    fast = result.program()
    same = ax.apply(tk.smooth_mean, result.best.config)
    for (xs,) in inputs[:20]:
        assert fast(xs) == same(xs)
    assert tk.smooth_mean.__code__ is code_before
    assert tk.smooth_mean(inputs[0][0]) == pytest.approx(sum(x * x for x in inputs[0][0]) / 1000)


def test_save_load_round_trip(result, tmp_path):
    path = result.save(tmp_path / "r.json")
    data = json.loads(path.read_text())  # plain JSON
    assert data["format"] == "approxify.result/1"
    loaded = ax.load(path)
    assert loaded.best.config == result.best.config
    assert loaded.best.certificate == result.best.certificate
    assert [c.config for c in loaded.pareto] == [c.config for c in result.pareto]
    assert loaded.environment["python"]
    xs = tk.make_inputs(1, seed=5)[0][0]
    assert loaded.program()(xs) == result.program()(xs)  # target re-imported by reference
    assert "def smooth_mean" in loaded.source()


def test_split_sizes_follow_holdout(inputs):
    r = ax.approximate(tk.smooth_mean, inputs, quality="rel_l2", bound=0.05,
                       budget=ax.Budget(trials=0), seed=3, progress=False, repeats=1)
    assert r.settings["tuning"] + r.settings["heldout"] == len(inputs)
    assert r.settings["tuning"] == r.settings["heldout"] == 200
    r = ax.approximate(tk.smooth_mean, inputs, bound=0.05, holdout=250, budget=ax.Budget(trials=0),
                       progress=False, repeats=1)
    assert (r.settings["tuning"], r.settings["heldout"]) == (150, 250)


def test_exact_is_best_when_nothing_qualifies(inputs):
    r = ax.approximate(tk.smooth_mean, inputs, quality="mismatch", bound=0.02,
                       budget=ax.Budget(trials=2), seed=0, progress=False, repeats=1)
    assert r.best.is_exact
    assert any("exact program" in note for note in r.notes)
    assert "best: the exact program" in r.summary()


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"bound": 1.5}, ax.InvalidArgument, "bound= must lie strictly between 0 and 1"),
        ({"bound": 0.0}, ax.InvalidArgument, "bound="),
        ({"confidence": 1.0}, ax.InvalidArgument, "confidence="),
        ({"quality": "l3"}, ax.InvalidArgument, "rel_l2"),
        ({"select": "nope/*"}, ax.UnknownSite, "unknown site 'nope/*'"),
        ({"families": ["substitute"]}, ax.InvalidArgument, "no approximation sites"),
        ({"holdout": 1.5}, ax.InvalidArgument, "holdout="),
        ({"budget": 10}, ax.InvalidArgumentType, "ax.Budget"),
        ({"repeats": 0}, ax.InvalidArgument, "repeats= expects a whole number >= 1, got 0"),
        ({"max_certify": 2.5}, ax.InvalidArgument, "max_certify= expects a whole number >= 1"),
        ({"timeout": -1}, ax.InvalidArgument, "timeout= expects a positive number of seconds"),
        ({"timeout": float("nan")}, ax.InvalidArgument, "timeout= expects a positive number"),
        ({"timeout": "1"}, ax.InvalidArgument, "got '1'"),
        ({"strategy": "annealing"}, ax.InvalidArgument, "strategy= expects one of tpe, delta"),
    ],
)
def test_bad_arguments_fail_before_tuning(inputs, kwargs, error, fragment):
    with pytest.raises(error, match=None) as info:
        ax.approximate(tk.smooth_mean, inputs, progress=False, **kwargs)
    assert fragment in str(info.value)
    assert isinstance(info.value, ax.ApproxifyError)


def test_too_few_heldout_inputs_says_how_many(inputs):
    with pytest.raises(ax.NotEnoughInputs) as info:
        ax.approximate(tk.smooth_mean, inputs[:100], bound=0.05, progress=False)
    message = str(info.value)
    assert "50 held-out inputs can never certify" in message
    assert "at least 66 are needed" in message  # the betting bound's all-zero case
    assert "Pass at least 132 inputs" in message


def test_empty_inputs_and_no_sites():
    with pytest.raises(ax.InvalidArgument, match="empty"):
        ax.approximate(tk.smooth_mean, [], progress=False)
    with pytest.raises(ax.InvalidArgument, match="no approximation sites"):
        ax.approximate(tk.no_loops, [(1.0,)] * 400, progress=False)


def test_quality_failing_on_exact_outputs_stops_before_tuning(inputs):
    def broken(exact, approx):
        raise RuntimeError("boom")

    with pytest.raises(ax.QualityError, match="raised RuntimeError: boom"):
        ax.approximate(tk.smooth_mean, inputs, quality=broken, progress=False)


class Interrupting:
    """rel_l2 that presses Ctrl-C after a number of calls (to simulate an interrupted run).
    Calls are counted in a file: measurements run in forked children, whose memory is theirs."""

    __name__ = "rel_l2_counted"

    def __init__(self, stop_after=None, *, tally=None):
        self.stop_after = stop_after
        self.tally = tally

    def __call__(self, exact, approx):
        if self.stop_after is not None:
            with open(self.tally, "ab") as out:
                out.write(b".")
            if os.path.getsize(self.tally) > self.stop_after:
                raise KeyboardInterrupt
        return ax.Quality("rel_l2", lambda e, a: abs(e - a) / abs(e))(exact, approx)


def test_interrupted_study_resumes_from_storage(inputs, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    options = dict(bound=0.05, budget=ax.Budget(trials=8), storage=storage, seed=1,
                   progress=False, repeats=1)
    # exact checks (400 calls), then Ctrl-C during the tenth of 18 sensitivity configs
    first = Interrupting(stop_after=400 + 9 * 200 + 50, tally=tmp_path / "calls")
    with pytest.raises(KeyboardInterrupt):
        ax.approximate(tk.smooth_mean, inputs, quality=first, **options)
    again = Interrupting()
    resumed = ax.approximate(tk.smooth_mean, inputs, quality=again, **options)
    assert resumed.stats["trials"] == 8
    # nothing measured before the interruption is measured again
    assert resumed.stats["sensitivity_measured"] == 18 - 9
    assert len(resumed.sensitivity) == 18
    assert resumed.best.config == ax.load(resumed.save(tmp_path / "r.json")).best.config
    assert np.isfinite(resumed.best.speedup)


def test_random_search_samples_the_whole_space_without_a_sensitivity_pass(inputs):
    r = ax.approximate(tk.smooth_mean, inputs, quality="rel_l2", bound=0.05, strategy="random",
                       budget=ax.Budget(trials=5), seed=0, progress=False, repeats=1)
    assert r.sensitivity == [] and r.stats["sensitivity_measured"] == 0
    assert r.settings["strategy"] == "random" and r.stats["trials"] == 5
    searched = [p for p in r.points if not p.is_exact]
    assert searched and {p.origin for p in searched} == {"search"}
    assert 1 <= len(searched) <= 5  # a config drawn twice is measured once
    assert r.best.is_exact or r.best.certified


def test_exhaustive_search_measures_every_config_of_the_space_once(inputs):
    r = ax.approximate(tk.smooth_mean, inputs, quality="rel_l2", bound=0.05, strategy="exhaustive",
                       budget=ax.Budget(trials=100), seed=0, progress=False, repeats=1)
    space = r.stats["space_size"]
    searched = [p for p in r.points if not p.is_exact]
    assert r.sensitivity == [] and 2 <= space < 100
    assert len(searched) == space - 1  # every config but the exact one, each once
    assert len({p.describe() for p in searched}) == len(searched)


def test_configs_within_timing_noise_of_the_front_are_certified_too_while_there_is_room():
    from approxify.report.result import Candidate
    from approxify.search.front import FRONT_NOISE, front as _front

    def candidate(name: str, speedup: float, loss: float) -> Candidate:
        return Candidate({name: ax.Precision("float32")}, "search",
                         {"speedup": speedup, "mean_loss": loss, "failures": 0})

    front = [candidate("safe", 1.30, 0.0), candidate("fast", 2.0, 0.04)]
    twin = candidate("twin", 1.30 / (1 + FRONT_NOISE / 2), 0.01)  # a lucky figure dominates it
    near = candidate("near", 1.30 / (1 + FRONT_NOISE / 4), 0.02)
    behind = candidate("behind", 1.30 / (1 + 2 * FRONT_NOISE), 0.0)
    over = candidate("over", 3.0, 0.2)  # beyond the bound
    points = [*front, twin, near, behind, over, Candidate({}, "exact", {"speedup": 1.0, "mean_loss": 0.0, "failures": 0})]

    def names(candidates, limit):
        return [next(iter(c.config)) for c in _front(candidates, 0.05, limit=limit)]

    assert names(points, 8) == ["safe", "twin", "near", "fast"]  # safest first, as the tests need
    assert names(points, 3) == ["safe", "near", "fast"]  # the fastest of them while there is room
    assert names(points, 2) == ["safe", "fast"]
    # measured slower than exact, but within the noise: held-out timing decides
    assert names([candidate("noisy", 0.95, 0.0), candidate("slow", 0.85, 0.0)], 8) == ["noisy"]


def test_contenders_for_best_are_timed_again_with_more_repetitions_before_the_best_is_chosen():
    from types import SimpleNamespace

    from approxify.report.result import Candidate
    from approxify.search.choice import RUNOFF_REPEATS, runoff

    def candidate(name: str, speedup: float) -> Candidate:
        figures = {"speedup": speedup, "mean_loss": 0.01}
        return Candidate({name: ax.Precision("float32")}, "search", figures, heldout=dict(figures))

    timed = {}
    again = {"a": 1.90, "b": 2.05, "c": 1.45}  # b was measured slower, but is faster when timed again

    def retime(config, *, repeats):
        (name,) = config
        timed[name] = repeats
        low, high = again[name] - 0.1, again[name] + 0.1
        return again[name], SimpleNamespace(to_dict=lambda: {"repeats": repeats}, speedup_low=low,
                                            speedup_high=high)

    checker = SimpleNamespace(cost="time", repeats=5, retime=retime)
    configs = [candidate("a", 2.0), candidate("b", 1.85), candidate("c", 1.5), candidate("d", 1.04)]
    runoff(configs, checker, min_gain=0.05)  # d cannot be chosen (below 1.05): not timed again
    assert timed == {"a": 5 * RUNOFF_REPEATS, "b": 5 * RUNOFF_REPEATS, "c": 5 * RUNOFF_REPEATS}
    assert [c.speedup for c in configs] == [1.90, 2.05, 1.45, 1.04]
    assert configs[1].speedup_low == pytest.approx(1.95) and configs[1].speedup_high == pytest.approx(2.15)
    assert configs[1].heldout["runoff"] and "runoff" not in configs[3].heldout
    assert configs[1].heldout["timing"] == {"repeats": 15} and configs[1].heldout["mean_loss"] == 0.01
    proxy = SimpleNamespace(cost=lambda fn, inputs: 1.0, repeats=5, retime=retime)
    timed.clear()
    runoff([candidate("a", 2.0), candidate("b", 1.99)], proxy, min_gain=0.05)  # a proxy: same figure
    assert timed == {}


def test_a_rerun_on_other_inputs_of_the_same_count_measures_anew(inputs, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    options = dict(bound=0.05, budget=ax.Budget(trials=3), storage=storage, progress=False, repeats=1)
    first = ax.approximate(tk.smooth_mean, inputs, **options)
    other = tk.make_inputs(len(inputs), seed=7)
    second = ax.approximate(tk.smooth_mean, other, **options)
    assert second.settings["study_name"] != first.settings["study_name"]
    assert second.settings["inputs_digest"] != first.settings["inputs_digest"]
    assert second.stats["sensitivity_measured"] == len(second.sensitivity) > 0  # nothing reused
    again = ax.approximate(tk.smooth_mean, inputs, **options)
    assert again.settings["study_name"] == first.settings["study_name"]
    assert again.stats["sensitivity_measured"] == 0  # the same inputs: everything reused


def test_a_study_named_by_hand_refuses_other_inputs(inputs, tmp_path):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    options = dict(bound=0.05, budget=ax.Budget(trials=2), storage=storage, progress=False, repeats=1,
                   study_name="mine")
    ax.approximate(tk.smooth_mean, inputs, **options)
    with pytest.raises(ax.InvalidArgument) as info:
        ax.approximate(tk.smooth_mean, tk.make_inputs(len(inputs), seed=7), **options)
    text = str(info.value)
    assert "study_name='mine'" in text and "other inputs" in text and "Pass another study_name=" in text
