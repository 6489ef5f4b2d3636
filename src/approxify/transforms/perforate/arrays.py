"""Perforating reductions over arrays: ``np.sum``, ``np.mean``, ``np.std``/``np.var`` (and
their ``nan`` forms), the ``x.sum()``/``x.mean()``/``x.std()``/``x.var()`` methods, ``np.dot``
and ``@`` are sites (``reduce#k``, numbered in source order) where a run on example inputs shows
them reducing a long axis of a float array.

The reduced axis is sampled, the array analogue of a perforated loop: ``modulo`` keeps every
k-th element (a strided view, no copy), ``truncate`` the first part, ``random`` a seeded subset
drawn once per site and length. A sum (``np.sum``, ``np.dot``, ``@``) is compensated, scaled by
elements seen / elements kept, so it stays an unbiased estimate; a mean, a standard deviation or
a variance needs no scaling. What a variant runs is what one writes by hand::

    np.sum(x[::2]) * (x.shape[0] / x[::2].shape[0])
    a[..., ::2] @ b[::2] * (a.shape[-1] / a[..., ::2].shape[-1])   # b 1-D or 2-D: its rows
"""

from __future__ import annotations

import ast
import copy
import functools
import math
import types
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...config import Perforate
from ...targets.call_graph import static_value
from ...targets.python import LiftedFunction, PythonProgram, local_names
from ...targets.python_runtime import runtime_helper
from .probing import run_probed

MIN_LENGTH = 64  # shorter axes are not worth sampling (a view costs about what 64 adds do)
SUMS = {"sum", "nansum", "dot"}
SCALE_FREE = {"mean", "nanmean", "std", "var", "nanstd", "nanvar"}
METHODS = {"sum", "mean", "std", "var"}
SKIPPED_KEYWORDS = {"out", "where", "initial"}  # a reduction with these is left alone
_RECORDING: list[Observed] = []  # what the run under way records into


@dataclass(frozen=True)
class Reduction:
    """A candidate reduction found in the source: what it computes and over which operands."""

    function: str
    index: int
    operation: str  # "sum", "mean", ..., "dot", "matmul"
    written: str  # the call as written, for display
    axis: int | None  # the reduced axis of a sum/mean/std/var (None: all, sampled along axis 0)
    method: bool = False  # x.sum() rather than np.sum(x)

    @property
    def sums(self) -> bool:
        return self.operation in SUMS or self.operation == "matmul"

    @property
    def contracts(self) -> bool:
        return self.operation in ("dot", "matmul")


@dataclass
class Observed:
    """What the example inputs' run saw at each candidate: (function, index) -> the shortest
    reduced length over the runs, or None when an operand was not a float array."""

    lengths: dict[tuple[str, int], int | None] = field(default_factory=dict)

    def see(self, function: str, index: int, length: int | None) -> None:
        key = (function, index)
        if key in self.lengths:
            earlier = self.lengths[key]
            length = None if earlier is None or length is None else min(earlier, length)
        self.lengths[key] = length


def candidates(lifted: LiftedFunction, tree: ast.AST | None = None) -> Iterator[tuple[ast.expr, Reduction]]:
    """(node, reduction) for every candidate in ``tree`` (``lifted``'s by default), in source
    order; the same numbering whatever the tree's copy."""
    tree = tree if tree is not None else lifted.tree
    local = local_names(lifted.tree)
    index = 0
    for node in preorder(tree):
        found = _candidate(node, lifted, local)
        if found is not None:
            operation, axis, method = found
            yield node, Reduction(lifted.key, index, operation, written(node), axis, method)
            index += 1


def preorder(node: ast.AST) -> Iterator[ast.AST]:
    """Nodes below ``node`` in source order (pre-order): the numbering behind site ids."""
    for child in ast.iter_child_nodes(node):
        yield child
        yield from preorder(child)


