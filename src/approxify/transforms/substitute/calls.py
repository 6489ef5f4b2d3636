"""Call sites a surrogate can replace, found in the source and named stably.

A call is a candidate when its callee is a user function of the program, a NumPy ufunc (``np.exp``,
``scipy.special.erf``…), an element-wise function of ``math``, an element-wise method of a
``scipy.stats`` distribution (``norm.cdf``), or a function the user gave alternatives for
(``ax.alternatives``), or any function the user names with ``calls=[...]``. Site ids are ``module.function/call:name`` (``name`` as
written, e.g. ``np.exp``), numbered ``#2``, ``#3``… in source order when a name repeats.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...markers import ALTERNATIVES, SIDE_EFFECTS
from ...targets.python import LiftedFunction, numba_dispatcher
from ..precision.constructors import resolve
from ..precision.places import scope_nodes

MATH = {getattr(math, n) for n in (
    "exp", "expm1", "log", "log1p", "log2", "log10", "sqrt", "cbrt", "pow", "hypot", "atan2",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh",
    "erf", "erfc", "gamma", "lgamma",
) if hasattr(math, n)}



@dataclass(frozen=True)
class CallSite:
    id: str
    node: ast.Call
    name: str  # the callee as written
    callee: Any  # the function object called
    kind: str  # "user" | "ufunc" | "math"


def callee_kind(obj: Any, node: ast.Call, lifted: LiftedFunction, named: tuple = ()) -> str | None:
    if isinstance(node.func, ast.Name) and node.func.id in lifted.callees:
        return "user"
    if any(obj is fn or _same_method(obj, fn) for fn in named):
        return "named"
    if getattr(obj, ALTERNATIVES, None) or getattr(obj, SIDE_EFFECTS, False):
        return "user"
    if isinstance(obj, np.ufunc) and obj.nout == 1 and obj.nin in (1, 2):
        return "ufunc"
    if _distribution_method(obj):
        return "stats"
    try:
        return "math" if obj in MATH else None
    except TypeError:  # unhashable
        return None


STATS_METHODS = {"cdf", "pdf", "sf", "ppf", "isf", "logpdf", "logcdf", "logsf"}


def _distribution_method(obj: Any) -> bool:
    """``norm.cdf`` and the like: element-wise in their arguments, and slow for their work."""
    owner = getattr(obj, "__self__", None)
    return (getattr(obj, "__name__", None) in STATS_METHODS and owner is not None
            and type(owner).__module__.startswith("scipy.stats"))


def _same_method(a: Any, b: Any) -> bool:
    """Bound methods are made afresh on each attribute access: compare what they bind."""
    return (getattr(a, "__self__", None) is not None and getattr(a, "__self__", None) is getattr(b, "__self__", 0)
            and getattr(a, "__func__", None) is getattr(b, "__func__", 1))


def call_sites(lifted: LiftedFunction, named: tuple = ()) -> list[CallSite]:
    """Candidate calls of one function, in source order (pre-order: outer calls first);
    ``named``: further functions the user named as substitutable (``calls=``)."""
    namespace = dict(lifted.func.__globals__)
    namespace.update(_closure_values(lifted))
    found = []
    for node in _calls(lifted.tree):
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            continue
        obj = resolve(node.func, namespace)
        if numba_dispatcher(obj):
            obj = obj.py_func
        kind = callee_kind(obj, node, lifted, named)
        if kind is not None:
            found.append((ast.unparse(node.func), node, obj, kind))
    counts: dict[str, int] = {}
    for name, *_ in found:
        counts[name] = counts.get(name, 0) + 1
    seen: dict[str, int] = {}
    sites = []
    for name, node, obj, kind in found:
        seen[name] = seen.get(name, 0) + 1
        suffix = f"#{seen[name]}" if counts[name] > 1 and seen[name] > 1 else ""
        sites.append(CallSite(f"{lifted.key}/call:{name}{suffix}", node, name, obj, kind))
    return sites


def _calls(tree: ast.FunctionDef) -> Iterator[ast.Call]:
    for node in scope_nodes(tree.body):
        if isinstance(node, ast.Call):
            yield node


def _closure_values(lifted: LiftedFunction) -> dict[str, Any]:
    values = {}
    for name, cell in zip(lifted.func.__code__.co_freevars, lifted.func.__closure__ or ()):
        try:
            values[name] = cell.cell_contents
        except ValueError:
            pass
    return values
