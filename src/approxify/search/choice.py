"""The choice of the best certified config: certified faster, not merely measured faster.

Held-out timings are noisy, and the largest of several noisy figures is biased upwards. So the
certified configs are walked in their fixed order (safest first), starting from the exact
program (whose speedup is 1 by definition), and a config replaces the one kept so far only when
the lower limit of its held-out speedup interval reaches the kept one's estimate times
``1 + min_gain`` (and exceeds it: at ``min_gain=0`` a tie keeps the safer one). A noise-level
change is never shipped, and of two configs whose speeds are not certified apart the safer one
is kept. Each limit is a 95% one-sided bound for that config
alone (no correction across the configs compared: the margin and the runoff's fresh timing
guard the choice instead).

Before the choice, the runoff times every contender again (:func:`runoff`): the held-out
timings stay the basis, with fresh ratios and more of them.
"""

from __future__ import annotations

from ..measure.evaluation import speed_figures
from ..report.result import Candidate
from ..report.terminal import speedup_text
from .measurer import Measurer

RUNOFF_REPEATS = 3


def runoff(certified: list[Candidate], checker: Measurer, *, min_gain: float) -> None:
    """Time every certified config whose held-out estimate reaches ``1 + min_gain`` (each one
    could be chosen) again on the held-out inputs, side by side, with :data:`RUNOFF_REPEATS`
    times the repetitions; its held-out speedup and interval become these figures
    (``heldout["runoff"]``). A fresh timing is independent of the one that made the config a
    contender, so a lucky first figure does not carry over, and more ratios narrow the interval,
    so a real gain can be certified."""
    if callable(checker.cost):
        return
    for candidate in certified:
        if candidate.speedup < 1 + min_gain:
            continue
        speedup, timing = checker.retime(candidate.config, repeats=checker.repeats * RUNOFF_REPEATS)
        candidate.heldout = {**candidate.heldout, **speed_figures(speedup, timing), "runoff": True}


def choose(front: list[Candidate], exact: Candidate, *, min_gain: float) -> tuple[Candidate, list[str]]:
    """The best certified config (see the module docstring), or the exact program, with notes
    saying why a config that measured faster than the one kept was not preferred."""
    certified = [c for c in front if c.certified]
    if not certified:
        return exact, [
            "No configuration was certified on the held-out inputs; best is the exact program."
        ]
    best, estimate, notes = exact, 1.0, []
    for candidate in certified:
        low = candidate.speedup_low if candidate.speedup_low is not None else candidate.speedup
        needed = estimate * (1 + min_gain)
        if low >= needed and low > estimate:  # strictly: at min_gain=0 a tie keeps the safer one
            best, estimate = candidate, candidate.speedup
        elif candidate.speedup > estimate:  # it looks faster: say why it is not preferred
            kept = "the exact program (1.00x)" if best is exact else \
                f"the safer {best.describe()} ({best.speedup:.2f}x)"
            notes.append(
                f"{candidate.describe()}: held-out speedup {_interval(candidate)} is not certified "
                f"{min_gain:.0%} faster than {kept}: its lower limit {low:.2f} is below "
                f"{needed:.2f} (min_gain={min_gain:g}); not preferred."
            )
    if best is exact:
        notes.append(f"No certified configuration is certified at least {min_gain:.0%} faster than "
                     "the exact program on the held-out inputs; best is the exact program.")
    return best, notes


def _interval(candidate: Candidate) -> str:
    return speedup_text(candidate.speedup, candidate.speedup_low, candidate.speedup_high)
