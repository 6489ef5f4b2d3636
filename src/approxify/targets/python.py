"""The Python target: a function and the user functions it calls, as ASTs, and back.

``lift`` reads a function's source with ``inspect`` and ``ast`` and follows calls to other user
functions (the target's own module, or modules the user names) so that sites inside helpers are
found. ``PythonProgram.build`` compiles the (possibly rewritten) ASTs into fresh functions that
live in *copies* of their modules' globals: the user's function, module and globals are never
touched, and helper calls inside a variant go to the variant's helpers.
"""

from __future__ import annotations

import __future__
import ast
import copy
import functools
import inspect
import operator
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from .._optional import require_numba
from ..errors import InvalidArgument, UnsupportedTarget
from ..measure.inputs import fresh_copy
from .call_graph import NEEDS_RUN, CallEdge, Position, Skipped, call_nodes, find, position, reference, resolve
from .call_runtime import _ax_Swap
from .call_trace import CallHint
from .namespaces import LiveGlobals, owned_copy, read_globals, written_globals
from .python_runtime import helper_objects, prepare_for_numba

FACTORY = "__approxify_factory__"
REFRESH = "_ax_refresh_globals"  # what a variant's root calls first (see .namespaces)
SWAP = "_ax_swap"  # what a rewired call site asks for its callee (see .call_graph)


@dataclass(frozen=True)
class LiftedFunction:
    """One function of a program: its original object and its (rewritable) definition."""

    key: str  # readable and stable: "<module short name>.<qualname>", e.g. "mc.estimate"
    func: types.FunctionType  # the user's original (unwrapped) function; never modified
    tree: ast.FunctionDef  # the definition, with line numbers of the original file
    filename: str
    callees: Mapping[str, str]  # name used in this function -> key of a lifted callee
    jit: Any = None  # the user's numba dispatcher when the function is numba-compiled
    # calls reached otherwise (``mod.f``, ``self.m``, ``Foo()``, traced values): position -> edge
    calls: Mapping[Position, CallEdge] = field(default_factory=dict)
    skipped: tuple[Skipped, ...] = ()  # calls seen and not followed, with the reason
    pristine: str = field(default="", compare=False, repr=False)  # ast.dump of the tree as lifted

    @property
    def jitted(self) -> bool:
        return self.jit is not None

    @property
    def line(self) -> int:
        return self.tree.lineno

    def where(self, node: ast.AST | None = None) -> str:
        line = getattr(node, "lineno", self.line)
        return f"{_short_file(self.filename)}:{line}"

    @property
    def rewritten(self) -> bool:
        """Whether a transform changed this function's definition."""
        return ast.dump(self.tree) != self.pristine

    def links(self) -> list[str]:
        """Keys of every lifted callee, by name or otherwise."""
        return [*self.callees.values(), *(key for edge in self.calls.values() for key in edge.callees)]


