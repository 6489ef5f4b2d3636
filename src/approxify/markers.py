"""Decorators users put on their own functions to tell the substitution family about them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import InvalidArgumentType

ALTERNATIVES = "__approxify_alternatives__"  # set by ax.alternatives on the exact function
SIDE_EFFECTS = "__approxify_side_effects__"  # set by ax.has_side_effects


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
