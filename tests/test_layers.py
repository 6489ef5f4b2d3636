"""The package's layering (design.md section 3), read from its import graph by
``tools/import_graph.py``: no cycles, nothing importing upwards, no import hidden in a function,
and no family named in the middle layer. A change that breaks one of these fails here."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "import_graph.py"
spec = importlib.util.spec_from_file_location("import_graph", TOOL)
graph = importlib.util.module_from_spec(spec)
sys.modules["import_graph"] = graph
spec.loader.exec_module(graph)


@pytest.fixture(scope="module")
def edges():
    return [e for e in graph.imports() if not e.type_only]


def test_every_module_is_in_a_layer():
    for module in graph.modules():
        graph.layer_of(module)  # raises for a module no layer names


def test_no_import_cycle_between_files(edges):
    assert graph.cycles(edges) == []


def test_no_module_imports_a_higher_layer(edges):
    assert [f"{e.source}:{e.line} -> {e.target}" for e in graph.upward(edges)] == []


def test_no_import_inside_a_function(edges):
    assert [f"{e.source}:{e.line} -> {e.target}" for e in edges if e.in_function] == []


def test_the_middle_layer_names_no_family():
    assert graph.family_mentions() == []


def test_the_benchmarks_are_not_in_the_package():
    assert not [m for m in graph.modules() if m.startswith("approxify.bench")]


def test_the_checker_sees_what_it_checks(tmp_path, monkeypatch):
    """The graph reader finds a cycle, an upward import and a function-level import when they
    are there (so the assertions above can fail)."""
    package = tmp_path / "approxify"
    (package / "search").mkdir(parents=True)
    (package / "stats").mkdir()
    (package / "__init__.py").write_text("")
    (package / "search" / "__init__.py").write_text("")
    (package / "stats" / "__init__.py").write_text("")
    (package / "stats" / "a.py").write_text("from ..search import b\n")
    (package / "search" / "b.py").write_text(
        "from ..stats import a\n\ndef f():\n    from ..stats import a\n\nX = 'precision'\n")
    monkeypatch.setattr(graph, "ROOT", tmp_path)
    found = graph.imports()
    assert graph.cycles(found) == [["approxify.search.b", "approxify.stats.a"]]
    assert [(e.source, e.target) for e in graph.upward(found)] == [("approxify.stats.a", "approxify.search.b")]
    assert [e.source for e in found if e.in_function] == ["approxify.search.b"]
    assert graph.family_mentions() == ["approxify.search.b:6 names 'precision'"]
