"""Loop perforation for Python functions: every ``for`` loop is a site, and so is every
comprehension clause (:mod:`.comprehensions`) and every ``while`` loop (:mod:`.while_loops`);
with example inputs, every reduction over a long axis of a float array (:mod:`.arrays`) and
every element-wise map a function returns over a grid (:mod:`.grids`).

The rewrite only wraps the loop's iterable (``for x in _ax_modulo(xs, 1, 2)``, or
``range(...)[::2]`` for a plain ``range``), so ``break``, ``continue``, ``else`` and ``return``
keep their meaning. With ``compensate=True`` the loop's accumulators (``acc += expr`` into a
variable defined before the loop) are rescaled after it by iterations seen / iterations run.
In a numba-compiled function, which cannot call the Python selectors, the loop is written out
with its keep-test and counts instead (:mod:`.compiled`), running the same iterations.
"""

from __future__ import annotations

import ast
import copy
import zlib
from collections.abc import Iterator, Mapping
from typing import Any
from dataclasses import dataclass
from fractions import Fraction

from ...config import GRID_POLICIES, LOOP_POLICIES, Perforate, Setting
from ...errors import InvalidConfig
from ...sites import Knob, Site
from ...targets.python import LiftedFunction, PythonProgram
from .._base import Transform, register
from . import arrays, comprehensions, grids, statistics, while_loops
from . import runtime as _runtime  # noqa: F401  (registers the helpers)
from .compiled import compiled_loop, kept_share
from .scopes import walk_same_scope as _walk_same_scope

RATES = (0.25, 0.5, 0.75)
POLICIES = ("modulo", "truncate", "random")
MAX_DENOMINATOR = 64  # modulo realises the kept share as a fraction p/q with q <= 64


@dataclass(frozen=True)
class Loop:
    """A perforation site's locator: the ``index``-th ``for`` loop (source order) of a function."""

    function: str  # key of the lifted function
    index: int


@dataclass
class Observed:
    """What a run on example inputs showed: the reductions' lengths, the grids' maps, the
    statistics' calls."""

    reductions: arrays.Observed
    grids: grids.Observed
    statistics: statistics.Observed


