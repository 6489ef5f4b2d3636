"""Cost: measured time by default (exact and variant interleaved), or a user-given proxy.

Speedup = cost(exact) / cost(variant). Time is measured side by side in one run: each repetition
times the exact program and the variant over the same inputs back to back, alternating which goes
first, and the speedup is the median of the per-repetition ratios.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidArgument, InvalidArgumentType
from .deadline import Timeout, deadline
from .inputs import InputSet
from .model_cost import MODEL_COSTS

MIN_BATCH_SECONDS = 0.005  # shorter batches are repeated in a loop: timer noise dominates below


@dataclass(frozen=True)
class Timing:
    speedup: float
    ratios: tuple[float, ...]
    exact_seconds: float  # median seconds of one pass over the timing inputs
    variant_seconds: float
    repeats: int
    loops: int  # passes per timed batch

    def to_dict(self) -> dict[str, Any]:
        return {
            "speedup": self.speedup,
            "ratios": list(self.ratios),
            "exact_seconds": self.exact_seconds,
            "variant_seconds": self.variant_seconds,
            "repeats": self.repeats,
            "loops": self.loops,
        }


CostFunction = Callable[[Callable[..., Any], Sequence[Any]], float]


def check_cost(cost: Any, *, model: bool = False) -> str | CostFunction:
    """``cost=``: ``"time"``, a function ``cost(fn, inputs)``, or for a model ``"params"``,
    ``"bytes"`` or ``"flops"`` (its stored numbers, their bytes, or the operations of its forward
    pass, see :mod:`.model_cost`)."""
    if cost == "time" or callable(cost):
        return cost
    if model and isinstance(cost, str):
        if cost in MODEL_COSTS:
            return MODEL_COSTS[cost]
    names = "'time', 'params', 'bytes', 'flops'" if model else "'time'"
    raise InvalidArgumentType(
        f"cost= expects {names} or a function cost(fn, inputs) -> float (lower is better), "
        f"got {cost!r}."
    )


def proxy_speedup(cost: CostFunction, exact: Callable[..., Any], variant: Callable[..., Any],
                  inputs: Sequence[Any], *, timeout: float | None = None) -> float:
    """Speedup under a deterministic cost proxy (FLOPs, bytes, a counter...).

    A variant that fails or times out while the proxy runs it gets speedup 0: its losses count
    the failure.
    """
    before = exact_cost(cost, exact, inputs)
    try:
        with deadline(timeout):
            after = float(cost(variant, inputs))
    except (Exception, SystemExit):  # noqa: BLE001 - a failing or hanging variant is data
        return 0.0
    return before / after if after > 0 else math.inf


def exact_cost(cost: CostFunction, exact: Callable[..., Any], inputs: Sequence[Any]) -> float:
    """``cost(exact, inputs)``, which must be a positive finite number (an error otherwise)."""
    name = getattr(cost, "__name__", type(cost).__name__)
    value = cost(exact, inputs)
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not (value > 0 and math.isfinite(value)):
        raise InvalidArgument(
            f"cost function {name} returned {value!r} ({type(value).__name__}) for the exact "
            "program; cost=(fn, inputs) -> float must return a positive finite number (lower is better)."
        )
    return float(value)


def time_pair(
    exact: Callable[..., Any],
    variant: Callable[..., Any],
    inputs: InputSet,
    indices: Sequence[int],
    *,
    repeats: int,
    timeout: float | None = None,
) -> Timing:
    """Time ``exact`` and ``variant`` side by side on ``inputs[indices]``; see the module docstring."""
    first = _timed_pass(exact, inputs, indices, loops=1, timeout=None)
    loops = max(1, math.ceil(MIN_BATCH_SECONDS / max(first, 1e-9)))
    exact_times, variant_times, ratios = [], [], []
    for rep in range(repeats):
        order = ((True, exact), (False, variant)) if rep % 2 == 0 else ((False, variant), (True, exact))
        measured = {}
        for is_exact, fn in order:  # keyed by role, not identity: a function may be timed against itself
            measured[is_exact] = _timed_pass(fn, inputs, indices, loops=loops, timeout=timeout) / loops
        exact_times.append(measured[True])
        variant_times.append(measured[False])
        ratios.append(measured[True] / measured[False] if measured[False] > 0 else math.inf)
    return Timing(
        speedup=float(statistics.median(ratios)),
        ratios=tuple(ratios),
        exact_seconds=float(statistics.median(exact_times)),
        variant_seconds=float(statistics.median(variant_times)),
        repeats=repeats,
        loops=loops,
    )


def _timed_pass(fn: Callable[..., Any], inputs: InputSet, indices: Sequence[int], *, loops: int,
                timeout: float | None) -> float:
    """Seconds for ``loops`` passes over ``inputs``; copies are made before the clock starts.

    A variant that raises or times out is charged the time until then plus the time limit, so a
    failing variant never looks fast (its loss already counts the failure).
    """
    calls = [inputs.fresh(i) for _ in range(loops) for i in indices]
    enabled = gc.isenabled()
    gc.disable()
    start = time.perf_counter()
    try:
        with deadline(timeout):
            for args, kwargs in calls:
                fn(*args, **kwargs)
    except (Exception, SystemExit, Timeout):  # noqa: BLE001 - failures are data
        return time.perf_counter() - start + (timeout or 0.0)
    finally:
        if enabled:
            gc.enable()
    return time.perf_counter() - start
