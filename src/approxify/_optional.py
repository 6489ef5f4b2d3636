"""Optional extras (torch, numba), imported only when a target needs them, with the install hint.

Base layer: any module may ask for an extra without importing the target that uses it.
"""

from __future__ import annotations

from typing import Any

from .errors import UnsupportedTarget

TORCH_HINT = "install the torch extra: pip install 'approxify[torch]' (torch==2.13.0)"
NUMBA_HINT = "install the numba extra: pip install 'approxify[numba]'"


def is_torch_module(obj: Any) -> bool:
    """Whether ``obj`` is a ``torch.nn.Module``, checked without importing torch."""
    return any(f"{c.__module__}.{c.__qualname__}" == "torch.nn.modules.module.Module"
               for c in type(obj).__mro__)


def require_torch() -> Any:
    """The torch module, or a clear error with the install hint."""
    try:
        import torch
    except ImportError:
        raise UnsupportedTarget(f"this target needs torch, which cannot be imported; {TORCH_HINT}.") from None
    return torch


def require_numba() -> Any:
    """The numba module, or a clear error with the install hint."""
    try:
        import numba
    except ImportError:
        raise UnsupportedTarget(f"this target is numba-compiled, but numba cannot be imported; {NUMBA_HINT}.") from None
    return numba
