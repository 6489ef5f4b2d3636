"""Checks on ``approximate``'s arguments that must fail before any tuning starts."""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidArgument, InvalidArgumentType, NotEnoughInputs
from ..stats import min_samples


def check_probability(name: str, value: Any, *, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentType(f"{name}= expects a number, got {value!r}; e.g. {name}={example}.")
    if not (0.0 < float(value) < 1.0):
        raise InvalidArgument(
            f"{name}= must lie strictly between 0 and 1 (built-in losses are in [0, 1]), "
            f"got {value!r}; e.g. {name}={example}."
        )
    return float(value)


def holdout_count(holdout: Any, n_inputs: int) -> int:
    """How many of ``n_inputs`` are held out: a fraction in (0, 1) or a count."""
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)):
        raise InvalidArgumentType(
            f"holdout= expects a fraction in (0, 1) or a number of inputs, got {holdout!r}."
        )
    if isinstance(holdout, float) and 0 < holdout < 1:
        count = round(n_inputs * holdout)
    elif isinstance(holdout, int) and holdout > 0:
        count = holdout
    else:
        raise InvalidArgument(
            f"holdout= expects a fraction in (0, 1) or a positive number of inputs, got {holdout!r}."
        )
    if not 1 <= count <= n_inputs - 1:
        raise NotEnoughInputs(
            f"holdout={holdout!r} leaves {count} of {n_inputs} inputs held out; both the tuning "
            "and the held-out set need at least one input. Pass more inputs."
        )
    return count


def certificate_method(binary: bool) -> str:
    """Exact binomial bounds for 0/1 metrics; empirical Bernstein (tight when losses are small
    and alike) for losses in [0, 1]. Fixed per metric, never chosen from the data."""
    return "clopper-pearson" if binary else "bernstein"


def _cap_advice(*, n_heldout: int, bound: float, confidence: float, binary: bool, cap: float) -> str:
    """Suggest ``loss_cap=`` when a cap well above the bound would cut the inputs needed."""
    suggested = 20 * bound
    if binary or cap < 1.0 or suggested >= 1.0:
        return "."
    needed = min_samples(bound / suggested, confidence=confidence, method=certificate_method(False))
    enough = "these suffice" if needed <= n_heldout else f"{needed} held-out inputs would suffice"
    return f", or cap each input's loss with loss_cap= (with loss_cap={suggested:g}, {enough})."


def check_enough_heldout(
    *, n_heldout: int, n_inputs: int, holdout: Any, bound: float, confidence: float, binary: bool,
    cap: float = 1.0, unit: str = "inputs",
) -> None:
    """Refuse a request that cannot succeed: too few held-out inputs (or samples, for a model,
    whose ``unit`` of loss is the sample) for any certificate."""
    needed = min_samples(bound / cap, confidence=confidence, method=certificate_method(binary),
                         binary=binary)
    if n_heldout >= needed:
        return
    share = n_heldout / n_inputs
    total = math.ceil(needed / share) if isinstance(holdout, float) else n_inputs - n_heldout + needed
    raise NotEnoughInputs(
        f"{n_heldout} held-out {unit} can never certify a mean loss <= {bound} with confidence "
        f"{confidence:.0%}: even if every output were identical, at least {needed} are needed. "
        f"Pass at least {total} {unit} (holdout={holdout!r}), or raise bound= or lower confidence="
        + _cap_advice(n_heldout=n_heldout, bound=bound, confidence=confidence, binary=binary, cap=cap)
    )
