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
from ..targets.python_runtime import (definition_lines, helper_objects, helper_source, helpers_named,
                                      numba_setup_helpers)
from .commented import commented_source


def export_source(target: Any, config: Mapping[str, Setting]) -> str:
    """Source of ``target``'s variant for ``config``: it runs without approxify installed (a
    fitted surrogate's arrays are written as NumPy literals beside the code that predicts with
    them).

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
    # what the variant no longer calls (a callee an alternative replaced) is not written
    trees = {key: tree for key, tree in trees.items() if key in _reached(program, trees, otherwise & changed)}
    for key, tree in trees.items():
        tree.decorator_list = [d for d in tree.decorator_list if not _from_approxify(d, program.functions[key].func)]
    table = _swap_table(program, otherwise & changed)
    used = program.helpers | ({"_ax_Swap", "_ax_original"} if table else set())
    defined = {tree.name for tree in trees.values()} | {alias(key) for key in changed}
    direct = _direct_names(program, trees, defined)
    for tree in trees.values():
        for node in ast.walk(tree):
            if isinstance(node, ast.Name) and node.id in direct:
                node.id = direct[node.id].__name__
    constants = {name: value for name, value in program.constants.items() if name not in direct}
    defined |= {value.__name__ for value in direct.values()}
    helpers = set(helper_objects(used)) | set(constants) | {"_ax_swap"}
    imports = {f"from {value.__module__} import {value.__name__}" for value in direct.values()}
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
    body = "\n\n\n".join(_definition(program.functions[key], target.program.functions[key].tree, tree,
                                       key in otherwise)
                           for key, tree in trees.items())
    body += "\n\n\n" + "\n".join(table) if table else ""
    aliases = [f"{alias(key)} = {trees[key].name}" for key in sorted(changed - otherwise)
               if key in trees and _called_by_alias(program, key)]
    body += "\n\n\n" + "\n".join(aliases) if aliases else ""
    constants = _constant_lines(constants)
    used |= helpers_named(constants)
    setup = numba_setup_helpers(program.helpers) if program.jitted else []
    helpers = helper_source(used | set(setup), imported=imports).rstrip()
    if setup:  # numba must learn the helpers' typed implementations before it compiles
        helpers += "\n\n\n" + "\n".join(f"{name}()" for name in setup)
    parts = ["\n".join(lines).rstrip(), helpers, constants, body]
    return "\n\n\n".join(p for p in parts if p) + "\n"


def _constant_lines(constants: Mapping[str, Any]) -> str:
    """Definitions of the objects rewritten code names: fitted surrogates, alternatives."""
    lines = []
    for name, value in sorted(constants.items()):
        definition = definition_lines(name, value)
        if definition is not None:
            lines += definition
        elif isinstance(value, types.FunctionType):
            lines.append(f"from {value.__module__} import {value.__name__} as {name}")
        else:
            lines.append(f"# {name}: {type(value).__name__} object, not exportable as source")
    return "\n".join(lines)


def _reached(program: Any, trees: Mapping[str, ast.FunctionDef], redirected: set[str]) -> set[str]:
    """The functions the exported root still calls: those its code (and theirs) names, as a
    function or an attribute (a method), and those calls of the originals are redirected to."""
    names = {key: {tree.name, alias(key)} for key, tree in trees.items()}
    reached = {program.root} | redirected
    frontier = list(reached)
    while frontier:
        tree = trees[frontier.pop()]
        named = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
        named |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        for key in names.keys() - reached:
            if names[key] & named:
                reached.add(key)
                frontier.append(key)
    return reached


def _from_approxify(decorator: ast.expr, func: types.FunctionType) -> bool:
    """Whether ``decorator`` is approxify's (``@ax.alternatives(...)``): shipped code has no use
    for it, and it would import approxify."""
    root = decorator.func if isinstance(decorator, ast.Call) else decorator
    while isinstance(root, ast.Attribute):
        root = root.value
    value = func.__globals__.get(root.id) if isinstance(root, ast.Name) else None
    module = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
    return isinstance(module, str) and module.split(".")[0] == "approxify"


def _direct_names(program: Any, trees: Mapping[str, ast.FunctionDef], defined: set[str]) -> dict[str, Any]:
    """Constants the exported code can name by the function's own name (an alternative,
    ``fast_norm(v)`` rather than ``_ax_sub_0(v)``): importable, and the name means nothing else
    in the functions written."""
    direct = {}
    for name, value in program.constants.items():
        if not isinstance(value, types.FunctionType) or value.__module__ == "__main__" or "<" in value.__qualname__:
            continue
        own = value.__name__
        clash = own in defined or any(
            program.functions[key].func.__globals__.get(own, value) is not value or own in local_names(tree)
            for key, tree in trees.items())
        if not clash:
            direct[name] = value
    return direct


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


def _definition(lifted: Any, original: ast.FunctionDef, tree: ast.FunctionDef, by_alias: bool) -> str:
    text = commented_source(tree, original, lifted.filename)
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
