"""Arrays (issue 20: vectorized NumPy beyond float32): the array-level sites of ``perforate``
(``reduce#k``, ``grid#k``, ``sample#k``) on the suite's seven vectorized NumPy programs.

For each program whose form starts with "NumPy" and each bound, in a fresh interpreter with one
BLAS thread and a steady allocator (:func:`.child.run_each`), on the held-out inputs and with the
timing and certificates of :mod:`.suite`:

- (a) ``ax.approximate`` with every family that has a site, the array sites included;
- (b) the same search with the array sites excluded (``exclude=`` :data:`ARRAY_SITES`): today's
  families alone. Where the program has no array site the two searches are one, run once;
- (c) everything float32 (the suite's uniform config), evaluated and certified alike;
- (d) the by-hand array approximation of :mod:`.array_handwritten`, its losses on the same
  held-out inputs certified the same way (capped at 5x the bound), timed against the original
  side by side like the others.

Then the issue's targets, each with PASS or MISS: the geometric mean of (a) at each bound
(:data:`GEOMEAN_TARGETS`; and over the whole suite where the suite section ran too), the number
of programs where (a) beats (c) by :data:`FLOAT32_GAIN` at 10%, and per program (a)'s share of
(d)'s speedup where (d) meets the bound.

Run: ``python -m benchmarks --no-suite ... --only sobel`` (``--no-arrays`` skips it); the child
is ``python -m benchmarks.arrays --program NAME [--quick] --json OUT``.
"""

from __future__ import annotations

import fnmatch
import sys
from typing import Any

import approxify as ax
from approxify.measure.quality import get_quality
from approxify.measure.runner import Reference

from . import suite
from .array_handwritten import BY_HAND
from .child import child_main, run_each

ARRAY_SITES = ("*/reduce#*", "*/grid#*", "*/sample#*")  # the sites issue 20 adds
PROGRAMS = tuple(p.name for p in suite.SUITE if p.form.startswith("NumPy"))
GEOMEAN_TARGETS = {0.05: 2.0, 0.10: 2.5}  # the suite's geometric mean at each bound
FLOAT32_GAIN, FLOAT32_PROGRAMS, FLOAT32_BOUND = 1.2, 4, 0.10  # beat float32 by 1.2x on 4 of 7 at 10%
HAND_SHARE = 0.60  # of the by-hand speedup, where the by-hand version meets the bound
TITLE = "## Arrays (issue: vectorized NumPy beyond float32)"


def measure(name: str, *, quick: bool) -> dict[str, Any]:
    """The four programs of one row per bound, as plain data."""
    ready = suite.prepare(name, quick=quick)
    fn, quality, inputs, heldout = ready.fn, ready.quality, ready.inputs, ready.heldout
    families = suite._families(fn, inputs[:3])
    found = [s.id for s in ax.sites(fn, families=families, example_inputs=inputs[:3]) if s.knob.choices]
    array_sites = [site for site in found if any(fnmatch.fnmatchcase(site, p) for p in ARRAY_SITES)]
    floats = dict(suite._uniform_configs(fn, inputs[:3])).get("everything float32")
    rows = []
    for bound in suite.QUICK_BOUNDS if quick else suite.BOUNDS:
        cap = suite.CAP_TIMES_BOUND * bound
        common = {"quality": quality, "bound": bound, "confidence": suite.CONFIDENCE,
                  "holdout": ready.heldout_count, "loss_cap": cap, "families": families, "seed": 0,
                  "progress": False, "budget": ax.Budget(trials=ready.trials)}
        every = ax.approximate(fn, inputs, **common)
        today = ax.approximate(fn, inputs, exclude=list(ARRAY_SITES), **common) if array_sites else None
        timer = suite._Timer(fn, heldout[:suite.TIMED_INPUTS], repeats=1 if quick else suite.REPEATS)
        tuned = suite._outcome(every, timer)
        rows.append({
            "bound": bound, "loss_cap": cap, "tuned": tuned,
            # no array site: excluding them leaves the same search, so it is not run twice
            "today": suite._outcome(today, timer) if today else {**tuned, "same_search": True},
            "float32": (suite._baseline(fn, "everything float32", floats, heldout, timer, quality=quality,
                                        bound=bound, cap=cap) if floats else None),
            "by_hand": by_hand(fn, BY_HAND[name], heldout, timer, quality=quality, bound=bound, cap=cap),
        })
    return {"program": name, "title": ready.program.title, "form": ready.program.form, "families": families,
            "quality": ready.quality_name, "array_sites": array_sites, "exact_ms": suite.exact_ms(fn, inputs),
            "tuning_inputs": ready.tuning_count, "heldout_inputs": ready.heldout_count, "trials": ready.trials,
            "rows": rows}


