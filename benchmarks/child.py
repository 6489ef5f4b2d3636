"""Run one benchmark module in a fresh interpreter with one BLAS thread and a steady allocator
(see :mod:`.precision` for why), and read back the JSON figures it writes."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable, Sequence
from typing import Any

from .precision import ONE_THREAD, STEADY_MALLOC, child_env


def run_each(module: str, option: str, names: list[str], args: list[str], log=None) -> list[dict[str, Any]]:
    """``run_child`` once per name (``--<option> name`` plus ``args``), logging how long each took."""
    results = []
    for name in names:
        started = time.perf_counter()
        results.append(run_child(module, [f"--{option}", name, *args]))
        if log:
            log(f"{module}: {name} done in {time.perf_counter() - started:.0f} s")
    return results


def run_child(module: str, args: list[str]) -> dict[str, Any]:
    """``python -m benchmarks.<module> *args --json OUT`` in a clean environment."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        command = [sys.executable, "-m", f"benchmarks.{module}", *args, "--json", str(out)]
        done = subprocess.run(command, check=False, capture_output=True, text=True,
                              env=child_env({**ONE_THREAD, **STEADY_MALLOC}))
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{done.stderr[-4000:]}")
        return json.loads(out.read_text())


def child_main(module: str, names: Sequence[str], measure: Callable[..., dict[str, Any]],
               argv: list[str] | None = None) -> int:
    """What ``python -m benchmarks.<module> --program NAME [--quick] --json OUT`` runs (the
    child :func:`run_each` starts): ``measure(NAME, quick=...)`` written as JSON to OUT."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{module}")
    parser.add_argument("--program", choices=list(names), required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", required=True)
    args = parser.parse_args(argv)
    Path(args.json).write_text(json.dumps(measure(args.program, quick=args.quick)))
    return 0
