"""Perforating ``while`` loops: each is a site (``while#k``, numbered in source order).

Two forms, decided from the source:

- a *counting* loop, ``while i < n: ...; i += s`` (``<``, ``<=``, or ``>``/``>=`` with ``-=``;
  one top-level step, ``i``, ``s`` and ``n`` not otherwise changed by the body): ``modulo``
  with every k-th iteration scales the step (``i += s * k``), ``truncate`` scales the bound
  (``i < i0 + (n - i0) * keep``, the bound taken at entry);
- any other loop: the statements the loop's exit does not depend on (its *work*) are skipped
  on some iterations while the others (its *control*: whatever the condition, a ``break`` or a
  ``return`` reads, and what those statements read in turn) always run, so the loop ends when
  the exact one would. ``modulo`` keeps iterations c with ``c * p % q < p``; ``random`` keeps a
  fixed pseudo-random share (a multiplicative hash of the iteration count, no per-loop setup).
  When every statement is control there are no choices, and the site says why.

Compensation rescales the loop's accumulators (``acc += ...`` in its work, into a variable
defined before the loop) by iterations seen / iterations run, counted as the loop goes (or, for
a counting loop, from its bounds), when the loop cannot ``return`` from inside and has no ``else``.
Every form is plain arithmetic written inline, and the compensation's helpers have numba
implementations (:mod:`.runtime`), so every choice compiles under numba as well.
"""

from __future__ import annotations

import ast
import builtins
import copy
import itertools
import math
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction

from ...config import Perforate
from ...errors import InvalidConfig
from ...targets.call_graph import static_value
from ...targets.python import LiftedFunction, local_names
from .scopes import walk_same_scope as _same_scope

HASH = 2654435761  # Knuth's multiplicative hash: c * HASH mod 2**32 spreads consecutive counts
SPAN = 2**32
PURE_BUILTINS = ("len", "abs", "min", "max", "float", "int", "round", "pow")  # change nothing they are given
MAX_DENOMINATOR = 64


@dataclass(frozen=True)
class WhileLoop:
    """A ``while`` site's locator: the ``index``-th ``while`` loop of a function."""

    function: str
    index: int


@dataclass(frozen=True)
class Counting:
    """``while i OP n: ...; i += s``: the counter, the bound, the step and where it is."""

    counter: str
    bound: ast.expr
    step: ast.expr
    inclusive: bool  # <= or >=
    position: int  # index of the step in the body


@dataclass(frozen=True)
class Shape:
    """What a ``while`` loop allows: its counting form (if any), which top-level statements
    of its body are work (skippable), its accumulators, and why it has no choices (if so)."""

    counting: Counting | None
    work: tuple[int, ...]
    accumulators: tuple[str, ...]
    compensable: bool
    reason: str = ""


