"""Smoothed int8 (SmoothQuant): input channels divided by their observed range, weights multiplied
by it, so activation outliers stop costing the other channels their int8 resolution."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install 'approxify[torch]')")

import approxify as ax  # noqa: E402
from approxify.config import setting_from_dict  # noqa: E402
from approxify.errors import InvalidArgument, InvalidConfig  # noqa: E402

nn = torch.nn
SMOOTH = ax.Precision("int8", smoothing=0.8)


def model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4)).eval()


def batches(count: int = 4) -> list:
    """Inputs whose channel 3 is 50 times larger than the others: an activation outlier."""
    generator = torch.Generator().manual_seed(1)
    out = []
    for _ in range(count):
        x = torch.randn(32, 16, generator=generator)
        x[:, 3] *= 50
        out.append(x)
    return out


def run(module, x):
    with torch.inference_mode():
        return module(x)


def test_smoothing_is_a_setting_of_int8_only():
    assert SMOOTH.label() == "int8 smoothed 0.8"
    assert SMOOTH.to_dict() == {"family": "precision", "dtype": "int8", "smoothing": 0.8}
    assert ax.Precision("int8").to_dict() == {"family": "precision", "dtype": "int8"}
    assert setting_from_dict(SMOOTH.to_dict()) == SMOOTH
    with pytest.raises(InvalidArgument, match=r"applies to int8 only .* not to 'bfloat16'"):
        ax.Precision("bfloat16", smoothing=0.5)
    for bad in (0, 1, 1.5, True, "0.5"):
        with pytest.raises(InvalidArgument, match=r"strictly between 0 and 1 .* got"):
            ax.Precision("int8", smoothing=bad)


def test_linear_layers_are_offered_smoothed_int8_once_example_inputs_ran():
    def choices(**kwargs):
        return {s.id: [c.label() for c in s.knob.choices]
                for s in ax.sites(model(), families=["precision"], **kwargs)}

    assert choices()["0/precision"] == ["bfloat16", "float16", "int8"]
    assert choices(example_inputs=batches())["0/precision"] == ["bfloat16", "float16", "int8", "int8 smoothed 0.8"]


def test_smoothing_before_quantization_leaves_the_layer_s_function_unchanged():
    from approxify.transforms.precision.torch_smoothing import smoothed_int8

    layer = nn.Linear(16, 8)
    maxima = torch.linspace(0.5, 40.0, 16)
    reference = nn.Linear(16, 8)
    reference.load_state_dict(layer.state_dict())
    smoothed = smoothed_int8(layer, maxima, 0.8, "layer/precision", quantize=lambda same: same)
    x = batches(1)[0]
    torch.testing.assert_close(run(smoothed, x), run(reference, x), rtol=1e-5, atol=1e-4)
    # the scales moved the range: column j of the weight grew by s_j, which follows max|x_j|
    assert smoothed.inverse_scales[0] > smoothed.inverse_scales[-1]


def test_smoothed_int8_is_closer_than_plain_int8_where_a_channel_is_an_outlier():
    exact, xs = model(), batches()
    plain = ax.apply(exact, {"0": ax.Precision("int8")})
    smoothed = ax.apply(exact, {"0": SMOOTH}, example_inputs=xs)
    assert type(smoothed[0]).__name__ == "SmoothedInt8"
    fresh = batches(6)[5]
    plain_error = (run(plain, fresh) - run(exact, fresh)).abs().mean()
    smoothed_error = (run(smoothed, fresh) - run(exact, fresh)).abs().mean()
    assert smoothed_error < 0.7 * plain_error


def test_smoothed_int8_needs_example_inputs_and_the_observed_input_width():
    with pytest.raises(InvalidConfig, match=r"config\['0/precision'\]: smoothed int8 .* pass them "
                                            r"\(ax.apply\(model, config, example_inputs=batches\[:8\]\)\)"):
        ax.apply(model(), {"0": SMOOTH})
    pruned_inputs = {"0/perforate": ax.Perforate(0.5, policy="neurons"), "2/precision": SMOOTH}
    with pytest.raises(InvalidConfig, match=r"config\['2/precision'\]: the activation range was observed "
                                            r"on 32 input features and this layer now takes 16"):
        ax.apply(model(), pruned_inputs, example_inputs=batches())


def test_a_smoothed_layer_is_rebuilt_from_saved_ranges_without_inputs():
    from approxify._target import Target

    config = {"0/precision": SMOOTH}
    observed = Target(model(), example_inputs=batches(), families=["precision"])
    variant = observed.build(config)
    fits = json.loads(json.dumps(observed.saved_fits([config])))
    assert list(fits) == ["0/precision|activation-range"]
    fresh = Target(model())  # what a loaded result starts from: no example inputs
    fresh.use_fits(fits)
    assert SMOOTH in fresh.site_index["0/precision"].knob.choices
    x = batches(6)[5]
    assert torch.equal(run(fresh.build(config), x), run(variant, x))
