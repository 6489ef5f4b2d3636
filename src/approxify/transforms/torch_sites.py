"""Site records for a model's layers: id ``<module path>/<family>``, shown by path."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..config import Setting

from ..sites import Knob, Site


def layer_site(path: str, module: Any, family: str, knob: Knob, **facts: Any) -> Site:
    parameters = sum(p.numel() for p in module.parameters())
    return Site(
        id=f"{path}/{family}",
        family=family,
        target="torch",
        knob=knob,
        where=path,
        detail=f"{type(module).__name__}, {parameters:,} parameters",
        facts={"layer": type(module).__name__, "parameters": parameters, **facts},
    )


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
    model = program.edited()
    for site, setting in settings.items():
        if not setting.is_exact:
            change(model, site, path_of(site), setting)
    return program.with_variant(model)


def path_of(site: str) -> str:
    return site.rpartition("/")[0]
