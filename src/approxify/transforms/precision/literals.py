"""Float literals in compiled code: ``0.25`` in ``out[i] = u[i] + 0.25 * d`` is a float64 to numba.

numba types a float literal as float64, and float64 times float32 is float64, so a loop whose
arrays were lowered would still compute in float64 (and pay for conversions). In numba-compiled
functions, the literals of an expression that defines a lowered variable, is stored into a
lowered array or is a lowered returned value become ``_ax_float32(0.25)``: a float32 constant.
Interpreted NumPy code needs none of this: there a Python float takes the array's dtype.
"""

from __future__ import annotations

import ast

from . import runtime
from .places import RETURN, scope_nodes


def lower_literals(tree: ast.FunctionDef, lowered: dict[str, str]) -> set[str]:
    """Rewrite, in place, the float literals of expressions that end in a lowered variable;
    returns the dtype helper names used."""
    used: set[str] = set()
    for node in list(scope_nodes(tree.body)):
        dtype = _lowered_dtype(node, lowered)
        if dtype is None or getattr(node, "value", None) is None:
            continue
        name = runtime.DTYPE_NAMES[dtype]
        node.value = _Literals(name).visit(node.value)
        used.add(name)
    return used


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
    def __init__(self, dtype_name: str) -> None:
        self.dtype_name = dtype_name

    def visit_Constant(self, node: ast.Constant) -> ast.AST:  # noqa: N802
        if type(node.value) is not float:
            return node
        call = ast.Call(func=ast.Name(id=self.dtype_name, ctx=ast.Load()), args=[node], keywords=[])
        return ast.copy_location(call, node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:  # noqa: N802
        node.value = self.visit(node.value)
        return node  # an index is never a float literal worth lowering

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:  # noqa: N802
        return node