def by_hand(fn: Any, hand: Any, heldout: list[Any], timer: Any, *, quality: Any, bound: float,
            cap: float) -> dict[str, Any]:
    """The by-hand version's losses against ``fn`` on the held-out inputs (a failure is the worst
    loss, as for a config), certified and timed like :func:`.suite._baseline`'s."""
    reference = Reference(fn, heldout, get_quality(quality))
    indices = list(range(len(heldout)))
    reference.prepare(indices)
    losses, failures = reference.losses(hand, indices)
    return {"title": f"by hand: {hand.__name__}", **suite.certified(losses, len(failures), timer.speedup(hand),
                                                                   bound=bound, cap=cap)}


def run(*, quick: bool = False, only: list[str] | None = None, log=None) -> list[dict[str, Any]] | None:
    """Every program of :data:`PROGRAMS` (those of ``only`` when given: None if it names none)."""
    names = [name for name in PROGRAMS if not only or name in only]
    return run_each("arrays", "program", names, ["--quick"] if quick else [], log) if names else None


# -- the targets ------------------------------------------------------------------------------

def _shipped(outcome: dict[str, Any] | None) -> float:
    """What a row ships: its speedup when certified, else the exact program's 1.00x."""
    return outcome["speedup"] if outcome and outcome["certified"] else 1.0


def targets(results: list[dict[str, Any]], *, suite_results: list[dict[str, Any]] | None = None,
            quick: bool = False) -> list[str]:
    """The issue's targets as sentences, each ending PASS or MISS (or saying why not judged)."""
    lines = []
    for bound, target in GEOMEAN_TARGETS.items():
        speedups = {r["program"]: row["tuned"]["speedup"] for r in results for row in r["rows"]
                    if row["bound"] == bound}
        if not speedups:
            lines.append(f"Geometric mean at bound {bound:g}: not measured in this run"
                         + (" (quick: one bound)." if quick else "."))
            continue
        mean = suite.geometric_mean(list(speedups.values()))
        line = (f"Geometric-mean certified speedup of approxify (a) at bound {bound:g} over the "
                f"{len(speedups)} vectorized programs: **{mean:.2f}x** (target >= {target:g}x: {_verdict(mean >= target)})")
        others = {r["program"]: row["tuned"]["speedup"] for r in suite_results or () for row in r["rows"]
                  if row["bound"] == bound and r["program"] not in speedups}
        if others:
            whole = suite.geometric_mean([*speedups.values(), *others.values()])
            line += (f"; over the whole suite, with the suite section's {', '.join(others)}: "
                     f"**{whole:.2f}x** ({_verdict(whole >= target)})")
        lines.append(line + ".")
    beaten, judged = [], []
    for r in results:
        for row in r["rows"]:
            if row["bound"] == FLOAT32_BOUND:
                judged.append(r["program"])
                if row["float32"] is None or row["tuned"]["speedup"] >= FLOAT32_GAIN * _shipped(row["float32"]):
                    beaten.append(r["program"])
    if judged:
        lines.append(f"approxify beats everything float32 by >= {FLOAT32_GAIN:g}x at bound {FLOAT32_BOUND:g} "
                     f"(float32 counted at what it ships: 1.00x where it misses the bound) on {len(beaten)} of "
                     f"{len(judged)} programs ({', '.join(beaten) or 'none'}); target: {FLOAT32_PROGRAMS} of "
                     f"{len(PROGRAMS)}: {_verdict(len(beaten) >= FLOAT32_PROGRAMS)}"
                     + (" (not all seven ran)" if len(judged) < len(PROGRAMS) else "") + ".")
    shares = []
    for r in results:
        for row in r["rows"]:
            hand = row["by_hand"]
            if not hand["certified"]:
                shares.append(f"{r['program']} at {row['bound']:g}: by hand misses the bound, not judged")
                continue
            share = row["tuned"]["speedup"] / hand["speedup"]
            shares.append(f"{r['program']} at {row['bound']:g}: {row['tuned']['speedup']:.2f}x of "
                          f"{hand['speedup']:.2f}x = {share:.0%} ({_verdict(share >= HAND_SHARE)})")
    if shares:
        lines.append(f"approxify's share of the by-hand speedup, where by hand meets the bound "
                     f"(target >= {HAND_SHARE:.0%}): " + "; ".join(shares) + ".")
    return lines