def _candidate(node: ast.AST, lifted: LiftedFunction, local: set[str]) -> tuple[str, int | None, bool] | None:
    """(operation, axis, whether a method) when ``node`` is a candidate reduction."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult):
        return "matmul", None, False
    if (not isinstance(node, ast.Call) or any(k.arg in SKIPPED_KEYWORDS or k.arg is None for k in node.keywords)
            or any(isinstance(a, ast.Starred) for a in node.args)):
        return None
    value = static_value(node.func, lifted.func, local=local)
    name = getattr(value, "__name__", None)
    if (getattr(value, "__module__", "") or "").split(".")[0] == "numpy" and not isinstance(value, type):
        if name == "dot" and len(node.args) == 2 and not node.keywords:
            return "dot", None, False
        if name in (SUMS - {"dot"}) | SCALE_FREE and node.args:
            axis = _axis(node, positional=1)
            return None if axis is _INVALID else (name, axis, False)
        return None
    if isinstance(node.func, ast.Attribute) and node.func.attr in METHODS:
        receiver = static_value(node.func.value, lifted.func, local=local)
        if isinstance(receiver, types.ModuleType):
            return None  # math.sum, statistics.mean...: not a method of an array
        axis = _axis(node, positional=0)
        return None if axis is _INVALID else (node.func.attr, axis, True)
    return None


_INVALID = object()


def _axis(call: ast.Call, *, positional: int) -> Any:
    """The ``axis`` a reduction call gives as a constant int (None when absent or None);
    _INVALID for a computed axis, a tuple of axes or more arguments by position."""
    given = [k.value for k in call.keywords if k.arg == "axis"]
    if len(call.args) > positional + 1:
        return _INVALID  # dtype, out... given by position
    if len(call.args) > positional:
        given.append(call.args[positional])
    if not given:
        return None
    axis = given[0]
    if isinstance(axis, ast.Constant) and (axis.value is None or type(axis.value) is int):
        return axis.value
    if (isinstance(axis, ast.UnaryOp) and isinstance(axis.op, ast.USub) and isinstance(axis.operand, ast.Constant)
            and type(axis.operand.value) is int):
        return -axis.operand.value
    return _INVALID


def written(node: ast.expr) -> str:
    """An expression as a site's detail shows it: its source, cut at 50 characters."""
    text = ast.unparse(node)
    return text if len(text) < 50 else text[:47] + "..."


def operands(node: ast.expr, reduction: Reduction) -> list[tuple[Any, Any]]:
    """(holder, field or position) of each operand of a candidate: what is sampled."""
    if isinstance(node, ast.BinOp):
        return [(node, "left"), (node, "right")]
    if reduction.method:
        return [(node.func, "value")]
    return [(node.args, 0), (node.args, 1)] if reduction.contracts else [(node.args, 0)]


def _get(holder: Any, key: Any) -> ast.expr:
    return holder[key] if isinstance(holder, list) else getattr(holder, key)


def _set(holder: Any, key: Any, value: ast.expr) -> None:
    if isinstance(holder, list):
        holder[key] = value
    else:
        setattr(holder, key, value)


# -- observing: which candidates reduce long float arrays on the example inputs ---------------

def observe(program: PythonProgram, examples: Sequence[Any]) -> Observed:
    """Run ``program`` with every candidate's operands recorded, on each example (not at
    all when its source has no candidate)."""
    seen = Observed()
    if not any(next(candidates(f), None) for f in program.functions.values() if not f.jitted):
        return seen
    functions = dict(program.functions)
    for key, lifted in program.functions.items():
        if lifted.jitted:
            continue
        tree = copy.deepcopy(lifted.tree)
        for node, reduction in list(candidates(lifted, tree)):
            for slot, (holder, field_name) in enumerate(operands(node, reduction)):
                probe = ast.Call(ast.Name("_ax_see_reduced", ast.Load()),
                                 [ast.Constant(key), ast.Constant(reduction.index), ast.Constant(slot),
                                  ast.Constant(reduction.operation), ast.Constant(reduction.axis),
                                  _get(holder, field_name)], [])
                _set(holder, field_name, probe)
        functions[key] = replace(lifted, tree=ast.fix_missing_locations(tree))
    run_probed(program, functions, "_ax_see_reduced", _RECORDING, seen, examples)
    return seen


@runtime_helper()
def _ax_see_reduced(function, index, slot, operation, axis, value):
    """Record the reduced length of one operand of a candidate reduction (None: not a float
    array); returns ``value`` unchanged."""
    _RECORDING[-1].see(function, index, reduced_length(value, operation, axis, slot))
    return value


def reduced_length(value: Any, operation: str, axis: int | None, slot: int) -> int | None:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "fc" or value.ndim == 0:
        return None
    if operation in ("dot", "matmul"):
        if value.ndim > 2:
            return None
        return value.shape[-1] if slot == 0 or value.ndim == 1 else value.shape[-2]
    if axis is not None and not -value.ndim <= axis < value.ndim:
        return None
    return value.shape[0 if axis is None else axis]


def choices(sums: bool, rates: Sequence[float], policies: Sequence[str]) -> list[Perforate]:
    """Each policy at each rate (modulo where it keeps every k-th); a sum compensated."""
    found = []
    for policy in policies:
        for rate in rates:
            setting = Perforate(rate, policy, compensate=sums)
            if policy != "modulo" or setting.stride is not None:
                found.append(setting)
    return found


# -- rewriting ---------------------------------------------------------------------------------

