"""The benchmark suite: approxify's tuned result on each program beside the baselines a person
would try, at two bounds, with the tuning efficiency of the search.

For each program of :data:`SUITE` (our own implementations from the published descriptions, in
:mod:`.programs` and :mod:`approxify.examples`) and each bound, in a fresh interpreter with one
BLAS thread and a steady allocator (see :mod:`.precision`):

- ``ax.approximate`` with every family (perforation, precision, substitution), the default
  ``tpe`` strategy, certified on held-out inputs;
- random search (``strategy="random"``) with as many search trials as the tuner measured
  configs;
- the uniform knobs: every loop perforated at 50% (``ax.Perforate(0.5)``), every float variable
  float32; each evaluated on the same held-out inputs and certified the same way;
- exhaustive search (``strategy="exhaustive"``) where the whole space has at most
  :data:`EXHAUSTIVE_LIMIT` configs: the optimum the searches are measured against;
- tuning efficiency: after each evaluation, the best tuning speedup among the configs measured so
  far whose tuning loss is within the bound (what would go to certification), for the tuner,
  random search and exhaustive search; and the evaluations each needed to reach 95% of the best
  found by any.

Run: ``python -m benchmarks.suite --out suite.json`` (``--quick``: fewer inputs and trials,
one bound; ``--only a,b``: some programs). ``make bench`` runs it with the other sections.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import approxify as ax
from approxify.measure.cost import time_pair
from approxify.measure.inputs import InputSet
from approxify.search.baseline import split_indices

from .child import run_each

BOUNDS = (0.05, 0.10)
QUICK_BOUNDS = (0.10,)
CAP_TIMES_BOUND = 5  # each input's loss is capped at 5x the bound for the certificate
CONFIDENCE = 0.95
TUNING_INPUTS, HELDOUT_INPUTS, TRIALS = 100, 300, 30
TIMED_INPUTS, REPEATS = 64, 11  # held-out inputs every compared program is timed on, side by side
QUICK_TUNING, QUICK_HELDOUT, QUICK_TRIALS = 12, 100, 3
FAMILIES = ["perforate", "precision", "substitute"]
EXHAUSTIVE_LIMIT = 64  # spaces of at most this many configs are also searched exhaustively
TIES = 0.02  # speedups within 2% of each other are a tie: the timing noise of one run
EFFICIENCY_SHARE = 0.95  # evaluations to reach this share of the best speedup found
GEOMEAN_TARGET = 2.0  # at the 10% bound, over the programs


@dataclass(frozen=True)
class Program:
    name: str
    title: str
    module: str
    function: str
    form: str  # how it is written: "NumPy" or "plain loops"
    options: dict[str, Any] = field(default_factory=dict)  # make_inputs keywords
    quick_options: dict[str, Any] = field(default_factory=dict)


SUITE = (
    Program("blackscholes", "Black–Scholes, 16384 options per call", "benchmarks.programs.blackscholes",
            "price", "NumPy", quick_options={"options": 2048}),
    Program("fft", "radix-2 FFT of 32 frames of 1024 samples", "benchmarks.programs.fft", "spectrum",
            "NumPy, a loop over stages", quick_options={"frames": 4}),
    Program("inversek2j", "inverse kinematics of a two-joint arm, 4096 points",
            "benchmarks.programs.inversek2j", "inversek2j", "NumPy"),
    Program("jmeint", "triangle-pair intersection, 4096 pairs", "benchmarks.programs.jmeint", "jmeint",
            "NumPy", quick_options={"pairs": 512}),
    Program("jpeg", "JPEG encode and decode core of a 256x256 image", "benchmarks.programs.jpeg", "jpeg",
            "NumPy", quick_options={"size": 64}),
    Program("kmeans", "k-means segmentation of a 64x64 RGB image, 6 colours, 10 iterations",
            "benchmarks.programs.kmeans", "segment", "NumPy, loops over iterations and clusters",
            options={"size": 64}, quick_options={"size": 32}),
    Program("sobel", "Sobel edges of a 512x512 image", "benchmarks.programs.sobel", "sobel", "NumPy",
            quick_options={"size": 64}),
    Program("dense", "dense layer 32x96 as a loop nest", "approxify.examples.dense", "layer", "plain loops"),
    Program("swaptions", "swaption by Monte Carlo (one-factor HJM), 150 paths",
            "benchmarks.programs.swaptions", "price", "plain loops", options={"paths": 150},
            quick_options={"paths": 40}),
)


@dataclass(frozen=True)
class Prepared:
    """One program made ready to measure: its function, quality, inputs and held-out inputs
    (those ``approximate`` will hold out, so every baseline is certified on the same ones)."""

    program: Program
    fn: Any
    quality: Any
    inputs: list[Any]
    heldout: list[Any]
    tuning_count: int
    heldout_count: int
    trials: int

    @property
    def quality_name(self) -> str:
        return self.quality if isinstance(self.quality, str) else self.quality.__name__


def prepare(name: str, *, quick: bool) -> Prepared:
    """The program of :data:`SUITE` called ``name`` with the inputs the suite measures it on."""
    program = next(p for p in SUITE if p.name == name)
    module = importlib.import_module(program.module)
    tuning_count, heldout_count, trials = ((QUICK_TUNING, QUICK_HELDOUT, QUICK_TRIALS) if quick
                                           else (TUNING_INPUTS, HELDOUT_INPUTS, TRIALS))
    options = {**program.options, **(program.quick_options if quick else {})}
    inputs = module.make_inputs(tuning_count + heldout_count, seed=0, **options)
    _, heldout_idx = split_indices(len(inputs), heldout_count, seed=0)  # approximate's split
    return Prepared(program, getattr(module, program.function), getattr(module, "QUALITY", "rel_l2"),
                    inputs, [inputs[i] for i in heldout_idx], tuning_count, heldout_count, trials)


def measure(name: str, *, quick: bool) -> dict[str, Any]:
    """Everything the suite reports about one program, as plain data."""
    ready = prepare(name, quick=quick)
    program, fn, quality, inputs, heldout = ready.program, ready.fn, ready.quality, ready.inputs, ready.heldout
    tuning_count, heldout_count, trials = ready.tuning_count, ready.heldout_count, ready.trials
    exact_time = exact_ms(fn, inputs)
    families = _families(fn, inputs[:3])
    rows = []
    for bound in QUICK_BOUNDS if quick else BOUNDS:
        cap = CAP_TIMES_BOUND * bound
        common = {"quality": quality, "bound": bound, "confidence": CONFIDENCE, "holdout": heldout_count,
                  "loss_cap": cap, "families": families, "seed": 0, "progress": False}
        tuned = ax.approximate(fn, inputs, budget=ax.Budget(trials=trials), **common)
        searched = sum(1 for p in tuned.points if not p.is_exact)
        randomly = ax.approximate(fn, inputs, budget=ax.Budget(trials=searched), strategy="random", **common)
        space = randomly.stats["space_size"]  # random search samples the whole space
        everything = (ax.approximate(fn, inputs, budget=ax.Budget(trials=space), strategy="exhaustive", **common)
                      if space <= EXHAUSTIVE_LIMIT else None)
        timer = _Timer(fn, heldout[:TIMED_INPUTS], repeats=1 if quick else REPEATS)
        rows.append({
            "bound": bound, "loss_cap": cap, "space_size": space,
            "tuned": _outcome(tuned, timer), "random": _outcome(randomly, timer),
            "exhaustive": _outcome(everything, timer) if everything else None,
            "baselines": [_baseline(fn, title, config, heldout, timer, quality=quality, bound=bound, cap=cap)
                          for title, config in _uniform_configs(fn, inputs[:3])],
            "efficiency": {"tuned": efficiency_curve(tuned, bound), "random": efficiency_curve(randomly, bound),
                           **({"exhaustive": efficiency_curve(everything, bound)} if everything else {})},
        })
    return {"program": name, "title": program.title, "form": program.form, "families": families,
            "quality": ready.quality_name,
            "exact_ms": exact_time, "tuning_inputs": tuning_count, "heldout_inputs": heldout_count,
            "trials": trials, "rows": rows}


def exact_ms(fn: Any, inputs: list[Any]) -> float:
    """The exact program's fastest call on the first five inputs, in milliseconds."""
    return min(_seconds(fn, args) for args in inputs[:5]) * 1e3


