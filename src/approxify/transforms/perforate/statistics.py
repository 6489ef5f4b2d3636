"""Input sampling: a call of the user's function whose result is a statistic of its array
arguments (a sum or a mean over their first axis) runs on a sample of their rows — the array
analogue of perforating the loop the function stands for. A sum is rescaled by rows seen / rows
kept, so it stays unbiased; a mean (or any estimate that does not grow with the row count: a
standard deviation, a quantile) is not.

Which calls: those of a function marked ``@ax.statistic("sum" | "mean")``, and those of a function
the program lifted (the user's) that the example inputs' run shows to be one: called on the even
and the odd rows of its arguments, its results add up to the whole's (a sum) or average to it,
weighted by the rows (a mean), within float rounding. A function that changes its arguments, or
that raises or answers something else than numbers on the halves, is not sampled. The arguments
sampled are the positional ones the run saw as arrays of the common length (at least
:data:`MIN_LENGTH` rows); they are part of the site id (``sample#0`` samples the first argument,
``sample#0:0,2`` the first and third), so a saved config rebuilds without running.

What a variant runs is what one writes by hand::

    total_power(x[::2], w[::2]) * (x.shape[0] / x[::2].shape[0])
"""

from __future__ import annotations

import ast
import copy
import inspect
import time
import types
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...config import Perforate
from ...markers import STATISTIC
from ...measure.deadline import deadline
from ...targets.call_graph import static_value
from ...targets.python import LiftedFunction, PythonProgram, local_names
from ...targets.python_runtime import runtime_helper
from .arrays import MIN_LENGTH, PLACEHOLDER, Operands, preorder, sample_index, written
from .probing import run_probed

HALVES_PATIENCE = 10  # the calls on the halves may take this many times the whole call (plus 1 s)
TOLERANCE = 1e-9  # relative: a sum of halves differs from the whole's by rounding only
_RECORDING: list[Observed] = []  # what the run under way records into


@dataclass(frozen=True)
class Statistic:
    """A call of a statistic: which function calls it, its number there, the positional
    arguments sampled, and whether its result is a sum (rescaled) or a mean."""

    function: str
    index: int
    positions: tuple[int, ...] = (0,)
    kind: str = "sum"
    written: str = ""

    @property
    def suffix(self) -> str:
        """The part of the site id after the function's key."""
        extra = "" if self.positions == (0,) else ":" + ",".join(map(str, self.positions))
        return f"sample#{self.index}{extra}"


@dataclass
class Observed:
    """What the example inputs' run saw at each candidate call: (function, index) -> (kind,
    positions, shortest length), or None once any run showed it is not a statistic."""

    calls: dict[tuple[str, int], tuple[str, tuple[int, ...], int] | None] = field(default_factory=dict)

    def see(self, function: str, index: int, found: tuple[str, tuple[int, ...], int] | None) -> None:
        key = (function, index)
        earlier = self.calls.get(key, found)
        if earlier is None or found is None or earlier[:2] != found[:2]:
            self.calls[key] = None  # not a statistic, or not the same one on every input
        else:
            self.calls[key] = (found[0], found[1], min(earlier[2], found[2]))

    def statistics(self, program: PythonProgram) -> Iterator[tuple[LiftedFunction, ast.Call, Statistic, int]]:
        for lifted in program.functions.values():
            for node, index, marked in candidates(lifted, program):
                seen = self.calls.get((lifted.key, index))
                if seen is not None:
                    kind, positions, length = seen
                    yield lifted, node, Statistic(lifted.key, index, positions, kind, written(node)), length


def candidates(lifted: LiftedFunction, program: PythonProgram,
               tree: ast.AST | None = None) -> Iterator[tuple[ast.Call, int, str | None]]:
    """(call, index, the marker's kind or None) for every call in ``tree`` (``lifted``'s by
    default) of a marked function or of one the program lifted, in source order."""
    if lifted.jitted:
        return
    tree = tree if tree is not None else lifted.tree
    local = local_names(lifted.tree)
    users = {id(f.func) for f in program.functions.values()}
    index = 0
    for node in preorder(tree):
        if not isinstance(node, ast.Call) or not node.args or any(isinstance(a, ast.Starred) for a in node.args):
            continue
        value = static_value(node.func, lifted.func, local=local)
        if not isinstance(value, types.FunctionType):
            continue
        marked = getattr(value, STATISTIC, None)
        if marked is None and id(inspect.unwrap(value)) not in users:  # a decorated one: its wrapper is called
            continue
        yield node, index, marked
        index += 1


def find(lifted: LiftedFunction, program: PythonProgram, suffix: str) -> tuple[ast.Call, Statistic] | None:
    """The call a site id's ``suffix`` (``sample#0:0,2``) names, read from the source (a saved
    config, on a program that has not run): a marked function's kind, else a sum's."""
    head, _, positions = suffix.partition(":")
    number = head.removeprefix("sample#")
    if not head.startswith("sample#") or not number.isdigit():
        return None
    try:
        chosen = tuple(int(p) for p in positions.split(",")) if positions else (0,)
    except ValueError:
        return None
    for node, index, marked in candidates(lifted, program):
        if index == int(number) and all(0 <= p < len(node.args) for p in chosen):
            return node, Statistic(lifted.key, index, chosen, marked or "sum", written(node))
    return None




# -- observing ---------------------------------------------------------------------------------