def while_loops(tree: ast.AST) -> Iterator[ast.While]:
    """``while`` loops in source order (pre-order), behind ``while#k`` ids."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.While):
            yield child
        yield from while_loops(child)


def shape(loop: ast.While, lifted: LiftedFunction, function: ast.FunctionDef | None = None) -> Shape:
    """What ``loop`` (in ``function``, ``lifted``'s tree or a copy of it) allows."""
    function = function or lifted.tree
    local = local_names(function)

    def pure(call: ast.Call) -> bool:
        return _is_pure(static_value(call.func, lifted.func, local=local), call)

    counting = _counting(loop, pure)
    work = _work(loop, counting, local, pure)
    exits = any(isinstance(n, (ast.Return, ast.Yield, ast.YieldFrom)) for n in _same_scope(loop.body))
    accumulators = _accumulators(loop, function, work)
    compensable = bool(accumulators) and not exits and not loop.orelse and (
        counting is not None or bool(work))
    if counting is None and not work:
        test_calls = _impure_calls(loop.test, pure)
        reason = (f"its condition calls {', '.join(test_calls)}, which may depend on anything the body does"
                  if test_calls else
                  "every statement of its body feeds its condition or its exits, so skipping one could keep it from ending")
        return Shape(None, (), (), False, reason)
    return Shape(counting, tuple(work), tuple(accumulators), compensable)


def choices(loop_shape: Shape, rates: tuple[float, ...]) -> list[Perforate]:
    found: list[Perforate] = []
    for compensate in (False, True) if loop_shape.compensable else (False,):
        for policy in ("modulo", "truncate", "random"):
            for rate in rates:
                setting = Perforate(rate, policy, compensate=compensate)
                if form(loop_shape, setting) is not None:
                    found.append(setting)
    return found


def form(loop_shape: Shape, setting: Perforate) -> str | None:
    """How ``setting`` is applied to a loop of this shape: "step", "bound", "skip" or None."""
    if loop_shape.counting is not None:
        if setting.policy == "modulo" and setting.stride is not None:
            return "step"
        if setting.policy == "truncate":
            return "bound"
    if loop_shape.work and setting.policy in ("modulo", "random"):
        return "skip"
    return None


class WhileRewriter(ast.NodeTransformer):
    """Rewrites the chosen ``while`` loops of one function's tree (already a private copy)."""

    def __init__(self, lifted: LiftedFunction, tree: ast.FunctionDef, chosen: Mapping[int, Perforate]) -> None:
        self.lifted, self.tree = lifted, tree
        self.by_node = {id(loop): (i, chosen[i]) for i, loop in enumerate(while_loops(tree)) if i in chosen}
        # read before any rewriter changes the tree (another site's compensation adds statements)
        self.shapes = {id(loop): shape(loop, lifted, tree) for loop in while_loops(tree) if id(loop) in self.by_node}
        self.helpers: set[str] = set()

    def visit_While(self, node: ast.While) -> ast.AST | list[ast.stmt]:
        found = self.by_node.get(id(node))
        if found is None:
            self.generic_visit(node)
            return node
        loop_shape = self.shapes[id(node)]  # rewritten before the loops inside it
        index, setting = found
        site_id = f"{self.lifted.key}/while#{index}"
        how = form(loop_shape, setting)
        if how is None or (setting.compensate and not loop_shape.compensable):
            raise InvalidConfig(
                f"{site_id}: {setting.label()} does not fit the while loop at {self.lifted.where(node)} "
                f"(use ax.sites to see its choices).")
        names = _Names(index)
        before: list[ast.stmt] = []
        if how == "step":
            counting = loop_shape.counting
            step = node.body[counting.position]
            step.value = _times(step.value, setting.stride)
        elif how == "bound":
            counting = loop_shape.counting
            start = ast.Name(counting.counter, ast.Load())
            # i0 + (n - i0) * keep, evaluated once at entry
            span = ast.BinOp(copy.deepcopy(counting.bound), ast.Sub(), start)
            bound = ast.BinOp(ast.Name(counting.counter, ast.Load()), ast.Add(),
                              ast.BinOp(span, ast.Mult(), ast.Constant(setting.keep)))
            before.append(_assign(names.stop, bound))
            node.test.comparators = [ast.Name(names.stop, ast.Load())]
        else:
            self._skip(node, loop_shape, setting, site_id, names, before)
        after = self._compensation(node, loop_shape, setting, names, before, how) if setting.compensate else []
        self.generic_visit(node)
        return [ast.copy_location(s, node) for s in [*before, node, *after]]

    def _skip(self, node: ast.While, loop_shape: Shape, setting: Perforate, site_id: str,
              names: _Names, before: list[ast.stmt]) -> None:
        count = ast.Name(names.count, ast.Load())
        if setting.policy == "modulo":
            keep = Fraction(setting.keep).limit_denominator(MAX_DENOMINATOR)
            test: ast.expr = _compare(ast.BinOp(ast.BinOp(count, ast.Mult(), ast.Constant(keep.numerator)),
                                                ast.Mod(), ast.Constant(keep.denominator)),
                                      ast.Constant(keep.numerator))
        else:  # random: a fixed share, spread by hashing the count (the same on every entry)
            seed = (zlib.crc32(site_id.encode()) ^ setting.seed) % SPAN
            hashed = ast.BinOp(ast.BinOp(ast.BinOp(count, ast.Add(), ast.Constant(seed)), ast.Mult(),
                                         ast.Constant(HASH)), ast.Mod(), ast.Constant(SPAN))
            test = _compare(hashed, ast.Constant(math.floor(setting.keep * SPAN)))
        before.append(_assign(names.count, ast.Constant(0)))
        head = [_assign(names.keep, test),
                ast.AugAssign(ast.Name(names.count, ast.Store()), ast.Add(), ast.Constant(1))]
        if setting.compensate:
            before.append(_assign(names.ran, ast.Constant(0)))
            head.append(ast.AugAssign(ast.Name(names.ran, ast.Store()), ast.Add(), ast.Name(names.keep, ast.Load())))
        body = head
        # each run of work statements under one `if keep:`, the control statements as they are
        for is_work, run in itertools.groupby(enumerate(node.body), key=lambda p: p[0] in loop_shape.work):
            statements = [statement for _, statement in run]
            body += [ast.If(ast.Name(names.keep, ast.Load()), statements, [])] if is_work else statements
        node.body = body

    def _compensation(self, node: ast.While, loop_shape: Shape, setting: Perforate, names: _Names,
                      before: list[ast.stmt], how: str) -> list[ast.stmt]:
        self.helpers.update({"_ax_snapshot", "_ax_rescale"})
        if how == "skip":
            seen, ran = ast.Name(names.count, ast.Load()), ast.Name(names.ran, ast.Load())
        else:
            counting = loop_shape.counting
            self.helpers.add("_ax_steps")
            before.append(_assign(names.start, ast.Name(counting.counter, ast.Load())))
            start = ast.Name(names.start, ast.Load())
            stop = ast.Name(names.stop, ast.Load()) if how == "bound" else copy.deepcopy(counting.bound)
            exact_step = copy.deepcopy(counting.step)  # signed: a loop counting down steps by -s
            ran_step = _times(copy.deepcopy(counting.step), setting.stride) if how == "step" else copy.deepcopy(counting.step)
            inclusive = ast.Constant(counting.inclusive)
            seen = _call("_ax_steps", start, copy.deepcopy(counting.bound), exact_step, inclusive)
            ran = _call("_ax_steps", start, stop, ran_step, inclusive)
        snapshots, after = [], []
        for k, name in enumerate(loop_shape.accumulators):
            kept = f"{names.before}_{k}"
            snapshots.append(_assign(kept, _call("_ax_snapshot", ast.Name(name, ast.Load()))))
            after.append(_assign(name, _call("_ax_rescale", ast.Name(name, ast.Load()), ast.Name(kept, ast.Load()),
                                             copy.deepcopy(seen), copy.deepcopy(ran))))
        before.extend(snapshots)
        return after


@dataclass(frozen=True)
class _Names:
    """The variables a rewritten loop adds, named after its index so loops never share one."""

    index: int

    def __getattr__(self, role: str) -> str:  # names.count -> "_ax_count_w0"
        if role.startswith("__"):
            raise AttributeError(role)
        return f"_ax_{role}_w{self.index}"


# -- reading the loop ------------------------------------------------------------------------

def _is_pure(value: object, call: ast.Call) -> bool:
    """Whether a call of ``value`` changes nothing it is given (a math function, a ufunc
    without ``out=``, ``len``, ``abs``...)."""
    if value is None:
        return False
    if any(value is getattr(builtins, name) for name in PURE_BUILTINS):
        return True
    if type(value).__name__ == "ufunc":
        return not any(k.arg == "out" for k in call.keywords)
    module = getattr(value, "__module__", None) or ""
    return callable(value) and module in ("math", "cmath")


def _counting(loop: ast.While, pure: Callable[[ast.Call], bool]) -> Counting | None:
    test = loop.test
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.left, ast.Name)):
        return None
    counter, op, bound = test.left.id, test.ops[0], test.comparators[0]
    up = isinstance(op, (ast.Lt, ast.LtE))
    if not isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)):
        return None
    steps = [(i, s) for i, s in enumerate(loop.body) if isinstance(s, ast.AugAssign)
             and isinstance(s.target, ast.Name) and s.target.id == counter]
    if len(steps) != 1:
        return None
    position, step_statement = steps[0]
    if not isinstance(step_statement.op, ast.Add if up else ast.Sub):
        return None
    step = step_statement.value
    if isinstance(step, ast.Constant) and not (isinstance(step.value, (int, float)) and step.value > 0):
        return None
    stores = _changed(loop.body, pure)
    if sum(1 for n in _same_scope(loop.body) if _stores_name(n, counter)) != 1:
        return None  # the counter changes elsewhere too
    if _names(step) & stores or _names(bound) & stores or _impure_calls(bound, pure) or _impure_calls(step, pure):
        return None
    # the step for a ``>`` loop counts down: its signed step is -s
    signed = step if up else ast.UnaryOp(ast.USub(), step)
    return Counting(counter, bound, signed, isinstance(op, (ast.LtE, ast.GtE)), position)


