"""Grouping precision sites by data flow (HiFPTuner's insight).

Two float variables belong together when a value flows from one into the other: an assignment
reads one and defines the other, a ``for`` target takes the iterable's items, a call passes an
argument to a callee's parameter or returns a callee's result. Lowering such a group together
keeps casts from ping-ponging between float32 and float64 along the chain.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence

from ...targets.python import PythonProgram
from .places import RETURN, scope_nodes, site_id as _site, stored_names, variables


class _Union:
    def __init__(self, items: Iterable[str]) -> None:
        self.parent = {x: x for x in items}

    def find(self, x: str) -> str:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def join(self, a: str, b: str) -> None:
        if a in self.parent and b in self.parent:
            self.parent[self.find(b)] = self.find(a)


def flow_groups(program: PythonProgram, sites: Sequence[str]) -> dict[str, str]:
    """site id -> id of its group's first site (in ``sites`` order); only float sites join."""
    union = _Union(sites)
    for key, lifted in program.functions.items():
        for a, b in _edges(program, key, lifted.tree):
            union.join(a, b)
    first: dict[str, str] = {}
    for site in sites:
        first.setdefault(union.find(site), site)
    return {site: first[union.find(site)] for site in sites}


def _read(expr: ast.AST | None) -> set[str]:
    if expr is None:
        return set()
    return {n.id for n in ast.walk(expr) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _defined(target: ast.expr) -> list[str]:
    """Variables an assignment target defines or writes into (``out[i] = ...`` writes ``out``)."""
    names = stored_names(target)
    if names:
        return names
    while isinstance(target, (ast.Subscript, ast.Attribute)):
        target = target.value
    return [target.id] if isinstance(target, ast.Name) else []


def _edges(program: PythonProgram, key: str, tree: ast.FunctionDef) -> Iterable[tuple[str, str]]:
    lifted = program.functions[key]
    for node in scope_nodes(tree.body):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            reads = _read(node.value) | (_read(node.target) if isinstance(node, ast.AugAssign) else set())
            for target in targets:
                for name in _defined(target):
                    for read in reads:
                        yield _site(key, name), _site(key, read)
                    callee = _called(node.value, lifted.callees)
                    if callee is not None:
                        yield _site(key, name), _site(callee, RETURN)
        elif isinstance(node, ast.For):
            for name in stored_names(node.target):
                for read in _read(node.iter):
                    yield _site(key, name), _site(key, read)
        elif isinstance(node, ast.Return):
            for read in _read(node.value):
                yield _site(key, RETURN), _site(key, read)
            callee = _called(node.value, lifted.callees)
            if callee is not None:
                yield _site(key, RETURN), _site(callee, RETURN)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in lifted.callees:
            yield from _argument_edges(program, key, node, lifted.callees[node.func.id])


def _called(value: ast.AST | None, callees) -> str | None:
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        return callees.get(value.func.id)
    return None


def _argument_edges(program: PythonProgram, key: str, call: ast.Call, callee: str):
    params = [a.arg for a in (*program.functions[callee].tree.args.posonlyargs,
                              *program.functions[callee].tree.args.args)]
    pairs = list(zip(params, call.args)) + [(k.arg, k.value) for k in call.keywords if k.arg]
    known = set(variables(program.functions[callee].tree))
    for param, arg in pairs:
        if param in known:
            for read in _read(arg):
                yield _site(callee, param), _site(key, read)
