"""Argument checks shared by the bounds and the certificates.

Every check raises with a message that names the argument, what was expected, what was given and
how to fix it (design.md §6.6). Checks return the cleaned value so callers never re-convert.
"""

from __future__ import annotations

import math
import numbers
import operator
from collections.abc import Iterable

import numpy as np

from approxify.errors import InvalidArgument, InvalidArgumentType

METHODS = ("auto", "betting", "bernstein", "clopper-pearson", "hoeffding", "union")


def losses_array(losses: Iterable[float], *, name: str = "losses") -> np.ndarray:
    """Return `losses` as a new 1-D float64 array after checking it is non-empty, finite, in [0, 1].

    A copy is returned so nothing downstream can write into the caller's array.
    """
    if isinstance(losses, (str, bytes)) or losses is None:
        raise InvalidArgumentType(
            f"{name} must be a sequence of numbers in [0, 1] (list or numpy array); "
            f"got {type(losses).__name__}. Pass one loss per held-out input."
        )
    try:
        array = np.array(losses, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise InvalidArgumentType(
            f"{name} must be a sequence of numbers in [0, 1] (list or numpy array); "
            f"got {type(losses).__name__} that numpy cannot read as floats ({exc}). "
            f"Pass a list or a 1-D numpy array of floats."
        ) from None
    if array.ndim != 1:
        raise InvalidArgument(
            f"{name} must be 1-D (one loss per input); got shape {array.shape}. "
            f"Flatten it with np.ravel() or pass one configuration's losses at a time."
        )
    if array.size == 0:
        raise InvalidArgument(
            f"{name} is empty; expected at least one loss. "
            f"Evaluate the variant on held-out inputs first and pass their losses."
        )
    nan = np.flatnonzero(np.isnan(array))
    if nan.size:
        raise InvalidArgument(
            f"{name} contains NaN ({nan.size} of {array.size}, first at index {nan[0]}); "
            f"expected numbers in [0, 1]. A failed or NaN output counts as loss 1: "
            f"replace NaN with 1 (np.nan_to_num(losses, nan=1.0))."
        )
    outside = np.flatnonzero((array < 0.0) | (array > 1.0))
    if outside.size:
        first = outside[0]
        raise InvalidArgument(
            f"{name} must lie in [0, 1]; got {array[first]!r} at index {first} "
            f"({outside.size} of {array.size} outside). Normalise the loss to [0, 1] "
            f"(built-in losses already are), e.g. np.clip(losses, 0, 1)."
        )
    return array


def real(value: object, *, name: str) -> float:
    """Return `value` as a float, refusing bools, strings and non-finite numbers."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidArgumentType(
            f"{name} must be a real number; got {type(value).__name__} {value!r}. Pass a float."
        )
    result = float(value)
    if not math.isfinite(result):
        raise InvalidArgument(f"{name} must be finite; got {result!r}. Pass a finite float.")
    return result


def probability(value: object, *, name: str, example: str) -> float:
    """Return `value` as a float strictly inside (0, 1); `example` is shown in the fix."""
    result = real(value, name=name)
    if not 0.0 < result < 1.0:
        hint = " (a probability, not a percentage)" if 1.0 < result <= 100.0 else ""
        raise InvalidArgument(
            f"{name} must be strictly between 0 and 1; got {result!r}. "
            f"Pass e.g. {name}={example}{hint}."
        )
    return result


def confidence(value: object) -> float:
    """Return a checked confidence level in (0, 1)."""
    return probability(value, name="confidence", example="0.95")


def bound(value: object) -> float:
    """Return a checked bound on the mean loss in (0, 1)."""
    return probability(value, name="bound", example="0.05")


def tolerance(value: object) -> float:
    """Return a checked tolerance in [0, 1): a loss at most this counts as identical output."""
    result = real(value, name="tolerance")
    if not 0.0 <= result < 1.0:
        raise InvalidArgument(
            f"tolerance must be in [0, 1) (losses at most tolerance count as identical); "
            f"got {result!r}. Pass e.g. tolerance=0.0 for bit-identical or 1e-6."
        )
    return result


def integer(value: object, *, name: str, low: int, high: int | None = None) -> int:
    """Return `value` as an int in [low, high], refusing bools and floats."""
    if isinstance(value, bool):
        raise InvalidArgumentType(f"{name} must be an int; got bool {value!r}. Pass an int.")
    try:
        result = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidArgumentType(
            f"{name} must be an int; got {type(value).__name__} {value!r}. Pass an int."
        ) from None
    if result < low or (high is not None and result > high):
        upper = "" if high is None else f" and at most {high}"
        raise InvalidArgument(f"{name} must be at least {low}{upper}; got {result}.")
    return result


def method(value: object) -> str:
    """Return a checked bound method name."""
    if not isinstance(value, str) or value not in METHODS:
        known = ", ".join(repr(m) for m in METHODS)
        raise InvalidArgument(
            f"method must be one of {known}; got {value!r}. "
            f"Use method='auto' unless you need a specific bound."
        )
    return value


def flag(value: object, *, name: str) -> bool:
    """Return `value` if it is a bool (not merely truthy)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidArgumentType(
            f"{name} must be True or False; got {type(value).__name__} {value!r}."
        )
    return bool(value)
