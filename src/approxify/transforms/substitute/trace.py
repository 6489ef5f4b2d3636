"""Tracing: run the program on example inputs and record what flows through each call site.

Every candidate call ``f(a, b)`` is rewritten to ``_ax_record("site id", f, a, b)``, which calls
``f`` and keeps, per site, the numeric arguments and results as rows of a sample (array
arguments are taken element-wise, broadcast together), their ranges, how many calls were seen
and how long they took, or why the site cannot be substituted (non-numeric arguments, keyword
arguments, results whose shape is not the arguments'). numba-compiled functions are traced as
plain Python.
"""

from __future__ import annotations

import ast
import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...errors import TargetFailed
from ...measure.inputs import InputSet
from ...targets.python import PythonProgram
from ...targets.python_runtime import runtime_helper
from .calls import SIDE_EFFECTS, call_sites

ROWS_PER_CALL = 4096  # rows kept from one call with array arguments (a seeded subsample)
MAX_ROWS = 200_000  # rows kept per site in all

_TRACING: list[Traces] = []


@dataclass
class SiteTrace:
    """What one call site saw on the example inputs."""

    calls: int = 0
    seconds: float = 0.0  # time spent inside the calls
    reason: str | None = None  # why it cannot be substituted, if it cannot
    arguments: int | None = None
    outputs: int | None = None
    tuple_result: bool = False
    array_calls: int = 0
    rows: int = 0
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None
    _x: list[np.ndarray] = field(default_factory=list, repr=False)
    _y: list[np.ndarray] = field(default_factory=list, repr=False)

    def samples(self) -> tuple[np.ndarray, np.ndarray]:
        """(X, Y): the kept rows, (n, arguments) and (n, outputs)."""
        if not self._x:
            return np.empty((0, self.arguments or 0)), np.empty((0, self.outputs or 0))
        return np.concatenate(self._x), np.concatenate(self._y)

    def levels(self) -> tuple[float, float] | None:
        """The two values a yes/no test answers with (low, high), when the call has one result
        and the kept rows show exactly two values; else None."""
        if self.outputs != 1 or not self._y:
            return None
        y = np.concatenate(self._y)
        low, high = y.min(), y.max()  # linear passes: np.unique's sort cost most of discovery
        return (float(low), float(high)) if low < high and ((y == low) | (y == high)).all() else None

    def add(self, args: tuple, kwargs: dict, result: Any, seconds: float, rng: np.random.Generator) -> None:
        self.calls += 1
        self.seconds += seconds
        if self.reason is not None:
            return
        if kwargs:
            self.reason = f"called with keyword arguments ({', '.join(kwargs)})"
            return
        rows = _rows(args, result)
        if isinstance(rows, str):
            self.reason = rows
            return
        x, y, is_array, is_tuple = rows
        if self.arguments is None:
            self.arguments, self.outputs, self.tuple_result = x.shape[1], y.shape[1], is_tuple
        elif (x.shape[1], y.shape[1], is_tuple) != (self.arguments, self.outputs, self.tuple_result):
            self.reason = "called with different numbers of arguments or results"
            return
        self.array_calls += is_array
        finite = np.isfinite(x).all(axis=1) & np.isfinite(y).all(axis=1)
        x, y = x[finite], y[finite]
        if not len(x):
            return
        self.lo = x.min(axis=0) if self.lo is None else np.minimum(self.lo, x.min(axis=0))
        self.hi = x.max(axis=0) if self.hi is None else np.maximum(self.hi, x.max(axis=0))
        if len(x) > ROWS_PER_CALL:  # keep the extremes, so the fit covers the whole range
            keep = rng.choice(len(x), ROWS_PER_CALL, replace=False)
            keep = np.union1d(keep, np.concatenate([x.argmin(axis=0), x.argmax(axis=0)]))
            x, y = x[keep], y[keep]
        room = MAX_ROWS - self.rows
        if room > 0:
            self._x.append(x[:room])
            self._y.append(y[:room])
            self.rows += min(room, len(x))


def _numeric(value: Any) -> np.ndarray | None:
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return np.asarray(value, dtype=np.float64)
    if isinstance(value, np.ndarray) and value.dtype.kind in "iuf":
        return value.astype(np.float64, copy=False)
    return None


