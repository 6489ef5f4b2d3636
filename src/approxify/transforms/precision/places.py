"""Where a variable's value is defined inside one function, and a rewriter that wraps it there.

Both the profiler (which records each value) and the lowering (which casts it) act at the same
places: parameters on entry, assignments (``x = ...``, ``x += ...``, ``x: T = ...``, unpacking),
``for`` targets, and returned values. Nested functions, lambdas and classes are other scopes and
are left alone.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator

RETURN = "return"  # the pseudo-variable for a function's returned value

Wrap = Callable[[str, ast.expr], ast.expr]  # (variable, value expression) -> new expression
Construct = Callable[[str, ast.expr], "ast.expr | None"]  # a constructor given a dtype, or None


def site_id(key: str, name: str) -> str:
    """``fn.key/var:name``, or ``fn.key/return`` for the returned value."""
    return f"{key}/{RETURN}" if name == RETURN else f"{key}/var:{name}"


def scope_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """Nodes of ``body`` without descending into nested functions, lambdas or classes."""
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        yield node
        children = [c for c in ast.iter_child_nodes(node)
                    if not isinstance(c, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef))]
        stack.extend(reversed(children))


def stored_names(target: ast.expr) -> list[str]:
    """Names a plain assignment target binds (``a``, ``a, (b, *c)``); subscripts bind none."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [n for elt in target.elts for n in stored_names(elt)]
    if isinstance(target, ast.Starred):
        return stored_names(target.value)
    return []


def variables(tree: ast.FunctionDef) -> list[str]:
    """Every variable a precision site can name, in source order; ``return`` last if any."""
    declared = {n for node in scope_nodes(tree.body) if isinstance(node, (ast.Global, ast.Nonlocal))
                for n in node.names}
    names = [a.arg for a in _parameters(tree)]
    has_return = False
    for node in scope_nodes(tree.body):
        if isinstance(node, ast.Assign):
            names += [n for t in node.targets for n in stored_names(t)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            names += stored_names(node.target)
        elif isinstance(node, ast.For):
            names += stored_names(node.target)
        elif isinstance(node, ast.Return) and node.value is not None:
            has_return = True
    unique = [n for i, n in enumerate(names) if n not in names[:i] and n not in declared]
    return unique + ([RETURN] if has_return else [])


MUTATING_METHODS = {"fill", "sort", "put", "itemset", "resize", "partition", "setfield", "byteswap"}


def written_through(tree: ast.FunctionDef, name: str) -> bool:
    """Whether the function writes into the array ``name`` holds: ``name[i] = …``, ``name += …``
    (in place for arrays), ``out=name``, or a mutating method such as ``name.fill(…)``."""
    for node in scope_nodes(tree.body):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(node, ast.AugAssign) and isinstance(target, ast.Name) and target.id == name:
                    return True
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Subscript) and isinstance(sub.value, ast.Name) and sub.value.id == name:
                        return True
        elif isinstance(node, ast.Call):
            if any(k.arg == "out" and isinstance(k.value, ast.Name) and k.value.id == name
                   for k in node.keywords):
                return True
            func = node.func
            if (isinstance(func, ast.Attribute) and func.attr in MUTATING_METHODS
                    and isinstance(func.value, ast.Name) and func.value.id == name):
                return True
    return False


def _parameters(tree: ast.FunctionDef) -> list[ast.arg]:
    """Named parameters (``*args`` and ``**kwargs`` hold a tuple and a dict, never float data)."""
    args = tree.args
    return [*args.posonlyargs, *args.args, *args.kwonlyargs]


def _rebind(name: str, wrap: Wrap, node: ast.AST) -> ast.stmt:
    """``name = wrap(name)``, placed at ``node``."""
    value = wrap(name, ast.Name(id=name, ctx=ast.Load()))
    return ast.copy_location(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=value), node)


def wrap_definitions(tree: ast.FunctionDef, chosen: set[str], wrap: Wrap,
                     construct: Construct | None = None) -> ast.FunctionDef:
    """Rewrite ``tree`` in place so every definition of a variable in ``chosen`` goes through
    ``wrap``; ``construct`` may instead rewrite a constructor call (``np.zeros(n)``) directly."""
    _Wrapper(chosen, wrap, construct).visit_body(tree)
    entry = [_rebind(a.arg, wrap, tree) for a in _parameters(tree) if a.arg in chosen]
    if entry:
        docstring = 1 if ast.get_docstring(tree, clean=False) is not None else 0
        tree.body[docstring:docstring] = entry
    return tree


class _Wrapper(ast.NodeTransformer):
    def __init__(self, chosen: set[str], wrap: Wrap, construct: Construct | None) -> None:
        self.chosen = chosen
        self.wrap = wrap
        self.construct = construct

    def visit_body(self, tree: ast.FunctionDef) -> None:
        tree.body = self._statements(tree.body)

    def _statements(self, body: list[ast.stmt]) -> list[ast.stmt]:
        out: list[ast.stmt] = []
        for stmt in body:
            result = self.visit(stmt)
            out.extend(result if isinstance(result, list) else [result])
        return out

    def generic_visit(self, node: ast.AST) -> ast.AST:
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                setattr(node, field, self._statements(block))
        for handler in getattr(node, "handlers", []):
            handler.body = self._statements(handler.body)
        for case in getattr(node, "cases", []):
            case.body = self._statements(case.body)
        return node

    # other scopes
    def visit_FunctionDef(self, node):  # noqa: N802
        return node

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef  # noqa: N815

    def visit_Assign(self, node: ast.Assign):  # noqa: N802
        names = [n for t in node.targets for n in stored_names(t) if n in self.chosen]
        if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name) and names:
            node.value = self._value(names[0], node.value)
            return node
        return [node, *(_rebind(n, self.wrap, node) for n in dict.fromkeys(names))]

    def visit_AnnAssign(self, node: ast.AnnAssign):  # noqa: N802
        if node.value is not None and isinstance(node.target, ast.Name) and node.target.id in self.chosen:
            node.value = self._value(node.target.id, node.value)
        return node

    def visit_AugAssign(self, node: ast.AugAssign):  # noqa: N802
        if isinstance(node.target, ast.Name) and node.target.id in self.chosen:
            return [node, _rebind(node.target.id, self.wrap, node)]
        return node

    def visit_For(self, node: ast.For):  # noqa: N802
        self.generic_visit(node)
        names = [n for n in stored_names(node.target) if n in self.chosen]
        node.body[0:0] = [_rebind(n, self.wrap, node) for n in names]
        return node

    visit_AsyncFor = visit_For  # noqa: N815

    def visit_Return(self, node: ast.Return):  # noqa: N802
        if node.value is not None and RETURN in self.chosen:
            node.value = self.wrap(RETURN, node.value)
        return node

    def _value(self, name: str, value: ast.expr) -> ast.expr:
        if self.construct is not None:
            built = self.construct(name, value)
            if built is not None:
                return built
        return self.wrap(name, value)
