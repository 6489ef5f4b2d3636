"""Output sampling of maps and stencils over grids: the element-wise chain a function returns
(``np.sqrt(gx * gx + gy * gy)``, with ``gx`` and ``gy`` sums of shifted slices of ``p``) is a
site (``grid#k``, numbered in source order) where a run on example inputs shows it mapping
arrays of one shape whose last two axes, the grid, are both at least 32 long.

The chain is found by following the array flow back from the value returned: operators, NumPy
ufuncs (``np.sqrt``, ``np.maximum``...), ``np.where``/``np.clip``, numbers, and names assigned
once, earlier in the function, from such expressions; it ends at its leaves, arrays sliced
with slices only (``p[:-2, 2:]``) or named. A variant computes the whole chain on every k-th
row and column of its leaves (views, no copy) and fills the grid back once, at the return,
by repeating each value over its k x k block or by linear interpolation, in the exact
program's dtype. What a variant runs is what one writes by hand::

    gx = (p[:-2:2, 2::2] + 2.0 * p[1:-1:2, 2::2] + ...) - (...)
    _ax_h0, _ax_w0 = p[:-2, 2:].shape[-2:]
    return np.repeat(np.repeat(np.sqrt(gx * gx + gy * gy), 2, axis=-2), 2, axis=-1)[..., :_ax_h0, :_ax_w0]

Anything that could make the sampled chain read other values than the exact one is refused
(the candidate is not a site, and the observation says why): a name assigned twice, a leaf or
chain name changed in place or passed to a call that might change it, leaves of different
shapes, a 1-D or small array, a channels-last image (its last two axes are not the grid).
"""

from __future__ import annotations

import ast
import copy
import types
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...config import Perforate
from ...targets.call_graph import static_value
from ...targets.python import LiftedFunction, PythonProgram, local_names, numpy_name
from ...targets.python_runtime import runtime_helper
from .arrays import written
from .probing import run_probed

MIN_SIDE = 32  # both grid axes at least this long: smaller grids are not worth sampling
STEPS = (2, 3)
FILLS = ("nearest", "linear")
SELECTS = {"where": 3, "clip": 3}  # element-wise NumPy functions that are not ufuncs: arity
SCALAR_FUNCTIONS = {"sum", "mean", "min", "max", "amin", "amax", "std", "var", "median", "ptp",
                    "nansum", "nanmean", "nanmin", "nanmax", "nanstd", "nanvar"}
SCALAR_METHODS = {"sum", "mean", "min", "max", "std", "var", "item"}
PURE_METHODS = SCALAR_METHODS | {"copy", "astype"}  # calls on a leaf that cannot change it
PURE_BUILTINS = {"len", "float", "int", "print", "isinstance"}
_RECORDING: list[Observed] = []  # what the run under way records into


@dataclass(frozen=True)
class Grid:
    """A grid site's locator: the ``index``-th chain (source order) a function returns."""

    function: str
    index: int
    written: str  # the chain's end as written, for display


@dataclass
class Chain:
    """What a candidate covers, read from the source: the returned ``root``, the names followed
    (their assignments are part of the chain), its array leaves, and why it cannot be a site."""

    statement: ast.Return
    slot: int | None  # the root's place in a returned tuple
    root: ast.expr
    followed: list[str] = field(default_factory=list)
    leaves: list[ast.expr] = field(default_factory=list)
    nodes: set[int] = field(default_factory=set)  # ids of every node of the chain
    problem: str | None = None


def candidates(lifted: LiftedFunction, tree: ast.FunctionDef | None = None) -> Iterator[tuple[Chain, Grid]]:
    """(chain, locator) for every element-wise value the function returns at its top level, in
    source order; the same numbering whatever the tree's copy. A chain with a ``problem`` is
    never a site."""
    tree = tree if tree is not None else lifted.tree
    if lifted.jitted:
        return  # numba compiles neither the repeat by axis nor the helpers
    flow = _Flow(lifted, tree)
    for position, statement in enumerate(tree.body):
        if not isinstance(statement, ast.Return):
            continue
        if statement.value is None:
            return
        roots = statement.value.elts if isinstance(statement.value, ast.Tuple) else [statement.value]
        index = 0
        for slot, root in enumerate(roots):
            chain = flow.chain(statement, slot if root is not statement.value else None, root, position)
            if chain is not None:
                yield chain, Grid(lifted.key, index, written(root))
                index += 1
        return  # what follows a top-level return never runs


