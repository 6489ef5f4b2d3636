"""The public functions: sites, apply, evaluate, approximate, certify, load."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._target import Target
from .config import Setting
from .errors import InvalidArgument
from .measure.cost import check_cost, proxy_speedup, time_pair
from .measure.evaluation import Evaluation
from .measure.quality import get_quality
from .measure.runner import Reference
from .report.result import load
from .search.tuner import approximate
from .targets.torch import is_torch_module
from .transforms.substitute.runtime import guard_counts
from .sites import Site
from .stats import certify

__all__ = ["apply", "approximate", "certify", "evaluate", "load", "sites", "source"]


def sites(
    fn: Any,
    *,
    families: Iterable[str] | None = None,
    select: str | Iterable[str] | None = None,
    modules: Iterable[str] = (),
    example_inputs: Sequence[Any] | None = None,
    calls: Iterable[Any] = (),
) -> list[Site]:
    """Every approximation site in ``fn`` and the user functions it calls.

    ``families`` keeps some families (``["perforate"]``); ``select`` keeps ids matching site ids
    or glob patterns (``"mc.*/for#*"``); ``modules`` names extra modules whose functions count as
    user code (the target's own module always does). ``example_inputs`` (a few inputs) are run
    to find the sites that need a profile: float variables and arrays (``precision``), and
    traced calls (``substitute``). ``calls`` names further functions whose calls may be
    substituted (a library function, say), besides user functions, ufuncs and ``math``.
    """
    wanted = [families] if isinstance(families, str) else families
    for family, count in (("precision", 3), ("substitute", 20)):
        if example_inputs is None and wanted is not None and family in wanted and not is_torch_module(fn):
            raise InvalidArgument(
                f"{family} sites are found by running the program: pass example_inputs= with a "
                f"few inputs, e.g. ax.sites(fn, families=[{family!r}], example_inputs=inputs[:{count}])."
            )
    target = Target(fn, modules=modules, example_inputs=example_inputs, families=wanted, calls=calls)
    if wanted is not None and "precision" in wanted:
        target.require_float_sites()
    return target.select(families=families, select=select)


def apply(fn: Any, config: Mapping[str, Setting], *, modules: Iterable[str] = (),
          example_inputs: Sequence[Any] | None = None, calls: Iterable[Any] = ()) -> Any:
    """The variant of ``fn`` for ``config`` as a new function; ``fn`` and its globals are untouched.

    ``example_inputs``: inputs whose traced calls ``Substitute`` surrogates are fitted on (for a
    model: whose blocks they mimic, and whose activation ranges smoothed int8 divides by);
    ``calls``: the functions named as substitutable when the sites were listed.
    """
    return _target_for(fn, modules, example_inputs, calls).build(config)


def source(fn: Any, config: Mapping[str, Setting], *, modules: Iterable[str] = (),
           example_inputs: Sequence[Any] | None = None, calls: Iterable[Any] = ()) -> str:
    """The approximated source of ``fn`` (and its callees) for ``config``, as a standalone module."""
    from .report.export import export_source

    return export_source(_target_for(fn, modules, example_inputs, calls), config)


def _target_for(fn: Any, modules: Iterable[str], example_inputs: Any, calls: Iterable[Any]) -> Target:
    """The target, traced on ``example_inputs`` when given (only what the config needs)."""
    if example_inputs is None:
        return Target(fn, modules=modules, calls=calls)
    # a model's layers also record their activation ranges, for smoothed int8
    families = ["substitute", "precision"] if is_torch_module(fn) else ["substitute"]
    return Target(fn, modules=modules, example_inputs=example_inputs, families=families, calls=calls)


def evaluate(
    fn: Any,
    config: Mapping[str, Setting],
    inputs: Sequence[Any],
    *,
    quality: Any = "rel_l2",
    cost: Any = "time",
    repeats: int = 5,
    timeout: float | None = None,
    modules: Iterable[str] = (),
    example_inputs: Sequence[Any] | None = None,
    calls: Iterable[Any] = (),
) -> Evaluation:
    """Losses of ``config``'s variant on every input, its failures, and its speedup over ``fn``.

    The exact outputs are computed once; the variant and ``fn`` are timed side by side
    (``repeats`` interleaved passes, speedup = median ratio), or compared by ``cost(fn, inputs)``.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise InvalidArgument(f"repeats= expects a whole number >= 1, got {repeats!r}.")
    target = _target_for(fn, modules, example_inputs, calls)
    metric = get_quality(quality, per_sample=target.per_sample)
    items = target.inputs(inputs, labeled=metric.needs_labels)
    cost = check_cost(cost, model=target.per_sample)
    variant = target.build(config)
    exact = target.exact()
    reference = Reference(exact, items, metric, timeout=timeout, name=target.name)
    indices = list(range(len(items)))
    reference.prepare(indices)
    losses, failures = reference.losses(variant, indices, first_call_compiles=target.program.jitted)
    guards = guard_counts(variant)
    limit = sum(reference.timeout(i) or 0.0 for i in indices)
    if callable(cost):
        speedup, timing = proxy_speedup(cost, exact, variant, items, timeout=limit), None
    else:
        timing = time_pair(exact, variant, reference.inputs, indices, repeats=repeats, timeout=limit)
        speedup = timing.speedup
    return Evaluation(losses, tuple(failures), speedup, timing, dict(target.check(config)), guards)
