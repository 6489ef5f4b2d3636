"""``strategy="delta"``: Precimonious-style delta debugging over the sites to lower.

1. Lower every site one step (its first choice: float32 for a float64 variable). If that meets
   the bound, the set is found; otherwise delta debugging (ddmin) shrinks the set of sites kept
   exact until keeping any one fewer breaks the bound: a 1-minimal set, so the lowered set is
   maximal in the same sense.
2. Keep only lowerings that pay: each lowered site is dropped when the config without it is
   still as fast as the maximal set (within :data:`PAYOFF_TOLERANCE`). Measurement decides,
   not an assumption.
3. Try the next step down (float16) for the sites still lowered, all together and then one by
   one, kept only when it meets the bound and is faster.

Every config measured becomes a candidate for certification, like the other strategies' trials.
Measurements are cached (and stored in the study), so a rerun replays the same steps.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..config import Setting
from ..report.result import Candidate
from ..sites import Site
from .feasibility import feasible
from .measurer import Measurer
from .progress import Progress

PAYOFF_TOLERANCE = 0.02  # a lowering must save more than 2% of the time to be kept
FURTHER_ONE_BY_ONE = 8  # try the next step down site by site only for this many sites or fewer


class _OutOfBudget(Exception):
    pass


class DeltaSearch:
    def __init__(self, measurer: Measurer, sites: Sequence[Site], *, bound: float, trials: int,
                 bar: Progress, store: Callable[[dict[str, Setting], dict[str, Any]], None]) -> None:
        self.measurer = measurer
        self.sites = [s for s in sites if s.knob.choices]
        self.bound = bound
        self.trials = trials
        self.bar = bar
        self.store = store
        self.points: list[Candidate] = []
        self._seen: set[str] = set()

    def run(self) -> list[Candidate]:
        self.bar.start("search", total=self.trials)
        try:
            steps = {s.id: s.knob.choices[0] for s in self.sites}
            lowered = self._maximal(steps)
            lowered = self._paying(lowered)
            self._further(lowered)
        except _OutOfBudget:
            pass
        return self.points

    # -- measuring
    def _figures(self, config: dict[str, Setting]) -> dict[str, Any]:
        key = repr(sorted((k, v.label()) for k, v in config.items()))
        if key not in self._seen:
            if len(self._seen) >= self.trials:
                raise _OutOfBudget
            self._seen.add(key)
            figures = self.measurer.figures(config)
            self.store(config, figures)
            self.points.append(Candidate(self.measurer.expand(config), "delta", figures))
            self.bar.advance("search")
            self.bar.note_feasible(figures, self.bound)
        return self.measurer.figures(config)

    def _fits(self, config: dict[str, Setting]) -> bool:
        figures = self._figures(config)
        return feasible(figures, self.bound)

    def _speedup(self, config: dict[str, Setting]) -> float:
        return float(self._figures(config)["speedup"])

    # -- step 1: a maximal set that fits
    def _maximal(self, steps: dict[str, Setting]) -> dict[str, Setting]:
        everything = list(steps)

        def fits_keeping(high: Sequence[str]) -> bool:
            return self._fits({s: steps[s] for s in everything if s not in high})

        if not everything or fits_keeping([]):
            return dict(steps)
        high = ddmin(everything, fits_keeping)
        return {s: steps[s] for s in everything if s not in high}

    # -- step 2: only lowerings that pay
    def _paying(self, lowered: dict[str, Setting]) -> dict[str, Setting]:
        if not lowered:
            return lowered
        # compared with the maximal set itself, so small noisy losses cannot add up step by step
        reference = self._speedup(lowered)
        current = dict(lowered)
        for site in list(lowered):
            without = {k: v for k, v in current.items() if k != site}
            if self._fits(without) and self._speedup(without) >= reference * (1 - PAYOFF_TOLERANCE):
                current = without
        return current

    # -- step 3: one step further down
    def _further(self, lowered: dict[str, Setting]) -> None:
        by_id = {s.id: s for s in self.sites}
        nexts = {}
        for site, setting in lowered.items():
            choices = list(by_id[site].knob.choices)
            position = choices.index(setting)
            if position + 1 < len(choices):
                nexts[site] = choices[position + 1]
        if not nexts or not lowered:
            return
        base = self._speedup(lowered)
        together = {**lowered, **nexts}
        if self._fits(together) and self._speedup(together) > base * (1 + PAYOFF_TOLERANCE):
            return
        if len(nexts) > FURTHER_ONE_BY_ONE:
            return
        current = dict(lowered)
        for site, setting in nexts.items():
            trial = {**current, site: setting}
            if self._fits(trial) and self._speedup(trial) > self._speedup(current) * (1 + PAYOFF_TOLERANCE):
                current = trial


def ddmin(items: Sequence[str], fits_keeping: Callable[[Sequence[str]], bool]) -> list[str]:
    """A 1-minimal subset ``H`` of ``items`` with ``fits_keeping(H)`` (Zeller's ddmin).

    ``fits_keeping(items)`` must hold (keeping everything exact fits); the result is a set of
    sites to keep exact such that keeping any single one fewer no longer fits.
    """
    high = list(items)
    n = 2
    while len(high) >= 2:
        chunks = _split(high, n)
        for chunk in chunks:
            if fits_keeping(chunk):
                high, n = chunk, 2
                break
        else:
            for chunk in chunks:
                rest = [x for x in high if x not in chunk]
                if n > 2 and fits_keeping(rest):
                    high, n = rest, max(n - 1, 2)
                    break
            else:
                if n >= len(high):
                    break
                n = min(2 * n, len(high))
    return high


def _split(items: list[str], n: int) -> list[list[str]]:
    size, extra = divmod(len(items), n)
    chunks, start = [], 0
    for i in range(n):
        end = start + size + (1 if i < extra else 0)
        chunks.append(items[start:end])
        start = end
    return [c for c in chunks if c]
