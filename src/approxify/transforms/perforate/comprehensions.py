"""Perforating comprehensions: each ``for`` clause of a list, set or dict comprehension or a
generator expression is a site (``comp#k``, clauses numbered in source order).

The clause's iterable is wrapped as a ``for`` loop's is (the same selectors, so a plain
``range`` becomes ``range(0, n, 2)``). A comprehension that is the argument of a sum
(``sum``, ``math.fsum``, ``np.sum``, ``np.nansum``) can be compensated: the sum is scaled by
items seen / items run, so it stays an estimate of the exact sum (and so does ``sum(...) /
len(xs)``). A mean over the comprehension (``np.mean([...])``, ``statistics.mean``) needs no
compensation: the mean of the kept items already estimates it.

The compensated form stays one expression, so evaluation order is the source's::

    (_ax_kept_c0 := _ax_Kept()).scaled(sum(f(x) for x in _ax_kept_c0.ran(select(_ax_kept_c0.seen(xs)))))
"""

from __future__ import annotations

import ast
import builtins
import math
import statistics
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ...config import Perforate
from ...errors import InvalidConfig
from ...targets.call_graph import static_value
from ...targets.python import LiftedFunction, local_names
from ...targets.python_runtime import runtime_helper
from .runtime import _ax_rescale

COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
KINDS = {ast.ListComp: "list comprehension", ast.SetComp: "set comprehension",
         ast.DictComp: "dict comprehension", ast.GeneratorExp: "generator expression"}


@dataclass(frozen=True)
class Clause:
    """A comprehension site's locator: the ``index``-th comprehension clause of a function."""

    function: str
    index: int


def clauses(tree: ast.AST) -> Iterator[tuple[ast.expr, ast.comprehension]]:
    """(comprehension, clause) pairs in source order (pre-order), behind ``comp#k`` ids."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, COMPREHENSIONS):
            for clause in child.generators:
                yield child, clause
        yield from clauses(child)


def reductions(lifted: LiftedFunction, tree: ast.AST) -> dict[int, tuple[str, ast.Call]]:
    """id of a comprehension -> ("sum" | "mean", the call) when it is the only argument of a
    reduction the function names statically (a local ``sum`` is not the builtin)."""
    local = local_names(lifted.tree)
    found: dict[int, tuple[str, ast.Call]] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords
                and isinstance(node.args[0], COMPREHENSIONS)):
            continue
        kind = _reduction_kind(static_value(node.func, lifted.func, local=local))
        if kind is not None:
            found[id(node.args[0])] = (kind, node)
    return found


def _reduction_kind(value: Any) -> str | None:
    if value is builtins.sum or value is math.fsum:
        return "sum"
    if value in (statistics.mean, statistics.fmean):
        return "mean"
    module, name = getattr(value, "__module__", None), getattr(value, "__name__", "")
    if module and module.split(".")[0] == "numpy":
        return {"sum": "sum", "nansum": "sum", "mean": "mean", "nanmean": "mean", "average": "mean"}.get(name)
    return None


def describe(lifted: LiftedFunction, comprehension: ast.expr, clause: ast.comprehension,
             reduction: str | None) -> str:
    header = f"for {ast.unparse(clause.target)} in {ast.unparse(clause.iter)}"
    if len(header) > 40:
        header = header[:37] + "..."
    inside = f" in {reduction}" if reduction else ""
    return f"{header} ({KINDS[type(comprehension)]}{inside})"


class ClauseRewriter(ast.NodeTransformer):
    """Rewrites the chosen clauses of one function's tree (already a private copy).

    ``selection`` builds the selector for an iterable (``_LoopRewriter.selector``) and
    collects the helpers it needs in ``selection.helpers``."""

    def __init__(self, lifted: LiftedFunction, tree: ast.FunctionDef, chosen: Mapping[int, Perforate],
                 selection: Any) -> None:
        self.lifted, self.selection = lifted, selection
        self.chosen = [(i, chosen[i], comp, clause) for i, (comp, clause) in enumerate(clauses(tree)) if i in chosen]
        self.sums = {key: call for key, (kind, call) in reductions(lifted, tree).items() if kind == "sum"}
        self.kept: dict[int, str] = {}  # id of a compensated sum call -> its _ax_Kept's name

    def rewrite(self, tree: ast.FunctionDef) -> ast.FunctionDef:
        for index, setting, comp, clause in self.chosen:
            site_id = f"{self.lifted.key}/comp#{index}"
            if not setting.compensate:
                clause.iter = self.selection.selector(clause.iter, setting, site_id, None)
                continue
            call = self.sums.get(id(comp))
            if call is None:
                raise _no_sum(site_id, self.lifted, comp)
            name = self.kept.setdefault(id(call), f"_ax_kept_c{index}")
            seen = ast.Call(_attr(name, "seen"), [clause.iter], [])
            clause.iter = ast.Call(_attr(name, "ran"), [self.selection.selector(seen, setting, site_id, None)], [])
            self.selection.helpers.add("_ax_Kept")
        if self.kept:
            self.visit(tree)
        return ast.fix_missing_locations(tree)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        name = self.kept.get(id(node))
        if name is None:
            return node
        made = ast.NamedExpr(ast.Name(name, ast.Store()), ast.Call(ast.Name("_ax_Kept", ast.Load()), [], []))
        return ast.copy_location(ast.Call(ast.Attribute(made, "scaled", ast.Load()), [node], []), node)


def _no_sum(site_id: str, lifted: LiftedFunction, comp: ast.expr) -> Exception:
    return InvalidConfig(
        f"{site_id}: compensate=True scales a sum, and the {KINDS[type(comp)]} at "
        f"{lifted.where(comp)} is not the argument of sum(...), math.fsum(...) or np.sum(...). "
        "Use compensate=False for this site."
    )


def _attr(name: str, attribute: str) -> ast.Attribute:
    return ast.Attribute(ast.Name(name, ast.Load()), attribute, ast.Load())


@runtime_helper(requires=("_ax_rescale",))
class _ax_Kept:
    """Counts the items a perforated comprehension saw and ran, to scale its sum by
    seen / ran (over every evaluation of the clause within one sum, for an inner clause)."""

    __slots__ = ("count_seen", "count_ran")

    def __init__(self):
        self.count_seen = 0
        self.count_ran = 0

    def seen(self, iterable):
        items = iterable if hasattr(iterable, "__len__") else list(iterable)
        self.count_seen += len(items)
        return items

    def ran(self, iterable):
        items = iterable if hasattr(iterable, "__len__") else list(iterable)
        self.count_ran += len(items)
        return items

    def scaled(self, total):
        return _ax_rescale(total, 0, self.count_seen, self.count_ran)
