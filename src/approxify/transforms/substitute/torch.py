"""Distillation of a model's layers: a ``Linear`` replaced by two thinner ones (low rank), and
a block replaced by a small MLP trained to mimic it (:mod:`.torch_blocks`).

``Substitute("lowrank", rank=r)`` factors the weight by a truncated SVD, ``W ~ (U_r S_r^1/2)
(S_r^1/2 V_r^T)``: a ``Linear(in, r)`` then a ``Linear(r, out)`` with the original bias. It is
offered only for ranks that make the layer smaller (``r * (in + out) < in * out``). The same
holds for the layers that compute a Linear's product without being one (GPT-2's ``Conv1D``, an
``nn.MultiheadAttention``'s four projections: :mod:`approxify.targets.torch_layers`), and for
``nn.Bilinear``, whose matrix of each output is cut to rank ``r`` (:func:`factored_bilinear`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from ...config import Setting, Substitute
from ...errors import InvalidConfig
from ...sites import Knob, Site
from ...targets.torch import TorchProgram, get_module, require_torch, set_module
from ...targets.torch_layers import linear_at, linear_from, linear_layers
from .._base import Transform, register
from ..torch_sites import check_ran, edit_layers, layer_site, mark_unrun
from .fitting import fit_key
from .torch_blocks import block_sites, observe_blocks, replace_block

RANK_SHARES = (0.125, 0.25, 0.5)  # of the rank at which the factored layer is as large as the original


@register
class TorchSubstitute(Transform):
    family = "substitute"
    target = "torch"
    order = 1
    examples = 8  # tuning batches whose block inputs and outputs surrogates learn from
    fits_need_examples = True
    by_default = False  # training block surrogates costs seconds each: asked for by name

    def observe(self, program: TorchProgram, examples, *, name: str) -> dict[str, Any]:
        return observe_blocks(program, list(examples))

    def discover(self, program: TorchProgram) -> list[Site]:
        nn = require_torch().nn
        sites = []
        for path, (choices, rows) in block_sites(program).items():
            sites.append(layer_site(path, get_module(program.model, path), "substitute",
                                    Knob(Substitute(), choices), rows=rows, surrogate="mlp"))
        for path, layer, kind in linear_layers(program.model, also=(nn.Bilinear,)):
            ranks = useful_ranks(*_matrix(layer))
            if ranks:
                choices = tuple(Substitute("lowrank", rank=r) for r in ranks)
                sites.append(layer_site(path, layer, "substitute", Knob(Substitute(), choices),
                                        model=program.model, layer=kind))
        return mark_unrun(program, sites)

    def check(self, program: TorchProgram, site: Site, setting: Setting) -> None:
        assert isinstance(setting, Substitute)
        check_ran(program, site, setting)
        if setting.kind != "mlp" and not setting.is_exact:
            check_factorable(linear_at(program.model, site.locator.path), site.id, setting)

    def unknown_hint(self, site_id: str, setting: Setting) -> str:
        if getattr(setting, "kind", None) != "mlp":
            return ""
        return (" A block's surrogate is trained on what the block computes: its site "
                "exists once example inputs have run (ax.apply(model, config, "
                "example_inputs=batches[:8]), ax.sites(model, example_inputs=...)).")

    def fit_key(self, site_id: str, setting: Setting) -> str | None:
        return fit_key(site_id, setting) if setting.kind == "mlp" else None

    def apply(self, program: TorchProgram, settings: Mapping[Site, Setting]) -> TorchProgram:
        blocks = [s.locator.path for s, v in settings.items() if v.kind == "mlp"]
        for site, setting in settings.items():
            inside = next((b for b in blocks if site.locator.path.startswith(b + ".")), None)
            if inside is not None and not setting.is_exact:
                raise InvalidConfig(
                    f"config[{site.id!r}]: {site.locator.path} lies inside block {inside}, which "
                    "the same config replaces with a surrogate; set the block or the layers "
                    "inside it, not both."
                )

        def substitute(model: Any, site: str, path: str, setting: Substitute) -> None:
            if setting.kind == "mlp":
                replace_block(program, model, site, path, setting)
            else:
                _factor(model, site, path, setting)

        return edit_layers(program, settings, substitute)


def _factor(model: Any, site: str, path: str, setting: Substitute) -> None:
    layer = get_module(model, path)
    check_factorable(layer, site, setting)
    set_module(model, path, factored(layer, setting.rank))


def check_factorable(layer: Any, site: str, setting: Substitute) -> None:
    nn = require_torch().nn
    if setting.kind != "lowrank" or not isinstance(layer, (nn.Linear, nn.Bilinear)):
        raise InvalidConfig(
            f"config[{site!r}]: a model's layer is substituted with Substitute('lowrank', "
            f"rank=...) on a Linear or Bilinear layer, not {setting.label()!r} on {type(layer).__name__}."
        )
    rows, columns = _matrix(layer)
    limit = min(rows, columns)
    if not 1 <= setting.rank < limit:
        raise InvalidConfig(
            f"config[{site!r}]: rank {setting.rank} must lie in 1..{limit - 1} for "
            f"{type(layer).__name__}{tuple(layer.weight.shape[::-1])}."
        )


def _matrix(layer: Any) -> tuple[int, int]:
    """The shape of the matrices a low rank approximates: a Linear's weight, or each output's
    ``(in1, in2)`` matrix of a Bilinear."""
    if isinstance(layer, require_torch().nn.Bilinear):
        return layer.in1_features, layer.in2_features
    return layer.in_features, layer.out_features


def useful_ranks(inputs: int, outputs: int) -> tuple[int, ...]:
    even = inputs * outputs / (inputs + outputs)  # the rank at which both forms have equal size
    ranks = sorted({max(1, int(even * share)) for share in RANK_SHARES})
    return tuple(r for r in ranks if r < min(inputs, outputs) and r * (inputs + outputs) < inputs * outputs)


def factored(layer: Any, rank: int) -> Any:
    torch = require_torch()
    if isinstance(layer, torch.nn.Bilinear):
        return factored_bilinear(layer, rank)
    weight = layer.weight.detach().to(torch.float64)
    u, s, vh = torch.linalg.svd(weight, full_matrices=False)
    root = s[:rank].sqrt()
    dtype = layer.weight.dtype
    first = linear_from((root[:, None] * vh[:rank]).to(dtype), None)
    second = linear_from((u[:, :rank] * root[None, :]).to(dtype), layer.bias)
    return torch.nn.Sequential(first, second)


def factored_bilinear(layer: Any, rank: int) -> Any:
    """``nn.Bilinear`` with each output's matrix ``A_k`` (``y_k = x1^T A_k x2 + b_k``) cut to
    rank ``r`` by its SVD: ``y_k = sum_j (x1 . u_kj)(x2 . v_kj) + b_k``, two Linear layers of
    ``out * r`` units each and a sum, ``out * r * (in1 + in2)`` weights for ``out * in1 * in2``."""
    torch = require_torch()
    weight = layer.weight.detach().to(torch.float64)  # (out, in1, in2)
    u, s, vh = torch.linalg.svd(weight, full_matrices=False)
    root = s[:, :rank].sqrt()
    left = (u[:, :, :rank] * root[:, None, :]).transpose(1, 2).reshape(-1, layer.in1_features)
    right = (vh[:, :rank, :] * root[:, :, None]).reshape(-1, layer.in2_features)
    dtype = layer.weight.dtype
    return _factored_bilinear_class()(linear_from(left.to(dtype), None), linear_from(right.to(dtype), None),
                                      layer.bias.detach().clone() if layer.bias is not None else None, rank)


@functools.cache
def _factored_bilinear_class() -> type:
    torch = require_torch()

    class FactoredBilinear(torch.nn.Module):
        """``sum_j left(x1)_kj * right(x2)_kj + bias_k``: a Bilinear of rank ``rank`` per output."""

        def __init__(self, left: Any, right: Any, bias: Any, rank: int) -> None:
            super().__init__()
            self.left, self.right, self.rank = left, right, rank
            self.bias = None if bias is None else torch.nn.Parameter(bias)

        def forward(self, x1, x2):
            products = self.left(x1) * self.right(x2)
            out = products.unflatten(-1, (-1, self.rank)).sum(-1)
            return out if self.bias is None else out + self.bias

        def extra_repr(self) -> str:
            return f"rank={self.rank}"

    return FactoredBilinear
