"""Decorators users put on their own functions to tell the substitution family about them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import InvalidArgument, InvalidArgumentType

ALTERNATIVES = "__approxify_alternatives__"  # set by ax.alternatives on the exact function
SIDE_EFFECTS = "__approxify_side_effects__"  # set by ax.has_side_effects
STATISTIC = "__approxify_statistic__"  # set by ax.statistic: "sum" or "mean"
STATISTIC_KINDS = ("sum", "mean")


def alternatives(*cheaper: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register cheaper implementations of the decorated function, for the tuner to try::

        @ax.alternatives(fast_norm, very_fast_norm)
        def norm(v): ...

    Every call to ``norm`` in a target becomes a site offering ``Substitute("alternative",
    name="fast_norm")`` and so on. The decorated function itself is returned unchanged.
    """
    for fn in cheaper:
        if not callable(fn) or not hasattr(fn, "__name__"):
            raise InvalidArgumentType(
                f"ax.alternatives(...) expects functions (cheaper versions of the decorated one), "
                f"got {fn!r}."
            )

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, ALTERNATIVES, tuple(getattr(fn, ALTERNATIVES, ())) + cheaper)
        return fn

    return mark


def has_side_effects(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a function whose calls must never be replaced by a surrogate (it writes files,
    updates state, draws random numbers that matter…). Its call sites are listed, with no
    choices and this reason."""
    setattr(fn, SIDE_EFFECTS, True)
    return fn


def statistic(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare that the decorated function's result is a statistic of its array arguments'
    rows (their first axis), so its calls may run on a sample of them::

        @ax.statistic("sum")      # rescaled by rows seen / rows kept: stays unbiased
        def total_energy(samples): ...

        @ax.statistic("mean")     # any estimate that does not grow with the rows: a mean,
        def spread(samples): ...  # a standard deviation, a quantile

    Each call in a target becomes a perforation site (``sample#k``). Without the marker, a
    sum or a mean is found by the example inputs' run; the marker is for the others. The
    function itself is returned unchanged."""
    if kind not in STATISTIC_KINDS:
        raise InvalidArgument(
            f"ax.statistic(kind) expects one of {', '.join(map(repr, STATISTIC_KINDS))}, got {kind!r}; "
            "'sum' for a total (rescaled when sampled), 'mean' for an estimate that is not."
        )

    def mark(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise InvalidArgumentType(f"ax.statistic({kind!r}) decorates a function, got {fn!r}.")
        setattr(fn, STATISTIC, kind)
        return fn

    return mark
