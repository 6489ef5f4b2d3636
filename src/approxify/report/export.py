"""Write a variant as a standalone Python module: helpers, imports, and the rewritten functions."""

from __future__ import annotations

import ast
import builtins
import types
from collections.abc import Mapping
from typing import Any

from ..config import Setting, describe_config
from ..errors import UnsupportedTarget
from ..targets.python import alias, local_names, reached_otherwise, rewired
from ..targets.python_runtime import helper_objects, helper_source, numba_setup_helpers


def export_source(target: Any, config: Mapping[str, Setting]) -> str:
    """Source of ``target``'s variant for ``config``: it runs without approxify installed, except
    that fitted surrogates (``Substitute``) are loaded with approxify's surrogate classes.

    Module-level names the functions use are imported from the target's own modules, so the file
    behaves like the original module with the approximated functions swapped in.
    """
    if target.has_weights:
        raise UnsupportedTarget(
            f"{target.name} is a model: its variant is a module, not source. Build it with "
            "ax.apply(model, config) (or result.program()), and write it as a file torch alone "
            "loads with result.export_model('net.pt2', example_inputs) (approxify export r.json "
            "--out net.pt2 --inputs module:name)."
        )
    program = target.rewrite(config)
    changed = program.changed_keys()
    # a function reached by a method call, a module attribute...: written under its alias when
    # the config changes it (the call sites then name it, or find it through _ax_swap), else not
    otherwise = reached_otherwise(program)
    trees = {key: rewired(lifted, changed) for key, lifted in program.functions.items()
             if key not in otherwise or key in changed}
    for key in otherwise & changed:
        trees[key].name = alias(key)
    table = _swap_table(program, otherwise & changed)
    used = program.helpers | ({"_ax_Swap", "_ax_original"} if table else set())
    defined = {tree.name for tree in trees.values()} | {alias(key) for key in changed}
    helpers = set(helper_objects(used)) | set(program.constants) | {"_ax_swap"}
    imports: set[str] = set()
    notes: list[str] = []
    for key, tree in trees.items():
        lifted = program.functions[key]
        for name in sorted(_free_names(tree) - defined - helpers):
            line = _import_line(name, lifted.func)
            if line.startswith("#"):
                notes.append(line)
            else:
                imports.add(line)
    lines = [
        f'"""Approximated by approxify from {target.reference}.',
        "",
        f"Config: {describe_config(config)}",
        '"""',
        "",
    ]
    lines += sorted(imports, key=lambda s: (not s.startswith("import"), s)) + sorted(set(notes))
    body = "\n\n\n".join(_definition(program.functions[key], tree, key in otherwise)
                           for key, tree in trees.items())
    body += "\n\n\n" + "\n".join(table) if table else ""
    aliases = [f"{alias(key)} = {trees[key].name}" for key in sorted(changed - otherwise)
               if key in trees and _called_by_alias(program, key)]
    body += "\n\n\n" + "\n".join(aliases) if aliases else ""
    setup = numba_setup_helpers(program.helpers) if program.jitted else []
    helpers = helper_source(used | set(setup)).rstrip()
    if setup:  # numba must learn the helpers' typed implementations before it compiles
        helpers += "\n\n\n" + "\n".join(f"{name}()" for name in setup)
    constants = _constant_lines(program.constants)
    parts = ["\n".join(lines).rstrip(), helpers, constants, body]
    return "\n\n\n".join(p for p in parts if p) + "\n"


def _constant_lines(constants: Mapping[str, Any]) -> str:
    """Definitions of the objects rewritten code names: fitted surrogates, alternatives."""
    lines = []
    for name, value in sorted(constants.items()):
        if hasattr(value, "definition"):
            lines += value.definition(name)
        elif isinstance(value, types.FunctionType):
            lines.append(f"from {value.__module__} import {value.__name__} as {name}")
        else:
            lines.append(f"# {name}: {type(value).__name__} object, not exportable as source")
    return "\n".join(lines)


def _swap_table(program: Any, keys: set[str]) -> list[str]:
    """Lines defining ``_ax_swap`` for the functions in ``keys`` (reached through a method
    call, a constructor...): the user's originals, imported, mapped to the variants."""
    imports, entries = set(), []
    for key in sorted(keys):
        func = program.functions[key].func
        parts = func.__qualname__.split(".")
        if func.__module__ == "__main__" or "<locals>" in parts or "__class__" in func.__code__.co_freevars:
            raise UnsupportedTarget(
                f"{func.__qualname__} is changed by the config and reached through a call the "
                "exported module must redirect, but it cannot be named from outside "
                f"({'defined in the script that ran' if func.__module__ == '__main__' else 'a nested function or a method using super()'}). "
                "Use result.program() (or ax.apply) instead of the exported source."
            )
        module = "_ax_module_" + func.__module__.replace(".", "_")
        imports.add(f"import {func.__module__} as {module}")
        owner = ".".join([module, *parts[:-1]])
        entries.append(f"    id(_ax_original({owner}, {parts[-1]!r})): {alias(key)},")
    if not entries:
        return []
    return [*sorted(imports), "_ax_swap = _ax_Swap({", *entries, "})"]


def _called_by_alias(program: Any, key: str) -> bool:
    """Whether a rewired module-attribute call names ``key``'s variant by its alias."""
    return any(key in edge.callees and not edge.dispatch
               for lifted in program.functions.values() for edge in lifted.calls.values())


def _definition(lifted: Any, tree: ast.FunctionDef, by_alias: bool) -> str:
    text = ast.unparse(tree)
    qualname = lifted.func.__qualname__
    if by_alias:
        return f"# the variant of {qualname} (calls of the original are redirected to it)\n" + text
    if "<locals>" in qualname:
        text = f"# nested function {qualname} (define it where the original is defined)\n" + text
    elif "." in qualname:
        text = f"# method {qualname} (define it inside its class)\n" + text
    return text


def _free_names(tree: ast.FunctionDef) -> set[str]:
    local = local_names(tree)
    loaded = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    declared = {name for n in ast.walk(tree) if isinstance(n, ast.Global) for name in n.names}
    return {n for n in (loaded | declared) - local if not hasattr(builtins, n)}


def _import_line(name: str, func: types.FunctionType) -> str:
    if name in func.__code__.co_freevars:
        return f"# {name}: a variable of the enclosing function; define it before use"
    if name not in func.__globals__:
        return f"# {name}: not found in module {func.__module__}"
    value = func.__globals__[name]
    if isinstance(value, types.ModuleType):
        module = value.__name__
        return f"import {module}" if module == name else f"import {module} as {name}"
    if func.__module__ == "__main__":
        return f"# {name}: defined in the script that ran the tuning; copy its definition here"
    return f"from {func.__module__} import {name}"
