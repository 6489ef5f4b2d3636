"""What perforated loops call at run time: iteration selectors and reduction compensation.

Each selector takes the loop's iterable and returns the iterations to run, using C-level
``itertools`` and slicing so the per-iteration cost equals a hand-written perforated loop.
With a tally they also count iterations seen and run, for ``compensate=True``.
"""

from __future__ import annotations

import itertools
import math
import random

from ...targets.python_runtime import runtime_helper


@runtime_helper()
class _ax_Tally:
    """Counts, for a loop that may exit early, the iterations the exact loop would have run
    (``seen``) and those that ran (``ran``), as the loop goes."""

    __slots__ = ("seen", "ran")

    def __init__(self):
        self.seen = 0
        self.ran = 0

    def count(self, source, select):
        """Iterate ``select(source)``, counting items taken from ``source`` and items yielded."""

        def seen():
            for item in source:
                self.seen += 1
                yield item

        for item in select(seen()):
            self.ran += 1
            yield item


@runtime_helper(requires=("_ax_Tally",), imports=("import itertools",))
def _ax_modulo(iterable, numerator, denominator, tally=None):
    """Run ``numerator`` of every ``denominator`` iterations, evenly spread (every k-th if 1/k)."""
    if numerator == 1 and tally is None:  # the common case, without the general machinery
        if type(iterable) in (range, list, tuple, str):
            return iterable[::denominator]
        return itertools.islice(iterable, 0, None, denominator)
    pattern = [(i * numerator) % denominator < numerator for i in range(denominator)]

    def select(items):
        if numerator == 1:
            if isinstance(items, (range, list, tuple, str)):
                return items[::denominator]  # a slice: same cost as range(a, b, k) by hand
            return itertools.islice(items, 0, None, denominator)
        return itertools.compress(items, itertools.cycle(pattern))

    return select(iterable) if tally is None else tally.count(iterable, select)


@runtime_helper(requires=("_ax_Tally",), imports=("import itertools", "import math"))
def _ax_truncate(iterable, keep, tally=None):
    """Run the first ``ceil(n * keep)`` iterations (lazy iterables are materialised to count)."""
    if not hasattr(iterable, "__len__"):
        iterable = list(iterable)
    total = len(iterable)
    run = math.ceil(round(total * keep, 9))  # 10 * (1 - 0.7) must give 3, not 4
    selected = (
        iterable[:run]
        if isinstance(iterable, (range, list, tuple, str))
        else itertools.islice(iterable, run)
    )
    if tally is None:
        return selected

    def then_tail():
        yield from selected
        tally.seen += total - run  # reached the cut: the exact loop would have gone on

    return tally.count(then_tail(), lambda items: items)


@runtime_helper(requires=("_ax_Tally",), imports=("import itertools", "import random"))
def _ax_random(iterable, keep, seed, tally=None):
    """Run a seeded random subset of ``round(n * keep)`` iterations (each with prob. keep if lazy)."""
    rng = random.Random(seed)
    size = len(iterable) if hasattr(iterable, "__len__") else None

    def select(items):
        if size is None:
            return itertools.compress(items, iter(lambda: rng.random() < keep, None))
        chosen = set(rng.sample(range(size), round(size * keep)))
        return itertools.compress(items, [i in chosen for i in range(size)])

    return select(iterable) if tally is None else tally.count(iterable, select)


@runtime_helper()
def _ax_sized(iterable):
    """``iterable`` itself when it has a length, else its items in a list (to count them)."""
    return iterable if hasattr(iterable, "__len__") else list(iterable)


@runtime_helper()
def _ax_snapshot(value):
    """The accumulator's value before the loop (a copy for arrays updated in place)."""
    if type(value) in (float, int, complex):
        return value
    copy = getattr(value, "copy", None)
    return copy() if callable(copy) else value


@runtime_helper()
def _ax_rescale(value, before, seen, ran):
    """Scale what the perforated loop added to an accumulator by ``seen / ran`` iterations.

    ``seen`` and ``ran`` are counts, or the ranges iterated (their lengths are the counts).
    """
    if not isinstance(seen, int):
        seen, ran = len(seen), len(ran)
    if ran == 0 or seen == ran:
        return value
    return before + (value - before) * (seen / ran)


@runtime_helper(requires=("_ax_Tally", "_ax_rescale"))
def _ax_compensate(value, before, tally):
    """:func:`_ax_rescale` with the counts a tally took while the loop ran."""
    return _ax_rescale(value, before, tally.seen, tally.ran)
