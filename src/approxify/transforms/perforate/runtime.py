"""What perforated loops call at run time: iteration selectors and reduction compensation.

Each selector takes the loop's iterable and returns the iterations to run, using C-level
``itertools`` and slicing so the per-iteration cost equals a hand-written perforated loop.
With a tally they also count iterations seen and run, for ``compensate=True``.

numba-compiled loops are written out in full instead (see :mod:`.compiled`): they call the
integer helpers here (``_ax_kept``, ``_ax_pick``...), which numba compiles from the same source,
so a compiled variant runs the same iterations as the Python one. ``_ax_numba_perforation``
gives numba typed versions of the helpers whose behaviour depends on the argument's type.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator

from ...targets.python_runtime import numba_setup, runtime_helper


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


@runtime_helper(imports=("import itertools",))
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


@runtime_helper()
def _ax_kept(size, numerator, denominator):
    """How many of ``size`` iterations truncate and random run: ``ceil(size * p / q)``, in
    integers so that Python and numba agree (``p / q`` is the kept share, 1 - 0.7 read as 3/10)."""
    return (size * numerator + denominator - 1) // denominator


@runtime_helper(requires=("_ax_kept",), imports=("import itertools",))
def _ax_truncate(iterable, numerator, denominator, tally=None):
    """Run the first ``ceil(n * p / q)`` iterations (lazy iterables are materialised to count)."""
    if not hasattr(iterable, "__len__"):
        iterable = list(iterable)
    total = len(iterable)
    run = _ax_kept(total, numerator, denominator)
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


@runtime_helper()
def _ax_hash(seed, position):
    """A 32-bit hash of ``(seed, position)``: integer steps whose products stay below 2**63, so
    numba's 64-bit integers give the same bits as Python's (``seed`` is below 2**32)."""
    h = (seed * 0x2545F491 + position) & 0xFFFFFFFF
    h = ((h >> 16) ^ h) * 0x45D9F3B & 0xFFFFFFFF
    h = ((h >> 16) ^ h) * 0x45D9F3B & 0xFFFFFFFF
    return (h >> 16) ^ h


@runtime_helper(requires=("_ax_hash",))
def _ax_pick(seed, position, left, needed, numerator, denominator):
    """Whether the random policy runs the iteration at ``position``.

    With ``left`` iterations left (this one included) of which ``needed`` must still run, it runs
    with probability needed / left (selection sampling: exactly the kept count runs, every subset
    of that size equally likely); when the length is unknown (``left < 0``), with probability p / q.
    """
    h = _ax_hash(seed, position)
    if left < 0:
        return h * denominator < numerator << 32
    if left < 1 << 31:  # h * left / 2**32 in [0, left), a multiply where a division would be slow
        return (h * left) >> 32 < needed
    return h % left < needed


@runtime_helper(requires=("_ax_kept", "_ax_pick"), imports=("import functools", "import operator"))
@functools.lru_cache(maxsize=128)
def _ax_random_choice(seed, size, numerator, denominator):
    """The random policy's choice for a loop of ``size`` iterations, computed once per length:
    (a flag per iteration, the positions that run, a function taking them from a sequence).
    For an unknown length (``size < 0``), the flags of the first 1024 iterations."""
    needed = _ax_kept(size, numerator, denominator)
    length = size if size >= 0 else 1024
    flags = bytearray(length)
    for position in range(length):
        left = size - position if size >= 0 else -1
        if _ax_pick(seed, position, left, needed, numerator, denominator):
            flags[position] = 1
            needed -= 1
    chosen = tuple(i for i in range(length) if flags[i])
    if len(chosen) > 1:
        take = operator.itemgetter(*chosen)
    else:
        def take(items):
            return tuple(items[i] for i in chosen)
    return bytes(flags), chosen, take


@runtime_helper(requires=("_ax_pick", "_ax_random_choice"), imports=("import itertools",))
def _ax_random(iterable, numerator, denominator, seed, tally=None):
    """Run a seeded random subset of ``ceil(n * p / q)`` iterations, as many as truncate runs
    (each with probability p / q when the iterable has no length); see :func:`_ax_pick`."""
    kind = type(iterable)
    if tally is None and (kind is range or kind is list or kind is tuple or kind is str):
        _, chosen, take = _ax_random_choice(seed, len(iterable), numerator, denominator)
        if kind is range and iterable.start == 0 and iterable.step == 1:
            return chosen  # the positions are the values
        return take(iterable)  # C-level indexing: no per-skipped-iteration cost
    if hasattr(iterable, "__len__"):
        flags = _ax_random_choice(seed, len(iterable), numerator, denominator)[0]
    else:
        head = _ax_random_choice(seed, -1, numerator, denominator)[0]
        rest = (_ax_pick(seed, i, -1, 0, numerator, denominator) for i in itertools.count(len(head)))
        flags = itertools.chain(head, rest)

    def select(items):
        return itertools.compress(items, flags)

    return select(iterable) if tally is None else tally.count(iterable, select)


@runtime_helper()
def _ax_sized(iterable):
    """``iterable`` itself when it has a length, else its items in a list (to count them)."""
    return iterable if hasattr(iterable, "__len__") else list(iterable)


@runtime_helper()
def _ax_size(iterable):
    """The number of iterations, or -1 when the iterable has no length (an iterator)."""
    return len(iterable) if hasattr(iterable, "__len__") else -1


@runtime_helper()
def _ax_first(items, count):
    """The first ``count`` items of a sequence (a range stays a range)."""
    return items[:count]


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


@runtime_helper(requires=("_ax_rescale",))
def _ax_compensate(value, before, tally):
    """:func:`_ax_rescale` with the counts a tally took while the loop ran."""
    return _ax_rescale(value, before, tally.seen, tally.ran)


@runtime_helper(imports=("import math",))
def _ax_steps(start, stop, step, inclusive):
    """How many times ``while i < stop: i += step`` (``<=`` when ``inclusive``; a negative
    step for ``>``) runs its body from ``i = start``: a counting ``while`` loop's compensation."""
    span = (stop - start) / step
    if inclusive:
        return max(0, math.floor(round(span, 9)) + 1)
    return max(0, math.ceil(round(span, 9)))