@dataclass(frozen=True)
class PythonProgram:
    """A target function and its lifted callees. Immutable: rewriting returns a new program."""

    root: str
    functions: Mapping[str, LiftedFunction]
    bound_self: Any = None  # the instance, when the target was a bound method
    helpers: frozenset[str] = frozenset()  # runtime helper names the rewritten code uses
    observations: Mapping[str, Any] = field(default_factory=dict)  # family -> what example runs saw
    fits: dict[Any, Any] = field(default_factory=dict, compare=False)  # fitted surrogates, shared by rewrites
    constants: Mapping[str, Any] = field(default_factory=dict)  # extra names rewritten code uses
    named_calls: tuple[Any, ...] = ()  # functions the user named as substitutable (calls=)
    original: Any = field(default=None, compare=False)  # the callable the user gave (a method, a numba dispatcher...)
    scope: frozenset[str] = frozenset()  # modules (or package prefixes) whose functions are user code

    per_sample = False  # one loss per call
    has_weights = False  # nothing to repair
    isolate = True  # run in a forked child when measured: the user's code may write anywhere
    records_runs = False  # a function's dead code is found by each family (a call never traced)

    def with_tree(self, key: str, tree: ast.FunctionDef) -> PythonProgram:
        functions = dict(self.functions)
        functions[key] = replace(functions[key], tree=tree)
        return replace(self, functions=functions)

    @property
    def name(self) -> str:
        return self.root

    @property
    def reference(self) -> str:
        """``module:qualname`` of the root function, to import it again when a result is loaded."""
        func = self.functions[self.root].func
        return f"{func.__module__}:{func.__qualname__}"

    def exact(self) -> Any:
        """What variants are compared with: the user's own callable."""
        return self.original

    def compiled(self) -> dict[str, list[Any]]:
        """The signatures the user's numba dispatchers were compiled for (after a run)."""
        return {k: list(f.jit.signatures) for k, f in self.functions.items() if f.jitted}

    def compile_like(self, signatures: Mapping[str, list[Any]]) -> None:
        """Compile the user's dispatchers for ``signatures`` here, running none of their code:
        what a run in a child compiled is then compiled once, not again in every child."""
        for key, found in signatures.items():
            for signature in found:
                self.functions[key].jit.compile(signature)

    def repaired(self, structure: str) -> PythonProgram:
        """The post-build hook of targets with weights; a function has none to repair."""
        return self

    def with_helpers(self, names: Iterable[str]) -> PythonProgram:
        return replace(self, helpers=self.helpers | frozenset(names))

    def with_observations(self, family: str, data: Any) -> PythonProgram:
        return replace(self, observations={**self.observations, family: data})

    def with_constants(self, constants: Mapping[str, Any]) -> PythonProgram:
        return replace(self, constants={**self.constants, **constants})

    def observed(self, family: str) -> Any:
        """What profiling saw for ``family``, or None when the program was not profiled."""
        return self.observations.get(family)

    @property
    def skipped(self) -> list[Skipped]:
        """Every call seen and not followed, with the reason, function by function."""
        return [entry for lifted in self.functions.values() for entry in lifted.skipped]

    def changed_keys(self) -> set[str]:
        """Functions whose variant differs from the user's: rewritten, or calling one that is."""
        changed = {key for key, lifted in self.functions.items() if lifted.rewritten}
        grew = True
        while grew:
            grew = False
            for key, lifted in self.functions.items():
                if key not in changed and any(callee in changed for callee in lifted.links()):
                    changed.add(key)
                    grew = True
        return changed

    @property
    def jitted(self) -> bool:
        """Whether any function is numba-compiled (variants are compiled again on first call)."""
        return any(f.jitted for f in self.functions.values())

    def source(self, key: str | None = None) -> str:
        """The (rewritten) source of one function, or of all, root first."""
        keys = [key] if key else list(self.functions)
        return "\n\n".join(ast.unparse(self.functions[k].tree) for k in keys) + "\n"

    def build(self) -> Callable[..., Any]:
        """Compile the program into a new callable; see the module docstring and
        :mod:`.namespaces` for what its globals are."""
        root = self._compile_all(refresh=True)[0][self.root]
        if self.bound_self is not None:
            return types.MethodType(root, self.bound_self)
        return root

    def build_all(self) -> dict[str, Any]:
        """Every function compiled (key -> new function), calls between them rewired."""
        return self._compile_all()[0]

    def _compile_all(self, *, refresh: bool = False) -> tuple[dict[str, Any], LiveGlobals]:
        """``refresh``: the root's first statement brings the globals it reads up to date (see
        :mod:`.namespaces`); numba code is compiled with the globals of its first call."""
        live = LiveGlobals()
        swapped: dict[int, Any] = {}  # id of a user's function -> its variant (filled below)
        changed = self.changed_keys()
        extra = {**helper_objects(self.helpers), **self.constants, REFRESH: live.refresh,
                 SWAP: _ax_Swap(swapped)}
        namespaces: dict[int, tuple[dict[str, Any], dict[str, Any]]] = {}  # id -> (private, user's)
        reads: dict[int, set[str]] = {}
        variants: dict[str, Any] = {}
        for key in _callees_first(self):
            lifted = self.functions[key]
            module = lifted.func.__globals__
            if id(module) not in namespaces:
                private = dict(module)  # rebinding a name in the variant stays here
                private.update(extra)
                namespaces[id(module)] = (private, module)
            reads.setdefault(id(module), set()).update(read_globals(lifted.tree, local_names(lifted.tree)))
            private = namespaces[id(module)][0]
            for name in written_globals(lifted.tree) & set(module):  # the variant's from now on
                private[name] = owned_copy(module[name])
            first = refresh and key == self.root and not lifted.jitted
            variants[key] = _compile_function(lifted, namespaces[id(module)][0], variants, refresh=first,
                                              changed=changed)
        originals = {id(f.func): variants[k] for k, f in self.functions.items()}
        swapped.update({id(self.functions[k].func): variants[k] for k in changed})
        for private, _ in namespaces.values():  # module attributes rewired to a name (see _rewire)
            private.update({alias(k): variants[k] for k in changed})
        for space, (private, module) in namespaces.items():
            owned = set(extra)
            for name, value in list(private.items()):
                replacement = originals.get(id(_plain(value))) if callable(value) else None
                if replacement is not None:
                    private[name] = replacement
                    owned.add(name)
            live.link(private, module, reads[space] - owned)
        live.refresh()  # copies before the first call (and before numba compiles what it reads)
        return variants, live


