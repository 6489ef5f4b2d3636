"""``approximate``'s arguments, checked once into one frozen :class:`Request`.

Every check here runs before the exact program runs or any tuning starts, and each error names
the argument, what was expected, what was given and the fix.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.engine import make_url

from .._target import Target
from ..config import Budget
from ..errors import InvalidArgument, InvalidArgumentType, NotEnoughInputs
from ..measure.cost import CostFunction, check_cost
from ..measure.inputs import read_inputs, units_of
from ..measure.quality import Quality, get_quality, with_cap
from ..sites import check_exclude
from ..stats import Claims, certificate_method, claims, min_samples, needed_losses
from .groups import check_grouping
from .sample_groups import SampleGroups, read_groups
from .strategies import STRATEGIES


@dataclass(frozen=True)
class Request:
    """What the user asked ``approximate`` for, checked."""

    items: tuple[Any, ...]  # the inputs, one per call
    metric: Quality  # with the loss cap, when one is asked for
    bound: float
    confidence: float
    families: tuple[str, ...]
    explicit_families: bool  # named by the user (an empty family is then an error)
    select: Any
    budget: Budget
    storage: str | None
    study_name: str | None
    holdout: float | int
    n_heldout: int
    seed: int
    cost: str | CostFunction
    repeats: int
    timeout: float | None
    max_certify: int
    loss_cap: float | None
    repair: int
    strategy: str
    grouping: str
    progress: bool
    groups: SampleGroups | None = None  # ``groups=``: dependent inputs (see .sample_groups)
    quantile: float | None = None  # a tail asked: bound is then the tail's loss bound
    mean_bound: float | None = None  # with a tail, a mean bound asked as well
    min_gain: float = 0.05
    max_bytes: float | None = None  # models: a variant storing more is infeasible
    exclude: tuple[str, ...] = ()  # site ids or glob patterns the search leaves exact

    @property
    def claims(self) -> Claims:
        """What the certificate must establish (a mean bound, a tail, or both)."""
        return claims(bound=self.bound, quantile=self.quantile, mean_bound=self.mean_bound)

    @property
    def search_bound(self) -> float:
        """The bound the search holds each config's mean to: the mean bound, or with a tail the
        share of inputs allowed above its loss bound (the search then sees which exceed it)."""
        return 1.0 - self.quantile if self.quantile is not None else self.bound

    def search_view(self) -> Callable[[np.ndarray], np.ndarray] | None:
        """What the search sees of each config's losses (see :attr:`search_bound`)."""
        if self.quantile is None:
            return None
        return functools.partial(exceedances, bound=self.bound)


def exceedances(losses: np.ndarray, *, bound: float) -> np.ndarray:
    """1 where a loss exceeds ``bound`` (a failure always does: its loss is the cap), else 0."""
    return (losses > bound).astype(np.float64)


def check_request(target: Target, inputs: Sequence[Any], *, quality: Any, bound: Any,
                  confidence: Any, families: Iterable[str] | None, select: Any, budget: Any,
                  storage: Any, study_name: Any, holdout: Any, seed: Any, cost: Any, repeats: Any,
                  timeout: Any, max_certify: Any, loss_cap: Any, repair: Any, strategy: Any,
                  grouping: Any, progress: Any, quantile: Any = None, mean_bound: Any = None,
                  groups: Any = None, min_gain: Any = 0.05, max_bytes: Any = None,
                  exclude: Any = ()) -> Request:
    bound = check_probability("bound", bound, example="0.05")
    quantile = None if quantile is None else check_probability("quantile", quantile, example="0.95")
    if mean_bound is not None:
        if quantile is None:
            raise InvalidArgument(
                f"mean_bound={mean_bound!r} asks a mean bound beside a tail (quantile=); without "
                f"quantile=, bound= is the mean bound: pass bound={mean_bound!r} instead.")
        mean_bound = check_probability("mean_bound", mean_bound, example="0.02")
    metric = with_cap(get_quality(quality, per_sample=target.per_sample), loss_cap, bound=bound)
    items = read_inputs(inputs, labeled=metric.needs_labels, batches=target.per_sample)
    confidence = check_probability("confidence", confidence, example="0.95")
    budget = budget if budget is not None else Budget()
    if not isinstance(budget, Budget):
        raise InvalidArgumentType(f"budget= expects ax.Budget(trials=...), got {budget!r}.")
    if strategy not in STRATEGIES:
        raise InvalidArgument(
            f"strategy= expects one of {', '.join(STRATEGIES)}, got {strategy!r}; 'tpe' searches "
            "combinations with Optuna, 'delta' finds a maximal set of sites to lower, 'random' "
            "samples configs uniformly (a baseline), 'exhaustive' measures every config (small spaces)."
        )
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidArgumentType(f"seed= expects an int, got {seed!r}.")
    samples = read_groups(groups, items, per_sample=target.per_sample)
    n_heldout = (holdout_count(holdout, len(items)) if samples is None
                 else holdout_count(holdout, samples.count, unit="groups"))
    return Request(
        items=tuple(items), metric=metric, bound=bound, confidence=confidence,
        families=tuple(target.families_or_default(families)), explicit_families=families is not None,
        select=select, budget=budget, storage=check_storage(storage),
        study_name=check_study_name(study_name), holdout=holdout,
        n_heldout=n_heldout, seed=seed, cost=check_cost(cost, model=target.per_sample),
        repeats=check_count("repeats", repeats, example="5"),
        timeout=check_timeout(timeout), max_certify=check_count("max_certify", max_certify, example="8"),
        loss_cap=loss_cap, repair=check_repair(repair, target), strategy=strategy,
        grouping=check_grouping(grouping, model=target.per_sample), progress=bool(progress),
        quantile=quantile, mean_bound=mean_bound, groups=samples, min_gain=check_min_gain(min_gain),
        max_bytes=check_max_bytes(max_bytes, target),
        exclude=check_exclude(exclude),
    )


