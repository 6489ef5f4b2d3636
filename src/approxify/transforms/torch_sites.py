"""Site records for a model's layers: id ``<module path>/<family>``, shown by path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..config import Setting

from ..sites import Knob, Site
from ..targets.torch import require_torch


def layer_site(path: str, module: Any, family: str, knob: Knob, *, model: Any = None,
               **facts: Any) -> Site:
    """The site; given the ``model``, a layer inside repeated blocks gets its ``role`` (its path
    with ``*`` for the block index, and the family), which ``grouping="blocks"`` tunes as one."""
    parameters = sum(p.numel() for p in module.parameters())
    role = block_role(model, path) if model is not None else None
    if role is not None:
        facts["role"] = f"{role}/{family}"
    return Site(
        id=f"{path}/{family}",
        family=family,
        target="torch",
        knob=knob,
        where=path,
        detail=f"{type(module).__name__}, {parameters:,} parameters",
        facts={"layer": type(module).__name__, "parameters": parameters, **facts},
    )


def block_role(model: Any, path: str) -> str | None:
    """``path`` with ``*`` for the index into a ``ModuleList`` of two or more blocks of one type
    (``encoder.layer.3.output.dense`` -> ``encoder.layer.*.output.dense``); None elsewhere."""
    parts = path.split(".")
    for i in range(1, len(parts)):
        if parts[i].isdigit() and repeated_blocks(model.get_submodule(".".join(parts[:i]))):
            return ".".join([*parts[:i], "*", *parts[i + 1:]])
    return None


def repeated_blocks(module: Any) -> bool:
    """A ModuleList of two or more blocks of one type: a loop over layers."""
    nn = require_torch().nn
    return (isinstance(module, nn.ModuleList) and len(module) >= 2
            and len({type(m) for m in module}) == 1)


def replaceable(model: Any, path: str) -> bool:
    """Whether the module at ``path`` may be replaced by another module. Not so inside
    ``nn.MultiheadAttention``, which reads its projections' weights directly."""
    parent_path = path.rpartition(".")[0]
    parent = model.get_submodule(parent_path) if parent_path else model
    return type(parent).__name__ != "MultiheadAttention"


def edit_layers(program: Any, settings: Mapping[str, Setting],
                change: Callable[[Any, str, str, Any], None]) -> Any:
    """A new program whose model is a copy with ``change(model, site, path, setting)`` applied
    for every non-exact setting, in order; the program given is not touched."""
    from .torch_fused import unfuse_ancestors

    model = program.edited()
    for site, setting in settings.items():
        if not setting.is_exact:
            change(model, site, path_of(site), setting)
            unfuse_ancestors(model, path_of(site))
    return program.with_variant(model)


def path_of(site: str) -> str:
    return site.rpartition("/")[0]