def _seconds(fn: Any, args: tuple) -> float:
    started = time.perf_counter()
    fn(*args)
    return time.perf_counter() - started


def _families(fn: Any, examples: list[Any]) -> list[str]:
    """The families of :data:`FAMILIES` with a site that offers a setting in ``fn``."""
    return [f for f in FAMILIES if any(s.knob.choices for s in _sites(fn, f, examples))]


def _sites(fn: Any, family: str, examples: list[Any]) -> list[Any]:
    """``fn``'s sites of one family; none where the family finds nothing to change (asked for by
    name, precision refuses a program without float data)."""
    try:
        return ax.sites(fn, families=[family], example_inputs=examples)
    except ax.InvalidArgument:
        return []


class _Timer:
    """Speedups of every program compared in a row, timed alike: side by side with the original
    (``time_pair``) on the same held-out inputs. The tuner's own held-out timing uses fewer
    inputs, whose working set fits in cache, so its figures are not comparable with these."""

    def __init__(self, fn: Any, inputs: list[Any], *, repeats: int) -> None:
        self.fn, self.inputs, self.repeats = fn, InputSet(inputs), repeats

    def speedup(self, program: Any) -> float:
        return time_pair(self.fn, program, self.inputs, range(len(self.inputs.items)),
                         repeats=self.repeats).speedup