def numba_dispatcher(value: Any) -> bool:
    """Whether ``value`` is a numba-compiled function (checked without importing numba)."""
    return type(value).__module__.startswith("numba.") and isinstance(
        getattr(value, "py_func", None), types.FunctionType
    )


def _plain(value: Any) -> Any:
    """The Python function behind a decorated or numba-compiled function."""
    if numba_dispatcher(value):
        return value.py_func
    try:
        return inspect.unwrap(value)
    except ValueError:  # a __wrapped__ cycle: not one of ours
        return value


def lift(fn: Any, *, modules: Iterable[str] = (), hints: Iterable[CallHint] = (),
         seen: Mapping[tuple[str, Position], list[str]] | None = None) -> PythonProgram:
    """Lift ``fn`` and the user functions it calls into a :class:`PythonProgram`.

    ``modules``: extra module names (or package prefixes) whose functions count as user code;
    the target's own module always does. ``hints``: the user functions a run called at call
    sites the source does not resolve (:mod:`.call_trace`); ``seen``: the builtin or C
    functions it called there (for the reasons of the calls not followed).
    """
    bound_self, original = None, fn
    if isinstance(fn, types.MethodType):
        bound_self, fn = fn.__self__, fn.__func__
    root_func = _check_liftable(fn, role="target")
    scope = {root_func.__module__, *modules}
    functions: dict[str, LiftedFunction] = {}
    by_id: dict[int, str] = {}
    by_caller: dict[str, dict[Position, list[str]]] = {}
    for hint in hints:
        by_caller.setdefault(hint.caller, {}).setdefault(hint.position, []).append(hint.callee)
    dispatchers = {id(root_func): fn} if numba_dispatcher(fn) else {}
    pending = [root_func]
    while pending:
        func = pending.pop(0)
        if id(func) in by_id:
            continue
        key = _unique_key(_function_key(func), functions)
        by_id[id(func)] = key
        tree, filename = _parse(func)
        callee_funcs = _find_callees(func, tree, scope, dispatchers)
        lifted = LiftedFunction(key, func, tree, filename, callee_funcs, dispatchers.get(id(func)),
                                pristine=ast.dump(tree))
        calls, skipped = _other_calls(lifted, scope, by_caller.get(reference(func), {}), seen)
        functions[key] = replace(lifted, calls=calls, skipped=skipped)
        pending.extend(f for f in callee_funcs.values() if id(f) not in by_id)
        pending.extend(f for edge in calls.values() for f in edge.callees if id(f) not in by_id)
    # callees now hold function objects; turn them into keys once every key is known
    for key, lifted in functions.items():
        names = {name: by_id[id(f)] for name, f in lifted.callees.items()}  # type: ignore[arg-type]
        calls = {where: replace(edge, callees=tuple(by_id[id(f)] for f in edge.callees))
                 for where, edge in lifted.calls.items()}
        functions[key] = replace(lifted, callees=names, calls=calls)
    return PythonProgram(root=by_id[id(root_func)], functions=functions, bound_self=bound_self,
                         original=original, scope=frozenset(scope))


