"""Distillation of a model's layers: a ``Linear`` replaced by two thinner ones (low rank), and
a block replaced by a small MLP trained to mimic it (:mod:`.torch_blocks`).

``Substitute("lowrank", rank=r)`` factors the weight by a truncated SVD, ``W ~ (U_r S_r^1/2)
(S_r^1/2 V_r^T)``: a ``Linear(in, r)`` then a ``Linear(r, out)`` with the original bias. It is
offered only for ranks that make the layer smaller (``r * (in + out) < in * out``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ...config import Setting, Substitute
from ...errors import InvalidConfig
from ...sites import Knob, Site
from ...targets.torch import TorchProgram, get_module, named_leaves, require_torch, set_module
from .._base import Transform, register
from ..torch_sites import edit_layers, layer_site, replaceable
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
        for path, module in named_leaves(program.model):
            if isinstance(module, nn.Linear) and replaceable(program.model, path):
                ranks = useful_ranks(module.in_features, module.out_features)
                if ranks:
                    choices = tuple(Substitute("lowrank", rank=r) for r in ranks)
                    sites.append(layer_site(path, module, "substitute", Knob(Substitute(), choices),
                                            model=program.model))
        return sites

    def check(self, program: TorchProgram, site: Site, setting: Setting) -> None:
        assert isinstance(setting, Substitute)
        if setting.kind != "mlp" and not setting.is_exact:
            check_factorable(get_module(program.model, site.locator.path), site.id, setting)

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
    if setting.kind != "lowrank" or not isinstance(layer, require_torch().nn.Linear):
        raise InvalidConfig(
            f"config[{site!r}]: a model's layer is substituted with Substitute('lowrank', "
            f"rank=...) on a Linear layer, not {setting.label()!r} on {type(layer).__name__}."
        )
    limit = min(layer.in_features, layer.out_features)
    if not 1 <= setting.rank < limit:
        raise InvalidConfig(
            f"config[{site!r}]: rank {setting.rank} must lie in 1..{limit - 1} for "
            f"Linear({layer.in_features}, {layer.out_features})."
        )


def useful_ranks(inputs: int, outputs: int) -> tuple[int, ...]:
    even = inputs * outputs / (inputs + outputs)  # the rank at which both forms have equal size
    ranks = sorted({max(1, int(even * share)) for share in RANK_SHARES})
    return tuple(r for r in ranks if r < min(inputs, outputs) and r * (inputs + outputs) < inputs * outputs)


def factored(layer: Any, rank: int) -> Any:
    torch = require_torch()
    weight = layer.weight.detach().to(torch.float64)
    u, s, vh = torch.linalg.svd(weight, full_matrices=False)
    root = s[:rank].sqrt()
    first = torch.nn.Linear(layer.in_features, rank, bias=False)
    second = torch.nn.Linear(rank, layer.out_features, bias=layer.bias is not None)
    with torch.no_grad():
        first.weight.copy_((root[:, None] * vh[:rank]).to(layer.weight.dtype))
        second.weight.copy_((u[:, :rank] * root[None, :]).to(layer.weight.dtype))
        if layer.bias is not None:
            second.bias.copy_(layer.bias)
    return torch.nn.Sequential(first, second)