def check_max_bytes(max_bytes: Any, target: Target) -> float | None:
    """``max_bytes=``: None, or a positive number of bytes, for a model."""
    if max_bytes is None:
        return None
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, (int, float)):
        raise InvalidArgumentType(
            f"max_bytes= expects a number of bytes, got {max_bytes!r}; e.g. max_bytes=2_000_000 "
            "keeps variants whose weights take at most 2 MB.")
    if not max_bytes > 0:
        raise InvalidArgument(f"max_bytes= must be a positive number of bytes, got {max_bytes!r}.")
    if not target.has_weights:
        raise InvalidArgument(
            f"max_bytes={max_bytes!r} limits a model's stored weights, but {target.name} is a Python "
            "function; drop max_bytes= (a function's variant stores no weights).")
    return float(max_bytes)


def check_probability(name: str, value: Any, *, example: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidArgumentType(f"{name}= expects a number, got {value!r}; e.g. {name}={example}.")
    if not (0.0 < float(value) < 1.0):
        raise InvalidArgument(
            f"{name}= must lie strictly between 0 and 1 (built-in losses are in [0, 1]), "
            f"got {value!r}; e.g. {name}={example}."
        )
    return float(value)


def check_min_gain(min_gain: Any) -> float:
    """``min_gain=``: the share by which a config's certified (lower-limit) speedup must beat the
    program it would replace, a fraction in [0, 1): 0.05 asks for 5% faster."""
    if isinstance(min_gain, bool) or not isinstance(min_gain, (int, float)):
        raise InvalidArgumentType(
            f"min_gain= expects a number, the share a config must be certified faster by, got "
            f"{min_gain!r}; e.g. min_gain=0.05 (5% faster)."
        )
    if not (math.isfinite(min_gain) and 0.0 <= min_gain < 1.0):
        hint = f" (did you mean {min_gain / 100:g}?)" if 1.0 <= min_gain <= 100.0 else ""
        raise InvalidArgument(
            f"min_gain= expects a fraction in [0, 1), the share a config must be certified faster "
            f"by, got {min_gain!r}{hint}; e.g. min_gain=0.05 asks for 5% faster, min_gain=0 for "
            "any certified gain."
        )
    return float(min_gain)


def check_storage(storage: Any) -> str | None:
    """``storage=``: None (in memory) or a database URL Optuna can open, checked by its form
    before anything runs (the database itself is opened when tuning starts)."""
    if storage is None:
        return None
    example = "e.g. storage='sqlite:///study.db' or 'postgresql://user@host/db'"
    if not isinstance(storage, str):
        raise InvalidArgumentType(f"storage= expects a database URL or None, got {storage!r}; {example}.")
    try:
        url = make_url(storage)
    except Exception as exc:  # noqa: BLE001 - sqlalchemy's ArgumentError and kin
        raise InvalidArgument(f"storage={storage!r} is not a database URL ({exc}); {example}.") from None
    if url.get_backend_name() == "sqlite" and url.database in (None, ""):
        raise InvalidArgument(f"storage={storage!r} names no database file; {example}.")
    return storage


def check_study_name(name: Any) -> str | None:
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise InvalidArgumentType(f"study_name= expects a non-empty string or None, got {name!r}.")
    return name


def check_count(name: str, value: Any, *, example: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidArgument(f"{name}= expects a whole number >= 1, got {value!r}; e.g. {name}={example}.")
    return value


def check_timeout(timeout: Any) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) \
            or not math.isfinite(timeout) or timeout <= 0:
        raise InvalidArgument(
            f"timeout= expects a positive number of seconds per input or None, got {timeout!r}; "
            "e.g. timeout=10."
        )
    return float(timeout)


def check_repair(repair: Any, target: Target) -> int:
    if isinstance(repair, bool) or not isinstance(repair, int) or repair < 0:
        raise InvalidArgumentType(f"repair= expects a number of fine-tuning steps >= 0, got {repair!r}.")
    if repair and not target.has_weights:
        raise InvalidArgument("repair= fine-tunes a model's variants; a Python function has no weights.")
    return repair


def holdout_count(holdout: Any, n_inputs: int, *, unit: str = "inputs") -> int:
    """How many of ``n_inputs`` (or groups, ``unit``) are held out: a fraction in (0, 1) or a count."""
    if isinstance(holdout, bool) or not isinstance(holdout, (int, float)):
        raise InvalidArgumentType(
            f"holdout= expects a fraction in (0, 1) or a number of {unit}, got {holdout!r}."
        )
    if isinstance(holdout, float) and 0 < holdout < 1:
        count = round(n_inputs * holdout)
    elif isinstance(holdout, int) and holdout > 0:
        count = holdout
    else:
        raise InvalidArgument(
            f"holdout= expects a fraction in (0, 1) or a positive number of {unit}, got {holdout!r}."
        )
    if not 1 <= count <= n_inputs - 1:
        raise NotEnoughInputs(
            f"holdout={holdout!r} leaves {count} of {n_inputs} {unit} held out; both the tuning "
            f"and the held-out set need at least one of them. Pass more {unit}."
        )
    return count


def check_enough_heldout(request: Request, heldout: Sequence[int], *, per_sample: bool) -> None:
    """Refuse a request that cannot succeed: too few held-out inputs (or samples, for a model,
    whose unit of loss is the sample; or groups, with ``groups=``) for any certificate."""
    metric, bound, confidence = request.metric, request.bound, request.confidence
    binary = metric.binary
    if request.groups is not None:  # a group's loss is a mean: 0/1 only for one-loss groups
        n_heldout, n_inputs, unit = request.groups.within(heldout), request.groups.count, "groups"
        binary = binary and request.groups.singletons
    else:
        units = [units_of(item, per_sample=per_sample) for item in request.items]
        n_heldout, n_inputs = sum(units[i] for i in heldout), sum(units)
        unit = "samples" if per_sample else "inputs"
    needed, what = needed_losses(request.claims, confidence=confidence, binary=binary,
                                 method=certificate_method(binary), cap=metric.cap)
    if n_heldout >= needed:
        return
    if request.quantile is not None:  # a tail: Clopper-Pearson on the exceedances
        mean = request.mean_bound
        looser = "raise mean_bound=" if what.startswith("mean_bound") else "lower quantile="
        raise NotEnoughInputs(
            f"{n_heldout} held-out {unit} can never certify that {request.quantile:.0%} of "
            f"{unit} have loss <= {request.bound}"
            f"{f' and a mean loss <= {mean}' if mean is not None else ''} with "
            f"confidence {confidence:.0%}: even with no loss above it, at least {needed} are "
            f"needed (for {what}). Pass more inputs (holdout={request.holdout!r}), or {looser} "
            "or lower confidence=.")
    share = n_heldout / n_inputs
    holdout = request.holdout
    total = math.ceil(needed / share) if isinstance(holdout, float) else n_inputs - n_heldout + needed
    raise NotEnoughInputs(
        f"{n_heldout} held-out {unit} can never certify a mean loss <= {bound} with confidence "
        f"{confidence:.0%}: even if every output were identical, at least {needed} are needed. "
        f"Pass at least {total} {unit} (holdout={holdout!r}), or raise bound= or lower confidence="
        + _cap_advice(n_heldout, bound=bound, confidence=confidence, metric=metric)
    )


def _cap_advice(n_heldout: int, *, bound: float, confidence: float, metric: Quality) -> str:
    """Suggest ``loss_cap=`` when a cap well above the bound would cut the inputs needed."""
    suggested = 20 * bound
    if metric.binary or metric.cap < 1.0 or suggested >= 1.0:
        return "."
    needed = min_samples(bound, confidence=confidence, method=certificate_method(False), cap=suggested)
    enough = "these suffice" if needed <= n_heldout else f"{needed} held-out inputs would suffice"
    return f", or cap each input's loss with loss_cap= (with loss_cap={suggested:g}, {enough})."
