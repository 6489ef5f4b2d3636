"""Reach: what approxify finds in code written the way people write it, and a tuning of each.

Four programs, each driven as a user calls it: pyperformance's ``bm_nbody`` (the user's
function calls ``bm_nbody.advance(...)`` and the others as module attributes),
``bm_spectral_norm`` (the same, and inside it ``eval_times_u(part_A_times_u, u)`` passes the
function that does the work as an argument) and ``bm_scimark``'s FFT (its stages a ``while``
loop), third-party code installed from PyPI (see
:mod:`.thirdparty`, :mod:`.programs.pyperf_drivers`); and :mod:`.programs.portfolio`, our own,
built from classes whose methods call methods. For each: the sites ``ax.sites`` lists with a few
example inputs, how many calls it saw and did not follow, and ``ax.approximate`` at a 5% bound
(certified on held-out inputs; the speedup is the held-out median with its interval).

    python -m benchmarks.reach --program nbody --json out.json   # one program (a child)
"""

from __future__ import annotations

import sys
from typing import Any

import approxify as ax

from .child import child_main, run_each

BOUND = 0.05
TUNING, HELDOUT = 60, 120
TRIALS, QUICK_TRIALS = 16, 2
PROGRAMS = ("nbody", "spectral_norm", "scimark_fft", "portfolio")


def _program(name: str) -> tuple[Any, Any, list[str], str]:
    """(function, make_inputs(count), modules=, how it is called)."""
    if name == "portfolio":
        from .programs import portfolio
        return portfolio.portfolio_value, portfolio.make_inputs, [], \
            "Portfolio.standard().expected_value(...): methods calling methods, a classmethod constructor"
    from .programs import pyperf_drivers as drivers
    if name == "nbody":
        return drivers.nbody_energy, drivers.nbody_inputs, drivers.MODULES, \
            "bm_nbody.advance(...) and others as module attributes"
    if name == "scimark_fft":
        return drivers.scimark_fft, drivers.scimark_inputs, drivers.MODULES, \
            "bm_scimark.FFT_transform(...) and FFT_inverse: its stages a while loop"
    return drivers.spectral_norm, drivers.spectral_inputs, drivers.MODULES, \
        "bm_spectral_norm.eval_AtA_times_u(...); inside, a function passed as an argument"


def measure(name: str, *, quick: bool) -> dict[str, Any]:
    fn, make_inputs, modules, how = _program(name)
    tuning, heldout = (12, 100) if quick else (TUNING, HELDOUT)
    inputs = make_inputs(tuning + heldout)
    found = ax.sites(fn, modules=modules, example_inputs=inputs[:3])
    result = ax.approximate(fn, inputs, bound=BOUND, holdout=heldout, modules=modules, seed=0,
                            budget=ax.Budget(trials=QUICK_TRIALS if quick else TRIALS), progress=False)
    best = result.best
    return {
        "program": name, "how": how, "modules": modules,
        "sites": [{"id": s.id, "family": s.family, "where": s.where} for s in found],
        "skipped": len(found.skipped),
        "best": best.describe(), "certified": best.certified and not best.is_exact,
        "speedup": best.speedup, "speedup_low": best.speedup_low, "speedup_high": best.speedup_high,
        "heldout_loss": best.mean_loss,
        "certificate": best.certificate.statement() if best.certificate else None,
        "evaluations": result.stats["evaluations"], "seconds": result.stats["wall_seconds"],
    }


def run(*, quick: bool = False, log=None) -> dict[str, Any]:
    rows = run_each("reach", "program", list(PROGRAMS), ["--quick"] if quick else [], log=log)
    return {"rows": rows, "bound": BOUND, "trials": QUICK_TRIALS if quick else TRIALS,
            "tuning": 12 if quick else TUNING, "heldout": 100 if quick else HELDOUT}


def markdown(figures: dict[str, Any], *, quick: bool = False) -> list[str]:
    lines = [
        "## Reach: code as people write it (issue: reach)",
        "",
        "Each program driven as a user calls it; `ax.sites(fn, modules=..., example_inputs=3 inputs)` "
        "lists its sites, then `ax.approximate(fn, inputs, bound="
        f"{figures['bound']}, modules=...)` with {figures['trials']} search trials, "
        f"{figures['tuning']} tuning and {figures['heldout']} held-out inputs. bm_nbody, "
        "bm_spectral_norm and bm_scimark are pyperformance 1.14.0's (MIT), installed, not copied.",
        "",
        "| program | how it is called | sites found | calls not followed | best | certified speedup | held-out loss |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in figures["rows"]:
        speed = (f"{r['speedup']:.2f}x [{r['speedup_low']:.2f}, {r['speedup_high']:.2f}]"
                 if r["certified"] else "1.00x (exact)")
        loss = f"{r['heldout_loss']:.4f}" if r["certified"] else "-"
        lines.append(f"| {r['program']} | {r['how']} | {len(r['sites'])} | {r['skipped']} | "
                     f"{r['best']} | {speed} | {loss} |")
    for r in figures["rows"]:
        lines += ["", f"Sites of {r['program']}: " + ", ".join(f"`{s['id']}`" for s in r["sites"]) + "."]
    return lines


def main(argv: list[str] | None = None) -> int:
    return child_main("reach", PROGRAMS, measure, argv)


if __name__ == "__main__":
    sys.exit(main())
