"""Which calls of a lifted function reach the user's code, and why the others are not followed.

A call by a plain name (``helper(x)``) is resolved by the lifting itself (see :mod:`.python`).
This module resolves the rest, without running the user's code (``inspect.getattr_static``
reads attributes without calling properties or ``__getattr__``):

- ``mod.f(x)``, ``pkg.sub.f(x)``: attributes of modules, one function for good (*static*);
- ``self.helper(x)``, ``cls.make(x)``, ``Foo.m(x)``, ``Foo(x)`` (its ``__init__``): methods and
  constructors of the user's classes, resolved per call at run time (*dispatch*: a subclass's
  override, or another object, runs as it is);
- anything else (a function passed as an argument or kept in a variable, a method of an object
  whose class is not known statically) from what a run on example inputs called there
  (:mod:`.call_trace`), also resolved per call.

Every call that is not followed gets a :class:`Skipped` entry with the reason.
"""

from __future__ import annotations

import ast
import builtins
import inspect
import sys
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

NEEDS_RUN = "pass example_inputs= to resolve it from a run"  # a call only a run can resolve
Position = tuple[int, int, int, int]  # (lineno, end_lineno, col_offset, end_col_offset), as co_positions


@dataclass(frozen=True)
class CallEdge:
    """A call site of a lifted function that reaches a lifted callee."""

    text: str  # the called expression as written (``ast.unparse``), to find the node again
    callees: tuple[Any, ...]  # the lifted callees (functions while lifting, then their keys)
    dispatch: bool  # resolved per call at run time (a method, a constructor, a traced value)
    traced: bool = False  # found by a run on example inputs, not from the source


@dataclass(frozen=True)
class Skipped:
    """A call approxify saw and did not follow (its callee keeps running as it is)."""

    function: str  # key of the lifted function that makes the call
    where: str  # file:line
    call: str  # the called expression as written
    reason: str

    def __str__(self) -> str:
        return f"{self.function}  {self.where}  {self.call}(...): {self.reason}"


@dataclass(frozen=True)
class Resolved:
    """What static resolution found for one call: a function to lift (with how it is bound),
    or the reason it is not followed (``function`` None)."""

    function: types.FunctionType | None
    dispatch: bool = False
    reason: str = ""


def position(node: ast.AST) -> Position:
    """A node's position as the interpreter reports it (the tree is parsed where it stands in
    its file, so the columns are the file's)."""
    return (node.lineno, node.end_lineno, node.col_offset, node.end_col_offset)


def call_nodes(tree: ast.FunctionDef) -> Iterable[ast.Call]:
    """The calls in ``tree``'s own body (not in nested functions or classes: those are
    compiled with it and are not lifted on their own)."""
    stack: list[ast.AST] = list(tree.body) + list(tree.args.defaults) + list(tree.args.kw_defaults or [])
    while stack:
        node = stack.pop()
        if node is None:
            continue
        if isinstance(node, ast.Call):
            yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        stack.extend(ast.iter_child_nodes(node))


def resolve(node: ast.Call, func: types.FunctionType, *, local: set[str],
            is_user: Callable[[Any], bool]) -> Resolved:
    """Static resolution of one call of ``func`` (see the module docstring)."""
    target = node.func
    chain = _chain(target)
    if chain is None:
        return Resolved(None, reason=f"the called object is computed: {NEEDS_RUN}")
    base, attributes = chain[0], chain[1:]
    if base in local:
        owner = _own_class(func) if attributes and base == _first_parameter(func) else None
        if owner is None:
            return Resolved(None, reason=f"a local variable or argument: {NEEDS_RUN}")
        # self.m / cls.m: the method as the class defines it (per call: self may be a subclass's)
        value, through_class = owner, True
    else:
        value = _global_or_free(func, base)
        if value is _MISSING:
            if not attributes and hasattr(builtins, base):
                return Resolved(None, reason="builtin")
            return Resolved(None, reason=f"{base!r} is not defined when the function is lifted")
        through_class = False
    for name in attributes:
        # only a chain of modules names one function for good; through a class or an object
        # the attribute is bound per call (a method)
        through_class = through_class or not isinstance(value, types.ModuleType)
        try:
            value = inspect.getattr_static(value, name)
        except AttributeError:
            return Resolved(None, reason=f"an attribute set at run time: {NEEDS_RUN}")
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
    return _judge(value, dispatch=through_class or isinstance(value, type), is_user=is_user)


def static_value(node: ast.expr, func: types.FunctionType, *, local: set[str]) -> Any:
    """What a name or a chain of attributes (``np.sum``) in ``func`` refers to, read without
    running anything; None when it is local, undefined or not such a chain. A builtin name
    the module does not define is the builtin."""
    chain = _chain(node)
    if chain is None or chain[0] in local:
        return None
    value = _global_or_free(func, chain[0])
    if value is _MISSING:
        value = getattr(builtins, chain[0], None)
    for name in chain[1:]:
        try:
            value = inspect.getattr_static(value, name)
        except AttributeError:
            return None
    return value


def _judge(value: Any, *, dispatch: bool, is_user: Callable[[Any], bool]) -> Resolved:
    if isinstance(value, type):
        init = value.__dict__.get("__init__") or _inherited_init(value)
        if init is None or not isinstance(init, types.FunctionType):
            return Resolved(None, reason=f"constructor of {value.__qualname__}: no Python __init__")
        if is_user(init):
            return Resolved(inspect.unwrap(init), dispatch=True)
        return Resolved(None, reason=not_followed(init))
    value = getattr(value, "py_func", value)  # a numba dispatcher: its Python function
    if isinstance(value, types.FunctionType) and is_user(value):
        return Resolved(inspect.unwrap(value), dispatch=dispatch)
    return Resolved(None, reason=not_followed(value))