class ReductionRewriter(ast.NodeTransformer):
    """Rewrites the chosen reductions of one function's tree (already a private copy).

    The rewritten expression is written as text around placeholders for the operands
    (``_ax_P0``, ``_ax_P1``), parsed, and the placeholders replaced by the operands: the first
    use (the first evaluated: the forms below are read left to right) binds an operand that is
    not a plain name with ``:=``, so it is evaluated once."""

    def __init__(self, lifted: LiftedFunction, tree: ast.FunctionDef, chosen: Mapping[int, Perforate]) -> None:
        self.lifted = lifted
        self.chosen = {id(node): (reduction, chosen[reduction.index])
                       for node, reduction in candidates(lifted, tree) if reduction.index in chosen}
        self.helpers: set[str] = set()

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        return self._rewrite(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        return self._rewrite(node)

    def _rewrite(self, node: ast.expr) -> ast.expr:
        found = self.chosen.get(id(node))
        if found is None:
            return node
        reduction, setting = found
        slots = operands(node, reduction)
        originals = [_get(holder, key) for holder, key in slots]
        for slot, (holder, key) in enumerate(slots):
            _set(holder, key, ast.Name(f"{PLACEHOLDER}{slot}", ast.Load()))
        skeleton = ast.unparse(node)
        for slot, (holder, key) in enumerate(slots):
            _set(holder, key, originals[slot])
        text = self._sampled(skeleton, reduction, setting)
        rewritten = ast.parse(text, mode="eval").body
        rewritten = Operands(originals, reduction.index).visit(rewritten)
        return ast.copy_location(rewritten, node)

    def _sampled(self, skeleton: str, reduction: Reduction, setting: Perforate) -> str:
        """The reduction's text with its operands sampled (and the sum scaled)."""
        axis = -1 if reduction.contracts else (reduction.axis or 0)
        length = f"{PLACEHOLDER}0.shape[{axis}]"
        kept = f"_ax_kept_r{reduction.index}"
        first, again = sample_index(setting, length, kept, f"{self.lifted.key}/reduce#{reduction.index}", self.helpers)
        text = skeleton.replace(f"{PLACEHOLDER}0", f"{PLACEHOLDER}0[{_along(axis, first)}]", 1)
        if reduction.contracts:  # the same elements of b's rows (its first axis: b is 1-D or 2-D)
            text = text.replace(f"{PLACEHOLDER}1", f"{PLACEHOLDER}1[{again}]", 1)
        if not (setting.compensate and reduction.sums):
            return text
        ran = {"modulo": f"{PLACEHOLDER}0[{_along(axis, again)}].shape[{axis}]",
               "truncate": kept, "random": f"len({kept})"}[setting.policy]
        return f"({text}) * ({length} / {ran})"


PLACEHOLDER = "_ax_P"


def sample_index(setting: Perforate, length: str, kept: str, site: str, helpers: set[str]) -> tuple[str, str]:
    """The index that samples an axis of ``length`` (source text) the first time, binding
    ``kept`` (the count or the indices kept) where the policy needs it, and the index that
    samples another operand the same way; the helpers it calls are added to ``helpers``."""
    if setting.policy == "modulo":
        return f"::{setting.stride}", f"::{setting.stride}"
    if setting.policy == "truncate":
        helpers.add("_ax_head")
        return f":({kept} := _ax_head({length}, {setting.keep!r}))", f":{kept}"
    helpers.add("_ax_subset")
    seed = zlib.crc32(site.encode()) ^ setting.seed
    return f"({kept} := _ax_subset({length}, {setting.keep!r}, {seed}))", kept


def _along(axis: int, part: str) -> str:
    """An index that applies ``part`` to ``axis`` and keeps the other axes whole."""
    if axis == 0:
        return part
    if axis > 0:
        return ", ".join([":"] * axis + [part])
    return ", ".join(["...", part] + [":"] * (-axis - 1))


class Operands(ast.NodeTransformer):
    """Puts the operands back in place of their placeholders: the first use of one that is not
    a plain name binds it (``(_ax_operand_r0_0 := a * b)``; ``kind`` tells sites' names apart),
    the later ones read the name."""

    def __init__(self, originals: list[ast.expr], index: int, kind: str = "r") -> None:
        self.originals, self.index, self.kind = originals, index, kind
        self.used: set[int] = set()

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if not node.id.startswith(PLACEHOLDER):
            return node
        slot = int(node.id[len(PLACEHOLDER):])
        operand = self.originals[slot]
        if isinstance(operand, ast.Name):
            return ast.Name(operand.id, ast.Load())
        name = f"_ax_operand_{self.kind}{self.index}_{slot}"
        if slot in self.used:
            return ast.Name(name, ast.Load())
        self.used.add(slot)
        return ast.NamedExpr(ast.Name(name, ast.Store()), operand)


@runtime_helper(imports=("import math",))
def _ax_head(length, keep):
    """How many of ``length`` elements a truncated reduction keeps (as truncated loops do)."""
    return max(1, math.ceil(round(length * keep, 9)))


@runtime_helper(imports=("import functools", "import math", "import numpy as np"))
@functools.lru_cache(maxsize=256)
def _ax_subset(length, keep, seed):
    """A seeded random subset of ``ceil(length * keep)`` indices of ``length``, sorted (so
    reading them walks memory forward), drawn once per site and length."""
    count = max(1, math.ceil(round(length * keep, 9)))
    chosen = np.random.default_rng(seed).choice(length, size=count, replace=False)
    chosen.sort()
    chosen.flags.writeable = False
    return chosen
