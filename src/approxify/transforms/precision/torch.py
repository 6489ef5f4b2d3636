"""Quantization of a model's layers: a ``Linear`` or convolution is a ``precision`` site.

``bfloat16`` and ``float16`` run the layer in that type (its input cast on the way in, its output
cast back, so neighbours are unchanged); ``int8`` makes a ``Linear`` dynamically quantized (int8
weights scaled per output channel, activations quantized per batch) through
:func:`.torch_int8.int8_linear`, the one adapter to ``torch.ao.quantization`` (8-bit activations
where the CPU has VNNI, else torch's 7). torchao's int8 dynamic
quantization (per-token activations) was measured as the alternative: on this project's CPU it
ran MiniLM 1.4x faster than float32, where ``torch.ao``'s ran it 2.9x faster (every Linear,
batches of 16 sentences of 64 tokens, one thread, torchao 0.18 on torch 2.13; torchao's was
closer, mean cosine similarity 0.997 against 0.975), so the older path stays, behind this one
function. Whether any of it is faster is measured: on CPUs without native
half-precision arithmetic float16 is slower, and the tuner sees that. Where example inputs ran, a
``Linear`` is also offered smoothed int8 (:mod:`.torch_smoothing`), which keeps int8's speed at a
fraction of its error on models with activation outliers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ...config import Precision, Setting
from ...errors import InvalidConfig
from ...sites import Knob, Site
from ...targets.torch import TorchProgram, get_module, require_torch, set_module
from ...targets.torch_layers import linear_at, linear_layers
from .._base import Transform, register
from ..torch_sites import check_ran, edit_layers, layer_site, mark_unrun
from .torch_int8 import int8_linear
from .torch_smoothing import (
    SMOOTHING,
    activation_range,
    has_range,
    observe_ranges,
    range_key,
    smoothed_int8,
)


@register
class TorchPrecision(Transform):
    family = "precision"
    target = "torch"
    order = 2
    examples = 8  # tuning batches whose activation ranges smoothed int8 uses
    fits_need_examples = True
    keeps_gradients = False  # int8 kernels have no gradients: repair trains before lowering

    def observe(self, program: TorchProgram, examples, *, name: str) -> dict[str, Any]:
        return observe_ranges(program, list(examples))

    def discover(self, program: TorchProgram) -> list[Site]:
        nn = require_torch().nn
        sites = []
        # Linear-like layers (Conv1D, attention projections) take int8 too; convolutions and
        # Bilinear run in half precision only: dynamic int8 has kernels for Linear alone
        for path, layer, kind in linear_layers(program.model, also=(nn.Conv1d, nn.Conv2d, nn.Bilinear)):
            choices = [Precision("bfloat16"), Precision("float16")]
            if isinstance(layer, nn.Linear):
                choices.append(Precision("int8"))
                if has_range(program, f"{path}/precision"):
                    choices.append(Precision("int8", smoothing=SMOOTHING))
            sites.append(layer_site(path, layer, "precision", Knob(Precision(), tuple(choices)),
                                    model=program.model, layer=kind))
        return mark_unrun(program, sites)

    def check(self, program: TorchProgram, site: Site, setting: Setting) -> None:
        assert isinstance(setting, Precision)
        check_ran(program, site, setting)
        layer = linear_at(program.model, site.locator.path)
        if setting.dtype == "int8":
            check_int8_kernel(layer, site.id)
        elif not setting.is_exact and setting.dtype not in ("bfloat16", "float16"):
            raise InvalidConfig(f"config[{site.id!r}]: a layer takes bfloat16, float16 or int8, not {setting.dtype}.")

    def fit_key(self, site_id: str, setting: Setting) -> str | None:
        return range_key(site_id) if setting.smoothing is not None else None

    def apply(self, program: TorchProgram, settings: Mapping[Site, Setting]) -> TorchProgram:
        def lower(model, site: str, path: str, setting: Precision) -> None:
            layer = get_module(model, path)
            if setting.smoothing is None:
                set_module(model, path, lowered(layer, setting.dtype, site))
                return
            check_int8_kernel(layer, site)
            maxima = activation_range(program, site).maxima
            set_module(model, path, smoothed_int8(layer, maxima, setting.smoothing, site, int8_linear))

        return edit_layers(program, settings, lower)


def check_dense(layer, site: str) -> None:
    if type(layer).__name__ == "SparseLinear":
        raise InvalidConfig(
            f"config[{site!r}]: this layer is pruned by magnitude and stored sparse (CSR), whose "
            "kernels run in float32 only; lower its precision or prune it, not both."
        )


def check_int8_kernel(layer, site: str) -> None:
    torch = require_torch()
    check_dense(layer, site)
    if not any(isinstance(m, torch.nn.Linear) for m in layer.modules()):
        raise InvalidConfig(
            f"config[{site!r}]: int8 has no kernel for {type(layer).__name__} here (dynamic "
            "int8 covers Linear layers); use bfloat16 or float16 for this layer."
        )


def lowered(layer, dtype: str, site: str):
    torch = require_torch()
    if dtype == "int8":
        check_int8_kernel(layer, site)
        return int8_linear(layer)
    check_dense(layer, site)
    if dtype not in ("bfloat16", "float16"):
        raise InvalidConfig(f"config[{site!r}]: a layer takes bfloat16, float16 or int8, not {dtype}.")
    return _cast_layer_class()(layer.to(getattr(torch, dtype)), getattr(torch, dtype))


@functools.cache
def _cast_layer_class():
    torch = require_torch()

    class LowPrecision(torch.nn.Module):
        """Runs ``layer`` in ``dtype``: inputs cast in (each floating tensor: a Bilinear takes
        two), output cast back to the first input's type."""

        def __init__(self, layer, dtype):
            super().__init__()
            self.layer = layer
            self.dtype = dtype

        def forward(self, x, *others):
            cast = [t.to(self.dtype) if torch.is_tensor(t) and t.is_floating_point() else t for t in others]
            return self.layer(x.to(self.dtype), *cast).to(x.dtype)

        def extra_repr(self) -> str:
            return f"dtype={self.dtype}"

    return LowPrecision
