"""One config measured on a set of inputs: its variant built, run on each input against the
exact outputs, its counters read, and its speed compared with the exact program's, side by side.

All of it runs in the reference's sandbox (a forked child for a Python target, see
:mod:`.sandbox`): building a variant re-runs the user's decorators, and running it may write
anywhere. The child sends each input's loss as it goes, so a variant that crashes, or hangs past
its time limit even while catching the exception meant to stop it, loses only the inputs it did
not finish: they count as failures of that kind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import InvalidConfig
from . import sandbox
from .cost import MAX_BATCHES, CostFunction, Timing, exact_cost, proxy_speedup, time_pair
from .evaluation import Evaluation
from .runner import COMPILE_ALLOWANCE, Failure, Reference

SLACK = 2.0  # seconds a step may take beyond its own deadline before its process is killed


@dataclass(frozen=True)
class Plan:
    """How a config is measured."""

    indices: Sequence[int]  # inputs whose losses are measured
    timing_indices: Sequence[int]  # inputs timed
    repeats: int  # paired timing repetitions
    cost: str | CostFunction
    first_call_compiles: bool = False  # numba: the variant's first call compiles it
    # asked after each input with the losses so far: True stops measuring (the config is
    # dropped; its speed is not measured either)
    stop: Callable[[np.ndarray], bool] | None = None
    # a model variant's stored bytes, read once it is built (deterministic: no statistics needed)
    size: Callable[[Any], float] | None = None


def run_trial(reference: Reference, build: Callable[[], Any], plan: Plan, *,
              counters: Callable[[Any], dict[str, Any]] = lambda variant: {},
              config: dict | None = None) -> Evaluation:
    """Measure the variant ``build()`` gives. Nothing it does is an exception here: a variant
    that cannot be built fails on every input, one that fails on an input fails there."""
    reference.prepare([*plan.indices, *plan.timing_indices])
    outcome = sandbox.run(lambda emit: _work(reference, build, plan, counters, emit),
                          limit=_timing_limit(reference, plan), isolate=reference.isolate)
    if outcome.finished and outcome.value[0] == "unbuildable":
        _, kind, message = outcome.value
        return unbuildable(reference, plan.indices, kind, message, config)
    results = {index: (loss, failure) for index, loss, failure in outcome.messages}
    lost = (outcome.lost.kind, outcome.lost.message) if outcome.lost else None
    if outcome.finished and outcome.value[0] == "stopped":
        measured = list(plan.indices[:outcome.value[1]])
        losses, failures, above_one = reference.assemble(measured, results)
        return Evaluation(losses, tuple(failures), None, None, dict(config or {}), above_one=above_one,
                          stopped_after=len(measured))
    losses, failures, above_one = reference.assemble(plan.indices, results, lost)
    guards, size, speedup, timing = outcome.value[1:] if outcome.finished else ({}, None, 0.0, None)
    return Evaluation(losses, tuple(failures), speedup, timing, dict(config or {}), guards, above_one,
                      size=size)


def check_proxy(reference: Reference, cost: CostFunction, indices: Sequence[int]) -> None:
    """A cost function that does not give the exact program a positive number is refused now,
    before any tuning (it runs the exact program: in the sandbox)."""
    reference.prepare(indices)
    inputs = [reference.inputs[i] for i in indices]
    sandbox.run(lambda emit: exact_cost(cost, reference.fn, inputs), limit=None, isolate=reference.isolate)


def retime(reference: Reference, build: Callable[[], Any], plan: Plan) -> tuple[float, Timing | None]:
    """The variant's speedup again (paired timing only, in the sandbox); 0.0 if it fails."""
    reference.prepare(plan.timing_indices)
    outcome = sandbox.run(lambda emit: _speed(reference, build(), plan), isolate=reference.isolate,
                          limit=_timing_limit(reference, plan) + COMPILE_ALLOWANCE * plan.first_call_compiles)
    return outcome.value if outcome.finished else (0.0, None)


def _work(reference: Reference, build: Callable[[], Any], plan: Plan,
          counters: Callable[[Any], dict[str, Any]], emit: Callable[[Any], None]) -> Any:
    """The child's side: build, losses input by input, counters, speed."""
    try:
        variant = build()
    except InvalidConfig as exc:  # settings that cannot combine (a rank the pruning removed)
        return "unbuildable", "invalid", sandbox.describe(exc)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the user's decorators run again when it is built
        return "unbuildable", "exception", f"building the variant raised {sandbox.describe(exc)}"
    size = plan.size(variant) if plan.size is not None else None
    patience, seen = None, []
    for position, index in enumerate(plan.indices):
        extra = COMPILE_ALLOWANCE if plan.first_call_compiles and position == 0 else 0.0
        if patience != (patience := reference.timeout(index) + extra + SLACK):
            emit(sandbox.Patience(patience))  # only when it changes: each message costs
        loss, failure = reference.one(variant, index, extra)
        emit((index, loss, failure))
        if plan.stop is not None:
            seen.append(reference.loss_array(index, loss, failure))
            if position + 1 < len(plan.indices) and plan.stop(np.concatenate(seen)):
                return "stopped", position + 1
    guards = counters(variant)  # read before timing runs add to the counts
    emit(sandbox.Patience(_timing_limit(reference, plan)))
    return ("measured", guards, size, *_speed(reference, variant, plan))


def _speed(reference: Reference, variant: Any, plan: Plan) -> tuple[float, Timing | None]:
    limit = sum(reference.timeout(i) or 0.0 for i in plan.timing_indices) or None
    if callable(plan.cost):
        inputs = [reference.inputs[i] for i in plan.timing_indices]
        return proxy_speedup(plan.cost, reference.fn, variant, inputs, timeout=limit), None
    timing = time_pair(reference.fn, variant, reference.inputs, plan.timing_indices,
                       repeats=plan.repeats, timeout=limit)
    return timing.speedup, timing


def _timing_limit(reference: Reference, plan: Plan) -> float:
    """What paired timing may take at most: every pass (the first, then two per batch of each
    repetition) over the timing inputs at their time limits, and some to spare."""
    per_pass = sum(reference.timeout(i) or 0.0 for i in plan.timing_indices)
    return (2 * plan.repeats * MAX_BATCHES + 1) * per_pass * 2 + 10.0


def unbuildable(reference: Reference, indices: Sequence[int], kind: str, message: str,
                       config: dict | None) -> Evaluation:
    """A config whose variant cannot be built is measured as failing on every input."""
    failures = tuple(Failure(i, kind, message, units=reference.units([i])) for i in indices)
    losses = np.full(reference.units(indices), reference.quality.cap)
    return Evaluation(losses, failures, 0.0, None, dict(config or {}))