def _check_liftable(fn: Any, *, role: str) -> types.FunctionType:
    """The plain function behind ``fn``, or a clear error saying why it cannot be lifted."""
    name = getattr(fn, "__qualname__", None) or repr(fn)
    if numba_dispatcher(fn):
        fn = fn.py_func
    if isinstance(fn, (types.BuiltinFunctionType, types.BuiltinMethodType)) or (
        callable(fn) and not isinstance(fn, types.FunctionType) and _is_builtin_like(fn)
    ):
        raise UnsupportedTarget(
            f"{role} {name} is a builtin or C function: approxify needs Python source to rewrite. "
            "Wrap the computation in a Python function that calls it, and pass that."
        )
    if not isinstance(fn, types.FunctionType):
        raise UnsupportedTarget(
            f"{role} must be a Python function or bound method, got {type(fn).__name__} {name}. "
            "For a callable object pass its method (obj.__call__); for functools.partial pass the "
            "underlying function and give the fixed arguments in the inputs."
        )
    inner = inspect.unwrap(fn)
    if inner.__name__ == "<lambda>":
        raise UnsupportedTarget(
            f"{role} {name} is a lambda: its source cannot be isolated reliably. "
            "Define it with def and pass that function."
        )
    if inspect.isgeneratorfunction(inner) or inspect.isasyncgenfunction(inner):
        raise UnsupportedTarget(
            f"{role} {name} is a generator function: its output is produced lazily, so it cannot "
            "be compared with the exact output. Wrap it in a function that returns list(gen(...))."
        )
    if inspect.iscoroutinefunction(inner):
        raise UnsupportedTarget(
            f"{role} {name} is an async function; approxify runs synchronous functions. "
            "Wrap it in a function that calls asyncio.run(...)."
        )
    return inner


def _is_builtin_like(fn: Any) -> bool:
    return type(fn).__name__ in {"method-wrapper", "wrapper_descriptor", "method_descriptor", "ufunc"}


def _parse(func: types.FunctionType) -> tuple[ast.FunctionDef, str]:
    """The definition of ``func`` (lines and columns numbered as in its file) and its file."""
    name = func.__qualname__
    try:
        lines, first = inspect.getsourcelines(func)
        filename = inspect.getsourcefile(func) or func.__code__.co_filename
    except (OSError, TypeError) as exc:
        raise UnsupportedTarget(
            f"function {name} has no source file approxify can read ({exc}); functions typed "
            "into an interactive prompt or built with exec have none. Put it in a .py file."
        ) from None
    # a method is parsed where it stands, inside a block: dedenting its text would also change
    # its multi-line strings, and a comment at column 0 inside it stops textwrap.dedent
    indented = lines[0][:1] in (" ", "\t")
    source = ("if True:\n" if indented else "") + "".join(lines)
    try:
        module = ast.parse(source)
    except SyntaxError as exc:
        raise UnsupportedTarget(
            f"the source of {name} could not be parsed on its own ({exc.msg}); "
            "is it defined on one line with other code?"
        ) from None
    body = module.body[0].body if indented and module.body and isinstance(module.body[0], ast.If) else module.body
    tree = body[0] if body else None
    first -= 1 if indented else 0
    if not isinstance(tree, ast.FunctionDef) or tree.name != func.__name__:
        raise UnsupportedTarget(f"could not isolate the definition of {name} in {filename}.")
    ast.increment_lineno(tree, first - 1)
    if not _runs_this_code(func, tree, filename):
        raise UnsupportedTarget(
            f"the source of {name} in {filename} is not the code Python is running: the file "
            "changed after its module was imported, and a variant built from it would not be a "
            "variant of the function measured. Reload the module (importlib.reload) or restart "
            "Python, then try again."
        )
    return tree, filename


def future_flags(func: types.FunctionType) -> int:
    """The ``from __future__`` features the function was compiled with (its module's)."""
    return func.__code__.co_flags & _FUTURE_FLAGS


_FUTURE_FLAGS = functools.reduce(operator.or_, (getattr(__future__, f).compiler_flag
                                                for f in __future__.all_feature_names), 0)


def _runs_this_code(func: types.FunctionType, tree: ast.FunctionDef, filename: str) -> bool:
    """Whether ``tree``, compiled, gives the bytecode ``func`` runs. A function with free
    variables (a closure, a method using ``super()``) compiles differently on its own, so it is
    not compared (the source read is then trusted)."""
    if func.__code__.co_freevars:
        return True
    plain = copy.deepcopy(tree)
    plain.decorator_list = []
    module = ast.fix_missing_locations(ast.Module(body=[plain], type_ignores=[]))
    try:
        code = compile(module, filename, "exec", flags=future_flags(func), dont_inherit=True)
    except SyntaxError:
        return False
    compiled = next((c for c in code.co_consts if isinstance(c, types.CodeType)), None)
    return compiled is not None and _same_code(compiled, func.__code__)


