"""The Amdahl check: no speedup a result reports may beat what the perforable share allows.

    python -m benchmarks.amdahl                       # 5 seeds, another process spinning on a core
    python -m benchmarks.amdahl --seeds 8 --min-gain 0.05 --json amdahl.json

The program (:mod:`.programs.amdahl_share`) spends a few percent of its time (about 7%) in its
only useful perforable loop; its other loop does nothing whose result is used. Perforation can
save at most that share, so no config is faster than the Amdahl limit ``1 / (1 - share)``. The
limit is measured as the speedup of the program with both loops removed over the program, side
by side (``time_pair``, :data:`LIMIT_REPEATS` repetitions), before and after the tuning runs,
under the same load; their mean is the limit and the share is ``1 - 1 / limit``.

Each seed runs ``ax.approximate`` (perforation only) while a busy process loads a core, with
the default ``min_gain=0.05`` and with ``min_gain=0`` (any certified gain: with a limit near 5%,
the default rightly keeps the exact program, and only ``min_gain=0`` ships configs whose
figures can be checked against the limit), and its best speedup (held-out; 1 for the exact program) is compared with the limit. Target: none
exceeds the limit by more than :data:`TOLERANCE`. The largest held-out and tuning figures of
the certified front (the summary's table) are shown beside it: they are estimates of configs
not chosen, each with its interval, and the largest of several is the one luck pushed up most.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

import approxify as ax
from approxify.measure.cost import time_pair
from approxify.measure.inputs import InputSet
from approxify.report.environment import environment
from approxify.report.result import finite_json

from .programs import amdahl_share as program

INPUTS, SIZE, STRETCH = 400, 16384, 200  # STRETCH sets the loop's share (about 7% here)
TIMED_INPUTS = 16
LIMIT_REPEATS = 31
TRIALS = 10
TOLERANCE = 0.03  # a reported speedup may exceed the limit by at most 3%
SPIN = "while True: pass"


def amdahl_limit(inputs: list[Any]) -> float:
    """The speedup of the program without its loops over the program, measured side by side."""
    timing = time_pair(program.profile, program.without_loops, InputSet(inputs),
                       list(range(TIMED_INPUTS)), repeats=LIMIT_REPEATS)
    return timing.speedup


def tune(inputs: list[Any], seed: int, min_gain: float) -> dict[str, Any]:
    """One tuning run and the speedups its result reports."""
    started = time.perf_counter()
    result = ax.approximate(program.profile, inputs, quality=program.QUALITY, bound=0.05,
                            families=["perforate"], budget=ax.Budget(trials=TRIALS), seed=seed,
                            min_gain=min_gain, progress=False)
    best = result.best
    front = result.pareto
    return {
        "seed": seed,
        "min_gain": min_gain,
        "best": "exact" if best.is_exact else best.describe(),
        # the exact program's speedup is 1 by definition (its self-timing is not reported)
        "best_speedup": 1.0 if best.is_exact else best.speedup,
        "best_low": None if best.is_exact else best.speedup_low,
        "best_high": None if best.is_exact else best.speedup_high,
        "front_heldout_max": max((c.heldout["speedup"] for c in front if c.heldout), default=None),
        "front_tuning_max": max((c.tuning["speedup"] for c in front), default=None),
        "front": len(front),
        "notes": list(result.notes),
        "wall_seconds": time.perf_counter() - started,
    }


def run(seeds: int, *, load: bool, gains: list[float]) -> dict[str, Any]:
    inputs = program.make_inputs(INPUTS, size=SIZE, stretch=STRETCH)
    spinner = subprocess.Popen([sys.executable, "-c", SPIN]) if load else None
    try:
        before = amdahl_limit(inputs)
        rows = [tune(inputs, seed, gain) for gain in gains for seed in range(seeds)]
        after = amdahl_limit(inputs)
    finally:
        if spinner is not None:
            spinner.terminate()
            spinner.wait()
    limit = statistics.mean([before, after])
    for row in rows:
        row["over_limit"] = row["best_speedup"] / limit - 1
    return {
        "limit": limit, "limit_before": before, "limit_after": after, "share": 1 - 1 / limit,
        "tolerance": TOLERANCE, "loaded": load, "rows": rows,
        "met": all(row["over_limit"] <= TOLERANCE for row in rows),
        "environment": environment(),
    }


def markdown(figures: dict[str, Any]) -> str:
    limit = figures["limit"]
    lines = [
        f"Amdahl limit {limit:.3f}x (perforable share {figures['share']:.1%}; measured "
        f"{figures['limit_before']:.3f}x before and {figures['limit_after']:.3f}x after the runs"
        f"{', another process spinning on a core' if figures['loaded'] else ''})",
        "",
        "| min_gain | seed | best | best speedup [interval] | best vs limit | front: max held-out "
        "| front: max tuning | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in figures["rows"]:
        interval = f" [{r['best_low']:.3f}, {r['best_high']:.3f}]" if r["best_low"] is not None else ""
        lines.append(
            f"| {r['min_gain']:g} | {r['seed']} | {r['best']} | {r['best_speedup']:.3f}x{interval} | "
            f"{r['over_limit']:+.1%} | {_x(r['front_heldout_max'])} | {_x(r['front_tuning_max'])} | "
            f"{r['wall_seconds']:.0f} |")
    verdict = "met" if figures["met"] else "NOT met"
    lines += ["", f"Target (no best speedup above the limit by more than "
                  f"{figures['tolerance']:.0%}): {verdict}."]
    return "\n".join(lines)


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.amdahl", description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="tuning runs, seeds 0..N-1 (default 5)")
    parser.add_argument("--no-load", action="store_true", help="without the busy process")
    parser.add_argument("--min-gain", type=float, action="append", default=None,
                        help="min_gain= of the runs (repeatable; default 0.05 and 0)")
    parser.add_argument("--json", default=None, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    figures = run(args.seeds, load=not args.no_load, gains=args.min_gain or [0.05, 0.0])
    print(markdown(figures))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(finite_json(figures), out, indent=2)
    return 0 if figures["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
