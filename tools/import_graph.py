"""The import graph of ``src/approxify``: cycles, imports against the layer order, imports made
inside functions, and family names in the middle layer.

    python tools/import_graph.py          # a summary (lines per layer, cycles, upward imports)

``tests/test_layers.py`` asserts on the same facts, so the layering cannot rot unnoticed.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "approxify"
# lowest first; a module may import from its own layer and the layers below it
LAYERS = (
    ("base", ("approxify.errors", "approxify.config", "approxify.sites", "approxify.markers",
              "approxify._optional", "approxify._version")),
    ("stats", ("approxify.stats",)),
    ("measure", ("approxify.measure",)),
    ("targets", ("approxify.targets",)),
    ("transforms", ("approxify.transforms",)),
    ("target", ("approxify._target",)),
    ("report", ("approxify.report",)),
    ("search", ("approxify.search",)),
    ("api", ("approxify._api", "approxify.examples", "approxify.demo", "approxify.bench")),
    ("front", ("approxify.cli", "approxify.__main__", "approxify")),
)
FAMILIES = ("perforate", "precision", "substitute")
MIDDLE = ("approxify.search", "approxify._api", "approxify._target", "approxify.stats")


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported module (a file of the package)
    line: int
    in_function: bool
    type_only: bool  # under ``if TYPE_CHECKING:``


def modules() -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def _base(module: str, path: Path, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imports() -> list[Import]:
    known = modules()
    found = []
    for module, path in known.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        found += _imports_in(tree, module, path, known, in_function=False, type_only=False)
    return found


def _imports_in(node, module, path, known, *, in_function, type_only) -> list[Import]:
    found = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            found += _imports_in(child, module, path, known, in_function=True, type_only=type_only)
            continue
        if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
            found += _imports_in(child, module, path, known, in_function=in_function, type_only=True)
            continue
        names: list[str] = []
        if isinstance(child, ast.Import):
            names = [a.name for a in child.names]
        elif isinstance(child, ast.ImportFrom):
            base = _base(module, path, child)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in child.names]
        for name in names:
            target = _resolve(name, known) if name.startswith(PACKAGE) else None
            if target and target != module:
                found.append(Import(module, target, child.lineno, in_function, type_only))
        found += _imports_in(child, module, path, known, in_function=in_function, type_only=type_only)
    return found


def layer_of(module: str) -> int:
    best, depth = None, -1
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > depth:
                best, depth = index, len(prefix)
    if best is None:
        raise KeyError(f"{module} is in no layer of tools/import_graph.py")
    return best


def cycles(edges: list[Import]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan's algorithm)."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        graph.setdefault(e.source, set()).add(e.target)
        graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def upward(edges: list[Import]) -> list[Import]:
    return [e for e in edges if layer_of(e.target) > layer_of(e.source)]


def family_mentions() -> list[str]:
    """Middle-layer code (not docstrings or comments) that imports a family module or names a
    family in a string constant."""
    found = []
    for module, path in modules().items():
        if not any(module == m or module.startswith(m + ".") for m in MIDDLE):
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr)
                      and isinstance(n.body[0].value, ast.Constant)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if node.value in FAMILIES:
                    found.append(f"{module}:{node.lineno} names {node.value!r}")
            if isinstance(node, ast.ImportFrom) and node.module and any(
                    f"transforms.{f}" in node.module or node.module == f for f in FAMILIES):
                found.append(f"{module}:{node.lineno} imports {node.module}")
    return found


def lines_per_layer() -> dict[str, int]:
    counts = {name: 0 for name, _ in LAYERS}
    for module, path in modules().items():
        counts[LAYERS[layer_of(module)][0]] += len(path.read_text().splitlines())
    return counts


def main() -> None:
    edges = imports()
    runtime = [e for e in edges if not e.type_only]
    print("lines per layer:", lines_per_layer(), "total", sum(lines_per_layer().values()))
    print(f"imports: {len(edges)} ({sum(e.in_function for e in edges)} inside functions, "
          f"{sum(e.type_only for e in edges)} for type checking only)")
    for label, chosen in (("module-level", [e for e in runtime if not e.in_function]),
                          ("all runtime", runtime)):
        found = cycles(chosen)
        print(f"cycles ({label} imports): {len(found)}")
        for c in found:
            print("   ", " <-> ".join(c))
    ups = upward(runtime)
    print(f"imports from a lower layer to a higher one: {len(ups)}")
    for e in ups:
        print(f"    {e.source}:{e.line} -> {e.target}{' (in a function)' if e.in_function else ''}")
    names = family_mentions()
    print(f"family names in the middle layer: {len(names)}")
    for n in names:
        print("   ", n)
    if "-v" in sys.argv:
        for e in edges:
            if e.in_function:
                print(f"  function-level: {e.source}:{e.line} -> {e.target}")


if __name__ == "__main__":
    main()
