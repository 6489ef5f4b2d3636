"""Exported Python results ship: the file runs where only NumPy is installed (a fitted surrogate's
arrays written into it), with outputs identical to ``result.program()``'s, and its code reads like
the user's: their comments kept, loops in the idiom a person would write, nothing unused."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import approxify as ax
import export_kernels as K
import substitute_kernels as S

M = K.__name__
RNG = np.random.default_rng(5)
UNIT = [(RNG.uniform(0.0, 1.0, 200),) for _ in range(8)]
# inside and outside the traced range: the guard's exact fallback runs too
PROBE = (np.concatenate([np.linspace(0.0, 1.0, 101), [-0.5, 1.5, np.nan]]),)
GRID = tuple(g.ravel().astype(float) for g in np.meshgrid(np.arange(10), np.arange(10)))
DISC = [(RNG.uniform(-1, 1, 200), RNG.uniform(-1, 1, 200)) for _ in range(8)]


def site(fn, callee: str) -> str:
    return f"{M}.{fn.__qualname__}/call:{callee}"


# --- a Python with NumPy alone ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def numpy_only(tmp_path_factory) -> Path:
    """The interpreter of a fresh virtual environment whose only package is NumPy (this one's,
    linked in: nothing is downloaded)."""
    root = tmp_path_factory.mktemp("numpy-only")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    packages = root / "packages"
    packages.mkdir()
    installed = Path(np.__file__).resolve().parent.parent
    for name in ("numpy", "numpy.libs"):
        if (installed / name).exists():
            (packages / name).symlink_to(installed / name)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    (venv / "lib" / version / "site-packages" / "numpy_only.pth").write_text(f"{packages}\n")
    return venv / "bin" / "python"


RUNNER = textwrap.dedent("""
    import importlib, sys
    folder, module, function = sys.argv[1:4]
    sys.path.insert(0, folder)
    import numpy as np
    data = np.load(folder + "/inputs.npz")
    args = [data[f"a{i}"] for i in range(len(data.files))]
    result = getattr(importlib.import_module(module), function)(*args)
    np.save(folder + "/output.npy", np.asarray(result))
""")


def run_shipped(python: Path, text: str, function: str, args: tuple, folder: Path) -> np.ndarray:
    """Run ``function`` of the exported ``text`` on ``args`` in the NumPy-only environment, in
    isolated mode (neither this checkout nor PYTHONPATH importable)."""
    folder.mkdir()
    (folder / "shipped.py").write_text(text)
    (folder / "runner.py").write_text(RUNNER)
    np.savez(folder / "inputs.npz", **{f"a{i}": a for i, a in enumerate(args)})
    done = subprocess.run([str(python), "-I", str(folder / "runner.py"), str(folder), "shipped", function],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return np.load(folder / "output.npy")


def test_the_environment_has_numpy_and_nothing_else(numpy_only):
    for module, importable in [("numpy", True), ("approxify", False), ("scipy", False), (M, False)]:
        done = subprocess.run([str(numpy_only), "-I", "-c", f"import {module}"], capture_output=True)
        assert (done.returncode == 0) is importable, module


SHIPPED = [
    ("table", K.growth, "slow_log1p", ax.Substitute("table", points=64), UNIT, PROBE),
    ("poly-horner", K.growth, "slow_log1p", ax.Substitute("poly", degree=6), UNIT, PROBE),
    ("poly-clenshaw", K.growth, "slow_log1p", ax.Substitute("poly", degree=14), UNIT, PROBE),
    ("memo", K.distances, "hypot_plus", ax.Substitute("memo", cells=16), [GRID] * 4, GRID),
    ("mlp", K.distances, "hypot_plus", ax.Substitute("mlp", hidden=(8,)), [GRID] * 4, GRID),
    ("recheck", K.disc_share, "in_disc", ax.Substitute("mlp", hidden=(8,), recheck=0.2), DISC, DISC[0]),
    ("scalar", K.scalar_sum, "scalar_log1p", ax.Substitute("table", points=64), UNIT, PROBE),
]


@pytest.mark.parametrize("kind, fn, callee, setting, examples, args", SHIPPED, ids=[c[0] for c in SHIPPED])
def test_an_exported_substitution_runs_with_numpy_alone_as_the_variant_does(
        kind, fn, callee, setting, examples, args, numpy_only, tmp_path):
    config = {site(fn, callee): setting}
    text = ax.source(fn, config, example_inputs=examples)
    assert "approxify" not in text.split('"""', 2)[2]  # past the docstring saying where it came from
    got = run_shipped(numpy_only, text, fn.__name__, args, tmp_path / "run")
    want = np.asarray(ax.apply(fn, config, example_inputs=examples)(*args))
    assert got.dtype == want.dtype and got.tobytes() == want.tobytes()


def test_a_tuned_result_ships_with_its_surrogate_and_runs_as_its_program(numpy_only, tmp_path):
    inputs = [(RNG.uniform(0.0, 1.0, 200),) for _ in range(140)]
    result = ax.approximate(K.growth, inputs, bound=0.05, families=["substitute"],
                            budget=ax.Budget(trials=6), progress=False, seed=1)
    assert any(s.kind != "exact" for s in result.best.config.values()), result.summary()
    got = run_shipped(numpy_only, result.source(), "growth", PROBE, tmp_path / "run")
    assert got.tobytes() == np.asarray(result.program()(*PROBE)).tobytes()