def _rows(args: tuple, result: Any):
    """Rows of (arguments, results), or the reason there are none."""
    if not args:
        return "called without arguments"
    values = []
    for position, arg in enumerate(args):
        value = _numeric(arg)
        if value is None:
            return f"argument {position + 1} is not numeric ({type(arg).__name__})"
        values.append(value)
    try:
        shape = np.broadcast_shapes(*(v.shape for v in values))
    except ValueError:
        return "arguments of shapes that do not broadcast"
    is_tuple = isinstance(result, tuple)
    outputs = []
    for item in (result if is_tuple else (result,)):
        value = _numeric(item)
        if value is None:
            return f"result is not numeric ({type(item).__name__})"
        if value.shape != shape:
            return f"result shape {value.shape} is not the arguments' shape {shape}: not element-wise"
        outputs.append(value)
    x = np.column_stack([np.broadcast_to(v, shape).ravel() for v in values])
    y = np.column_stack([v.ravel() for v in outputs]) if outputs else np.empty((x.shape[0], 0))
    if y.shape[1] == 0:
        return "returns an empty tuple"
    return x, y, bool(shape), is_tuple


@dataclass
class Traces:
    sites: dict[str, SiteTrace] = field(default_factory=dict)
    examples: int = 0
    rng: np.random.Generator = field(default_factory=lambda: np.random.default_rng(0), repr=False)

    def of(self, site: str) -> SiteTrace | None:
        return self.sites.get(site)


@runtime_helper()
def _ax_record(site, fn, /, *args, **kwargs):
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - start
    traces = _TRACING[-1]
    trace = traces.sites.setdefault(site, SiteTrace())
    first_array_call = trace.array_calls == 0 and trace.reason is None
    trace.add(args, kwargs, result, seconds, traces.rng)
    if first_array_call and trace.array_calls == 1 and not getattr(fn, SIDE_EFFECTS, False):
        trace.reason = _not_element_wise(fn, args, result)
    return result


def _not_element_wise(fn, args: tuple, result: Any) -> str | None:
    """Why ``fn`` is not element-wise, or None: it must give the same values on the first half
    of its (flattened, broadcast) arguments, as the guard's fallback calls it that way."""
    values = [np.asarray(a) for a in args]
    shape = np.broadcast_shapes(*(v.shape for v in values))
    half = max(1, int(np.prod(shape)) // 2)
    part = [np.broadcast_to(v, shape).ravel()[:half] for v in values]
    try:
        again = fn(*part)
    except Exception as exc:  # noqa: BLE001 - a function that needs its whole arrays
        return f"not element-wise: fails on part of its arguments ({type(exc).__name__})"
    expected = result if isinstance(result, tuple) else (result,)
    got = again if isinstance(again, tuple) else (again,)
    same = len(got) == len(expected) and all(
        np.allclose(np.asarray(g, dtype=float), np.asarray(e, dtype=float).ravel()[:half],
                    rtol=1e-9, atol=0.0, equal_nan=True)
        for g, e in zip(got, expected))
    return None if same else "not element-wise: its results depend on other elements"


class _Recorder(ast.NodeTransformer):
    def __init__(self, ids: dict[int, str]) -> None:
        self.ids = ids

    def visit_Call(self, node: ast.Call) -> ast.AST:  # noqa: N802
        site = self.ids.get(id(node))
        self.generic_visit(node)
        if site is None:
            return node
        call = ast.Call(func=ast.Name(id="_ax_record", ctx=ast.Load()),
                        args=[ast.Constant(site), node.func, *node.args], keywords=node.keywords)
        return ast.copy_location(call, node)


def traced(program: PythonProgram) -> PythonProgram:
    """The program with every candidate call recorded; numba functions run as Python."""
    functions = dict(program.functions)
    for key, lifted in program.functions.items():
        tree = copy.deepcopy(lifted.tree)
        original = {id(s.node): s.id for s in call_sites(lifted, program.named_calls)}
        # the copy has new nodes: pair them with the originals by walking both in step
        ids = {id(new): original[id(old)] for old, new in zip(ast.walk(lifted.tree), ast.walk(tree))
               if id(old) in original}
        _Recorder(ids).visit(tree)
        if lifted.jitted:
            tree.decorator_list = []
        functions[key] = replace(lifted, tree=tree, jit=None)
    return replace(program, functions=functions).with_helpers({"_ax_record"})


def trace_program(program: PythonProgram, examples: Sequence[Any], *, name: str) -> Traces:
    run = traced(program).build()
    inputs = InputSet(examples)
    traces = Traces(examples=len(examples))
    _TRACING.append(traces)
    try:
        for index in range(len(examples)):
            args, kwargs = inputs.fresh(index)
            try:
                run(*args, **kwargs)
            except Exception as exc:
                raise TargetFailed(
                    f"{name} raised {type(exc).__name__}: {exc} while its calls were traced on "
                    f"example input #{index}; call sites are found by running the program, so "
                    "the example inputs must be ones it runs on."
                ) from exc
    finally:
        _TRACING.pop()
    return traces
