"""``python -m benchmarks --out BENCHMARKS.md``: side-by-side timings, one run.

Nine sections: the suite's programs (:mod:`.suite`: every program tuned at two bounds beside
uniform baselines and random search), the overhead of loop perforation (below), precision tuning
(:mod:`.precision`: tuned vs float64 vs naive float32 on NumPy and numba kernels), function
substitution (:mod:`.substitute`: tuned surrogates vs the original), the cost of isolation
(:mod:`.isolation`), the held-out inputs each bound needs (:mod:`.certificates`), the suite's neural
networks (:mod:`.models`: tuned models vs the exact ones, single-technique baselines and random
search), reach (:mod:`.reach`: third-party and class-based programs, what is found and tuned), and arrays
(:mod:`.arrays`: the vectorized programs tuned with and without the array sites, beside float32
and by-hand array approximations). ``--json`` writes every figure as JSON beside the Markdown.
Each row times two functions on the same inputs in alternating order (``measure.cost.time_pair``)
and reports the median of the paired time ratios, so machine noise hits both sides alike.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from approxify import Perforate, apply
from approxify.examples import dense, mc
from approxify.measure.cost import time_pair
from approxify.measure.inputs import InputSet
from approxify.report.environment import environment
from approxify.report.result import finite_json

from . import arrays, certificates, handwritten, isolation, models, precision, reach, substitute, suite

SECTIONS = ("suite", "overhead", "isolation", "statistics", "precision", "substitute", "models", "reach",
            "arrays")
NAMES = [p.name for p in suite.SUITE] + list(models.MODELS)  # what --only may name
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


def markdown(figures: dict, *, quick: bool = False) -> str:
    """BENCHMARKS.md from the figures :func:`main` gathered (a section per key present)."""
    env = figures["environment"]
    lines = [
        "# Benchmarks",
        "",
        f"Command: `{figures['command']}`  ",
        f"Run: {figures['run']} UTC on {env['platform']}, "
        f"{env['cpus']} CPUs, Python {env['python']}, approxify {env['approxify']}.",
        "",
        "Each row times the two programs side by side in one run: repeated passes over the same "
        "inputs, in alternating order; *relative time* is the median over the repetitions of "
        "(candidate time / baseline time), with the smallest and largest ratio seen.",
    ]
    if figures.get("suite_minutes") is not None:
        together = ("at the same time, one core each (`--jobs 2`)" if figures.get("jobs") == 2
                    else "one after the other (`--jobs 1`)")
        lines += ["", f"The suite's programs and its networks ran {together}: "
                      f"{figures['suite_minutes']:.1f} minutes of wall time in all."]
    if figures.get("suite") is not None:
        lines += ["", *suite.markdown(figures["suite"], quick=quick)]
    if figures.get("overhead") is not None:
        lines += ["", "## Loop perforation overhead (issue: the core)", "",
                  "| comparison | relative time (median) | min | max | repetitions | inputs | target | met |",
                  "|---|---|---|---|---|---|---|---|"]
        for r in figures["overhead"]:
            lines.append(
                f"| {r['what']} | {r['relative_time']:.3f} | {r['min']:.3f} | {r['max']:.3f} | "
                f"{r['repeats']} | {r['inputs']} | {r['target']} | {'yes' if r['met'] else 'NO'} |"
            )
    for key, section in (("isolation", isolation), ("statistics", certificates), ("precision", precision),
                         ("substitute", substitute), ("models", models), ("reach", reach)):
        if figures.get(key) is not None:
            lines += ["", *section.markdown(figures[key], quick=quick)]
    if figures.get("arrays") is not None:  # its suite-wide mean takes the suite's other programs
        lines += ["", *arrays.markdown(figures["arrays"], quick=quick, suite_results=figures.get("suite"))]
    return "\n".join(lines) + "\n"


def _jobs(text: str) -> int:
    if text not in ("1", "2"):
        raise argparse.ArgumentTypeError(f"expects 1 or 2 (the suite's programs and networks are two series), got {text!r}")
    return int(text)


def _suite_and_networks(args: argparse.Namespace, only: list[str] | None, log) -> tuple[Any, Any]:
    """The suite's programs and its networks, each a series of child processes; with ``--jobs 2``
    the two series run at the same time, one core each (every figure compared is a ratio timed
    side by side within one child, so a neighbour slows both sides alike)."""
    work = {}
    if args.suite:
        work["suite"] = lambda: suite.run(quick=args.quick, only=only, log=log)
    if args.models:
        work["models"] = lambda: models.run(quick=args.quick, repeats=args.repeats, only=only, log=log)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:  # children wait in threads
        pending = {key: pool.submit(job) for key, job in work.items()}
        done = {key: future.result() for key, future in pending.items()}
    return done.get("suite"), done.get("models")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--out", default=None, help="Markdown file to write (default: print)")
    parser.add_argument("--inputs", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=21)
    parser.add_argument("--quick", action="store_true",
                        help="every section with fewer inputs, trials and repetitions (not the figures to judge)")
    parser.add_argument("--no-precision", dest="precision", action="store_false",
                        help="skip the precision section (it tunes six kernels: minutes)")
    parser.add_argument("--no-substitute", dest="substitute", action="store_false",
                        help="skip the function-substitution section (minutes)")
    parser.add_argument("--no-models", dest="models", action="store_false",
                        help="skip the neural-network section (minutes)")
    parser.add_argument("--no-overhead", dest="overhead", action="store_false",
                        help="skip the loop-perforation overhead section (seconds)")
    parser.add_argument("--no-isolation", dest="isolation", action="store_false",
                        help="skip the cost of isolation (the suite's programs tuned with and without: minutes)")
    parser.add_argument("--no-statistics", dest="statistics", action="store_false",
                        help="skip the held-out inputs each bound needs (simulated: minutes)")
    parser.add_argument("--no-reach", dest="reach", action="store_false",
                        help="skip reach (pyperformance's nbody and spectral_norm, a class-based program: minutes)")
    parser.add_argument("--no-arrays", dest="arrays", action="store_false",
                        help="skip arrays (the vectorized programs with and without the array sites, "
                             "float32 and by hand, at two bounds: minutes)")
    parser.add_argument("--no-suite", dest="suite", action="store_false",
                        help="skip the suite (programs at two bounds with baselines: minutes)")
    parser.add_argument("--only", default=None,
                        help=f"suite programs and networks to run, comma-separated ({', '.join(NAMES)})")
    parser.add_argument("--json", default=None, help="also write every figure as JSON to this file")
    parser.add_argument("--jobs", type=_jobs, default=2,
                        help="run the suite's programs and its networks at the same time (2, the "
                             "default: one core each) or one after the other (1)")
    parser.add_argument("--keep", default=None,
                        help="a JSON file an earlier run wrote: the sections skipped here keep its figures")
    parser.add_argument("--command", default=None, help=argparse.SUPPRESS)  # as the caller typed it
    args = parser.parse_args(argv)
    only = args.only.split(",") if args.only else None
    unknown = sorted(set(only or ()) - set(NAMES))
    if unknown:
        parser.error(f"--only: no suite program or network {', '.join(unknown)}; they are {', '.join(NAMES)}")
    typed = "python -m benchmarks " + " ".join(argv if argv is not None else sys.argv[1:])
    command = args.command or ("make bench" if args.out == "BENCHMARKS.md" and not args.keep else typed)
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    started = datetime.now(timezone.utc)
    programs, networks = _suite_and_networks(args, only, log)
    suite_minutes = (datetime.now(timezone.utc) - started).total_seconds() / 60
    figures = {
        "command": command, "run": f"{started:%Y-%m-%d %H:%M}", "environment": environment(),
        "quick": args.quick, "jobs": args.jobs,
        "suite_minutes": suite_minutes if args.suite or args.models else None,
        "suite": programs,
        "overhead": run(args.inputs, args.repeats) if args.overhead else None,
        "isolation": isolation.run(quick=args.quick, only=only, log=log) if args.isolation else None,
        "statistics": certificates.run(quick=args.quick, log=log) if args.statistics else None,
        "precision": precision.run(quick=args.quick, repeats=args.repeats, log=log) if args.precision else None,
        "substitute": substitute.run(quick=args.quick, repeats=args.repeats, log=log) if args.substitute else None,
        "models": networks,
        "reach": reach.run(quick=args.quick, log=log) if args.reach else None,
        "arrays": arrays.run(quick=args.quick, only=only, log=log) if args.arrays else None,
    }
    if args.keep:
        kept = json.loads(Path(args.keep).read_text())
        taken = [key for key in SECTIONS if figures[key] is None and kept.get(key) is not None]
        figures.update({key: kept[key] for key in taken})
        timed_together = {"suite", "models"} & set(taken)
        if timed_together:  # the wall time is of one run: the earlier one's if it ran both
            figures["suite_minutes"] = kept.get("suite_minutes") if len(timed_together) == 2 else None
        figures["command"] = (f"{kept['command']} ({kept['run']} UTC); then {figures['command']} "
                              f"({figures['run']} UTC), keeping the earlier figures of: {', '.join(taken)}")
    text = markdown(figures, quick=args.quick)
    if args.out:
        Path(args.out).write_text(text)
    if args.json:
        Path(args.json).write_text(json.dumps(finite_json(figures), indent=2) + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
