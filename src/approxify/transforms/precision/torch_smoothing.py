"""Smoothed int8 for a model's ``Linear`` layers (SmoothQuant, Xiao et al., ICML 2023).

Dynamic int8 quantizes a batch of activations with one scale, so a few input channels with large
values (the outliers of a transformer's LayerNorm and GELU outputs) leave the others a handful of
levels. Smoothing divides input channel ``j`` by ``s_j = max|x_j|^a / max|W_j|^(1 - a)`` and
multiplies the weight's column ``j`` by it: the product is unchanged, and the outliers move into
the weights, whose scales are per output channel. ``max|x_j|`` is each layer's activation range,
observed on example inputs (tuning inputs during ``approximate``). The ranges are kept in
``program.fits``, saved with results, so a loaded result rebuilds its variant without inputs.

Measured on the pretrained MiniLM (every Linear int8, 8 batches of 8 sentences, one thread): mean
cosine distance 0.026 without smoothing, 0.0066 at a = 0.7, 0.0062 at a = 0.8, 0.018 at a = 0.6;
the extra multiply costs about 5-14% of a quantized layer's time, which the tuner measures.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidConfig
from ...measure.inputs import run_hooked
from ...targets.torch import TorchProgram, get_module, require_torch
from ...targets.torch_layers import editable_copy, linear_layers
from .._fits import fit_kind

SMOOTHING = 0.8  # the migration strength offered to the tuner (see the module docstring)
RANGE_KIND = "activation-range"


@fit_kind(RANGE_KIND)
@dataclass(frozen=True)
class ActivationRange:
    """The largest magnitude each input channel of a layer took on the example inputs."""

    maxima: Any  # 1-D float32 tensor, one entry per input feature

    def to_dict(self) -> dict[str, Any]:
        return {"kind": RANGE_KIND, "maxima": self.maxima.tolist()}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> ActivationRange:
        return ActivationRange(require_torch().tensor(data["maxima"], dtype=require_torch().float32))


def range_key(site: str) -> str:
    return f"{site}|{RANGE_KIND}"


def observe_ranges(program: TorchProgram, examples: list[Any]) -> dict[str, ActivationRange]:
    """Layer path -> the activation range of each ``Linear`` of the exact model on ``examples``."""
    torch = require_torch()
    model = editable_copy(program.current).eval()  # each attention's projections as modules
    paths = [path for path, _, _ in linear_layers(program.current)]
    maxima: dict[str, Any] = {}

    def recorder(path: str):
        def record(module, args, output):
            if not args or not torch.is_tensor(args[0]):
                return
            seen = args[0].detach().reshape(-1, args[0].shape[-1]).abs().amax(0).float()
            maxima[path] = seen if path not in maxima else torch.maximum(maxima[path], seen)
        return record

    run_hooked(model, examples, [get_module(model, p).register_forward_hook(recorder(p)) for p in paths])
    return {path: ActivationRange(found.clone()) for path, found in maxima.items()}


def has_range(program: TorchProgram, site: str) -> bool:
    return range_key(site) in program.fits or site.rpartition("/")[0] in (program.observed("precision") or {})


def activation_range(program: TorchProgram, site: str) -> ActivationRange:
    """The range of ``site``'s layer: saved with a result, or observed; cached in ``fits``."""
    key = range_key(site)
    if key not in program.fits:
        observed = (program.observed("precision") or {}).get(site.rpartition("/")[0])
        if observed is None:
            raise InvalidConfig(
                f"config[{site!r}]: smoothed int8 divides each input channel by its range on "
                "example inputs; pass them (ax.apply(model, config, example_inputs=batches[:8])) "
                "or use Precision('int8') without smoothing."
            )
        program.fits[key] = observed
    return program.fits[key]


def smoothed_int8(layer: Any, maxima: Any, alpha: float, site: str, quantize: Any) -> Any:
    """``layer`` (a Linear, or a factored one whose first Linear reads the input) smoothed with
    ``alpha`` and quantized by ``quantize``; the layer given is a private copy and is changed."""
    torch = require_torch()
    first = next(m for m in layer.modules() if isinstance(m, torch.nn.Linear))
    if first.in_features != maxima.numel():
        raise InvalidConfig(
            f"config[{site!r}]: the activation range was observed on {maxima.numel()} input "
            f"features and this layer now takes {first.in_features} (its inputs were pruned); "
            "use Precision('int8') without smoothing here, or do not prune its inputs."
        )
    with torch.no_grad():
        weight_range = first.weight.abs().amax(0).clamp(min=1e-5)
        scales = (maxima.clamp(min=1e-5) ** alpha / weight_range ** (1 - alpha)).clamp(min=1e-5)
        first.weight.mul_(scales)
    return _smoothed_class()(quantize(layer), 1.0 / scales)


@functools.cache
def _smoothed_class():
    torch = require_torch()

    class SmoothedInt8(torch.nn.Module):
        """Divides the input by the smoothing scales, then runs the quantized layer."""

        def __init__(self, layer, inverse_scales):
            super().__init__()
            self.layer = layer
            self.register_buffer("inverse_scales", inverse_scales.float())

        def forward(self, x):
            return self.layer(x * self.inverse_scales)

    return SmoothedInt8