def _same_code(a: types.CodeType, b: types.CodeType) -> bool:
    """Names, variables and constants alike (nested code objects compared the same way). The
    bytecode itself is not compared: a ``.pyc`` written by another build of the same Python
    version may hold other (equivalent) instructions; an edit that changes only an operator is
    therefore not seen."""
    if (a.co_names, a.co_varnames, a.co_argcount) != (b.co_names, b.co_varnames, b.co_argcount):
        return False
    if len(a.co_consts) != len(b.co_consts):
        return False
    for x, y in zip(a.co_consts, b.co_consts):
        if isinstance(x, types.CodeType) and isinstance(y, types.CodeType):
            if not _same_code(x, y):
                return False
        elif type(x) is not type(y) or (x != y and not (x != x and y != y)):  # NaN equals NaN here
            return False
    return True


def _find_callees(
    func: types.FunctionType, tree: ast.FunctionDef, scope: set[str], dispatchers: dict[int, Any]
) -> dict[str, types.FunctionType]:
    """User functions that ``func`` calls by name: name used -> function object.

    numba-compiled callees are followed through their Python function; ``dispatchers`` collects
    them (id of the Python function -> dispatcher) so variants are compiled the same way.
    """
    local = local_names(tree)
    free = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
    found: dict[str, types.FunctionType] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        name = node.func.id
        if name in local or name in found:
            continue
        if name in free:
            try:
                value = free[name].cell_contents
            except ValueError:
                continue
        else:
            value = func.__globals__.get(name)
        if numba_dispatcher(value) and _is_user_function(value.py_func, scope):
            dispatchers[id(value.py_func)] = value
            found[name] = value.py_func
        elif _is_user_function(value, scope):
            found[name] = inspect.unwrap(value)
    return found


def _other_calls(
    lifted: LiftedFunction, scope: set[str], hinted: Mapping[Position, list[str]],
    seen: Mapping[tuple[str, Position], list[str]] | None,
) -> tuple[dict[Position, CallEdge], tuple[Skipped, ...]]:
    """The calls of ``lifted`` that are not calls of a lifted callee by name: those that reach
    user code (from the source, or from ``hinted``: what a run called there) as edges, the rest
    as :class:`Skipped` with the reason (see :mod:`.call_graph`)."""
    func, local = lifted.func, local_names(lifted.tree)
    ref = reference(func)
    edges: dict[Position, CallEdge] = {}
    skipped: dict[str, Skipped] = {}  # one entry per called expression
    for node in sorted(call_nodes(lifted.tree), key=lambda n: (n.lineno, n.col_offset)):
        if isinstance(node.func, ast.Name) and node.func.id in lifted.callees:
            continue
        where, text = position(node), ast.unparse(node.func)
        found = resolve(node, func, local=local, is_user=lambda v: _is_user_function(v, scope))
        callees: list[types.FunctionType] = [found.function] if found.function is not None else []
        traced = not callees and where in hinted
        if traced:
            callees = [f for f in (find(r) for r in hinted[where]) if f is not None and _is_user_function(f, scope)]
        reason = found.reason
        if callees and lifted.jitted:
            callees, reason = [], "inside a numba-compiled function only calls by name are followed"
        if callees:
            edges[where] = CallEdge(text, tuple(callees), dispatch=found.dispatch or traced, traced=traced)
        elif text not in skipped:
            called = (seen or {}).get((ref, where))
            if seen is not None and NEEDS_RUN in reason:  # a run was made: say what it saw
                reason = reason.replace(NEEDS_RUN, (
                    f"called {', '.join(sorted(called)[:3])} (builtin or C) on the example inputs"
                    if called else "no user function was called there on the example inputs"))
            skipped[text] = Skipped(lifted.key, lifted.where(node), text, reason)
    return edges, tuple(skipped.values())


def _is_user_function(value: Any, scope: set[str]) -> bool:
    if not isinstance(value, types.FunctionType):
        return False
    inner = inspect.unwrap(value)
    module = inner.__module__ or ""
    in_scope = any(module == m or module.startswith(m + ".") for m in scope)
    if not in_scope or inner.__name__ == "<lambda>":
        return False
    plain = not (
        inspect.isgeneratorfunction(inner)
        or inspect.iscoroutinefunction(inner)
        or inspect.isasyncgenfunction(inner)
    )
    return plain and _has_source(inner)


