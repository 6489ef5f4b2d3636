"""Integer lowering: a float array whose values are all integers (an 8-bit image stored as
float64) held as int16 or int32, where NumPy's integer kernels make it pay.

Which variables: arrays of interpreted code that the profile saw holding only integral float
values within the type's range, that are no returned value and that are never written through
(the profile sees a variable where it is defined, not what later stores put in it). The rewrite
is the NumPy a person would write: ``p = np.pad(...).astype(np.int16)`` at the definition, and
``2 * p`` for ``2.0 * p`` in the expressions defining an integer variable, which would otherwise
compute in float64 (:func:`.literals.integer_literals`). Products may overflow and wrap
(int16 ``gx * gx``); that is why int32 is offered too and why the measured loss decides.
A function holding an integer variable keeps its result float (:func:`float_returns`).
"""

from __future__ import annotations

import ast
from typing import Any

import numpy as np

from ...config import FLOAT_BITS, INT_RANGES
from ...targets.python import LiftedFunction
from . import runtime
from .constructors import resolve
from .places import RETURN, scope_nodes, written_through

INT_DTYPES = ("int32", "int16")  # wider first: the one that cannot overflow on sobel's products
FLOAT_HELPER = "_ax_float_result"


def integer_choices(lifted: LiftedFunction, name: str, widest: str,
                    integral: tuple[float, float] | None) -> tuple[str, ...]:
    """The integer types offered to variable ``name``, whose float values (``widest`` the widest
    dtype) spanned ``integral`` (None: not all integral, or not all arrays). float16 data is
    already as narrow as approxify goes, and holds integers exactly only up to 2048: none."""
    if integral is None or lifted.jitted or name == RETURN or written_through(lifted.tree, name) \
            or FLOAT_BITS.get(widest, 64) <= 16:
        return ()
    low, high = integral
    return tuple(d for d in INT_DTYPES if INT_RANGES[d][0] <= low and high <= INT_RANGES[d][1]
                 and not _overflows(lifted.tree, name, integral, INT_RANGES[d]))


def _overflows(tree: ast.FunctionDef, name: str, span: tuple[float, float], limits: tuple[int, int]) -> bool:
    """Whether an expression of ``name`` alone (and numbers) would leave ``limits`` when computed
    in that type: sobel's ``gx * gx`` reaches 1e6, beyond int16, though ``gx`` itself fits. Its
    interval is worked out from the range the profile saw; expressions mixing other variables
    are left to the measurement (a wrapped result has a large loss)."""
    for node in scope_nodes(tree.body):
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            interval = _interval(node, name, span)
            if interval is not None and _reads(node, name) and not limits[0] <= interval[0] <= interval[1] <= limits[1]:
                return True
    return False


def _reads(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _interval(node: ast.AST, name: str, span: tuple[float, float]) -> tuple[float, float] | None:
    """The values ``node`` can take when ``name`` (or a slice of it) lies in ``span``; None for
    anything else than ``name``, numbers, ``+``, ``-`` and ``*``."""
    if isinstance(node, ast.Name) and node.id == name:
        return span
    if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == name:
        return span  # a slice holds values of the array
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return (node.value, node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _interval(node.operand, name, span)
        return None if inner is None else (-inner[1], -inner[0])
    if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
        left, right = _interval(node.left, name, span), _interval(node.right, name, span)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return (left[0] + right[0], left[1] + right[1])
        if isinstance(node.op, ast.Sub):
            return (left[0] - right[1], left[1] - right[0])
        products = [a * b for a in left for b in right]
        return (min(products), max(products))
    return None


def cast(value: ast.expr, dtype: str, alias: str | None) -> tuple[ast.expr, str | None]:
    """``value.astype(np.int16)`` and the runtime constant it needs (None with an alias)."""
    constant = None if alias is not None else runtime.INT_DTYPE_NAMES[dtype]
    name = ast.Attribute(value=ast.Name(id=alias, ctx=ast.Load()), attr=dtype, ctx=ast.Load()) \
        if alias is not None else ast.Name(id=constant, ctx=ast.Load())
    method = ast.Attribute(value=value, attr="astype", ctx=ast.Load())
    return ast.Call(func=method, args=[name], keywords=[]), constant


def float_returns(tree: ast.FunctionDef, namespace: dict[str, Any]) -> bool:
    """Wrap, in place, each returned value that could be an integer in ``_ax_float_result``;
    a division or a NumPy function giving floats from integers (``np.sqrt``) needs none, so the
    common kernel reads as written. Returns whether any was wrapped."""
    wrapped = False
    for node in scope_nodes(tree.body):
        if isinstance(node, ast.Return) and node.value is not None and not _float_valued(node.value, namespace):
            node.value = ast.Call(func=ast.Name(id=FLOAT_HELPER, ctx=ast.Load()), args=[node.value], keywords=[])
            wrapped = True
    return wrapped


FLOAT_REDUCTIONS = {np.mean, np.average, np.std, np.var}


def _float_valued(expr: ast.expr, namespace: dict[str, Any]) -> bool:
    """Whether ``expr`` is float whatever integers it reads: a true division, or a call of a
    NumPy ufunc that maps int16 and int32 inputs to floats, or of a float reduction."""
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Div):
        return True
    if not isinstance(expr, ast.Call):
        return False
    func = resolve(expr.func, namespace)
    if isinstance(func, np.ufunc):
        try:
            return all(np.asarray(func(*[np.ones(1, dtype)] * func.nin)).dtype.kind == "f"
                       for dtype in INT_DTYPES)
        except TypeError:
            return False
    try:
        return func in FLOAT_REDUCTIONS
    except TypeError:  # unhashable callee
        return False