@register
class PythonPerforation(Transform):
    family = "perforate"
    target = "python"
    order = 0
    examples = 3  # which reductions sum long float arrays, which maps cover grids, which calls are statistics

    def observe(self, program: PythonProgram, examples, *, name: str) -> Observed:
        return Observed(arrays.observe(program, examples), grids.observe(program, examples),
                        statistics.observe(program, examples))

    def resolve(self, program: PythonProgram, site_id: str) -> Site | None:
        """A reduction, a grid or a sampled call a saved config names, on a program that has not
        run: found in the source (a grid's chain without a problem the source shows)."""
        key, _, suffix = site_id.rpartition("/")
        if key in program.functions and suffix.startswith("sample#"):
            found = statistics.find(program.functions[key], program, suffix)
            return None if found is None else self._statistic_site(program.functions[key], *found, None)
        for kind in ("/reduce#", "/grid#"):
            key, _, rest = site_id.rpartition(kind)
            if key in program.functions and rest.isdigit():
                break
        else:
            return None
        lifted = program.functions[key]
        if kind == "/grid#":
            return next((self._grid_site(lifted, chain, grid, None) for chain, grid in grids.candidates(lifted)
                         if grid.index == int(rest) and chain.problem is None), None)
        for node, reduction in arrays.candidates(lifted):
            if reduction.index == int(rest):
                return self._reduction_site(lifted, node, reduction, None)
        return None

    def discover(self, program: PythonProgram) -> list[Site]:
        sites = []
        observed = program.observed(self.family)
        for lifted in program.functions.values():
            for index, loop in enumerate(loops(lifted.tree)):
                sites.append(self._site(lifted, index, loop))
            sums = comprehensions.reductions(lifted, lifted.tree)
            for index, (comp, clause) in enumerate(comprehensions.clauses(lifted.tree)):
                sites.append(self._clause_site(lifted, index, comp, clause, sums.get(id(comp), (None,))[0]))
            for index, loop in enumerate(while_loops.while_loops(lifted.tree)):
                sites.append(self._while_site(lifted, index, loop))
            for node, reduction in arrays.candidates(lifted) if observed is not None else ():
                length = observed.reductions.lengths.get((lifted.key, reduction.index))
                if length is not None and length >= arrays.MIN_LENGTH:
                    sites.append(self._reduction_site(lifted, node, reduction, length))
            for chain, grid in grids.candidates(lifted) if observed is not None else ():
                size = observed.grids.site(lifted.key, grid.index)
                if size is not None:
                    sites.append(self._grid_site(lifted, chain, grid, size))
        if observed is not None:
            for lifted, node, statistic, rows in observed.statistics.statistics(program):
                sites.append(self._statistic_site(lifted, node, statistic, rows))
        return sites

    def check(self, program: PythonProgram, site: Site, setting: Setting) -> None:
        assert isinstance(setting, Perforate)
        if isinstance(site.locator, grids.Grid):
            if not setting.is_exact and setting.policy not in GRID_POLICIES:
                raise InvalidConfig(
                    f"config[{site.id!r}]: a map over a grid is sampled by row and column; give it "
                    f"one of {', '.join(GRID_POLICIES)}, e.g. Perforate.grid(2, 'nearest'), not "
                    f"policy {setting.policy!r}."
                )
        elif setting.policy in GRID_POLICIES:
            raise InvalidConfig(
                f"config[{site.id!r}]: policy {setting.policy!r} samples a map over a grid (a "
                f"grid#k site); a loop or a reduction takes one of {', '.join(LOOP_POLICIES)}."
            )
        elif setting.policy not in LOOP_POLICIES:
            raise InvalidConfig(
                f"config[{site.id!r}]: policy {setting.policy!r} prunes layers of a model; a "
                f"loop takes one of {', '.join(LOOP_POLICIES)}."
            )

    def apply(self, program: PythonProgram, settings: Mapping[Site, Setting]) -> PythonProgram:
        # function -> kind of locator -> locator -> setting
        by_function: dict[str, dict[type, dict[Any, Perforate]]] = {}
        for site, setting in settings.items():
            assert isinstance(setting, Perforate)
            if not setting.is_exact:
                kinds = by_function.setdefault(site.locator.function, {})
                kinds.setdefault(type(site.locator), {})[site.locator] = setting
        helpers: set[str] = set()
        for key, chosen in by_function.items():
            lifted = program.functions[key]
            tree = copy.deepcopy(lifted.tree)

            def numbered(kind: type) -> dict[int, Perforate]:
                return {locator.index: setting for locator, setting in chosen.get(kind, {}).items()}

            # every rewriter numbers its nodes on the copy before any of them changes it
            fors = _LoopRewriter(lifted, tree, numbered(Loop))
            clauses = comprehensions.ClauseRewriter(lifted, tree, numbered(comprehensions.Clause), fors)
            whiles = while_loops.WhileRewriter(lifted, tree, numbered(while_loops.WhileLoop))
            reductions = arrays.ReductionRewriter(lifted, tree, numbered(arrays.Reduction))
            samples = statistics.StatisticRewriter(lifted, program, tree, chosen.get(statistics.Statistic, {}))
            maps = grids.GridRewriter(lifted, tree, numbered(grids.Grid))
            maps.rewrite(tree)
            reductions.visit(tree)
            clauses.rewrite(tree)
            whiles.visit(tree)
            fors.visit(tree)
            samples.visit(tree)  # last: it writes its call's other arguments again
            helpers |= fors.helpers | whiles.helpers | reductions.helpers | maps.helpers | samples.helpers
            program = program.with_tree(key, ast.fix_missing_locations(tree))
        return program.with_helpers(helpers)

    @staticmethod
    def _site(lifted: LiftedFunction, index: int, loop: ast.For) -> Site:
        accumulators = [ast.unparse(a) for a in accumulators_of(loop, lifted.tree)]
        choices = [Perforate(rate, policy) for policy in POLICIES for rate in RATES]
        if accumulators:
            choices += [Perforate(r, p, compensate=True) for p in POLICIES for r in RATES]
        header = f"for {ast.unparse(loop.target)} in {ast.unparse(loop.iter)}"
        return Site(
            id=f"{lifted.key}/for#{index}",
            family="perforate",
            target="python",
            knob=Knob(Perforate(), tuple(choices)),
            where=lifted.where(loop),
            detail=header if len(header) < 60 else header[:57] + "...",
            facts={"accumulators": accumulators, "early_exit": _has_early_exit(loop)},
            locator=Loop(lifted.key, index),
        )

    @staticmethod
    def _clause_site(lifted: LiftedFunction, index: int, comp: ast.expr, clause: ast.comprehension,
                     reduction: str | None) -> Site:
        choices = [Perforate(rate, policy) for policy in POLICIES for rate in RATES]
        if reduction == "sum":
            choices += [Perforate(r, p, compensate=True) for p in POLICIES for r in RATES]
        if lifted.jitted:
            choices = [c for c in choices if not _clause_needs_helpers(lifted, index, c)]
        return Site(
            id=f"{lifted.key}/comp#{index}", family="perforate", target="python",
            knob=Knob(Perforate(), tuple(choices)), where=lifted.where(clause.iter),
            detail=comprehensions.describe(lifted, comp, clause, reduction),
            facts={"reduction": reduction}, locator=comprehensions.Clause(lifted.key, index),
        )

    @staticmethod
    def _while_site(lifted: LiftedFunction, index: int, loop: ast.While) -> Site:
        shape = while_loops.shape(loop, lifted)
        choices = while_loops.choices(shape, RATES)  # every one compiles under numba as well
        test = ast.unparse(loop.test)
        detail = f"while {test if len(test) < 40 else test[:37] + '...'}"
        if shape.reason:
            detail += f" (no choices: {shape.reason})"
        form = "counting" if shape.counting is not None else "skips its work" if shape.work else None
        return Site(
            id=f"{lifted.key}/while#{index}", family="perforate", target="python",
            knob=Knob(Perforate(), tuple(choices)), where=lifted.where(loop), detail=detail,
            facts={"form": form, "accumulators": list(shape.accumulators), "reason": shape.reason or None},
            locator=while_loops.WhileLoop(lifted.key, index),
        )


    @staticmethod
    def _reduction_site(lifted: LiftedFunction, node: ast.expr, reduction: arrays.Reduction,
                        length: int | None) -> Site:
        what = "sum, scaled" if reduction.sums else "scale-free"
        seen = f"; axis of {length} on the example inputs" if length is not None else ""
        return Site(
            id=f"{lifted.key}/reduce#{reduction.index}", family="perforate", target="python",
            knob=Knob(Perforate(), tuple(arrays.choices(reduction.sums, RATES, POLICIES))),
            where=lifted.where(node), detail=f"{reduction.written} ({what}{seen})",
            facts={"operation": reduction.operation, "length": length, "profiled": length is not None},
            locator=reduction,
        )

    @staticmethod
    def _grid_site(lifted: LiftedFunction, chain: grids.Chain, grid: grids.Grid,
                   size: tuple[int, int] | None) -> Site:
        seen = f" on a {size[0]} x {size[1]} grid" if size is not None else ""
        leaves = len(chain.leaves)
        return Site(
            id=f"{lifted.key}/grid#{grid.index}", family="perforate", target="python",
            knob=Knob(Perforate(), tuple(grids.choices())), where=lifted.where(chain.root),
            detail=f"{grid.written} (map of {leaves} array{'s' if leaves > 1 else ''}{seen})",
            facts={"followed": list(chain.followed), "grid": size, "profiled": size is not None},
            locator=grid,
        )

    @staticmethod
    def _statistic_site(lifted: LiftedFunction, node: ast.Call, statistic: statistics.Statistic,
                        rows: int | None) -> Site:
        what = "sum, scaled" if statistic.kind == "sum" else "mean-like"
        seen = f"; {rows} rows on the example inputs" if rows is not None else ""
        sampled = ", ".join(ast.unparse(node.args[p]) for p in statistic.positions)
        choices = arrays.choices(statistic.kind == "sum", RATES, POLICIES)
        return Site(
            id=f"{lifted.key}/{statistic.suffix}", family="perforate", target="python",
            knob=Knob(Perforate(), tuple(choices)), where=lifted.where(node),
            detail=f"{statistic.written} (rows of {sampled}: {what}{seen})",
            facts={"statistic": statistic.kind, "rows": rows, "profiled": rows is not None},
            locator=statistic,
        )