def _has_source(func: types.FunctionType) -> bool:
    try:
        inspect.getsourcelines(func)
    except (OSError, TypeError):
        return False
    return True


def numpy_name(lifted: LiftedFunction) -> str | None:
    """The name the function's module gives NumPy (``np`` preferred), when no local hides it:
    what rewritten code writes ``np.repeat``, ``np.int16`` with."""
    namespace, local = lifted.func.__globals__, local_names(lifted.tree)
    names = ["np", "numpy", *sorted(namespace)]
    return next((n for n in names if n not in local and namespace.get(n) is np), None)


def local_names(tree: ast.FunctionDef) -> set[str]:
    """Names bound inside the function (parameters, assignments, imports, nested defs),
    less those it declares ``global`` or ``nonlocal``."""
    names = {a.arg for a in ast.walk(tree.args) if isinstance(a, ast.arg)}
    declared = {
        name
        for node in ast.walk(tree)
        if isinstance(node, (ast.Global, ast.Nonlocal))
        for name in node.names
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node is not tree:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names - declared


def _function_key(func: types.FunctionType) -> str:
    module = func.__module__ or "__main__"
    if module == "__main__":
        file = getattr(sys.modules.get("__main__"), "__file__", None) or "main"
        module = _short_file(file).removesuffix(".py")
    short = module.rsplit(".", 1)[-1]
    return f"{short}.{func.__qualname__.replace('.<locals>', '')}"


def _unique_key(key: str, taken: Mapping[str, Any]) -> str:
    if key not in taken:
        return key
    n = 2
    while f"{key}~{n}" in taken:
        n += 1
    return f"{key}~{n}"


def _short_file(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _callees_first(program: PythonProgram) -> list[str]:
    """Keys in post-order of the call graph so closures can capture already-built callees."""
    order: list[str] = []
    seen: set[str] = set()

    def visit(key: str) -> None:
        if key in seen:
            return
        seen.add(key)
        for callee in program.functions[key].links():
            visit(callee)
        order.append(key)

    for key in program.functions:
        visit(key)
    return order


def _compile_function(
    lifted: LiftedFunction, ns: dict[str, Any], built: Mapping[str, Any], *, refresh: bool = False,
    changed: set[str] = frozenset(),  # type: ignore[assignment]
) -> Any:
    """Compile one definition inside a factory whose parameters are the original free variables.

    Free variables (closures, ``__class__`` for zero-argument ``super()``) become factory
    parameters, so the new function closes over the same values without sharing the user's cells.
    Decorators in the source are applied again, as running the module would.
    """
    func = lifted.func
    freevars = func.__code__.co_freevars
    values = []
    for name, cell in zip(freevars, func.__closure__ or ()):
        try:
            value = cell.cell_contents
        except ValueError:
            raise UnsupportedTarget(
                f"{func.__qualname__} refers to {name!r} from its enclosing function before it "
                "was assigned; call the target after its enclosing function has finished."
            ) from None
        callee = lifted.callees.get(name)
        values.append(built[callee] if callee in built else value)
    tree = rewired(lifted, changed)  # a method's variant: a plain function, bound per call
    if lifted.jitted:  # compiled below with the user's numba options instead
        tree.decorator_list = []
    elif not tree.decorator_list:
        # the defaults are the original's (copies, set below): their expressions may name what
        # only the class body defines (``def next(self, s=STRATEGY)``)
        tree.args.defaults = [ast.Constant(None) for _ in tree.args.defaults]
        tree.args.kw_defaults = [None if d is None else ast.Constant(None) for d in tree.args.kw_defaults]
    if refresh:  # after the docstring, so the variant keeps it
        at = 1 if ast.get_docstring(tree) is not None else 0
        call = ast.Expr(ast.Call(func=ast.Name(id=REFRESH, ctx=ast.Load()), args=[], keywords=[]))
        tree.body.insert(at, ast.copy_location(call, tree.body[0]))
    factory = ast.FunctionDef(
        name=FACTORY,
        args=ast.arguments(
            posonlyargs=[], args=[ast.arg(arg=n) for n in freevars], vararg=None,
            kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[],
        ),
        body=[tree, ast.Return(value=ast.Name(id=tree.name, ctx=ast.Load()))],
        decorator_list=[],
        returns=None,
        **({"type_params": []} if sys.version_info >= (3, 12) else {}),
    )
    ast.copy_location(factory, tree)
    module = ast.fix_missing_locations(ast.Module(body=[factory], type_ignores=[]))
    try:
        code = compile(module, lifted.filename, "exec", flags=future_flags(func), dont_inherit=True)
    except SyntaxError as exc:  # a transform produced invalid code: a bug, say where
        raise InvalidArgument(f"the rewritten {lifted.key} does not compile: {exc}") from exc
    scratch: dict[str, Any] = {}
    exec(code, ns, scratch)  # noqa: S102 - compiling the user's own (rewritten) source
    variant = scratch[FACTORY](*values)
    if lifted.jitted:
        return _jit_again(variant, lifted.jit)
    if isinstance(variant, types.FunctionType) and not tree.decorator_list:
        variant.__qualname__ = func.__qualname__
        # the function's own attributes (fn.calls, fn.cache) as the variant's copies: code
        # reading them through the function's name finds them on the variant
        variant.__dict__.update({k: owned_copy(v) for k, v in func.__dict__.items()})
        # copies: a variant filling a mutable default (a cache dict) must not fill the user's
        variant.__defaults__ = fresh_copy(func.__defaults__)
        variant.__kwdefaults__ = fresh_copy(func.__kwdefaults__)
    return variant


def _binds_in_class(decorator: ast.expr) -> bool:
    return isinstance(decorator, ast.Name) and decorator.id in ("staticmethod", "classmethod")


def rewired(lifted: LiftedFunction, changed: set[str]) -> ast.FunctionDef:
    """A copy of ``lifted``'s definition as a variant compiles it: calls of ``changed`` callees
    rewired (see :func:`_rewire`), a method's ``staticmethod``/``classmethod`` dropped."""
    tree = _rewire(copy.deepcopy(lifted.tree), lifted, changed)
    tree.decorator_list = [d for d in tree.decorator_list if not _binds_in_class(d)]
    return tree


def reached_otherwise(program: PythonProgram) -> set[str]:
    """Lifted functions no lifted function calls by name (a method, a module attribute...)."""
    by_name = {key for lifted in program.functions.values() for key in lifted.callees.values()}
    return {key for lifted in program.functions.values() for edge in lifted.calls.values()
            for key in edge.callees} - by_name - {program.root}


def _rewire(tree: ast.FunctionDef, lifted: LiftedFunction, changed: set[str]) -> ast.FunctionDef:
    """Send the call sites of ``lifted.calls`` that reach a ``changed`` callee to its variant: a
    module attribute to the variant's name, anything resolved per call through ``_ax_swap``.
    Calls of unchanged callees stay as written (they run the user's own function)."""
    if not lifted.calls or not changed:
        return tree
    for node in call_nodes(tree):
        if not hasattr(node, "lineno"):  # a call a transform added
            continue
        edge = lifted.calls.get(position(node))
        if edge is None or ast.unparse(node.func) != edge.text:
            continue
        reached = [key for key in edge.callees if key in changed]
        if not reached:
            continue
        if edge.dispatch:
            swap = ast.Call(func=ast.Name(id=SWAP, ctx=ast.Load()), args=[node.func], keywords=[])
            node.func = ast.copy_location(swap, node.func)
        else:
            node.func = ast.copy_location(ast.Name(id=alias(reached[0]), ctx=ast.Load()), node.func)
    return ast.fix_missing_locations(tree)


def alias(key: str) -> str:
    """The name a variant's function is bound to where a module attribute called it."""
    return "_ax_fn_" + "".join(c if c.isalnum() else "_" for c in key)


def _jit_again(variant: types.FunctionType, dispatcher: Any) -> Any:
    """Compile a variant with the options the user compiled the original with.

    numba keeps ``cache=True`` on the dispatcher, not in ``targetoptions``, so variants are never
    cached: numba keys its on-disk cache by file and function name, and a cached variant would
    overwrite (and later be loaded as) the user's own compiled function.
    """
    numba = require_numba()
    prepare_for_numba()
    return numba.jit(**dispatcher.targetoptions)(variant)
