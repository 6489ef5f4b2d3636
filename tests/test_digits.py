"""The digits examples: models trained at first use on scikit-learn's bundled digits, cached,
and approximated with certificates over held-out samples."""

from __future__ import annotations

import time

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install 'approxify[torch]')")
pytest.importorskip("sklearn", reason="the digits data ship with scikit-learn (the torch extra)")

import approxify as ax  # noqa: E402
from approxify.examples import digits  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """Train into a fresh cache once for this module; the user's cache is left alone."""
    patch = pytest.MonkeyPatch()
    patch.setenv("APPROXIFY_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    patch.undo()


def test_models_train_once_then_load_from_the_cache():
    model = digits.mlp()
    assert digits.accuracy(model) > 0.95
    started = time.perf_counter()
    again = digits.mlp()
    assert time.perf_counter() - started < 1.0
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))
    assert digits.accuracy(digits.cnn()) > 0.95


def test_the_inputs_are_images_the_models_never_trained_on():
    batches = digits.make_inputs(32)
    assert sum(len(b) for b in batches) == 1797 - int(1797 * digits.TRAIN_SHARE)
    assert batches[0].shape == (32, 8, 8)


def test_a_digits_model_is_certified_on_held_out_samples():
    model = digits.mlp()
    result = ax.approximate(model, digits.make_inputs(32), quality="mismatch", bound=0.05,
                            cost="params", families=["perforate", "substitute"],
                            budget=ax.Budget(trials=8), progress=False)
    best = result.best
    assert best.certified and best.speedup > 1.2
    assert best.certificate.upper <= 0.05 and best.certificate.unit == "samples"
    assert "held-out samples" in result.summary()


def test_noisy_copies_of_an_image_are_one_group_and_certified_over_images():
    batches = digits.make_inputs(64, copies=4, noise=0.05)
    groups = digits.make_groups(64, copies=4)
    assert [len(g) for g in groups] == [len(b) for b in batches]
    assert groups[0][:5] == [0, 0, 0, 0, 1]  # an image's copies side by side, in one batch
    assert (batches[0][0] - batches[0][3]).abs().max() < 0.5 < (batches[0][0] - batches[0][4]).abs().max()
    result = ax.approximate(digits.mlp(), batches, groups=groups, quality="mismatch", bound=0.05,
                            cost="params", families=["perforate", "substitute"],
                            budget=ax.Budget(trials=8), progress=False)
    certificate = result.pareto[0].certificate
    held = result.settings["sample_groups"]["heldout"]
    assert certificate.unit == "groups" and certificate.n == held
    assert 360 <= held < 360 + 16  # whole batches of 16 images until half the 719 are held out
    assert certificate.method == "betting"  # a group's disagreement is a share, not 0/1