class _Flow:
    """The array flow of one function: which names are assigned once, at the top level, from
    what; where names are loaded; what could change an array in place."""

    def __init__(self, lifted: LiftedFunction, tree: ast.FunctionDef) -> None:
        self.lifted, self.tree = lifted, tree
        self.local = local_names(tree)
        self.stores = Counter(a.arg for a in ast.walk(tree.args) if isinstance(a, ast.arg))
        self.loads: dict[str, list[ast.Name]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    self.loads.setdefault(node.id, []).append(node)
                else:
                    self.stores[node.id] += 1
        self.assigned: dict[str, tuple[int, ast.expr]] = {}  # name -> (position, value)
        for position, statement in enumerate(tree.body):
            if (isinstance(statement, ast.Assign) and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)):
                self.assigned[statement.targets[0].id] = (position, statement.value)

    def chain(self, statement: ast.Return, slot: int | None, root: ast.expr, position: int) -> Chain | None:
        """The chain ending at ``root``, or None when ``root`` computes nothing element-wise."""
        follow = {name for name, (at, _) in self.assigned.items() if at < position and self.stores[name] == 1}
        while True:
            chain = Chain(statement, slot, root)
            self._expand(root, chain, follow, ())
            # a name is followed only when the chain reads all its uses: else the full array is needed
            outside = {n for n in chain.followed if any(id(use) not in chain.nodes for use in self.loads.get(n, []))}
            if not outside:
                break
            follow -= outside
        if isinstance(root, ast.Call) and not self._elementwise_call(root) or \
                not isinstance(root, (ast.BinOp, ast.UnaryOp, ast.Compare, ast.Call, ast.Name)):
            return None  # a reduction, a constructor...: not a map
        if isinstance(root, ast.Name) and not chain.followed or chain.problem is None and not chain.leaves:
            return None  # a bare leaf or a value of numbers only: nothing to sample
        if chain.problem is None:
            chain.problem = self._changed(chain)
        return chain

    def _expand(self, node: ast.expr, chain: Chain, follow: set[str], path: tuple[str, ...]) -> None:
        chain.nodes.add(id(node))
        if isinstance(node, ast.Constant):
            if type(node.value) not in (int, float, bool):
                chain.problem = chain.problem or f"`{ast.unparse(node)}` is not a number"
        elif isinstance(node, ast.BinOp) and not isinstance(node.op, ast.MatMult):
            self._expand(node.left, chain, follow, path)
            self._expand(node.right, chain, follow, path)
        elif isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.Not):
            self._expand(node.operand, chain, follow, path)
        elif isinstance(node, ast.Compare) and len(node.ops) == 1 and \
                not isinstance(node.ops[0], (ast.In, ast.NotIn, ast.Is, ast.IsNot)):
            self._expand(node.left, chain, follow, path)
            self._expand(node.comparators[0], chain, follow, path)
        elif isinstance(node, ast.Call) and self._elementwise_call(node):
            for argument in node.args:
                self._expand(argument, chain, follow, path)
        elif isinstance(node, ast.Name):
            self._name(node, chain, follow, path)
        elif isinstance(node, ast.Attribute) and \
                type(static_value(node, self.lifted.func, local=self.local)) in (int, float):
            pass  # np.pi, math.e: a number
        elif isinstance(node, ast.Subscript):
            self._sliced(node, chain)
        else:
            chain.problem = chain.problem or f"`{written(node)}` is not element-wise"

    def _name(self, node: ast.Name, chain: Chain, follow: set[str], path: tuple[str, ...]) -> None:
        name = node.id
        if name in follow and name not in path:
            trial = Chain(chain.statement, chain.slot, chain.root)
            self._expand(self.assigned[name][1], trial, follow, (*path, name))
            if trial.problem is None:  # element-wise: the chain goes on through the assignment
                chain.followed += [n for n in [name, *trial.followed] if n not in chain.followed]
                chain.leaves += trial.leaves
                chain.nodes |= trial.nodes
                return
        if self.stores[name] > 1:
            chain.problem = chain.problem or f"`{name}` is assigned more than once"
        elif not self._scalar_name(name):
            chain.leaves.append(node)

    def _sliced(self, node: ast.Subscript, chain: Chain) -> None:
        """A leaf ``a[s0, s1]``: one named array, slices only, bounds free of calls."""
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if not isinstance(node.value, ast.Name) or not all(isinstance(p, ast.Slice) for p in parts):
            chain.problem = chain.problem or f"`{written(node)}` indexes, not slices of one array"
        elif any(isinstance(n, (ast.Call, ast.NamedExpr)) for p in parts for n in ast.walk(p)):
            chain.problem = chain.problem or f"`{written(node)}` computes its bounds with a call"
        elif self.stores[node.value.id] > 1:
            chain.problem = chain.problem or f"`{node.value.id}` is assigned more than once"
        else:
            chain.leaves.append(node)

    def _numpy(self, func: ast.expr) -> Any:
        value = static_value(func, self.lifted.func, local=self.local)
        module = (getattr(value, "__module__", "") or "").split(".")[0]
        return value if module == "numpy" or isinstance(value, np.ufunc) else None

    def _elementwise_call(self, node: ast.Call) -> bool:
        if node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            return False
        value = self._numpy(node.func)
        if isinstance(value, np.ufunc):
            return value.nin == len(node.args)
        return value is not None and SELECTS.get(getattr(value, "__name__", "")) == len(node.args)

    def _scalar_name(self, name: str) -> bool:
        """Whether ``name`` is assigned once, at the top level, a value that is a number by its
        form (``img.max()``, ``np.mean(x)``, ``float(t)``, arithmetic of those)."""
        return name in self.assigned and self.stores[name] == 1 and self._scalar(self.assigned[name][1])

    def _scalar(self, node: ast.expr) -> bool:
        if isinstance(node, ast.Constant):
            return type(node.value) in (int, float)
        if isinstance(node, ast.BinOp):
            return self._scalar(node.left) and self._scalar(node.right)
        if isinstance(node, ast.UnaryOp):
            return self._scalar(node.operand)
        if isinstance(node, ast.Name):
            return self._scalar_name(node.id)
        if not isinstance(node, ast.Call) or node.keywords:
            return False
        if isinstance(node.func, ast.Attribute) and node.func.attr in SCALAR_METHODS and not node.args \
                and not isinstance(static_value(node.func.value, self.lifted.func, local=self.local), types.ModuleType):
            return True
        value = self._numpy(node.func)
        if value is not None:
            return getattr(value, "__name__", "") in SCALAR_FUNCTIONS and len(node.args) == 1
        builtin = static_value(node.func, self.lifted.func, local=self.local)
        return builtin in (float, int, len) and len(node.args) == 1

    def _changed(self, chain: Chain) -> str | None:
        """Why an array the chain reads might change before it is read, or None: a store into it,
        an augmented assignment, or a call it is given to that is not known to leave it alone."""
        names = set(chain.followed) | {_base(leaf) for leaf in chain.leaves}
        for node in ast.walk(self.tree):
            line = getattr(node, "lineno", "?")
            if isinstance(node, (ast.Subscript, ast.Attribute)) and not isinstance(node.ctx, ast.Load) \
                    and _base(node) in names:
                return f"`{_base(node)}` is changed in place (`{written(node)}`, line {line})"
            if isinstance(node, ast.AugAssign) and _base(node.target) in names:
                return f"`{_base(node.target)}` is changed in place (`{written(node.target)}`, line {line})"
            if isinstance(node, ast.Call) and id(node) not in chain.nodes and not self._pure(node):
                given = [a.value if isinstance(a, ast.Starred) else a for a in node.args]
                given += [k.value for k in node.keywords]
                if isinstance(node.func, ast.Attribute):
                    given.append(node.func.value)
                for value in given:
                    if isinstance(value, ast.Name) and value.id in names:
                        return (f"`{value.id}` is given to `{written(node.func)}` (line {line}), "
                                "which might change it")
        return None

    def _pure(self, call: ast.Call) -> bool:
        """Calls known to leave their arguments alone: ufuncs without ``out=``, NumPy reductions,
        ``x.sum()``-like methods, ``len``..."""
        if isinstance(call.func, ast.Attribute) and call.func.attr in PURE_METHODS and \
                self._numpy(call.func) is None:
            return True
        value = self._numpy(call.func)
        if isinstance(value, np.ufunc):
            return not any(k.arg in ("out", None) for k in call.keywords)
        if value is not None:
            return getattr(value, "__name__", "") in SCALAR_FUNCTIONS | set(SELECTS)
        return static_value(call.func, self.lifted.func, local=self.local) in (len, float, int, print, isinstance)