def _work(loop: ast.While, counting: Counting | None, local: set[str], pure: Callable[[ast.Call], bool]) -> list[int]:
    """Top-level statements of the body the exit does not depend on (see the docstring).
    When the exit reads a global, a statement calling anything is control (it may set it)."""
    if _impure_calls(loop.test, pure):
        return []
    body = loop.body
    control = {i for i, s in enumerate(body) if _exits(s)}
    if counting is not None:
        control.add(counting.position)
    needed = _names(loop.test) | {n for i in control for n in _names(body[i])}
    grew = True
    while grew:
        grew = False
        for i, statement in enumerate(body):
            if i not in control and (_changed([statement], pure) & needed or _impure_calls(statement, pure, needed)
                                     or (needed - local and _impure_calls(statement, pure))):
                control.add(i)
                needed |= _names(statement)
                grew = True
    return [i for i in range(len(body)) if i not in control]


def _accumulators(loop: ast.While, function: ast.FunctionDef, work: list[int]) -> list[str]:
    """Names ``x += e`` / ``x -= e`` in the work that nothing else in the loop binds and that
    exist before it."""
    defined = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)} | {
        a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
    found: list[str] = []
    statements = [loop.body[i] for i in work]
    plain = {n.id for s in loop.body for n in ast.walk(s) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)
             and not _is_aug_target(s, n)}
    for node in _same_scope(statements):
        if (isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub))
                and isinstance(node.target, ast.Name) and node.target.id in defined
                and node.target.id not in plain and node.target.id not in found):
            found.append(node.target.id)
    return found