def _inherited_init(cls: type) -> Any:
    for klass in cls.__mro__[1:]:
        if "__init__" in klass.__dict__:
            init = klass.__dict__["__init__"]
            return init if isinstance(init, types.FunctionType) else None
    return None


def not_followed(value: Any) -> str:
    """Why a call to ``value`` is not followed, in words."""
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__} is not callable"
    if isinstance(value, (types.BuiltinFunctionType, types.BuiltinMethodType)) or type(value).__name__ in {
            "method-wrapper", "wrapper_descriptor", "method_descriptor", "ufunc", "builtin_function_or_method",
            "cython_function_or_method", "fused_cython_function"}:
        owner = getattr(value, "__module__", None) or getattr(getattr(value, "__objclass__", None), "__name__", "")
        return f"builtin or C function{f' ({owner})' if owner else ''}"
    if isinstance(value, types.FunctionType):
        inner = inspect.unwrap(value)
        module = inner.__module__ or ""
        if inner.__name__ == "<lambda>":
            return "a lambda: define it with def to have it followed"
        if inspect.isgeneratorfunction(inner) or inspect.iscoroutinefunction(inner):
            return "a generator or async function"
        root = module.split(".")[0]
        if root in sys.stdlib_module_names:
            return f"standard library ({module}); name it in modules= to follow it"
        if "<locals>" in inner.__qualname__:
            return "a nested function (a closure): define it at module level to have it followed"
        return f"module {module} is not the user's; name it in modules= to follow it"
    if isinstance(value, type):
        return f"class {value.__qualname__} of {value.__module__}"
    module = getattr(value, "__module__", None)
    if callable(value) and isinstance(module, str):
        return f"{module}.{getattr(value, '__name__', type(value).__name__)} is compiled, not Python source"
    return f"a {type(value).__name__} object, not a Python function"


_MISSING = object()


def _chain(node: ast.expr) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None for anything else (a subscript, a call's result)."""
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    return [node.id, *reversed(names)]


def _global_or_free(func: types.FunctionType, name: str) -> Any:
    free = dict(zip(func.__code__.co_freevars, func.__closure__ or ()))
    if name in free:
        try:
            return free[name].cell_contents
        except ValueError:
            return _MISSING
    if name in func.__globals__:
        return func.__globals__[name]
    return _MISSING


def _first_parameter(func: types.FunctionType) -> str | None:
    code = func.__code__
    return code.co_varnames[0] if code.co_argcount else None


def _own_class(func: types.FunctionType) -> type | None:
    """The class a method is defined in, from its qualified name (None for a function, or a
    class defined inside a function)."""
    parts = func.__qualname__.split(".")[:-1]
    if not parts or "<locals>" in parts:
        return None
    value: Any = func.__globals__.get(parts[0], _MISSING)
    for part in parts[1:]:
        value = getattr(value, part, _MISSING)
    if not isinstance(value, type):
        return None
    own = inspect.getattr_static(value, func.__name__, None)
    if isinstance(own, (staticmethod,)):
        return None  # a staticmethod's first parameter is not an instance
    return value


def function_registry(modules: Iterable[types.ModuleType]) -> dict[types.CodeType, types.FunctionType]:
    """Code object -> function, for the functions and methods defined at the top of ``modules``
    and in their classes (what a traced call's code is mapped back to)."""
    found: dict[types.CodeType, types.FunctionType] = {}

    def add(value: Any, module: str, depth: int = 0) -> None:
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
        value = getattr(value, "py_func", value)
        if isinstance(value, types.FunctionType):
            inner = inspect.unwrap(value)
            if isinstance(inner, types.FunctionType):
                found.setdefault(inner.__code__, inner)
        elif isinstance(value, type) and value.__module__ == module and depth < 3:
            for member in list(vars(value).values()):
                add(member, module, depth + 1)

    for module in modules:
        for value in list(vars(module).values()):
            add(value, module.__name__)
    return found


def scope_modules(scope: Iterable[str]) -> list[types.ModuleType]:
    """The imported modules whose names are in ``scope`` (a name or a package prefix)."""
    prefixes = tuple(scope)
    return [m for name, m in list(sys.modules.items())
            if isinstance(m, types.ModuleType) and any(name == p or name.startswith(p + ".") for p in prefixes)]


def reference(func: types.FunctionType) -> str:
    """``module:qualname`` of a function, to find it again (:func:`find`)."""
    return f"{func.__module__}:{func.__qualname__}"


def find(ref: str) -> types.FunctionType | None:
    """The function a :func:`reference` names, looked up statically; None when it is gone."""
    module_name, _, qualname = ref.partition(":")
    value: Any = sys.modules.get(module_name)
    if value is None or "<locals>" in qualname:
        return None
    for part in qualname.split("."):
        try:
            value = inspect.getattr_static(value, part)
        except AttributeError:
            return None
        if isinstance(value, (staticmethod, classmethod)):
            value = value.__func__
    value = getattr(value, "py_func", value)
    return inspect.unwrap(value) if isinstance(value, types.FunctionType) else None
