"""The tuner's certificates (issue 18): the betting bound by default, tail certificates, held-out
inputs watched one by one with early dropping, and figures valid after the choice of the best."""

import json

import pytest

import approxify as ax
from approxify._target import Target
from approxify.cli import main
from approxify.measure.quality import get_quality
from approxify.report.result import Candidate
from approxify.search.certify import certify_front, evaluation_order
from approxify.search.measurer import Measurer
from approxify.search.progress import Progress
from approxify.stats import claims

import tuning_kernels as tk

SITE = "tuning_kernels.smooth_mean/for#0"
GOOD = {SITE: ax.Perforate(rate=0.5, policy="modulo", compensate=True)}  # loss ~0
BAD = {SITE: ax.Perforate(rate=0.75, policy="truncate")}  # misses three quarters of the sum


@pytest.fixture(scope="module")
def inputs():
    return tk.make_inputs(300, size=400)


def _checker(inputs, indices):
    target = Target(tk.smooth_mean)
    reference = target.exact_reference(inputs, get_quality("rel_l2"), timeout=None)
    return Measurer(target, reference, indices, timing_indices=indices[:8], repeats=3, cost="time")


def test_a_bad_config_is_dropped_after_a_few_heldout_inputs(inputs):
    checker = _checker(inputs, list(range(100, 300)))
    asked = claims(bound=0.05)
    front = [Candidate(GOOD, "search", {"speedup": 1.5, "mean_loss": 0.0}),
             Candidate(BAD, "search", {"speedup": 3.0, "mean_loss": 0.01}),
             Candidate(GOOD | {}, "search", {"speedup": 3.5, "mean_loss": 0.02})]
    with Progress(enabled=False) as bar:
        saved = certify_front(front, checker, asked=asked, confidence=0.95,
                              metric=get_quality("rel_l2"), bar=bar)
    good, bad, after = front
    assert good.certified and good.certificate.n == 200 and good.certificate.stopped_after is None
    assert good.certificate.family == 3  # corrected for every config of the front
    assert not bad.certified and bad.certificate.stopped_after is not None
    assert bad.certificate.stopped_after < 20 and bad.heldout["stopped_after"] == bad.certificate.stopped_after
    assert "Dropped after" in bad.certificate.statement()
    assert bad.heldout["speedup"] is None  # not timed: it cannot be shipped
    assert after.certificate is None and after.heldout is None  # the sequence ended: not measured
    assert saved == (200 - bad.certificate.stopped_after) + 200


def test_a_stop_rule_ends_a_trial_midway(inputs):
    checker = _checker(inputs, list(range(50)))
    evaluation = checker.evaluate(GOOD, stop=lambda losses: losses.size >= 7)
    assert evaluation.stopped_after == 7 and evaluation.n == 7 and evaluation.speedup is None
    assert checker.evaluate(GOOD).stopped_after is None


def test_heldout_order_is_seeded_and_a_permutation():
    order = evaluation_order(list(range(10, 60)), seed=3)
    assert sorted(order) == list(range(10, 60)) and order != sorted(order)
    assert order == evaluation_order(list(range(10, 60)), seed=3)
    assert order != evaluation_order(list(range(10, 60)), seed=4)


@pytest.fixture(scope="module")
def tail_result(inputs):
    return ax.approximate(tk.smooth_mean, inputs, bound=0.01, quantile=0.9, budget=ax.Budget(trials=5),
                          seed=0, progress=False, repeats=3)


def test_approximate_certifies_a_tail(tail_result):
    best = tail_result.best
    assert best.certified and not best.is_exact
    cert = best.certificate
    assert cert.quantile == 0.9 and cert.tail_bound == 0.01 and not cert.mean_asked
    assert cert.tail_holds and cert.exceed_upper <= 0.1
    assert "of inputs like these have a loss at most 0.01 (asked: 90%: holds" in cert.statement()
    assert tail_result.settings["quantile"] == 0.9


def test_a_tail_search_holds_the_share_above_the_bound_and_prints_the_mean_loss(tail_result):
    # the search holds "share of inputs above 0.01" to 1 - 0.9; the tuning figures printed as a
    # loss stay the mean loss
    measured = [p.tuning for p in tail_result.points if not p.is_exact]
    assert measured
    for tuning in measured:
        assert 0.0 <= tuning["search_loss"] <= 1.0
        assert (tuning["search_loss"] == 0.0) == (tuning["max_loss"] <= 0.01)
        assert tuning["mean_loss"] <= tuning["max_loss"]
    assert any(0.0 < t["mean_loss"] != t["search_loss"] for t in measured)


def test_a_tail_result_round_trips_and_prints(tail_result, tmp_path):
    path = tail_result.save(tmp_path / "tail.json")
    loaded = ax.load(path)
    assert loaded.best.certificate == tail_result.best.certificate
    assert "quantile=90%" in loaded.summary()
    assert '"quantile": 0.9' in path.read_text()


def test_mean_and_tail_together(inputs):
    result = ax.approximate(tk.smooth_mean, inputs, bound=0.02, quantile=0.9, mean_bound=0.04,
                            budget=ax.Budget(trials=4), seed=0, progress=False, repeats=3)
    cert = result.pareto[0].certificate
    assert cert is not None and cert.mean_asked and cert.bound == 0.04 and cert.tail_bound == 0.02
    assert cert.holds == (cert.upper <= 0.04 and cert.tail_holds)
    assert "mean_bound=0.04" in result.summary()


def test_tail_needs_enough_heldout_inputs(inputs):
    with pytest.raises(ax.NotEnoughInputs, match="at least 59 are needed"):
        ax.approximate(tk.smooth_mean, inputs[:100], bound=0.01, quantile=0.95, holdout=50,
                       progress=False)


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"quantile": 1.5}, "quantile= must lie strictly between 0 and 1"),
    ({"quantile": "0.9"}, "quantile= expects a number"),
    ({"mean_bound": 0.01}, "mean_bound=0.01 asks a mean bound beside a tail"),
    ({"quantile": 0.9, "mean_bound": 0}, "mean_bound= must lie strictly between 0 and 1"),
])
def test_bad_tail_arguments_are_refused_before_anything_runs(inputs, kwargs, words):
    with pytest.raises(ax.ApproxifyError, match=words):
        ax.approximate(tk.smooth_mean, inputs, bound=0.01, progress=False, **kwargs)


def test_cli_tune_with_a_quantile(tmp_path, capsys):
    out = tmp_path / "r.json"
    code = main(["tune", "tuning_kernels:smooth_mean", "--inputs", "tuning_kernels:make_inputs",
                 "--bound", "0.01", "--quantile", "0.9", "--trials", "3", "--quiet", "--out", str(out)])
    assert code == 0
    assert "quantile=90%" in capsys.readouterr().out
    assert json.loads(out.read_text())["settings"]["quantile"] == 0.9


def test_the_default_certificate_uses_the_betting_bound(inputs):
    result = ax.approximate(tk.smooth_mean, inputs[:200], bound=0.05, budget=ax.Budget(trials=3),
                            seed=1, progress=False, repeats=3)
    assert result.pareto and result.pareto[0].certificate.method == "betting"
    assert result.stats["heldout_total"] == 100 * len(result.pareto)