def _outcome(result: Any, timer: _Timer) -> dict[str, Any]:
    best = result.best
    cert = best.certificate
    return {
        "config": best.describe() if not best.is_exact else "exact",
        "settings": _labels(best.config),
        "certified": best.certified,
        # an uncertified program is not shipped: the exact one runs, at 1.00x
        "speedup": timer.speedup(result.program()) if best.certified else 1.0,
        "tuner_speedup": best.speedup if best.certified else 1.0,  # the tuner's held-out timing
        "heldout_loss": best.mean_loss if not best.is_exact else 0.0,
        "upper": (cert.selected_upper if cert.selected_upper is not None else cert.upper) if cert else None,
        "evaluations": result.stats["evaluations"],
        # held-out losses the anytime test did not need (dropped configs, and those after the
        # first that did not hold), of every front config on every held-out input
        "heldout_saved": result.stats.get("heldout_saved", 0),
        "heldout_total": result.stats.get("heldout_total", 0),
        "searched": sum(1 for p in result.points if not p.is_exact),
        "wall_seconds": result.stats["wall_seconds"],
    }


def _uniform_configs(fn: Any, examples: list[Any]) -> list[tuple[str, dict[str, Any]]]:
    """The knobs a person tries first: every loop perforated at 50%, every float variable float32."""
    loops = {s.id: ax.Perforate(0.5) for s in _sites(fn, "perforate", examples) if s.knob.choices}
    floats = {s.id: ax.Precision("float32") for s in _sites(fn, "precision", examples)
              if ax.Precision("float32") in s.knob.choices}
    return [(title, config) for title, config in
            (("every loop perforated 50%", loops), ("everything float32", floats)) if config]


def _baseline(fn: Any, title: str, config: dict[str, Any], heldout: list[Any], timer: _Timer, *,
              quality: Any, bound: float, cap: float) -> dict[str, Any]:
    """A uniform config's losses on the held-out inputs, certified like the tuner's (capped)."""
    evaluation = ax.evaluate(fn, config, heldout, quality=quality, repeats=1)
    return {"title": title, "sites": len(config), "settings": _labels(config),
            **certified(evaluation.losses, evaluation.failure_count, timer.speedup(ax.apply(fn, config)),
                        bound=bound, cap=cap)}


def certified(losses: Any, failures: int, speedup: float, *, bound: float, cap: float) -> dict[str, Any]:
    """A program's held-out losses certified like the tuner's (each capped at ``cap``, the
    bound scaled alike), beside its speedup: the figures every baseline row reports."""
    import numpy as np

    raw = np.asarray(losses, dtype=float)
    certificate = ax.certify(np.minimum(raw, cap) / cap, bound=bound / cap, confidence=CONFIDENCE,
                             failures=failures)
    return {"speedup": speedup, "heldout_loss": float(np.mean(raw)), "upper": certificate.upper * cap,
            "certified": certificate.holds, "failures": failures}


def _labels(config: dict[str, Any]) -> dict[str, str]:
    return {site: setting.label() for site, setting in sorted(config.items())}


def efficiency_curve(result: Any, bound: float) -> list[float]:
    """After each evaluation (in the order measured), the best tuning speedup within the bound."""
    best, curve = 1.0, []
    for point in result.points:
        if point.is_exact:
            continue
        if point.tuning["mean_loss"] <= bound and point.tuning["failures"] == 0:
            best = max(best, float(point.tuning["speedup"]))
        curve.append(best)
    return curve


def against_baselines(speedup: float, baselines: list[float], *, same: str | None = None) -> str:
    """Whether a certified speedup beats the baselines that meet the bound: "yes", "ties" (the
    best of them within :data:`TIES`), or "NO". ``same`` is the title of a baseline whose config
    the tuner chose, left out of ``baselines``: the same program, a tie whatever its timings say."""
    if not baselines and same is None:
        return "yes (none meets it)"
    best = max(baselines, default=0.0)
    if speedup < best * (1 - TIES):
        return "NO"
    if same is not None:
        return f"ties (the same config as {same})"
    return "yes" if speedup >= best * (1 + TIES) else f"ties (within {TIES:.0%})"


