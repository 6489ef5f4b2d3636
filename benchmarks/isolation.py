"""What isolation costs: the suite's programs tuned with the user's code run in forked children
(``isolation="process"``, the default) beside the same tuning run in this process
(``isolation="none"``), in one child interpreter per program.

A first tuning, not counted, fits what the process keeps for later tunings (surrogates are
fitted once per process and traces); then the two are run in the order process, none, none,
process (so a machine that slows down or warms up during the run weighs on both alike), and each
program's cost is the ratio of the summed wall times. The tuning is the suite's (same inputs, bound 10%, families, loss cap) with a smaller
search budget, as the cost is per evaluation.

    python -m benchmarks.isolation --program sobel --json out.json   # one program (a child)
"""

from __future__ import annotations

import importlib
import statistics
import sys
import time
from typing import Any

import approxify as ax

from .child import child_main, run_each
from .suite import CAP_TIMES_BOUND, CONFIDENCE, HELDOUT_INPUTS, SUITE, TUNING_INPUTS, _families

BOUND = 0.10
TRIALS, QUICK_TRIALS = 12, 2
ORDER = ("process", "none", "none", "process")
TARGET = 1.10  # tuning wall time may grow by at most 10%


def measure(name: str, *, quick: bool) -> dict[str, Any]:
    program = next(p for p in SUITE if p.name == name)
    module = importlib.import_module(program.module)
    fn = getattr(module, program.function)
    options = {**program.options, **(program.quick_options if quick else {})}
    count = (12 + 100) if quick else TUNING_INPUTS + HELDOUT_INPUTS
    inputs = module.make_inputs(count, seed=0, **options)
    common = {"quality": getattr(module, "QUALITY", "rel_l2"), "bound": BOUND, "confidence": CONFIDENCE,
              "holdout": count - (12 if quick else TUNING_INPUTS), "loss_cap": CAP_TIMES_BOUND * BOUND,
              "families": _families(fn, inputs[:3]), "seed": 0, "progress": False,
              "budget": ax.Budget(trials=QUICK_TRIALS if quick else TRIALS)}
    seconds: dict[str, list[float]] = {"process": [], "none": []}
    evaluations: dict[str, list[int]] = {"process": [], "none": []}
    ax.approximate(fn, inputs, isolation="none", **common)  # warm-up: fits kept for the rest
    for isolation in ORDER:
        started = time.perf_counter()
        result = ax.approximate(fn, inputs, isolation=isolation, **common)
        seconds[isolation].append(time.perf_counter() - started)
        evaluations[isolation].append(result.stats["evaluations"])
    return {"program": name, "seconds": seconds, "evaluations": evaluations,
            "ratio": sum(seconds["process"]) / sum(seconds["none"])}


def run(*, quick: bool = False, only: list[str] | None = None, log=None) -> dict[str, Any] | None:
    names = [p.name for p in SUITE if not only or p.name in only]
    if not names:
        return None
    rows = run_each("isolation", "program", names, ["--quick"] if quick else [], log=log)
    total_process = sum(sum(r["seconds"]["process"]) for r in rows)
    total_none = sum(sum(r["seconds"]["none"]) for r in rows)
    return {"rows": rows, "ratio": total_process / total_none, "trials": QUICK_TRIALS if quick else TRIALS,
            "bound": BOUND}


def markdown(figures: dict[str, Any], *, quick: bool = False) -> list[str]:
    lines = [
        "## What isolation costs (issue: trust)",
        "",
        f"Each program tuned as the suite tunes it (bound {figures['bound']:.0%}, "
        f"{figures['trials']} search trials) five times in one child interpreter: once to warm up "
        f"(surrogates fitted, not counted), then in the order {', '.join(ORDER)}: with every run of the user's code in forked children "
        "(`isolation=\"process\"`, the default) and in the tuning process (`isolation=\"none\"`). "
        "Wall seconds are summed per mode; *ratio* is process / none.",
        "",
        "| program | process (s) | none (s) | evaluations per run | ratio |",
        "|---|---|---|---|---|",
    ]
    for row in figures["rows"]:
        lines.append(
            f"| {row['program']} | {' + '.join(f'{s:.1f}' for s in row['seconds']['process'])} | "
            f"{' + '.join(f'{s:.1f}' for s in row['seconds']['none'])} | "
            f"{statistics.median(row['evaluations']['process']):.0f} | {row['ratio']:.3f} |"
        )
    met = "met" if figures["ratio"] <= TARGET else "NOT met"
    lines += ["", f"Over the suite: tuning wall time with isolation is **{figures['ratio']:.3f}x** "
                  f"that without (target at most {TARGET:.2f}x: {met})."]
    return lines


def main(argv: list[str] | None = None) -> int:
    return child_main("isolation", [p.name for p in SUITE], measure, argv)


if __name__ == "__main__":
    sys.exit(main())
