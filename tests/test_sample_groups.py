"""``groups=``: dependent inputs kept on one side of the split and certified per group (coverage
by simulation, the split, pooling, the argument checks, end to end, the study and the CLI)."""

from __future__ import annotations

import numpy as np
import pytest

import approxify as ax
from approxify.cli import main
from approxify.measure.evaluation import Evaluation
from approxify.measure.runner import Failure
from approxify.search.baseline import split_indices
from approxify.search.sample_groups import read_groups
from approxify.stats import certificate_method, mean_upper_bound

import tuning_kernels as tk

IMAGES, COPIES = 720, 8
SAMPLE_GROUPS = [i // 2 for i in range(400)]  # inputs 2k and 2k+1 are one group


def copies_of_images(rng, *, a=0.01, b=1.0):
    """0/1 losses of 8 copies of each of 720 images: an image's copies are mostly all right or
    all wrong together (its disagreement rate drawn from Beta(a, b)), as noisy copies are."""
    rates = rng.beta(a, b, IMAGES)
    return (rng.random((IMAGES, COPIES)) < rates[:, None]).astype(float).ravel()


def test_grouped_certificate_covers_new_groups_where_the_per_sample_one_does_not():
    """The digits setup simulated: the per-sample certificate (copies split at random, twins on
    both sides, Clopper-Pearson over samples) covers the mean over new images less often than
    asked; the grouped one (split by image, one pooled loss per image) at least as often."""
    rng, runs, confidence = np.random.default_rng(0), 600, 0.95
    truth = 0.01 / 1.01  # the mean disagreement over new images
    labels = [i for i in range(IMAGES) for _ in range(COPIES)]
    groups = read_groups(labels, labels, per_sample=False)
    covered = {"samples": 0, "groups": 0}
    for run in range(runs):
        losses = copies_of_images(rng)
        _, held = split_indices(losses.size, losses.size // 2, seed=run)
        upper, _ = mean_upper_bound(losses[held], confidence=confidence,
                                    method=certificate_method(True))
        covered["samples"] += upper >= truth
        _, held = groups.split(IMAGES // 2, seed=run)
        pooled = groups.pool(Evaluation(losses[held], ()), held, cap=1.0)
        upper, _ = mean_upper_bound(pooled.losses, confidence=confidence,
                                    method=certificate_method(False))
        covered["groups"] += upper >= truth
    slack = 3 * np.sqrt(confidence * (1 - confidence) / runs)  # three binomial standard errors
    assert covered["groups"] / runs >= confidence - slack
    assert covered["samples"] / runs < confidence - slack


# --- the split ----------------------------------------------------------------------------------


def test_split_keeps_each_group_on_one_side_and_counts_groups():
    labels = [f"user{i % 37}" for i in range(300)]
    groups = read_groups(labels, labels, per_sample=False)
    tuning, heldout = groups.split(15, seed=3)
    assert sorted(tuning + heldout) == list(range(300))
    assert not {labels[i] for i in tuning} & {labels[i] for i in heldout}
    assert len({labels[i] for i in heldout}) == 15 == groups.within(heldout)
    assert groups.split(15, seed=3) == (tuning, heldout)
    assert groups.split(15, seed=4) != (tuning, heldout)


def test_a_models_batches_linked_by_a_group_stay_together():
    batches = [np.zeros((4, 2)) for _ in range(6)]
    labels = [[0, 0, 1, 1], [1, 2, 2, 2], [3, 3, 3, 3], [4, 4, 5, 5], [5, 6, 6, 6], [7, 7, 7, 7]]
    groups = read_groups(labels, batches, per_sample=True)
    assert groups.count == 8 and not groups.singletons
    for seed in range(10):
        tuning, heldout = groups.split(3, seed=seed)
        for linked in ({0, 1}, {3, 4}):
            assert linked <= set(tuning) or linked <= set(heldout)
        assert groups.within(heldout) >= 3 and tuning


def test_pooling_gives_one_loss_per_group_and_a_failed_member_fails_the_group():
    labels = ["a", "a", "b", "b", "c", "d"]
    groups = read_groups(labels, labels, per_sample=False)
    losses = np.array([0.0, 0.2, 0.0, 0.0, 0.3, 1.0])
    failure = Failure(5, "exception", "ValueError: boom")
    pooled = groups.pool(Evaluation(losses, (failure,)), range(6), cap=1.0)
    assert pooled.losses.tolist() == [0.1, 0.0, 0.3, 1.0]
    assert pooled.failure_count == 1 and pooled.identical == 1
    # a failure is one loss per group, at the cap, whatever its other members gave
    capped = groups.pool(Evaluation(np.array([0.0, 0.05, 0.0, 0.0, 0.01, 0.0]), (Failure(1, "timeout", "t"),)),
                         range(6), cap=0.05)
    assert capped.losses.tolist() == [0.05, 0.0, 0.01, 0.0] and capped.failure_count == 1


# --- argument checks, before anything runs ------------------------------------------------------


def never_called(*args):
    raise AssertionError("the program ran before groups= was checked")


@pytest.mark.parametrize("groups, words", [
    ([0, 1, 2], ["one entry per input (4)", "got 3"]),
    ([[0], [1], 2, 3], ["groups[0]", "not hashable", "an int, a str"]),
    ([5, 5, 5, 5], ["1 group", "need a group each"]),
    ("abcd", ["sequence of labels", "str"]),
])
def test_bad_groups_are_refused_with_what_was_expected_and_given(groups, words):
    with pytest.raises(ax.ApproxifyError) as info:
        ax.approximate(never_called, [(1.0,)] * 4, groups=groups, progress=False)
    for word in words:
        assert word in str(info.value)


def test_holdout_counts_groups():
    with pytest.raises(ax.NotEnoughInputs, match="leaves 3 of 3 groups held out"):
        ax.approximate(never_called, [(1.0,)] * 6, groups=[0, 0, 1, 1, 2, 2], holdout=3,
                       progress=False)
    with pytest.raises(ax.NotEnoughInputs, match="100 held-out groups .* at least 167"):
        ax.approximate(tk.smooth_mean, tk.make_inputs(400, size=10), groups=SAMPLE_GROUPS,
                       bound=0.02, progress=False)  # the betting bound's all-zero case at 2%


def test_a_models_groups_give_one_label_per_sample():
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(3, 2))
    batches = [torch.zeros(4, 3) for _ in range(3)]
    with pytest.raises(ax.InvalidArgumentType, match=r"groups\[0\] is 7; .*\[label\] \* 4"):
        ax.approximate(model, batches, groups=[7, 8, 9], progress=False)
    with pytest.raises(ax.InvalidArgument, match=r"groups\[1\] has 3 labels for the 4 samples"):
        ax.approximate(model, batches, groups=[[0] * 4, [1] * 3, [2] * 4], progress=False)


# --- end to end ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def inputs():
    return tk.make_inputs(400)


@pytest.fixture(scope="module")
def grouped(inputs):
    return ax.approximate(tk.smooth_mean, inputs, bound=0.1, budget=ax.Budget(trials=4), seed=0,
                          progress=False, repeats=1, groups=SAMPLE_GROUPS)


def test_the_certificate_counts_held_out_groups(grouped):
    best = grouped.best
    assert best.certified
    assert best.certificate.n == 100 == grouped.settings["sample_groups"]["heldout"]
    assert best.certificate.unit == "groups" and best.heldout["n"] == 100
    assert grouped.settings["heldout"] == 200  # inputs: two per group
    assert "n=100 held-out groups" in grouped.summary()
    assert "(100 of 200 groups)" in grouped.summary()


def test_other_groups_are_another_study(grouped, inputs):
    other = ax.approximate(tk.smooth_mean, inputs, bound=0.1, budget=ax.Budget(trials=1), seed=0,
                           progress=False, repeats=1, groups=[i % 200 for i in range(400)])
    assert other.settings["study_name"] != grouped.settings["study_name"]
    assert other.settings["sample_groups"]["digest"] != grouped.settings["sample_groups"]["digest"]


def test_cli_takes_groups_from_a_module(tmp_path, capsys, monkeypatch):
    module = tmp_path / "grouped_inputs.py"
    module.write_text("import tuning_kernels as tk\n"
                      "def make_inputs():\n    return tk.make_inputs(400)\n"
                      "GROUPS = [i // 2 for i in range(400)]\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["tune", "tuning_kernels:smooth_mean", "--inputs", "grouped_inputs:make_inputs",
                 "--groups", "grouped_inputs:GROUPS", "--bound", "0.1", "--trials", "2", "--quiet"])
    assert code == 0 and "held-out groups" in capsys.readouterr().out


def test_a_named_study_measured_with_other_groups_is_not_resumed(inputs, tmp_path):
    options = dict(bound=0.1, budget=ax.Budget(trials=1), seed=0, progress=False, repeats=1,
                   storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="grouped")
    ax.approximate(tk.smooth_mean, inputs, groups=SAMPLE_GROUPS, **options)
    with pytest.raises(ax.InvalidArgument, match="holds measurements of other inputs"):
        ax.approximate(tk.smooth_mean, inputs, groups=[i % 200 for i in range(400)], **options)

