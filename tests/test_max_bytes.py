"""Size of a model's variants (issue 21 item 4, the constraint): every config's stored bytes are
recorded, ``max_bytes=`` keeps larger variants from being chosen, and the summary says both."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

import approxify as ax  # noqa: E402
from approxify.measure.model_cost import weight_bytes  # noqa: E402
from test_torch_target import trained_classifier  # noqa: E402


def tune(model, batches, **options):
    return ax.approximate(model, batches, quality="rel_l2", bound=0.5, cost="params", progress=False,
                          families=["perforate", "precision"], budget=ax.Budget(trials=6), **options)


def test_every_config_records_its_size_and_a_limit_keeps_larger_ones_out(tmp_path):
    model, batches = trained_classifier()
    exact_bytes = weight_bytes(model)
    free = tune(model, batches)
    assert free.exact.tuning["bytes"] == exact_bytes
    assert all(p.tuning["bytes"] == weight_bytes(free.program(p.config)) for p in free.points[:6])
    limit = 0.6 * exact_bytes
    assert any(p.tuning["bytes"] > limit and not p.is_exact for p in free.pareto), \
        "the free search should certify a config the limit rules out"
    held = tune(model, batches, max_bytes=limit)
    assert all(p.tuning["oversize"] == (p.tuning["bytes"] > limit) for p in held.points)
    assert all(p.tuning["bytes"] <= limit for p in held.pareto if not p.is_exact)
    assert held.best.is_exact or held.best.tuning["bytes"] <= limit
    assert f"at most {limit / 1e6:.3g} MB asked (max_bytes=)" in held.summary()
    loaded = ax.load(held.save(tmp_path / "r.json"), target=model)
    assert loaded.best.tuning["bytes"] == held.best.tuning["bytes"]


def test_the_summary_and_the_report_print_the_best_size_beside_the_exact_models(tmp_path):
    model, batches = trained_classifier()
    result = tune(model, batches)
    best, exact = result.best.tuning["bytes"], result.exact.tuning["bytes"]
    said = f"{best / 1e6:.3g} MB stored (the exact model {exact / 1e6:.3g} MB"
    assert f"size {said}" in result.summary()
    assert f"<b>Size</b> {said}" in result.report(tmp_path / "r.html").read_text()


def test_max_bytes_is_a_positive_number_for_a_model():
    import tuning_kernels as tk

    model, batches = trained_classifier()
    with pytest.raises(ax.InvalidArgumentType, match="max_bytes= expects a number of bytes, got 'big'"):
        tune(model, batches, max_bytes="big")
    with pytest.raises(ax.InvalidArgument, match="max_bytes= must be a positive number of bytes, got -1"):
        tune(model, batches, max_bytes=-1)
    with pytest.raises(ax.InvalidArgument, match="is a Python function; drop max_bytes="):
        ax.approximate(tk.smooth_mean, tk.make_inputs(), max_bytes=1000, progress=False)
