"""Walking a loop's own statements (not the functions, lambdas or classes defined inside it,
whose names and exits are their own)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

NESTED_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def walk_same_scope(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Nodes of ``body`` without descending into nested functions, lambdas or classes."""
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, NESTED_SCOPES):
                stack.append(child)