def evaluations_to_reach(curve: list[float], target: float) -> int | None:
    """1-based count of evaluations after which ``curve`` reaches ``target`` (None: never)."""
    return next((i + 1 for i, value in enumerate(curve) if value >= target), None)


def geometric_mean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else math.nan


def run(*, quick: bool = False, only: list[str] | None = None, log=None) -> list[dict[str, Any]] | None:
    """Every program of :data:`SUITE` (those of ``only`` when given: None if it names none)."""
    names = [p.name for p in SUITE if not only or p.name in only]
    return run_each("suite", "program", names, ["--quick"] if quick else [], log) if names else None


def markdown(results: list[dict[str, Any]], *, quick: bool = False) -> list[str]:
    bounds = QUICK_BOUNDS if quick else BOUNDS
    lines = [
        "## The suite (issue: the benchmark suite)",
        "",
        f"Each program: `ax.approximate(fn, inputs, families=F, bound=B, loss_cap={CAP_TIMES_BOUND}*B)`, "
        f"F the families of {FAMILIES} with a site in the program, "
        f"on {results[0]['tuning_inputs'] if results else TUNING_INPUTS} tuning and "
        f"{results[0]['heldout_inputs'] if results else HELDOUT_INPUTS} held-out inputs, "
        f"{results[0]['trials'] if results else TRIALS} search trials after the sensitivity pass; random "
        "search (`strategy='random'`) with as many trials as the tuner measured configs; the uniform "
        "knobs a person tries first, evaluated and certified on the same held-out inputs. *Speedup* "
        "is certified: a program whose best config is not certified counts as 1.00x. Every speedup "
        f"in a row is timed alike: side by side with the original on {TIMED_INPUTS} of the held-out "
        f"inputs, median of {REPEATS} paired ratios (the tuner's own held-out timing, on fewer "
        "inputs, is in the JSON as `tuner_speedup`). Each program runs in a fresh interpreter with "
        "one BLAS thread and a steady allocator. The suite's networks (digits MLP and CNN, MiniLM) "
        "are in the neural-network section, with their baselines, random search and tuning efficiency."
        + (" Quick run: few inputs and trials, one bound; not the figures to judge." if quick else ""),
        "",
        "| program | form | quality | exact ms/call | bound | approxify: speedup | held-out loss (upper bound) "
        "| evaluations | tuning time | random search: speedup | every loop 50% | everything float32 "
        "| beats the uniform baselines that meet the bound |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        for row in r["rows"]:
            t, rnd = row["tuned"], row["random"]
            upper = f" ({t['upper']:.3g})" if t["upper"] is not None else ""
            base = {b["title"]: b for b in row["baselines"]}
            meeting = [b for b in row["baselines"] if b["certified"]]
            lines.append(
                f"| {r['title']} | {r['form']} | {r['quality']} | {r['exact_ms']:.2f} | {row['bound']:g} "
                f"| {_speedup(t)} | {t['heldout_loss']:.4f}{upper} | {t['evaluations']} | {t['wall_seconds']:.0f} s "
                f"| {_speedup(rnd)} | {_base(base.get('every loop perforated 50%'))} "
                f"| {_base(base.get('everything float32'))} "
                f"| {_verdict(t, meeting)} |"
            )
    lines += ["", "Configs chosen:", ""]
    for r in results:
        for row in r["rows"]:
            exhaustive = row.get("exhaustive")
            lines.append(f"- {r['program']} at {row['bound']:g}: {row['tuned']['config']}"
                         f" (random search: {row['random']['config']}"
                         + (f"; exhaustive search: {exhaustive['config']}, {_speedup(exhaustive)}"
                            if exhaustive else "") + ")")
    lines += ["", "**Tuning efficiency**: evaluations until the best tuning speedup within the bound "
              f"reaches {EFFICIENCY_SHARE:.0%} of the best either search found (tuning figures; the "
              "tuner's count includes its sensitivity pass, one evaluation per site and setting).", "",
              "| program | bound | configs in the space | best found | approxify: evaluations "
              "| random search: evaluations | exhaustive search: evaluations |",
              "|---|---|---|---|---|---|---|"]
    for r in results:
        for row in r["rows"]:
            curves = row["efficiency"]
            top = max([v for curve in curves.values() for v in curve] + [1.0])
            target = EFFICIENCY_SHARE * top
            exhaustive = reached(curves["exhaustive"], target) if "exhaustive" in curves else "-"
            lines.append(f"| {r['program']} | {row['bound']:g} | {row['space_size']} | {top:.2f}x "
                         f"| {reached(curves['tuned'], target)} | {reached(curves['random'], target)} "
                         f"| {exhaustive} |")
    saved = sum(row["tuned"].get("heldout_saved", 0) for r in results for row in r["rows"])
    total = sum(row["tuned"].get("heldout_total", 0) for r in results for row in r["rows"])
    if total:
        lines += ["", f"Held-out evaluations saved by anytime stopping: {saved} of {total} held-out losses "
                      f"({saved / total:.0%}) were not measured, as configs were dropped once their confidence "
                      "sequence showed they could not hold, and none after the first that did not hold was measured."]
    for bound in bounds:
        speedups = [row["tuned"]["speedup"] for r in results for row in r["rows"] if row["bound"] == bound]
        if speedups:
            mean = geometric_mean(speedups)
            verdict = ("" if bound != 0.10 else
                       f" (target >= {GEOMEAN_TARGET:g}x: {'met' if mean >= GEOMEAN_TARGET else 'NOT met'})")
            lines += ["", f"Geometric-mean certified speedup at bound {bound:g} over {len(speedups)} "
                      f"programs: **{mean:.2f}x**{verdict}."]
    return lines + [line for bound in bounds for line in ("", baseline_summary(results, bound)) if line]


def baseline_summary(results: list[dict[str, Any]], bound: float) -> str:
    """One sentence on the uniform baselines at ``bound``: where approxify beats them, ties with
    them, loses, or where none meets the bound."""
    kinds: dict[str, list[str]] = {"yes": [], "none": [], "ties": [], "NO": []}
    optimal = []  # ties whose config exhaustive search also found the fastest
    for r in results:
        for row in r["rows"]:
            if row["bound"] != bound:
                continue
            verdict = _verdict(row["tuned"], [b for b in row["baselines"] if b["certified"]])
            kind = "none" if verdict.startswith("yes (none") else verdict.split(" ")[0]
            kinds[kind].append(r["program"])
            exhaustive = row.get("exhaustive")
            if kind == "ties" and exhaustive and exhaustive.get("settings") == row["tuned"].get("settings"):
                optimal.append(r["program"])
    if not any(kinds.values()):
        return ""
    parts = [f"beats those that meet it on {_names(kinds['yes'])}",
             f"none meets it on {_names(kinds['none'])}",
             f"ties on {_names(kinds['ties'])}"
             + (f" (exhaustive search finds nothing faster on {', '.join(optimal)})" if optimal else ""),
             f"is beaten on {_names(kinds['NO'])}"]
    met = "met" if not kinds["ties"] and not kinds["NO"] else "NOT met as written"
    return (f"Against the uniform baselines at bound {bound:g}, approxify {'; '.join(parts)} "
            f"(target: beats each that meets the bound: {met}).")


def _names(programs: list[str]) -> str:
    return f"{len(programs)} ({', '.join(programs)})" if programs else "none"


def _verdict(tuned: dict[str, Any], meeting: list[dict[str, Any]]) -> str:
    """:func:`against_baselines` for a row; a baseline whose config the tuner chose is a tie."""
    same = next((b for b in meeting if tuned["certified"] and b.get("settings") == tuned.get("settings")), None)
    others = [b["speedup"] for b in meeting if b is not same]
    return against_baselines(tuned["speedup"], others, same=same["title"] if same else None)


def _speedup(outcome: dict[str, Any]) -> str:
    return f"{outcome['speedup']:.2f}x" + ("" if outcome["certified"] else " (none certified)")


def _base(b: dict[str, Any] | None) -> str:
    if b is None:
        return "-"
    return f"{b['speedup']:.2f}x, loss {b['heldout_loss']:.3g}, {'meets' if b['certified'] else 'misses'} the bound"


def reached(curve: list[float], target: float) -> str:
    count = evaluations_to_reach(curve, target)
    return f"{count} of {len(curve)}" if count else f"not reached in {len(curve)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.suite")
    parser.add_argument("--program", choices=[p.name for p in SUITE], help="measure one program (child)")
    parser.add_argument("--quick", action="store_true", help="few inputs and trials, one bound")
    parser.add_argument("--only", default=None, help="comma-separated programs to run")
    parser.add_argument("--json", required=True, help="file to write the figures to")
    args = parser.parse_args(argv)
    if args.program:
        data: Any = measure(args.program, quick=args.quick)
    else:
        only = args.only.split(",") if args.only else None
        data = run(quick=args.quick, only=only, log=lambda m: print(m, file=sys.stderr))
    Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
