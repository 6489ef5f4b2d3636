"""Cost: measured time by default (exact and variant interleaved), or a user-given proxy.

Speedup = cost(exact) / cost(variant). Time is measured side by side in one run: each repetition
times the exact program and the variant over the same inputs back to back, alternating which goes
first, and the speedup is the median of the per-repetition ratios, with an order-statistic
interval for that median (:mod:`.median_interval`: distribution-free, assuming the repetitions'
ratios are independent draws from one distribution).

Within a repetition each side is timed in up to :data:`MAX_BATCHES` batches, interleaved, and
its fastest counts: the fastest batch, or where calls are long enough to time one by one, each
input's fastest call. On a loaded machine a call that is preempted, or interrupted, only ever
takes longer, so the fastest of a few estimates the undisturbed time: without this, a 2-core
machine shared with other work gave exact-vs-exact ratios from 0.4 to 3.0 (median 1.8 over 15
repetitions of 5 ms batches), and with it 0.85 to 1.2 (median 0.99). Batches are short (about
:data:`MIN_BATCH_SECONDS`), so fewer are preempted; a side costs at most about
:data:`SIDE_SECONDS` per repetition, or one pass where a pass takes longer.
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
from .median_interval import median_interval
from .model_cost import MODEL_COSTS

MIN_BATCH_SECONDS = 0.002  # shorter batches are repeated in a loop: timer noise dominates below
MAX_BATCHES = 3  # batches per side and repetition, the fastest of which counts
SIDE_SECONDS = 0.06  # a side's time per repetition that sets how many batches (1 for long passes)


@dataclass(frozen=True)
class Timing:
    speedup: float
    ratios: tuple[float, ...]
    exact_seconds: float  # median seconds of one pass over the timing inputs
    variant_seconds: float
    repeats: int
    loops: int  # passes per timed batch
    batches: int  # batches per side and repetition (the fastest counts)
    # the median ratio's interval (see median_interval: 90%, each limit a 95% one-sided bound)
    speedup_low: float
    speedup_high: float
    coverage: float  # its actual coverage: below 90% when too few repeats gave ratios

    def to_dict(self) -> dict[str, Any]:
        return {
            "speedup": self.speedup,
            "speedup_low": self.speedup_low,
            "speedup_high": self.speedup_high,
            "coverage": self.coverage,
            "ratios": list(self.ratios),
            "exact_seconds": self.exact_seconds,
            "variant_seconds": self.variant_seconds,
            "repeats": self.repeats,
            "loops": self.loops,
            "batches": self.batches,
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
    first = float(_timed_pass(exact, inputs, indices, loops=1, timeout=None).sum())
    loops = max(1, math.ceil(MIN_BATCH_SECONDS / max(first, 1e-9)))
    batches = max(1, min(MAX_BATCHES, math.floor(SIDE_SECONDS / max(loops * first, 1e-9))))
    exact_times, variant_times, ratios = [], [], []
    for rep in range(repeats):
        measured: dict[bool, list[np.ndarray]] = {True: [], False: []}
        for batch in range(batches):
            pair = ((True, exact), (False, variant))
            # keyed by role, not identity: a function may be timed against itself
            for is_exact, fn in pair if (rep + batch) % 2 == 0 else pair[::-1]:
                measured[is_exact].append(_timed_pass(fn, inputs, indices, loops=loops, timeout=timeout))
        exact_time, variant_time = _fastest(measured[True]) / loops, _fastest(measured[False]) / loops
        exact_times.append(exact_time)
        variant_times.append(variant_time)
        ratios.append(exact_time / variant_time if variant_time > 0 else math.inf)
    interval = median_interval(ratios)
    return Timing(
        speedup=float(statistics.median(ratios)),
        ratios=tuple(ratios),
        exact_seconds=float(statistics.median(exact_times)),
        variant_seconds=float(statistics.median(variant_times)),
        repeats=repeats,
        loops=loops,
        batches=batches,
        speedup_low=interval.low,
        speedup_high=interval.high,
        coverage=interval.coverage,
    )


def _fastest(parts: list[np.ndarray]) -> float:
    """A side's time in one repetition: for each input its fastest call over the batches, summed
    (or the fastest batch, where a batch is timed whole or failed)."""
    if len({p.size for p in parts}) == 1:
        return float(np.min(np.stack(parts), axis=0).sum())
    return min(float(p.sum()) for p in parts)


def _timed_pass(fn: Callable[..., Any], inputs: InputSet, indices: Sequence[int], *, loops: int,
                timeout: float | None) -> np.ndarray:
    """Seconds for ``loops`` passes over ``inputs``: one figure per call when one pass is a batch
    (``loops == 1``, calls long enough to time alone: a preempted call then spoils only its own
    figure), else one for the whole batch. Copies are made before the clock starts.

    A variant that raises or times out is charged the time until then plus the time limit (one
    figure), so a failing variant never looks fast (its loss already counts the failure).
    """
    calls = [inputs.fresh(i) for _ in range(loops) for i in indices]
    stamps = []
    enabled = gc.isenabled()
    gc.disable()
    start = time.perf_counter()
    try:
        with deadline(timeout):
            for args, kwargs in calls:
                fn(*args, **kwargs)
                if loops == 1:
                    stamps.append(time.perf_counter())
    except (Exception, SystemExit, Timeout):  # noqa: BLE001 - failures are data
        return np.array([time.perf_counter() - start + (timeout or 0.0)])
    finally:
        if enabled:
            gc.enable()
    if loops == 1:
        return np.diff(np.array([start, *stamps]))
    return np.array([time.perf_counter() - start])
