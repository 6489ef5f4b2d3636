"""The namespaces a Python variant runs in: its own, in step with the user's modules.

A variant's functions are compiled into a private dict per module (so rebinding a name in the
variant, or the names the rewrite adds, never reach the user's module), holding what the variant
owns: its rewritten functions, the helpers and fitted objects the rewrite uses. Every other
global it reads is taken from the user's module as it is *now*, before each call: rebinding
``mod.SCALE = 2`` after ``ax.apply`` is seen. What it takes is code or a copy: modules and
callables are shared (code, not state), every other value is deep-copied once per binding, so a
variant appending to a module-level list, filling a module-level dict or advancing a module-level
random generator changes its own copy, never the user's object. (Measurements run each variant
in a forked child besides, see ``approxify.measure.sandbox``; this is what keeps a variant
returned by ``ax.apply`` to itself in the user's own process.)
"""

from __future__ import annotations

import ast
import copy
import types
from collections.abc import Iterable, Mapping
from typing import Any

_MISSING = object()


def owned_copy(value: Any) -> Any:
    """What a variant may hold of a user's value: modules and callables are shared, anything
    else is deep-copied; a value that cannot be copied is shared (nothing better exists here)."""
    if isinstance(value, types.ModuleType) or callable(value):
        return value
    try:
        return copy.deepcopy(value)
    except Exception:  # noqa: BLE001 - a lock, a file handle: not copyable, so shared
        return value


class LiveGlobals:
    """The globals a variant reads but does not own, refreshed from the user's modules."""

    def __init__(self) -> None:
        self._links: list[tuple[dict[str, Any], Mapping[str, Any], tuple[str, ...]]] = []
        self._seen: dict[tuple[int, str], tuple[Any, Any]] = {}  # (namespace, name) -> (live, copy)

    def link(self, namespace: dict[str, Any], module: Mapping[str, Any], names: Iterable[str]) -> None:
        """Keep ``names`` of ``namespace`` in step with ``module``."""
        self._links.append((namespace, module, tuple(sorted(set(names)))))

    def __bool__(self) -> bool:
        return any(names for _, _, names in self._links)

    def refresh(self) -> None:
        for namespace, module, names in self._links:
            for name in names:
                value = module.get(name, _MISSING)
                key = (id(namespace), name)
                seen = self._seen.get(key)
                if seen is not None and seen[0] is value:
                    continue
                if value is _MISSING:
                    namespace.pop(name, None)
                    self._seen.pop(key, None)
                    continue
                held = owned_copy(value)
                namespace[name] = held
                self._seen[key] = (value, held)


def read_globals(tree: ast.FunctionDef, local: set[str]) -> set[str]:
    """Names ``tree`` reads that are not bound inside it: its globals (and builtins). A name it
    rebinds (``global counter``) is the variant's own from its first call on, so not here."""
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return loaded - local - written_globals(tree)


def written_globals(tree: ast.FunctionDef) -> set[str]:
    """Names ``tree`` declares ``global``: the variant rebinds them, in its own namespace."""
    return {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}