def _is_aug_target(statement: ast.stmt, name: ast.Name) -> bool:
    return any(isinstance(n, ast.AugAssign) and n.target is name for n in ast.walk(statement))


def _exits(statement: ast.stmt) -> bool:
    kinds = (ast.Break, ast.Continue, ast.Return, ast.Raise, ast.Yield, ast.YieldFrom, ast.Global, ast.Nonlocal)
    return any(isinstance(n, kinds) for n in _same_scope([statement]))


def _names(node: ast.AST | list[ast.stmt]) -> set[str]:
    nodes = node if isinstance(node, list) else [node]
    return {n.id for top in nodes for n in ast.walk(top) if isinstance(n, ast.Name)}


def _stores_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del))


def _changed(statements: list[ast.stmt], pure: Callable[[ast.Call], bool]) -> set[str]:
    """Names the statements bind, and names of objects they may change in place (an item or
    attribute assigned, a method called on it, the object passed to a call not ``pure``)."""
    found: set[str] = set()
    for node in _same_scope(statements):
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found.add(node.id)
        elif isinstance(node, (ast.Subscript, ast.Attribute)) and isinstance(node.ctx, (ast.Store, ast.Del)):
            found |= _root(node)
        elif isinstance(node, ast.Call) and not pure(node):
            if isinstance(node.func, ast.Attribute):
                found |= _root(node.func.value)
            found |= {a.id for a in [*node.args, *(k.value for k in node.keywords)] if isinstance(a, ast.Name)}
    return found


def _root(node: ast.expr) -> set[str]:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return {node.id} if isinstance(node, ast.Name) else set()


def _impure_calls(node: ast.AST, pure: Callable[[ast.Call], bool], names: set[str] | None = None) -> list[str]:
    """Calls in ``node`` that are not ``pure`` (with ``names``: only those that could change
    one of ``names`` other than through what they are passed, which :func:`_changed` judges:
    a method of an object among ``names``)."""
    found = []
    for n in ast.walk(node):
        if not isinstance(n, ast.Call) or pure(n):
            continue
        if names is not None and isinstance(n.func, ast.Attribute) and not (_root(n.func.value) & names):
            continue  # a method of an object the exit does not read (out.append(...))
        if names is not None and isinstance(n.func, ast.Name):
            continue  # a plain function: what it is passed is judged by _changed
        found.append(ast.unparse(n.func))
    return found


# -- building nodes --------------------------------------------------------------------------

def _times(value: ast.expr, k: int) -> ast.expr:
    if isinstance(value, ast.Constant) and isinstance(value.value, (int, float)):
        return ast.Constant(value.value * k)
    return ast.BinOp(value, ast.Mult(), ast.Constant(k))


def _compare(left: ast.expr, right: ast.expr) -> ast.Compare:
    return ast.Compare(left, [ast.Lt()], [right])


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(name, ast.Store())], value=value)


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])
