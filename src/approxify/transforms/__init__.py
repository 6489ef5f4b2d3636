"""Transforms: one registered class per family x target (the protocol: :mod:`._base`).

Importing this package registers the built-in families; torch is imported only when a model's
transform runs, so the torch plugins cost nothing without it. A new family is a folder here with
its ``python.py`` / ``torch.py`` plugins, its setting class in ``approxify.config`` and one import
line below.
"""

from __future__ import annotations

from ._base import Transform, register, registered
from ._fits import fit_kind, load_fit
from .perforate import python as _perforate_python  # noqa: F401  (each registers itself)
from .perforate import torch as _perforate_torch  # noqa: F401
from .precision import python as _precision_python  # noqa: F401
from .precision import torch as _precision_torch  # noqa: F401
from .substitute import python as _substitute_python  # noqa: F401
from .substitute import torch as _substitute_torch  # noqa: F401

__all__ = ["Transform", "families", "fit_kind", "load_fit", "register", "registered"]


def families() -> list[str]:
    """Every registered family, in build order."""
    return list(dict.fromkeys(t.family for t in registered()))