def _clause_needs_helpers(lifted: LiftedFunction, index: int, setting: Perforate) -> bool:
    tree = copy.deepcopy(lifted.tree)
    selection = _LoopRewriter(lifted, tree, {})
    comprehensions.ClauseRewriter(lifted, tree, {index: setting}, selection).rewrite(tree)
    return bool(selection.helpers)


def loops(tree: ast.AST) -> Iterator[ast.For]:
    """``for`` loops in source order (pre-order), the numbering behind ``for#k`` site ids."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.For):
            yield child
        yield from loops(child)


def accumulators_of(loop: ast.For, function: ast.FunctionDef) -> list[ast.expr]:
    """Targets of ``x += e`` / ``x -= e`` in the loop that the loop itself never rebinds.

    A name must also be defined before the loop (a parameter or assigned elsewhere in the
    function); a subscript or attribute (``out[i]``) must only use names the loop does not change.
    """
    changed = _stored_names(loop)
    plain_stores = _plain_stored_names(loop)
    defined = _stored_names(function, outside=loop) | {
        a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)
    }
    found: dict[str, ast.expr] = {}
    for node in _walk_same_scope(loop.body):
        if not (isinstance(node, ast.AugAssign) and isinstance(node.op, (ast.Add, ast.Sub))):
            continue
        target = node.target
        if isinstance(target, ast.Name):
            ok = target.id in defined and target.id not in plain_stores
        else:
            used = {n.id for n in ast.walk(target) if isinstance(n, ast.Name)}
            ok = not (used & changed) and not any(isinstance(n, ast.Call) for n in ast.walk(target))
        if ok:
            found.setdefault(ast.unparse(target), target)
    return list(found.values())


def _stored_names(tree: ast.AST, *, outside: ast.AST | None = None) -> set[str]:
    skip = set(map(id, ast.walk(outside))) if outside is not None else set()
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in skip
    }


def _plain_stored_names(loop: ast.For) -> set[str]:
    """Names the loop binds other than by augmented assignment (loop targets included)."""
    aug = {id(n.target) for n in ast.walk(loop) if isinstance(n, ast.AugAssign)}
    return {
        n.id
        for n in ast.walk(loop)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store) and id(n) not in aug
    }


def _has_early_exit(loop: ast.For) -> bool:
    return any(isinstance(n, (ast.Break, ast.Return, ast.Raise)) for n in _walk_same_scope(loop.body))


class _LoopRewriter(ast.NodeTransformer):
    """Rewrites the chosen loops of one function (a private deep copy of its tree)."""

    def __init__(self, lifted: LiftedFunction, tree: ast.FunctionDef, chosen: dict[int, Perforate]):
        self.lifted = lifted
        self.tree = tree
        self.by_node = {id(loop): (i, chosen[i]) for i, loop in enumerate(loops(tree)) if i in chosen}
        # read before any rewriter changes the tree (another site's compensation adds statements)
        self.accumulators = {id(loop): accumulators_of(loop, tree) for loop in loops(tree) if id(loop) in self.by_node}
        self.helpers: set[str] = set()
        self.range_is_builtin = "range" not in lifted.func.__globals__ and "range" not in _stored_names(
            tree
        )

    def visit_For(self, node: ast.For) -> ast.AST | list[ast.stmt]:
        found = self.by_node.get(id(node))
        accumulators = self.accumulators.get(id(node), [])
        self.generic_visit(node)
        if found is None:
            return node
        index, setting = found
        site_id = f"{self.lifted.key}/for#{index}"
        if setting.compensate and not accumulators:
            raise InvalidConfig(
                f"{site_id}: compensate=True needs an accumulator (`acc += ...` into a variable "
                f"defined before the loop), and `{ast.unparse(node.target)}` loop at "
                f"{self.lifted.where(node)} has none. Use compensate=False for this site."
            )
        by_hand = not setting.compensate and self._strided(node.iter, setting)
        if self.lifted.jitted and not by_hand:  # numba cannot call the Python selectors
            statements, helpers = compiled_loop(
                node, setting, index, accumulators, seed=_seed(site_id, setting),
                modulo=_modulo_share(setting), plain_range=self._is_plain_range(node.iter),
                early_exit=_has_early_exit(node))
            self.helpers |= helpers
            return statements
        if not setting.compensate:
            node.iter = self.selector(node.iter, setting, site_id, None)
            return node
        before = [f"_ax_before_{index}_{k}" for k in range(len(accumulators))]
        snapshots = [_assign(b, _call("_ax_snapshot", _load(a))) for b, a in zip(before, accumulators)]
        self.helpers.update({"_ax_snapshot", "_ax_rescale"})
        fast = self._sized_selection(node, setting, index, site_id)
        if fast is not None:
            # counts follow from the lengths: no per-iteration bookkeeping
            setup, seen, ran = fast
            counts: list[ast.expr] = [ast.Name(seen, ast.Load()), ast.Name(ran, ast.Load())]
            node.iter = ast.Name(ran, ast.Load())
            rescale = "_ax_rescale"
        else:
            tally = f"_ax_tally_{index}"
            setup = [_assign(tally, _call("_ax_Tally"))]
            node.iter = self.selector(node.iter, setting, site_id, tally)
            counts = [ast.Name(tally, ast.Load())]
            rescale = "_ax_compensate"
            self.helpers.update({"_ax_Tally", "_ax_compensate"})
        after = [
            ast.Assign(targets=[_store(a)],
                       value=_call(rescale, _load(a), ast.Name(b, ast.Load()), *counts))
            for b, a in zip(before, accumulators)
        ]
        statements = [*setup, *snapshots, node, *after]
        return [ast.copy_location(s, node) for s in statements]

    def _sized_selection(
        self, node: ast.For, setting: Perforate, index: int, site_id: str
    ) -> tuple[list[ast.stmt], str, str] | None:
        """Without an early exit: statements binding the loop's source and the iterations to
        run as sized sequences, so their lengths are the counts; None when the loop can exit
        early (then a tally counts while it runs)."""
        if _has_early_exit(node):
            return None
        seen, ran = f"_ax_seen_{index}", f"_ax_ran_{index}"
        source = ast.Name(seen, ast.Load())
        if self._is_plain_range(node.iter):
            bind_seen = _assign(seen, node.iter)  # a range: sized, and its slices are ranges
            if setting.policy == "modulo" and setting.stride is not None:
                part = ast.Slice(None, None, ast.Constant(setting.stride))
                return [bind_seen, _assign(ran, ast.Subscript(source, part, ast.Load()))], seen, ran
        else:
            bind_seen = _assign(seen, _call("_ax_sized", node.iter))
        self.helpers.add("_ax_sized")
        selection = _call("_ax_sized", self.selector(source, setting, site_id, None))
        return [bind_seen, _assign(ran, selection)], seen, ran

    def selector(
        self, iterable: ast.expr, setting: Perforate, site_id: str, tally: str | None
    ) -> ast.expr:
        """The iterations of ``iterable`` that ``setting`` runs (also what a comprehension
        clause iterates, see :mod:`.comprehensions`)."""
        extra = [ast.Name(tally, ast.Load())] if tally else []
        if setting.policy == "modulo":
            p, q = _modulo_share(setting)
            if not tally and self._strided(iterable, setting):
                return _strided_range(iterable, q)  # what a person writes by hand
            self.helpers.add("_ax_modulo")
            return _call("_ax_modulo", iterable, ast.Constant(p), ast.Constant(q), *extra)
        p, q = kept_share(setting.keep)
        if setting.policy == "truncate":
            if not tally and self._is_plain_range(iterable):
                shortened = _truncated_range(iterable, p, q)
                if shortened is not None:
                    return shortened  # range((n + 1) // 2): what a person writes by hand
            self.helpers.add("_ax_truncate")
            return _call("_ax_truncate", iterable, ast.Constant(p), ast.Constant(q), *extra)
        self.helpers.add("_ax_random")
        seed = ast.Constant(_seed(site_id, setting))
        return _call("_ax_random", iterable, ast.Constant(p), ast.Constant(q), seed, *extra)

    def _strided(self, iterable: ast.expr, setting: Perforate) -> bool:
        """Whether modulo runs every k-th iteration of a plain ``range`` (a strided range)."""
        every_kth = setting.policy == "modulo" and _modulo_share(setting)[0] == 1
        return every_kth and self._is_plain_range(iterable)

    def _is_plain_range(self, node: ast.expr) -> bool:
        return (
            self.range_is_builtin
            and isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "range"
            and not node.keywords
        )


def _modulo_share(setting: Perforate) -> tuple[int, int]:
    """Modulo's kept share as p/q with q <= 64: it runs p of every q iterations."""
    keep = Fraction(setting.keep).limit_denominator(MAX_DENOMINATOR)
    return keep.numerator, keep.denominator


