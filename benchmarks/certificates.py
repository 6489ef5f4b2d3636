"""How many held-out inputs each bound needs: the statistics section (issue: certificates v2).

For five loss distributions on [0, 1] with a true mean of 0.6x and 0.8x the bound (0.05), the
fewest held-out inputs with which each method certifies "mean loss <= bound" 80% of the time
(its power), against an oracle. Found by simulation: for each n probed, the share of seeded
draws of n losses the method certifies; n by bisection over that share (the same draws at every
probe, so the share grows with n as it should).

The oracle is the best constant bettor: the betting test of :mod:`approxify.stats.betting`
with the one bet that maximises the expected log-capital growth under the true distribution
(Kelly's bet, found numerically from a million draws). It knows the distribution; every other
method sees only the losses. It is distribution-free like them (valid under any null with mean
>= bound), which is why it is the yardstick here rather than a parametric test that is not.

    python -m benchmarks.certificates            # the table, printed
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import optimize

from approxify.stats import betting
from approxify.stats.bounds import _cp_upper, _bernstein, _hoeffding, _union

BOUND, CONFIDENCE, POWER = 0.05, 0.95, 0.80
RATIOS = (0.6, 0.8)  # true mean / bound
REPS, QUICK_REPS = 400, 100
MAX_N = 20000
TARGET_MEDIAN, TARGET_WORST = 1.2, 1.5  # the default's inputs over the oracle's


def _zero_inflated(mean: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    k = 0.2 / mean - 1.0  # 80% zeros, the rest Beta(1, k) with mean 5 * mean
    return lambda rng, n: np.where(rng.random(n) < 0.8, 0.0, rng.beta(1.0, k, n))


def _with_failures(mean: float) -> Callable[[np.random.Generator, int], np.ndarray]:
    failing = mean / 4  # a quarter of the mean from failures (loss 1)
    k = (1.0 - failing) / (0.75 * mean) - 1.0
    return lambda rng, n: np.where(rng.random(n) < failing, 1.0, rng.beta(1.0, k, n))


DISTRIBUTIONS: dict[str, Callable[[float], Callable[[np.random.Generator, int], np.ndarray]]] = {
    "0/1 (Bernoulli)": lambda m: (lambda rng, n: (rng.random(n) < m).astype(float)),
    "zero-inflated Beta": _zero_inflated,
    "Beta(2, b)": lambda m: (lambda rng, n: rng.beta(2.0, 2.0 * (1.0 - m) / m, n)),
    "uniform(0, 2m)": lambda m: (lambda rng, n: rng.uniform(0.0, 2.0 * m, n)),
    "small errors + failures": _with_failures,
}
BINARY = {"0/1 (Bernoulli)"}


def _mean_rule(formula: Callable[[float, float, int], float]) -> Callable[[np.ndarray], bool]:
    return lambda x: formula(float(x.mean()), float(x.var(ddof=1)), x.size) <= BOUND


DELTA = 1.0 - CONFIDENCE
METHODS: dict[str, Callable[[np.ndarray], bool]] = {
    "hoeffding": _mean_rule(lambda mean, var, n: _hoeffding(mean, n, DELTA)),
    "bernstein (Maurer-Pontil)": _mean_rule(lambda mean, var, n: _bernstein(mean, var, n, DELTA)),
    "union (the default before)": _mean_rule(lambda mean, var, n: _union(mean, var, n, DELTA)[0]),
    "betting": lambda x: betting.certifies(x, BOUND, delta=DELTA),
    "clopper-pearson": lambda x: _cp_upper(int(np.count_nonzero(x)), x.size, CONFIDENCE) <= BOUND,
}


def default_method(name: str) -> str:
    """What approxify certifies with: Clopper-Pearson for a 0/1 metric, betting otherwise."""
    return "clopper-pearson" if name in BINARY else "betting"


def oracle_rule(sample: Callable[[np.random.Generator, int], np.ndarray]) -> Callable[[np.ndarray], bool]:
    """The best constant bettor for this distribution (see the module docstring)."""
    draws = sample(np.random.default_rng(12345), 1_000_000)
    top = 1.0 / (1.0 - BOUND)  # a larger bet could lose everything on a loss of 1
    growth = lambda bet: -float(np.mean(np.log1p(bet * (BOUND - draws))))  # noqa: E731
    bet = optimize.minimize_scalar(growth, bounds=(0.0, top * (1 - 1e-9)), method="bounded").x
    threshold = math.log(1.0 / DELTA)
    return lambda x: bool(np.cumsum(np.log1p(bet * (BOUND - x))).max() >= threshold)


def needed(rule: Callable[[np.ndarray], bool], sample, *, reps: int, seed: int) -> int | None:
    """Fewest n at which ``rule`` certifies in at least :data:`POWER` of ``reps`` draws."""
    rng = np.random.default_rng(seed)
    pool = sample(rng, reps * MAX_N).reshape(reps, MAX_N)  # the same draws at every n probed

    def powerful(n: int) -> bool:
        return sum(rule(row[:n]) for row in pool) >= POWER * reps

    high = 16
    while not powerful(high):
        high *= 2
        if high > MAX_N:
            return None
    low = high // 2
    while high - low > max(1, low // 100):  # to 1%: the simulation's own noise is larger
        middle = (low + high) // 2
        low, high = (low, middle) if powerful(middle) else (middle, high)
    return high


def run(*, quick: bool = False, log=None) -> dict[str, Any]:
    reps = QUICK_REPS if quick else REPS
    rows = []
    for number, (name, family) in enumerate(DISTRIBUTIONS.items()):
        for ratio in RATIOS:
            sample = family(ratio * BOUND)
            seed = 1000 * number + int(100 * ratio)
            methods = [m for m in METHODS if m != "clopper-pearson" or name in BINARY]
            counts = {m: needed(METHODS[m], sample, reps=reps, seed=seed) for m in methods}
            oracle = needed(oracle_rule(sample), sample, reps=reps, seed=seed)
            rows.append({"distribution": name, "ratio": ratio, "needed": counts, "oracle": oracle,
                         "default": default_method(name)})
            if log:
                log(f"statistics: {name} at {ratio:.0%} of the bound done")
    over = [r["needed"][r["default"]] / r["oracle"] for r in rows if r["needed"][r["default"]] and r["oracle"]]
    return {"rows": rows, "reps": reps, "bound": BOUND, "confidence": CONFIDENCE, "power": POWER,
            "median_over_oracle": statistics.median(over), "worst_over_oracle": max(over)}


def markdown(figures: dict[str, Any], *, quick: bool = False) -> list[str]:
    methods = list(METHODS)
    lines = [
        "## How many held-out inputs a certificate needs (issue: certificates v2)",
        "",
        f"Held-out inputs each method needs to certify mean loss <= {figures['bound']} at "
        f"{figures['confidence']:.0%} confidence in {figures['power']:.0%} of draws, when the true "
        f"mean is 0.6x or 0.8x the bound ({figures['reps']} seeded draws per probe; bisection to 1%). "
        "*Oracle*: the best constant bettor, which knows the distribution (Kelly's bet; see "
        "`benchmarks/certificates.py`). The default is what approxify uses: Clopper-Pearson for a 0/1 "
        "metric, the betting bound otherwise; *default / oracle* is its count over the oracle's.",
        "",
        "| distribution | mean / bound | " + " | ".join(methods) + " | oracle | default / oracle |",
        "|---|---|" + "---|" * len(methods) + "---|---|",
    ]
    for row in figures["rows"]:
        cells = [str(row["needed"].get(m)) if row["needed"].get(m) else ("-" if m not in row["needed"] else f">{MAX_N}")
                 for m in methods]
        default = row["needed"][row["default"]]
        ratio = f"{default / row['oracle']:.2f}" if default and row["oracle"] else "-"
        lines.append(f"| {row['distribution']} | {row['ratio']:.1f} | " + " | ".join(cells)
                     + f" | {row['oracle']} | {ratio} ({row['default']}) |")
    median, worst = figures["median_over_oracle"], figures["worst_over_oracle"]
    lines += ["", f"Default over oracle: median **{median:.2f}x** (target at most {TARGET_MEDIAN}x: "
                  f"{'met' if median <= TARGET_MEDIAN else 'NOT met'}), worst **{worst:.2f}x** "
                  f"(target at most {TARGET_WORST}x: {'met' if worst <= TARGET_WORST else 'NOT met'})."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.certificates")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    figures = run(quick=args.quick, log=lambda m: print(m, file=sys.stderr))
    print("\n".join(markdown(figures, quick=args.quick)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
