"""Site records for a model's layers: id ``<module path>/<family>``, shown by path."""

from __future__ import annotations

from typing import Any

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


def path_of(site: str) -> str:
    return site.rpartition("/")[0]