def _seed(site_id: str, setting: Perforate) -> int:
    """The random policy's seed: the setting's, mixed with the site's id, in 32 bits."""
    return (zlib.crc32(site_id.encode()) ^ setting.seed) & 0xFFFFFFFF


def _strided_range(call: ast.Call, stride: int) -> ast.expr:
    """``range(n)`` -> ``range(0, n, k)``; ``range(a, b, s)`` -> ``range(a, b, s * k)``.

    Arguments with ``*`` unpacking are left alone: ``range(*args)[::k]`` does the same.
    """
    args = list(call.args)
    if any(isinstance(a, ast.Starred) for a in args):
        return ast.Subscript(call, ast.Slice(None, None, ast.Constant(stride)), ast.Load())
    if len(args) == 1:
        args = [ast.Constant(0), args[0]]
    if len(args) == 2:
        step: ast.expr = ast.Constant(stride)
    elif isinstance(args[2], ast.Constant) and isinstance(args[2].value, int):
        step = ast.Constant(args[2].value * stride)
    else:
        step = ast.BinOp(args[2], ast.Mult(), ast.Constant(stride))
    return ast.Call(call.func, [args[0], args[1], step], [])


def _truncated_range(call: ast.Call, p: int, q: int) -> ast.expr | None:
    """``range(n)`` -> ``range((n * p + q - 1) // q)``, the first ``ceil(n * p / q)`` values as
    ``_ax_truncate`` runs them; ``range(a, b)`` likewise when ``a`` is a name or a number (it is
    read twice); numbers folded (``range(1, 24)`` -> ``range(1, 13)``). None for other forms (a
    step, ``*`` unpacking)."""
    args = list(call.args)
    numbers = [_integer(a) for a in args]
    if len(args) == 2 and (isinstance(args[0], ast.Name) or numbers[0] is not None):
        start, size = args[0], ast.BinOp(args[1], ast.Sub(), copy.deepcopy(args[0]))
    elif len(args) == 1 and not isinstance(args[0], ast.Starred):
        start, size = None, args[0]
    else:
        return None
    if None not in numbers:  # all numbers: the bound itself
        stop = numbers[-1] if len(numbers) == 1 else numbers[1] - numbers[0]
        stop = (stop * p + q - 1) // q + (numbers[0] if len(numbers) == 2 else 0)
        return ast.Call(call.func, [*args[:-1], ast.Constant(stop)], [])
    scaled = size if p == 1 else ast.BinOp(size, ast.Mult(), ast.Constant(p))
    kept = ast.BinOp(ast.BinOp(scaled, ast.Add(), ast.Constant(q - 1)), ast.FloorDiv(), ast.Constant(q))
    if q == 1:
        kept = scaled
    stop = kept if start is None else ast.BinOp(copy.deepcopy(start), ast.Add(), kept)
    return ast.Call(call.func, [stop] if start is None else [start, stop], [])


def _integer(node: ast.expr) -> int | None:
    """The value of an integer literal (``-4`` included), else None."""
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError):  # not a literal
        return None
    return value if type(value) is int else None


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(ast.Name(name, ast.Load()), list(args), [])


def _assign(name: str, value: ast.expr) -> ast.Assign:
    return ast.Assign(targets=[ast.Name(name, ast.Store())], value=value)


def _with_ctx(expr: ast.expr, ctx: ast.expr_context) -> ast.expr:
    fresh = copy.deepcopy(expr)
    fresh.ctx = ctx  # type: ignore[attr-defined]
    return fresh


def _load(expr: ast.expr) -> ast.expr:
    return _with_ctx(expr, ast.Load())


def _store(expr: ast.expr) -> ast.expr:
    return _with_ctx(expr, ast.Store())
