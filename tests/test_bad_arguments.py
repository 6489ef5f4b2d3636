"""Bad input is a clear error before anything runs: it names the argument, what was expected,
what was given and the fix. (The command line's side: tests/test_cli_errors.py.)"""

from __future__ import annotations

import threading

import numpy as np
import pytest

import approxify as ax
from approxify.measure.quality import get_quality
import kernels_for_tests as K
import tuning_kernels as tk

INPUTS = tk.make_inputs(400, size=50)


def refused(error, *fragments, **options):
    with pytest.raises(error) as info:
        ax.approximate(tk.smooth_mean, INPUTS, progress=False, **options)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert isinstance(info.value, ax.ApproxifyError)
    return info.value


@pytest.mark.parametrize(("storage", "error", "words"), [
    (5, ax.InvalidArgumentType, "storage= expects a database URL or None, got 5"),
    ("study.db", ax.InvalidArgument, "is not a database URL"),
    ("sqlite://", ax.InvalidArgument, "names no database file"),
    ("", ax.InvalidArgument, "storage=''"),
])
def test_a_storage_that_is_no_database_url_is_refused(storage, error, words):
    refused(error, words, "sqlite:///study.db", storage=storage)


@pytest.mark.parametrize("name", [5, "", "   "])
def test_a_study_name_that_is_no_name_is_refused(name):
    refused(ax.InvalidArgumentType, "study_name= expects a non-empty string", study_name=name)


@pytest.mark.parametrize(("modules", "words"), [
    (5, "modules= expects a list of module names"),
    ([5], "got 5 among them"),
    (["my package"], "got 'my package' among them"),
])
def test_modules_must_be_module_names(modules, words):
    refused(ax.InvalidArgumentType, words, modules=modules)
    with pytest.raises(ax.InvalidArgumentType, match="modules="):
        ax.sites(tk.smooth_mean, modules=modules)


def test_a_single_module_name_is_taken_as_one():
    assert ax.sites(tk.smooth_mean, modules="tuning_kernels")


def test_an_alternative_named_by_a_non_string_is_refused():
    with pytest.raises(ax.InvalidArgumentType, match="Substitute\\(name=...\\) expects the alternative"):
        ax.Substitute("alternative", name=5)


@pytest.mark.parametrize(("cost", "words"), [
    (lambda fn, inputs: "fast", "returned 'fast' (str)"),
    (lambda fn, inputs: -1.0, "returned -1.0"),
    (lambda fn, inputs: float("nan"), "returned nan"),
])
def test_a_cost_function_giving_no_positive_number_is_refused_before_tuning(cost, words):
    # a variant of this kernel hangs: the error must come before any variant runs
    with pytest.raises(ax.InvalidArgument) as info:
        ax.approximate(K.hangs_when_perforated, [[1.0, 2.0, 3.0, 4.0]] * 400, cost=cost,
                       progress=False, timeout=30)
    assert words in str(info.value) and "positive finite number" in str(info.value)


@pytest.mark.parametrize(("options", "words"), [
    ({"repeats": 0}, "repeats= expects a whole number >= 1, got 0"),
    ({"repeats": True}, "repeats= expects a whole number"),
    ({"timeout": 0}, "timeout= expects a positive number of seconds"),
    ({"timeout": float("inf")}, "timeout= expects a positive number"),
])
def test_evaluate_checks_its_options(options, words):
    with pytest.raises(ax.InvalidArgument, match=None) as info:
        ax.evaluate(tk.smooth_mean, {}, INPUTS[:2], **options)
    assert words in str(info.value)


@pytest.mark.parametrize("metric", ["rel_l2", "mean_rel", "mismatch"])
def test_every_metric_takes_an_exact_nan_as_a_value_to_reproduce(metric):
    inputs = [[1.0, 2.0], [-1.0, 2.0]]  # the second's exact output holds a NaN
    exact = ax.evaluate(K.nan_where_negative, {}, inputs, quality=metric, repeats=1)
    assert exact.failures == () and list(exact.losses) == [0.0, 0.0]
    loss = get_quality(metric)
    with_nan = np.array([np.nan, 2.0])
    assert loss(with_nan, np.array([5.0, 2.0])) > 0  # a NaN the approximation lost is a loss
    assert loss(with_nan, np.array([np.nan, 2.0])) == 0


def test_a_model_that_cannot_be_copied_or_put_in_eval_mode_is_refused():
    torch = pytest.importorskip("torch")

    class Locked(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)
            self.lock = threading.Lock()  # deepcopy cannot copy a lock

        def forward(self, x):
            return self.fc(x)

    class NoEval(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 4)

        def train(self, mode=True):
            raise RuntimeError("always training")

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(ax.UnsupportedTarget, match="model Locked cannot be deep-copied.*private copy"):
        ax.sites(Locked())
    with pytest.raises(ax.UnsupportedTarget, match="model NoEval raised RuntimeError: always training"):
        ax.sites(NoEval())