def observe(program: PythonProgram, examples: Sequence[Any]) -> Observed:
    """Run ``program`` with every candidate call recorded, on each example (not at all when
    no function has a candidate)."""
    seen = Observed()
    functions = dict(program.functions)
    probed = False
    for key, lifted in program.functions.items():
        tree = copy.deepcopy(lifted.tree)
        found = list(candidates(lifted, program, tree))
        for node, index, marked in found:
            node.args = [ast.Constant(key), ast.Constant(index), ast.Constant(marked), node.func, *node.args]
            node.func = ast.Name("_ax_see_statistic", ast.Load())
        if found:
            probed = True
            functions[key] = replace(lifted, tree=ast.fix_missing_locations(tree))
    if not probed:
        return seen
    run_probed(program, functions, "_ax_see_statistic", _RECORDING, seen, examples)
    return seen


@runtime_helper()
def _ax_see_statistic(function, index, marked, callee, *args, **kwargs):
    """Call ``callee`` and record whether the call is a statistic of its arrays (see
    :func:`judge`); returns what the call returns."""
    before = [a.copy() if isinstance(a, np.ndarray) else None for a in args]
    started = time.perf_counter()
    result = callee(*args, **kwargs)
    took = time.perf_counter() - started
    changed = any(b is not None and not _same(b, a) for b, a in zip(before, args))
    _RECORDING[-1].see(function, index, None if changed else judge(callee, args, kwargs, result, marked,
                                                                   limit=HALVES_PATIENCE * took + 1.0))
    return result


def judge(callee: Any, args: tuple, kwargs: dict, result: Any, marked: str | None, *,
          limit: float | None = None) -> tuple[str, tuple[int, ...], int] | None:
    """(kind, sampled positions, rows) when the call is a statistic of its arrays' rows; the
    calls on the halves together get ``limit`` seconds (one that hangs on fewer rows is none)."""
    positions, rows = _sampled(args)
    if not positions or _number(result) is None:
        return None
    halves = []
    _RECORDING.append(Observed())  # what the calls on halves see inside is not what the program sees
    try:
        with deadline(limit):
            for part in (slice(0, None, 2), slice(1, None, 2)):
                sampled = [np.array(a[part]) if i in positions else a for i, a in enumerate(args)]
                halves.append(_number(callee(*sampled, **kwargs)))
    except Exception:  # it cannot run on part of its rows, or not in time (Timeout)
        return None
    finally:
        _RECORDING.pop()
    whole, (even, odd) = _number(result), halves
    if even is None or odd is None or np.shape(even) != np.shape(whole):
        return None
    if marked is not None:
        return marked, positions, rows
    with np.errstate(all="ignore"):
        for kind, combined in (("sum", even + odd), ("mean", (even * ((rows + 1) // 2) + odd * (rows // 2)) / rows)):
            if np.allclose(combined, whole, rtol=TOLERANCE, atol=0.0) and np.all(np.isfinite(whole)):
                return kind, positions, rows
    return None


def _sampled(args: tuple) -> tuple[tuple[int, ...], int]:
    """The positions of the array arguments of the most common length (at least MIN_LENGTH)."""
    lengths = [a.shape[0] if isinstance(a, np.ndarray) and a.ndim >= 1 and a.dtype.kind in "fiub" else None
               for a in args]
    longest = max((n for n in lengths if n is not None), default=0)
    if longest < MIN_LENGTH:
        return (), 0
    return tuple(i for i, n in enumerate(lengths) if n == longest), longest


def _number(value: Any) -> np.ndarray | None:
    """``value`` as a float array when it is a number or an array of numbers, else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "fiu"):
        return np.asarray(value, dtype=float)
    return None


def _same(a: np.ndarray, b: Any) -> bool:
    return isinstance(b, np.ndarray) and a.shape == b.shape and np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")


# -- rewriting ---------------------------------------------------------------------------------

class StatisticRewriter(ast.NodeTransformer):
    """Rewrites the chosen calls of one function's tree (already a private copy): the sampled
    arguments indexed, the sum scaled; an argument that is not a plain name is bound once
    (``:=``), as :class:`.arrays.ReductionRewriter` does."""

    def __init__(self, lifted: LiftedFunction, program: PythonProgram, tree: ast.FunctionDef,
                 chosen: Mapping[Statistic, Perforate]) -> None:
        by_index = {s.index: (s, setting) for s, setting in chosen.items()}
        self.lifted = lifted
        self.chosen = {id(node): by_index[index] for node, index, _ in candidates(lifted, program, tree)
                       if index in by_index}
        self.helpers: set[str] = set()

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        found = self.chosen.get(id(node))
        if found is None:
            return node
        statistic, setting = found
        originals = list(node.args)
        for slot, position in enumerate(statistic.positions):
            node.args[position] = ast.Name(f"{PLACEHOLDER}{slot}", ast.Load())
        skeleton = ast.unparse(node)
        node.args = originals
        text = self._sampled(skeleton, statistic, setting)
        rewritten = ast.parse(text, mode="eval").body
        rewritten = Operands([originals[p] for p in statistic.positions], statistic.index, "s").visit(rewritten)
        return ast.copy_location(rewritten, node)

    def _sampled(self, skeleton: str, statistic: Statistic, setting: Perforate) -> str:
        length = f"{PLACEHOLDER}0.shape[0]"
        kept = f"_ax_kept_s{statistic.index}"
        first, again = sample_index(setting, length, kept, f"{self.lifted.key}/{statistic.suffix}", self.helpers)
        # the length is read before the first sample (the operand bound by then), the rest after
        text = skeleton
        for slot in range(len(statistic.positions)):
            text = text.replace(f"{PLACEHOLDER}{slot}", f"{PLACEHOLDER}{slot}[{first if slot == 0 else again}]", 1)
        if not (setting.compensate and statistic.kind == "sum"):
            return text
        ran = {"modulo": f"{PLACEHOLDER}0[{again}].shape[0]", "truncate": kept, "random": f"len({kept})"}[setting.policy]
        return f"({text}) * ({length} / {ran})"
