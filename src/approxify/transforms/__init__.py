"""Transforms: one registered class per family × target.

Who calls what, when: ``approxify.sites`` / ``apply`` / ``approximate`` lift the user's object into
a program, call ``discover(program)`` on every transform registered for that target to list the
sites (read-only; sites found by running the program need ``observe`` first), then
``apply(program, settings)`` once per family with the settings of that
family's sites; ``apply`` returns a *new* program and never edits the one it was given.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Protocol

from ..config import Setting
from ..sites import Site


class Transform(Protocol):
    family: ClassVar[str]
    target: ClassVar[str]

    def discover(self, program: Any) -> list[Site]:
        """Every site of this family in ``program``; must not change it."""

    def apply(self, program: Any, settings: Mapping[str, Setting]) -> Any:
        """A new program with ``settings`` (site id -> setting of this family) applied."""

    # Families whose sites are found by running the program also have
    # ``observe(program, examples, *, name) -> data``, kept as ``program.observed(family)``, and
    # ``resolve(program, site_id) -> Site | None``, which checks a site named in a config against
    # the program alone, so a saved config can be applied without running it again.


_REGISTRY: dict[tuple[str, str], Transform] = {}


def register(cls: type) -> type:
    """Class decorator: make one instance of a transform available to the API."""
    _REGISTRY[(cls.family, cls.target)] = cls()
    return cls


# the order families are applied in, as a compression pipeline does: remove (prune, perforate),
# then replace (factor, substitute), then lower the precision of what is left
APPLY_ORDER = ("perforate", "substitute", "precision")


def transforms_for(target: str) -> list[Transform]:
    _load_builtin()
    if target == "torch":
        _load_torch()  # only when a model is given: torch is an optional extra
    chosen = [t for (family, tgt), t in _REGISTRY.items() if tgt == target]
    return sorted(chosen, key=lambda t: APPLY_ORDER.index(t.family))


def _load_builtin() -> None:
    from .perforate import python as _perforate_python  # noqa: F401  (registers itself)
    from .precision import python as _precision_python  # noqa: F401
    from .substitute import python as _substitute_python  # noqa: F401


def _load_torch() -> None:
    from .perforate import torch as _perforate_torch  # noqa: F401  (registers itself)
    from .precision import torch as _precision_torch  # noqa: F401
    from .substitute import torch as _substitute_torch  # noqa: F401