def _base(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


# -- observing: which chains map grids on the example inputs ---------------------------------

@dataclass
class Observed:
    """What the example inputs' run saw: (function, index) -> the smallest grid (rows, columns)
    a chain mapped, or why it is not a site."""

    grids: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    problems: dict[tuple[str, int], str] = field(default_factory=dict)
    pending: dict[tuple[str, int], list[tuple[str, int, Any]]] = field(default_factory=dict, repr=False)

    def see(self, function: str, index: int, leaf: str | None, sliced: int, value: Any) -> None:
        key = (function, index)
        if leaf is not None:  # a leaf of the call under way; the root, read last, judges them
            self.pending.setdefault(key, []).append((leaf, sliced, _described(value)))
            return
        problem = judge(self.pending.pop(key, []), _described(value))
        if problem is not None:
            self.problems.setdefault(key, problem)
        elif key not in self.problems:
            shape = value.shape[-2:]
            earlier = self.grids.get(key, shape)
            self.grids[key] = (min(earlier[0], shape[0]), min(earlier[1], shape[1]))

    def site(self, function: str, index: int) -> tuple[int, int] | None:
        key = (function, index)
        return None if key in self.problems else self.grids.get(key)


def _described(value: Any) -> Any:
    """A value's shape and dtype kind (an array), or its type's name."""
    if isinstance(value, np.ndarray):
        return value.shape, value.dtype.kind
    return type(value).__name__


def judge(leaves: list[tuple[str, int, Any]], result: Any) -> str | None:
    """Why one call of a chain does not map a grid, or None: every leaf an array of one shape,
    float, integer or bool, at least 2-D with both last axes >= MIN_SIDE; the result that shape.
    A leaf sliced on ``sliced`` >= 2 axes must have that many (its last two slices are the grid)."""
    shapes = set()
    for text, sliced, seen in leaves:
        if isinstance(seen, str):
            return f"`{text}` is a {seen}, not an array, on the example inputs"
        shape, kind = seen
        if kind not in "biuf":
            return f"`{text}` holds dtype kind {kind!r}, not numbers"
        if len(shape) < 2:
            return f"`{text}` is {len(shape)}-D, not a grid"
        if sliced and sliced != len(shape):
            return f"`{text}` slices {sliced} of its {len(shape)} axes"
        if min(shape[-2:]) < MIN_SIDE:
            channels = " (a channels-last image is not sampled)" if len(shape) > 2 and shape[-1] < MIN_SIDE <= shape[-2] else ""
            return (f"the last two axes of `{text}` are {shape[-2:]}, not a grid of at least "
                    f"{MIN_SIDE} x {MIN_SIDE}{channels}")
        shapes.add(shape)
    if len(shapes) > 1:
        return f"its leaves have different shapes: {', '.join(map(str, sorted(shapes)))}"
    if isinstance(result, str) or not shapes or result[0] not in shapes:
        return f"its result ({result if isinstance(result, str) else result[0]}) is not the leaves' shape"
    if result[1] not in "iuf":
        return f"its result holds dtype kind {result[1]!r}, not numbers"
    return None


def observe(program: PythonProgram, examples: Sequence[Any]) -> Observed:
    """Run ``program`` with every candidate's leaves and result recorded, on each example (not
    at all when its source has no candidate without a problem)."""
    seen = Observed()
    functions, probed = dict(program.functions), False
    for key, lifted in program.functions.items():
        tree = copy.deepcopy(lifted.tree)
        probes: dict[int, Any] = {}
        for chain, grid in candidates(lifted, tree):
            if chain.problem is not None:
                seen.problems[(key, grid.index)] = chain.problem
                continue
            for leaf in chain.leaves:
                probes[id(leaf)] = _probe(key, grid.index, ast.unparse(leaf), len(_folded(leaf)))
            probes[id(chain.root)] = _probe(key, grid.index, None, 0)
        if probes:
            functions[key] = replace(lifted, tree=ast.fix_missing_locations(_Replace(probes).visit(tree)))
            probed = True
    if not probed:
        return seen
    run_probed(program, functions, "_ax_see_grid", _RECORDING, seen, examples, after_each=seen.pending.clear)
    for key, lifted in program.functions.items():
        for _, grid in candidates(lifted):
            if (key, grid.index) not in seen.grids:
                seen.problems.setdefault((key, grid.index), "it never ran on the example inputs")
    return seen


def _probe(function: str, index: int, leaf: str | None, sliced: int):
    def wrap(node: ast.expr) -> ast.expr:
        return ast.Call(ast.Name("_ax_see_grid", ast.Load()),
                        [ast.Constant(function), ast.Constant(index), ast.Constant(leaf), ast.Constant(sliced),
                         node], [])
    return wrap


class _Replace(ast.NodeTransformer):
    """Replaces nodes by identity: ``make(node)`` for each node whose id is a key, after its
    own children were visited."""

    def __init__(self, makers: Mapping[int, Any]) -> None:
        self.makers = makers

    def visit(self, node: ast.AST) -> Any:
        maker = self.makers.get(id(node))
        node = self.generic_visit(node)
        return maker(node) if maker is not None else node


@runtime_helper()
def _ax_see_grid(function, index, leaf, sliced, value):
    """Record one leaf (``leaf`` as written, sliced on ``sliced`` axes) or the result (``leaf``
    None) of a candidate chain; returns ``value`` unchanged."""
    _RECORDING[-1].see(function, index, leaf, sliced, value)
    return value


def choices() -> list[Perforate]:
    return [Perforate.grid(step, fill) for fill in FILLS for step in STEPS]


# -- rewriting ---------------------------------------------------------------------------------

class GridRewriter:
    """Rewrites the chosen chains of one function's tree (already a private copy): each array
    leaf sampled every k-th row and column, each root filled back to the grid at the return."""

    def __init__(self, lifted: LiftedFunction, tree: ast.FunctionDef, chosen: Mapping[int, Perforate]) -> None:
        self.helpers: set[str] = set()
        self.numpy = numpy_name(lifted)
        self.makers: dict[int, Any] = {}
        self.filled: dict[int, list[tuple[Chain, Perforate, ast.expr, int]]] = {}
        for chain, grid in candidates(lifted, tree):
            setting = chosen.get(grid.index)
            if setting is None or setting.is_exact:
                continue
            step = setting.grid_step
            for leaf in chain.leaves:
                self.makers[id(leaf)] = lambda node, step=step: _sampled(node, step)
            shape_of = copy.deepcopy(chain.leaves[0])  # the first leaf, unsampled: the grid's size
            self.filled.setdefault(id(chain.statement), []).append((chain, setting, shape_of, grid.index))
            self.makers[id(chain.statement)] = self._fill

    def rewrite(self, tree: ast.FunctionDef) -> None:
        _Replace(self.makers).visit(tree)

    def _fill(self, statement: ast.Return) -> list[ast.stmt]:
        sizes = []
        for chain, setting, shape_of, index in self.filled[id(statement)]:
            rows, columns = f"_ax_h{index}", f"_ax_w{index}"
            sizes.append(ast.parse(f"{rows}, {columns} = {ast.unparse(shape_of)}.shape[-2:]").body[0])
            root = statement.value if chain.slot is None else statement.value.elts[chain.slot]
            text = self._filled_text(setting, rows, columns)
            filled = _Placeholder(root).visit(ast.parse(text, mode="eval").body)
            if chain.slot is None:
                statement.value = filled
            else:
                statement.value.elts[chain.slot] = filled
        return [*(ast.copy_location(s, statement) for s in sizes), statement]

    def _filled_text(self, setting: Perforate, rows: str, columns: str) -> str:
        k = setting.grid_step
        if setting.policy == "grid-linear":
            self.helpers.add("_ax_grid_linear")
            return f"_ax_grid_linear({PLACEHOLDER}, {k}, {rows}, {columns})"
        if self.numpy is None:  # no name for NumPy in the function's module: the helper says it
            self.helpers.add("_ax_grid_nearest")
            return f"_ax_grid_nearest({PLACEHOLDER}, {k}, {rows}, {columns})"
        np_ = self.numpy
        return f"{np_}.repeat({np_}.repeat({PLACEHOLDER}, {k}, axis=-2), {k}, axis=-1)[..., :{rows}, :{columns}]"


PLACEHOLDER = "_ax_Y"


class _Placeholder(ast.NodeTransformer):
    def __init__(self, value: ast.expr) -> None:
        self.value = value

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.value if node.id == PLACEHOLDER else node


def _sampled(leaf: ast.expr, step: int) -> ast.expr:
    """``p[:-2, 2:]`` -> ``p[:-2:2, 2::2]`` (the step folded into the last two slices when they
    have none); ``x`` -> ``x[..., ::2, ::2]``."""
    parts = _folded(leaf)
    if parts:
        for part in parts[-2:]:
            part.step = ast.Constant(step)
        return leaf
    every = ast.Slice(None, None, ast.Constant(step))
    index = ast.Tuple([ast.Constant(...), every, copy.deepcopy(every)], ast.Load())
    return ast.Subscript(leaf, index, ast.Load())


def _folded(leaf: ast.expr) -> list[ast.Slice]:
    """The slices of a leaf sliced on two or more axes whose last two have no step (the sampling
    step is written into them), else []."""
    parts = leaf.slice.elts if isinstance(leaf, ast.Subscript) and isinstance(leaf.slice, ast.Tuple) else []
    return parts if len(parts) >= 2 and all(p.step is None for p in parts[-2:]) else []


@runtime_helper(imports=("import numpy as np",))
def _ax_grid_nearest(y, k, h, w):
    """``y``, computed on every k-th row and column of an h x w grid (its last two axes), back
    at full size: each value repeated over its k x k block."""
    return np.repeat(np.repeat(y, k, axis=-2), k, axis=-1)[..., :h, :w]


@runtime_helper(imports=("import numpy as np",))
def _ax_grid_linear(y, k, h, w):
    """``y``, computed on every k-th row and column of an h x w grid (its last two axes), back
    at full size by linear interpolation between neighbouring samples, one axis after the
    other; past the last sample (the far edge) its value is held. The dtype of ``y`` is kept
    (integers rounded)."""
    out = y if y.dtype.kind == "f" else y.astype(np.float64)  # integers would wrap in the differences
    for axis, size in ((-2, h), (-1, w)):
        def along(part):  # an index taking ``part`` of this axis, the others whole
            return (Ellipsis, part) if axis == -1 else (Ellipsis, part, slice(None))
        last = out[along(slice(-1, None))]
        after = np.concatenate([out[along(slice(1, None))], last], axis=axis)  # the next sample
        full = np.empty(out.shape[:axis] + (size,) + out.shape[axis:][1:], out.dtype)
        for offset in range(k):  # the rows (columns) offset past a sample: strided views, no gather
            count = len(range(offset, size, k))
            below, above = out[along(slice(count))], after[along(slice(count))]
            full[along(slice(offset, None, k))] = below if offset == 0 else below + (above - below) * (offset / k)
        out = full
    if y.dtype.kind != "f":
        out = np.rint(out)
    return out.astype(y.dtype, copy=False)
