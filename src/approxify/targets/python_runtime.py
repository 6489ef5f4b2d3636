"""Runtime helpers that rewritten code calls, shared by every Python variant.

Transforms register small, self-contained helper functions here (stdlib imports only). A variant's
namespace gets the helpers its program names; ``approxify export`` copies their source into the
exported file, so shipped code does not depend on approxify.
"""

from __future__ import annotations

import inspect
import math
import pprint
import re
from collections.abc import Callable, Iterable
from typing import Any

PREFIX = "_ax_"
_HELPERS: dict[str, Any] = {}
_REQUIRES: dict[str, tuple[str, ...]] = {}
_IMPORTS: dict[str, tuple[str, ...]] = {}
_CONSTANTS: dict[str, str] = {}  # constant helper name -> its definition line for export
_NUMBA_SETUP: list[Callable[[], None]] = []
_NUMBA_SERVES: dict[str, tuple[str, ...]] = {}  # setup helper -> the helpers it types
_NUMBA_READY: set[int] = set()
_DEFINITIONS: dict[type, Callable[[str, Any], list[str]]] = {}  # helper class -> its export


def runtime_helper(
    *, requires: Iterable[str] = (), imports: Iterable[str] = ()
) -> Callable[[Any], Any]:
    """Register a helper; its ``__name__`` must start with ``_ax_`` so it cannot shadow user names."""

    def register(obj: Any) -> Any:
        name = obj.__name__
        assert name.startswith(PREFIX), name
        other = _HELPERS.get(name)
        assert other is None or other.__module__ == obj.__module__, (  # a reload is no clash
            f"two runtime helpers named {name}: in {other.__module__} and {obj.__module__}")
        _HELPERS[name] = obj
        _REQUIRES[name] = tuple(requires)
        _IMPORTS[name] = tuple(imports)
        return obj

    return register


def runtime_constant(name: str, value: Any, definition: str, *, imports: Iterable[str] = ()) -> None:
    """Register a constant (a dtype, say) that rewritten code names; ``definition`` recreates it."""
    assert name.startswith(PREFIX), name
    _HELPERS[name] = value
    _REQUIRES[name] = ()
    _IMPORTS[name] = tuple(imports)
    _CONSTANTS[name] = definition


def exported_as(cls: type, definition: Callable[[str, Any], list[str]]) -> None:
    """Register how export writes an instance of the helper class ``cls`` that a variant's
    namespace holds: ``definition(name, value)`` gives source lines binding ``name`` to a copy."""
    _DEFINITIONS[cls] = definition


def definition_lines(name: str, value: Any) -> list[str] | None:
    """Source lines recreating ``value`` as ``name``; None when no export is registered for it."""
    definition = _DEFINITIONS.get(type(value))
    return None if definition is None else definition(name, value)


def helpers_named(source: str) -> set[str]:
    """The registered helpers that ``source`` names."""
    return set(re.findall(r"\b_ax_\w+", source)) & set(_HELPERS)


class _Literal:
    """A value whose ``repr`` is the source text given (non-finite floats in a literal)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def array_literal(value: Any, indent: int = 8) -> str:
    """Source recreating ``value`` exactly (``repr`` of a float round-trips) with NumPy imported
    as ``_ax_np``: an array, a tuple or list of them, or a plain value. Long arrays wrap onto
    lines indented by ``indent``."""
    if isinstance(value, tuple):
        return "(" + ", ".join(array_literal(v, indent) for v in value) + ("," if len(value) == 1 else "") + ")"
    if not hasattr(value, "dtype") or not hasattr(value, "tolist"):
        return repr(value)

    def finite(item: Any) -> Any:
        if isinstance(item, list):
            return [finite(i) for i in item]
        if isinstance(item, float) and not math.isfinite(item):
            return _Literal("_ax_np.nan" if item != item else ("" if item > 0 else "-") + "_ax_np.inf")
        return item

    values = finite(value.tolist())
    if value.ndim == 0:  # a NumPy scalar: written as the Python number it holds
        return repr(values)
    text = pprint.pformat(values, width=100 - indent, compact=True).replace("\n", "\n" + " " * indent)
    shaped = "" if 0 not in value.shape or value.ndim == 1 else f".reshape({value.shape})"
    dtype = "" if value.dtype.name == "float64" else f", dtype=_ax_np.{value.dtype.name}"
    return f"_ax_np.array({text}{dtype}){shaped}"


def numba_setup(fn: Callable[[], None], *, serves: Iterable[str] | None = None) -> Callable[[], None]:
    """Register ``fn`` to run once before the first numba compilation of a variant
    (helpers use it to give numba typed implementations of themselves).

    ``fn`` types the helpers named in ``serves`` (default: those it requires); exported code calls
    it when it uses one of them. A setup that serves helpers it does not require must skip those
    its module lacks, so that exported code carries only the helpers it uses.
    """
    _NUMBA_SETUP.append(fn)
    _NUMBA_SERVES[fn.__name__] = tuple(serves) if serves is not None else _REQUIRES.get(fn.__name__, ())
    return fn


def numba_setup_helpers(used: Iterable[str]) -> list[str]:
    """Setup helpers that exported numba code must call, given the helpers it uses."""
    closure = set(_closure(used))
    return [fn.__name__ for fn in _NUMBA_SETUP
            if fn.__name__ in _HELPERS and closure & set(_NUMBA_SERVES[fn.__name__])]


def prepare_for_numba() -> None:
    for fn in _NUMBA_SETUP:
        if id(fn) not in _NUMBA_READY:
            fn()
            _NUMBA_READY.add(id(fn))


def _closure(names: Iterable[str]) -> list[str]:
    """The helpers named plus those they require, dependencies first, in a stable order."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for dep in _REQUIRES[name]:
            visit(dep)
        order.append(name)

    for name in sorted(names):
        visit(name)
    return order


def helper_objects(names: Iterable[str]) -> dict[str, Any]:
    return {name: _HELPERS[name] for name in _closure(names)}


def helper_source(names: Iterable[str], *, imported: Iterable[str] = ()) -> str:
    """Import lines and definitions of the helpers, ready to paste at the top of a module
    (without the import lines of ``imported``, which the module has already)."""
    order = _closure(names)
    if not order:
        return ""
    imports = sorted({line for name in order for line in _IMPORTS[name]} - set(imported))
    parts = ["\n".join(imports)] if imports else []
    parts += [
        _CONSTANTS[name] if name in _CONSTANTS else _undecorated(inspect.getsource(_HELPERS[name]))
        for name in order
    ]
    return "\n\n\n".join(parts) + "\n"


def _undecorated(source: str) -> str:
    """Helper source without the registering decorator, which exported code does not have."""
    lines = source.rstrip().splitlines()
    return "\n".join(line for line in lines if not line.startswith("@runtime_helper"))
