"""Float literals in compiled code: ``0.25`` in ``out[i] = u[i] + 0.25 * d`` is a float64 to numba.

numba types a float literal as float64, and float64 times float32 is float64, so a loop whose
arrays were lowered would still compute in float64 (and pay for conversions). In numba-compiled
functions, the literals of an expression that defines a lowered variable, is stored into a
lowered array or is a lowered returned value become ``_ax_float32(0.25)``: a float32 constant.
Interpreted NumPy code needs none of this for floats: there a Python float takes the array's
dtype. It does for integers: a Python float meeting an int16 array gives float64 (NEP 50), so in
an expression that defines an integer-lowered variable, ``2.0 * p`` becomes ``2 * p``
(:func:`integer_literals`; only literals that are integers within the variable's range).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from ...config import INT_RANGES
from . import runtime
from .places import RETURN, scope_nodes

Replace = Callable[[ast.Constant], "ast.expr | None"]  # a float literal's replacement, or None


def lower_literals(tree: ast.FunctionDef, lowered: dict[str, str]) -> set[str]:
    """Rewrite, in place, the float literals of expressions that end in a lowered variable;
    returns the dtype helper names used."""
    used: set[str] = set()

    def typed(dtype: str) -> Replace:
        name = runtime.DTYPE_NAMES[dtype]
        used.add(name)
        return lambda node: ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[node], keywords=[])

    _rewrite(tree, lowered, typed)
    return used


def integer_literals(tree: ast.FunctionDef, lowered: dict[str, str]) -> None:
    """Rewrite, in place, integral float literals (``2.0``) as ints (``2``) in the expressions
    that define an integer-lowered variable (``lowered``: name -> int16/int32)."""
    def integer(dtype: str) -> Replace:
        low, high = INT_RANGES[dtype]

        def replace(node: ast.Constant) -> ast.expr | None:
            fits = node.value.is_integer() and low <= node.value <= high
            return ast.Constant(int(node.value)) if fits else None

        return replace

    _rewrite(tree, lowered, integer)


def _rewrite(tree: ast.FunctionDef, lowered: dict[str, str], replacement: Callable[[str], Replace]) -> None:
    for node in list(scope_nodes(tree.body)):
        dtype = _lowered_dtype(node, lowered)
        if dtype is not None and getattr(node, "value", None) is not None:
            node.value = _Literals(replacement(dtype)).visit(node.value)


def _lowered_dtype(node: ast.AST, lowered: dict[str, str]) -> str | None:
    if isinstance(node, ast.Return):
        return lowered.get(RETURN)
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
        targets = [node.target]
    else:
        return None
    for target in targets:
        while isinstance(target, ast.Subscript):
            target = target.value
        if isinstance(target, ast.Name) and target.id in lowered:
            return lowered[target.id]
    return None


class _Literals(ast.NodeTransformer):
    def __init__(self, replace: Replace) -> None:
        self.replace = replace

    def visit_Constant(self, node: ast.Constant) -> ast.AST:  # noqa: N802
        if type(node.value) is not float:
            return node
        new = self.replace(node)
        return node if new is None else ast.copy_location(new, node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:  # noqa: N802
        node.value = self.visit(node.value)
        return node  # an index is never a float literal worth lowering

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:  # noqa: N802
        return node
