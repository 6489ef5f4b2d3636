"""Site records for a model's layers: id ``<module path>/<family>``, shown by path."""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from ..config import Setting
from ..errors import InvalidConfig
from ..sites import Knob, Site
from ..targets.torch import Layer, TorchProgram, require_torch
from ..targets.torch_fused import unfuse_ancestors
from ..targets.torch_layers import make_editable

NOT_RUN = "never ran on the example inputs"


def layer_site(path: str, module: Any, family: str, knob: Knob, *, model: Any = None,
               layer: str | None = None, **facts: Any) -> Site:
    """The site; given the ``model``, a layer inside repeated blocks gets its ``role`` (its path
    with ``*`` for the block index, and the family), which ``grouping="blocks"`` tunes as one.
    ``layer`` names what it is, when not its class (an attention's projection)."""
    parameters = sum(p.numel() for p in module.parameters())
    role = block_role(model, path) if model is not None else None
    if role is not None:
        facts["role"] = f"{role}/{family}"
    layer = layer or type(module).__name__
    return Site(
        id=f"{path}/{family}",
        family=family,
        target="torch",
        knob=knob,
        where=path,
        detail=f"{layer}, {parameters:,} parameters",
        facts={"layer": layer, "parameters": parameters, **facts},
        locator=Layer(path),
    )


def mark_unrun(program: TorchProgram, sites: list[Site]) -> list[Site]:
    """``sites`` with those whose layer never ran on the example inputs (when they ran) left
    without choices, saying so: a change to code the inputs never reach changes nothing the
    tuner can measure, and is never chosen. Such a layer leaves its role, so the same layer of
    the blocks that ran is still tuned as one."""
    if program.ran is None:
        return sites
    marked = []
    for site in sites:
        if site.locator.path in program.ran:
            marked.append(site)
            continue
        facts = {k: v for k, v in site.facts.items() if k != "role"}
        marked.append(replace(site, knob=replace(site.knob, choices=()), detail=f"{site.detail}: {NOT_RUN}",
                              facts={**facts, "ran": False, "reason": NOT_RUN}))
    return marked


def check_ran(program: TorchProgram, site: Site, setting: Setting) -> None:
    """A setting that changes a layer the example inputs never ran is refused."""
    if not setting.is_exact and program.ran is not None and site.locator.path not in program.ran:
        raise InvalidConfig(
            f"config[{site.id!r}]: {site.locator.path} {NOT_RUN} (the model's forward never "
            "called it), so nothing measured could show what changing it costs; leave it "
            "exact, or give example inputs that run it."
        )


def block_role(model: Any, path: str) -> str | None:
    """``path`` with ``*`` for the index into a ``ModuleList`` of two or more blocks of one type
    (``encoder.layer.3.output.dense`` -> ``encoder.layer.*.output.dense``); None elsewhere."""
    parts = path.split(".")
    for i in range(1, len(parts)):
        if parts[i].isdigit() and repeated_blocks(model.get_submodule(".".join(parts[:i]))):
            return ".".join([*parts[:i], "*", *parts[i + 1:]])
    return None


@functools.cache
def kept_blocks_class() -> type:
    nn = require_torch().nn

    class KeptBlocks(nn.ModuleList):
        """The blocks a perforation kept, under their original indices (``layers.3`` stays
        ``layers.3``), so a config's settings and saved weights name the same block after the
        drop; iteration, ``len`` and indexing go by position, as over any ModuleList."""

        def __getitem__(self, idx):
            blocks = list(self._modules.values())
            return nn.ModuleList(blocks[idx]) if isinstance(idx, slice) else blocks[idx]

        def __setitem__(self, idx, module) -> None:
            setattr(self, list(self._modules)[idx], module)

    return KeptBlocks


def kept_blocks(blocks: Any, kept: list[int]) -> Any:
    """``blocks`` (a ModuleList) reduced to the positions ``kept``, each under its own name."""
    names = list(blocks._modules)
    out = kept_blocks_class()()
    for i in kept:
        out.add_module(names[i], blocks[i])
    return out


def in_dropped_block(model: Any, path: str) -> bool:
    """Whether the layer at ``path`` (named in the original model) lies in a dropped block."""
    parts = path.split(".")
    module = model
    for part in parts:
        if isinstance(module, kept_blocks_class()) and part not in module._modules:
            return True
        module = getattr(module, part, None)
        if module is None:
            return False
    return False


def repeated_blocks(module: Any) -> bool:
    """A ModuleList of two or more blocks of one type: a loop over layers."""
    nn = require_torch().nn
    return (isinstance(module, nn.ModuleList) and len(module) >= 2
            and len({type(m) for m in module}) == 1)


def edit_layers(program: Any, settings: Mapping[Site, Setting],
                change: Callable[[Any, str, str, Any], None]) -> Any:
    """A new program whose model is a copy with ``change(model, site id, path, setting)``
    applied for every non-exact setting, in order; the program given is not touched."""
    model = program.edited()
    for site, setting in settings.items():
        path = site.locator.path
        # a layer of a dropped block is gone, and its setting with it, as a perforated loop's
        # skipped iterations take their approximations along
        if not setting.is_exact and not in_dropped_block(model, path):
            make_editable(model, path)  # a Conv1D as its Linear, an attention's projections as modules
            _require_present(model, site.id, path)
            _untie(model, path)
            change(model, site.id, path, setting)
            unfuse_ancestors(model, path)
    return program.with_variant(model)


def _untie(model: Any, path: str) -> None:
    """Give the layer at ``path`` its own copy of each parameter it shares with another layer
    (GPT-2's lm_head and its embedding): a change to it must not reach the other."""
    nn = require_torch().nn
    uses = collections.Counter(id(p) for _, p in model.named_parameters(remove_duplicate=False))
    for module in model.get_submodule(path).modules():
        for name, parameter in list(module.named_parameters(recurse=False)):
            if uses[id(parameter)] > 1:
                setattr(module, name, nn.Parameter(parameter.detach().clone(), requires_grad=parameter.requires_grad))


def _require_present(model: Any, site: str, path: str) -> None:
    """A layer a setting of the same config replaced along with its block (a block's
    surrogate) cannot take another: the config is refused, which tuning measures as a failure."""
    try:
        model.get_submodule(path)
    except AttributeError:
        raise InvalidConfig(
            f"config[{site!r}]: {path} is no longer in the model: another setting of the same "
            "config replaced a module that holds it (a block's surrogate); set the block or the "
            "layers inside it, not both."
        ) from None