def test_an_exact_export_is_the_users_code():
    text = ax.source(K.growth, {})
    assert "_ax_" not in text and inspect.getsource(K.growth) in text


# --- source a person would write ------------------------------------------------------------------


def function(text: str, name: str) -> str:
    """The definition of ``name`` in ``text``, as written (comments included)."""
    tree = ast.parse(text)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    return "\n".join(text.splitlines()[node.lineno - 1 : node.end_lineno])


def loops(setting) -> str:
    config = {s.id: setting for s in ax.sites(K.smoothed, families=["perforate"])}
    return ax.source(K.smoothed, config)


def test_a_perforated_range_is_written_as_a_range():
    modulo = function(loops(ax.Perforate(0.5, "modulo")), "smoothed")
    assert "for i in range(0, n, 2):" in modulo
    truncate = function(loops(ax.Perforate(0.5, "truncate")), "smoothed")
    assert "for i in range((n + 1) // 2):" in truncate


@pytest.mark.parametrize("bounds", [(0, 0), (0, 7), (3, 10), (5, 6), (-4, 9), (9, 3)])
@pytest.mark.parametrize("keep", [(1, 2), (1, 3), (3, 4), (7, 10)])
def test_a_truncated_range_keeps_the_first_ceil_of_its_share(bounds, keep, tmp_path):
    (a, b), (p, q) = bounds, keep
    path = tmp_path / f"ranged_{a}_{b}_{p}_{q}.py".replace("-", "m")
    path.write_text(f"def f():\n    out = []\n    for i in range({a}, {b}):\n        out.append(i)\n    return out\n")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    config = {s.id: ax.Perforate(1 - p / q, "truncate") for s in ax.sites(module.f, families=["perforate"])}
    assert "_ax_truncate" not in ax.source(module.f, config)
    exact = list(range(a, b))
    assert ax.apply(module.f, config)() == exact[: -(-len(exact) * p // q)]


def test_comments_stay_where_the_user_wrote_them():
    text = function(loops(ax.Perforate(0.5, "truncate")), "smoothed")
    expected = [
        '    """A mean over a range loop (truncated by a range bound) and a list loop."""',
        "    # the first part of the signal",
        "    for i in range((n + 1) // 2):",
        "        acc += x[i] * x[i]  # energy",
    ]
    rows = text.splitlines()
    start = rows.index(expected[0])
    assert rows[start : start + 2] == expected[:1] + ["    n = len(x)"]
    assert all(row in rows for row in expected)
    assert rows.index(expected[1]) + 1 == rows.index(expected[2])
    growth = function(ax.source(K.growth, {site(K.growth, "slow_log1p"): ax.Substitute("poly", degree=6)},
                                example_inputs=UNIT), "growth")
    assert growth.splitlines()[1:] == [
        "    # twice the logarithm, so the surrogate's output is scaled",
        "    return _ax_sub_0(slow_log1p, x) * 2.0  # the call substitution replaces",
    ]


def test_helpers_the_variant_does_not_use_are_not_written():
    text = loops(ax.Perforate(0.5, "modulo"))
    defined = {n.name for n in ast.parse(text).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert defined == {"_ax_modulo", "smoothed"}  # no tally: the loops have no early exit


def test_an_alternative_is_called_by_its_own_name_and_the_function_it_replaced_is_dropped():
    config = {f"{S.__name__}.uses_norm/call:norm": ax.Substitute("alternative", name="fast_norm")}
    text = ax.source(S.uses_norm, config)
    assert f"from {S.__name__} import fast_norm" in text
    assert "return fast_norm(v) * 2.0" in function(text, "uses_norm")
    assert "def norm(" not in text and "alternatives" not in text and "_ax_" not in text


def test_comments_inside_a_changed_loop_keep_their_place_in_its_branches(numpy_only, tmp_path):
    config = {s.id: ax.Perforate(0.5, "modulo") for s in ax.sites(K.branches, families=["perforate"])}
    text = ax.source(K.branches, config)
    written = function(text, "branches").splitlines()
    assert written == [
        "def branches(x):",
        "    total = 0.0",
        "    for v in _ax_modulo(x.tolist(), 1, 2):  # every value",
        "        if v < 0.25:",
        "            # small ones count once",
        "            total += v",
        "        elif v < 0.5:",
        "            total += 2 * v  # twice",
        "        else:",
        "            try:",
        "                total += 1.0 / v",
        "            except ZeroDivisionError:  # never for these inputs",
        "                pass",
        "        # after the branches",
        "    return total",
    ]
    got = run_shipped(numpy_only, text, "branches", PROBE[:1], tmp_path / "run")
    assert got == ax.apply(K.branches, config)(*PROBE)


def test_an_import_the_module_has_is_not_written_again_for_a_helper():
    from approxify.examples import sobel

    images = sobel.make_inputs(2, size=64)
    (grid,) = [s.id for s in ax.sites(sobel.sobel, example_inputs=images, families=["perforate"])]
    text = ax.source(sobel.sobel, {grid: ax.Perforate.grid(2, "linear")}, example_inputs=images)
    imports = [line for line in text.splitlines() if line.startswith(("import ", "from "))]
    assert "import numpy as np" in imports and len(imports) == len(set(imports))
