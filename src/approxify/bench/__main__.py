"""``python -m approxify.bench --out BENCHMARKS.md``: side-by-side timings, one run.

Four sections: the overhead of loop perforation (below), precision tuning (:mod:`.precision`:
tuned vs float64 vs naive float32 on NumPy and numba kernels), function substitution
(:mod:`.substitute`: tuned surrogates vs the original), and neural networks (:mod:`.models`:
tuned models vs the exact ones and single-technique baselines).
Each row times two functions on the same inputs in alternating order (``measure.cost.time_pair``)
and reports the median of the paired time ratios, so machine noise hits both sides alike.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from datetime import datetime, timezone
from pathlib import Path

from .. import Perforate, apply
from ..examples import dense, mc
from ..measure.cost import time_pair
from ..measure.inputs import InputSet
from ..report.environment import environment
from . import handwritten, models, precision, substitute

DENSE_J = "dense.layer/for#1"
MC_PATHS = "mc.estimate/for#0"


def comparisons(count: int):
    """(what, baseline, candidate, inputs, target ratio, how the target reads)."""
    dense_inputs = dense.make_inputs(count)
    mc_inputs = mc.make_inputs(count)
    return [
        ("exact variant vs original: dense layer", dense.layer, apply(dense.layer, {}),
         dense_inputs, "at most 2% slower"),
        ("exact variant vs original: Monte Carlo pricer", mc.estimate, apply(mc.estimate, {}),
         mc_inputs, "at most 2% slower"),
        ("perforated j loop (modulo 50%) vs the same by hand: dense layer",
         handwritten.layer_every_other_j,
         apply(dense.layer, {DENSE_J: Perforate(0.5, "modulo")}), dense_inputs, "at most 5% slower"),
        ("perforated paths (truncate 50%, compensated) vs the same by hand: Monte Carlo pricer",
         handwritten.estimate_half_paths,
         apply(mc.estimate, {MC_PATHS: Perforate(0.5, "truncate", compensate=True)}), mc_inputs,
         "at most 5% slower"),
    ]


def run(count: int, repeats: int) -> list[dict]:
    rows = []
    for what, baseline, candidate, inputs, target in comparisons(count):
        items = InputSet(inputs)
        timing = time_pair(baseline, candidate, items, range(len(items)), repeats=repeats)
        # time_pair's speedup is baseline/candidate; report candidate time relative to baseline
        relative = [1.0 / r for r in timing.ratios]
        limit = 1.02 if "2%" in target else 1.05
        median = statistics.median(relative)
        rows.append({
            "what": what, "relative_time": median, "min": min(relative), "max": max(relative),
            "repeats": repeats, "inputs": count, "target": target,
            "met": median <= limit,  # faster is fine: the target is about overhead
        })
    return rows


def markdown(rows: list[dict], command: str, precision_results: list[dict] | None = None,
             substitute_results: list[dict] | None = None, model_results: list[dict] | None = None,
             *, quick: bool = False) -> str:
    env = environment()
    lines = [
        "# Benchmarks",
        "",
        f"Command: `{command}`  ",
        f"Run: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC on {env['platform']}, "
        f"{env['cpus']} CPUs, Python {env['python']}, approxify {env['approxify']}.",
        "",
        "Each row times the two programs side by side in one run: repeated passes over the same "
        "inputs, in alternating order; *relative time* is the median over the repetitions of "
        "(candidate time / baseline time), with the smallest and largest ratio seen.",
        "",
        "## Loop perforation overhead (issue: the core)",
        "",
        "| comparison | relative time (median) | min | max | repetitions | inputs | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['what']} | {r['relative_time']:.3f} | {r['min']:.3f} | {r['max']:.3f} | "
            f"{r['repeats']} | {r['inputs']} | {r['target']} | {'yes' if r['met'] else 'NO'} |"
        )
    if precision_results is not None:
        lines += ["", *precision.markdown(precision_results, quick=quick)]
    if substitute_results is not None:
        lines += ["", *substitute.markdown(substitute_results, quick=quick)]
    if model_results is not None:
        lines += ["", *models.markdown(model_results, quick=quick)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m approxify.bench")
    parser.add_argument("--out", default=None, help="Markdown file to write (default: print)")
    parser.add_argument("--inputs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--quick", action="store_true",
                        help="precision section with fewer trials and repetitions, one strategy")
    parser.add_argument("--no-precision", dest="precision", action="store_false",
                        help="skip the precision section (it tunes six kernels: minutes)")
    parser.add_argument("--no-substitute", dest="substitute", action="store_false",
                        help="skip the function-substitution section (minutes)")
    parser.add_argument("--no-models", dest="models", action="store_false",
                        help="skip the neural-network section (minutes)")
    args = parser.parse_args(argv)
    command = "make bench" if args.out == "BENCHMARKS.md" else "python -m approxify.bench " + " ".join(
        argv if argv is not None else sys.argv[1:])
    rows = run(args.inputs, args.repeats)
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    found = precision.run(quick=args.quick, repeats=args.repeats, log=log) if args.precision else None
    substituted = substitute.run(quick=args.quick, repeats=args.repeats, log=log) if args.substitute else None
    tuned_models = models.run(quick=args.quick, repeats=args.repeats, log=log) if args.models else None
    text = markdown(rows, command, found, substituted, tuned_models, quick=args.quick)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