NUMBA_TYPED = ("_ax_kept", "_ax_hash", "_ax_pick", "_ax_steps", "_ax_size", "_ax_sized", "_ax_first",
               "_ax_snapshot", "_ax_rescale")


@runtime_helper()
def _ax_numba_perforation():
    """Give numba the helpers compiled perforated loops call, those this module defines: the
    integer ones compiled from their own source, the others picked by the argument's type."""
    from numba import types
    from numba.extending import overload, register_jitable
    from numba.np.numpy_support import as_dtype

    defined = globals()

    def typed(name):
        return overload(defined[name]) if name in defined else (lambda build: build)

    for name in ("_ax_kept", "_ax_hash", "_ax_pick", "_ax_steps"):
        if name in defined:
            register_jitable(defined[name])

    @typed("_ax_size")
    def size(iterable):
        if isinstance(iterable, types.IteratorType):
            return lambda iterable: -1
        return lambda iterable: len(iterable)

    @typed("_ax_sized")
    def sized(iterable):
        if isinstance(iterable, types.IteratorType):
            return lambda iterable: list(iterable)
        return lambda iterable: iterable

    @typed("_ax_first")
    def head(items, count):
        if isinstance(items, types.RangeType):
            return lambda items, count: range(items.start, items.start + count * items.step, items.step)
        return lambda items, count: items[:count]

    @typed("_ax_snapshot")
    def snapshot(value):
        if isinstance(value, types.Array):
            return lambda value: value.copy()
        return lambda value: value

    @typed("_ax_rescale")
    def rescale(value, before, seen, ran):
        number = value.dtype if isinstance(value, types.Array) else value
        if isinstance(number, types.Float):  # NumPy scales float32 data in float32
            kind = as_dtype(number).type

            def scaled(value, before, seen, ran):
                if ran == 0 or seen == ran:
                    return value
                return before + (value - before) * kind(seen / ran)

            return scaled

        def scaled_integers(value, before, seen, ran):  # become floats, in both branches
            if ran == 0 or seen == ran:
                return value * 1.0
            return before + (value - before) * (seen / ran)

        return scaled_integers


numba_setup(_ax_numba_perforation, serves=NUMBA_TYPED)