def _verdict(met: bool) -> str:
    return "PASS" if met else "MISS"


# -- rendering --------------------------------------------------------------------------------

def markdown(results: list[dict[str, Any]], *, quick: bool = False,
             suite_results: list[dict[str, Any]] | None = None) -> list[str]:
    first = results[0] if results else {}
    lines = [
        TITLE, "",
        "The array-level sites of `perforate` (`reduce#k`: reductions over a sampled axis, `grid#k`: "
        "maps and stencils on every k-th row and column filled back, `sample#k`: a statistic of its "
        "arrays' rows run on a sample) on the suite's vectorized NumPy programs. Per program and bound: "
        "(a) `ax.approximate` with every family that has a site, array sites included; (b) the same with "
        f"`exclude={list(ARRAY_SITES)}`, today's families alone (one search with (a) where the program has "
        "no array site); (c) everything float32; (d) a by-hand array approximation "
        "(`benchmarks/array_handwritten.py`, one version per program written to hold at 5%, output in "
        "the program's dtype). All on the same "
        f"{first.get('tuning_inputs', suite.TUNING_INPUTS)} tuning and "
        f"{first.get('heldout_inputs', suite.HELDOUT_INPUTS)} held-out inputs, "
        f"{first.get('trials', suite.TRIALS)} search trials, losses capped at {suite.CAP_TIMES_BOUND}x the "
        "bound and certified alike; every speedup timed side by side with the original as in the suite "
        "section. An uncertified row ships the exact program: 1.00x."
        + (" Quick run: few inputs and trials, one bound, small sizes; not the figures to judge." if quick else ""),
        "",
        "| program | array sites found | bound | (a) approxify | (b) without array sites | (c) everything float32 "
        "| (d) by hand | (a) / (c) | (a) / (d) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for row in r["rows"]:
            a, b, c, d = row["tuned"], row["today"], row["float32"], row["by_hand"]
            same = " (same search)" if b.get("same_search") else ""
            lines.append(
                f"| {r['program']} | {len(r['array_sites'])} | {row['bound']:g} | {_cell(a)} | {_cell(b)}{same} "
                f"| {_cell(c)} | {_cell(d)} | {a['speedup'] / _shipped(c):.2f} | {_share(a, d)} |")
    lines += ["", "Array sites found and configs chosen:", ""]
    for r in results:
        lines.append(f"- {r['program']}: array sites {', '.join(r['array_sites']) or 'none'}")
        for row in r["rows"]:
            lines.append(f"  - at {row['bound']:g}: (a) {row['tuned']['config']}"
                         + ("" if row["today"].get("same_search") else f"; (b) {row['today']['config']}"))
    return lines + ["", *[f"- {line}" for line in targets(results, suite_results=suite_results, quick=quick)]]


def _share(tuned: dict[str, Any], hand: dict[str, Any]) -> str:
    return f"{tuned['speedup'] / hand['speedup']:.2f}" if hand["certified"] else "- (by hand misses)"


def _cell(outcome: dict[str, Any] | None) -> str:
    if outcome is None:
        return "-"
    upper = f" (upper {outcome['upper']:.3g})" if outcome.get("upper") is not None else ""
    if outcome["certified"]:
        shown = f"{outcome['speedup']:.2f}x"
    elif "searched" in outcome:  # a search's outcome: its speedup is already the exact 1.00x
        shown = "1.00x (none certified)"
    else:
        shown = f"1.00x (misses the bound; measured {outcome['speedup']:.2f}x)"
    return f"{shown}, loss {outcome['heldout_loss']:.3g}{upper}"


def main(argv: list[str] | None = None) -> int:
    return child_main("arrays", PROGRAMS, measure, argv)


if __name__ == "__main__":
    sys.exit(main())
