"""Third-party programs, installed, never copied here: pyperformance's benchmarks (MIT).

pyperformance ships each benchmark as ``data-files/benchmarks/bm_<name>/run_benchmark.py``, a
script rather than a module; :func:`load` imports one as module ``bm_<name>`` (registered in
``sys.modules``, so its functions have a source file and a module name approxify can follow).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path


def benchmark_file(name: str) -> Path:
    """The installed ``run_benchmark.py`` of pyperformance's ``bm_<name>``."""
    try:
        import pyperformance
    except ImportError:
        raise ImportError("pyperformance is not installed; it is in the test extra: "
                          "pip install 'approxify[test]'") from None
    path = Path(pyperformance.__file__).parent / "data-files" / "benchmarks" / f"bm_{name}" / "run_benchmark.py"
    if not path.is_file():
        raise FileNotFoundError(f"pyperformance {pyperformance.__version__} has no benchmark bm_{name} ({path})")
    return path


def load(name: str) -> types.ModuleType:
    """pyperformance's ``bm_<name>`` as an imported module (once per process)."""
    module_name = f"bm_{name}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, benchmark_file(name))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
