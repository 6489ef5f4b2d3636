"""NumPy array constructors that can build lowered arrays directly (``np.zeros(n, dtype=...)``).

A constructor is rewritten only when its result is float64 whatever its arguments: the
default-float constructors without a dtype, or any constructor given ``dtype=`` float64
explicitly. ``np.array(xs)`` or ``np.zeros_like(a)`` keep their inferred dtype and get a cast
instead, so integer data stays integer.
"""

from __future__ import annotations

import ast
import builtins
from typing import Any

import numpy as np

# constructor -> how many positional arguments it may have before one of them is the dtype
DEFAULT_FLOAT = {np.zeros: 1, np.ones: 1, np.empty: 1, np.linspace: 5, np.eye: 3, np.identity: 1}
TAKES_DTYPE = {
    *DEFAULT_FLOAT, np.array, np.asarray, np.ascontiguousarray, np.full, np.arange,
    np.zeros_like, np.ones_like, np.empty_like, np.full_like,
}
NUMBA_SAFE = {np.zeros, np.ones, np.empty}  # numba accepts dtype= for these (not linspace, …)


def resolve(expr: ast.expr, namespace: dict[str, Any]) -> Any:
    """The object a name or dotted name refers to in ``namespace`` (or builtins); None if unknown."""
    if isinstance(expr, ast.Name):
        if expr.id in namespace:
            return namespace[expr.id]
        return getattr(builtins, expr.id, None)
    if isinstance(expr, ast.Attribute):
        base = resolve(expr.value, namespace)
        return getattr(base, expr.attr, None) if base is not None else None
    return None


def _is_float64(expr: ast.expr, namespace: dict[str, Any]) -> bool:
    value = expr.value if isinstance(expr, ast.Constant) else resolve(expr, namespace)
    try:
        return value is not None and np.dtype(value) == np.float64
    except TypeError:
        return False


def with_dtype(call: ast.expr, dtype_name: str, namespace: dict[str, Any], *, jitted: bool) -> ast.expr | None:
    """``call`` rebuilt to make its array in the dtype named ``dtype_name``; None when it cannot be."""
    if not isinstance(call, ast.Call):
        return None
    func = resolve(call.func, namespace)
    try:
        known = func in TAKES_DTYPE
    except TypeError:  # unhashable callee
        return None
    if not known or (jitted and func not in NUMBA_SAFE):
        return None
    if any(k.arg is None for k in call.keywords) or any(isinstance(a, ast.Starred) for a in call.args):
        return None  # **kwargs / *args: the dtype might be in there
    given = [k for k in call.keywords if k.arg == "dtype"]
    if given:
        if not _is_float64(given[0].value, namespace):
            return None
    elif func not in DEFAULT_FLOAT or len(call.args) > DEFAULT_FLOAT[func]:
        return None
    if func is np.linspace and any(k.arg == "retstep" for k in call.keywords):
        return None
    keywords = [k for k in call.keywords if k.arg != "dtype"]
    keywords.append(ast.keyword(arg="dtype", value=ast.Name(id=dtype_name, ctx=ast.Load())))
    return ast.copy_location(ast.Call(func=call.func, args=call.args, keywords=keywords), call)
