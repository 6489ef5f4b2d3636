"""The public functions: sites, apply, evaluate, approximate, certify, load.

``approximate`` checks its arguments once (:mod:`.search.request`), then runs the named steps of
:mod:`.search`: split, baseline, search (sensitivity inside the strategies that use it), front,
certify, choose.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._target import Target
from .config import Budget, Setting
from .measure.cost import check_cost
from .measure.evaluation import Evaluation
from .measure.inputs import digest, read_inputs
from .measure.median_interval import repeats_for
from .measure.model_cost import weight_bytes
from .measure.quality import get_quality
from .measure.trial import Plan, run_trial
from .report.environment import environment
from .report.export import export_source
from .report.result import Candidate, Result, load
from .search import study as studies
from .search.baseline import Split, baseline, split
from .search.certify import above_one_notes, certify_front, evaluation_order
from .search.choice import choose, runoff
from .search.effects import measure_effects
from .search.front import settled_front
from .search.groups import group_sites
from .search.measurer import Measurer, timing_indices
from .search.progress import Progress
from .search.request import Request, check_count, check_request, check_timeout
from .search.strategies import STRATEGIES, SearchRun
from .sites import Site, SiteList, check_exclude
from .stats import certify

SEARCH_REPEATS = 3  # timing repetitions during search; certification uses ``repeats``

__all__ = ["apply", "approximate", "certify", "evaluate", "load", "sites", "source"]


def sites(
    fn: Any,
    *,
    families: Iterable[str] | None = None,
    select: str | Iterable[str] | None = None,
    modules: Iterable[str] = (),
    example_inputs: Sequence[Any] | None = None,
    calls: Iterable[Any] = (),
    isolation: str = "process",
    exclude: Iterable[str] = (),
) -> SiteList:
    """Every approximation site in ``fn`` and the user functions it calls (a list, whose
    ``skipped`` holds the calls seen and not followed, with the reason; its repr is a table).

    ``families`` keeps some families (``["perforate"]``); ``select`` keeps ids matching site ids
    or glob patterns (``"mc.*/for#*"``), ``exclude`` drops those matching any of its ids or
    patterns (as in ``approximate``); ``modules`` names extra modules whose functions count as
    user code (the target's own module always does). ``example_inputs`` (a few inputs) are run
    to find the sites that need a profile: float variables and arrays (``precision``), and
    traced calls (``substitute``), and to follow calls the source leaves open (a function passed
    as an argument, a method of an object in a variable). ``calls`` names further functions whose calls may be
    substituted (a library function, say), besides user functions, ufuncs and ``math``.
    """
    wanted = [families] if isinstance(families, str) else families
    check_exclude(exclude)  # before anything runs
    target = Target(fn, modules=modules, calls=calls, isolation=isolation)
    target.require_examples(wanted, given=example_inputs is not None)
    if example_inputs is not None:
        target.profile(read_inputs(example_inputs, name="example_inputs", batches=target.per_sample),
                       families=wanted)
    if wanted is not None:
        target.require_sites(wanted)
    return SiteList(target.select(families=families, select=select, exclude=exclude), target.skipped)


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
    return export_source(_target_for(fn, modules, example_inputs, calls), config)


def _target_for(fn: Any, modules: Iterable[str], example_inputs: Any, calls: Iterable[Any],
                isolation: str = "process") -> Target:
    """The target, traced on ``example_inputs`` when given (only what the config needs)."""
    target = Target(fn, modules=modules, calls=calls, isolation=isolation)
    if example_inputs is not None:
        examples = read_inputs(example_inputs, name="example_inputs", batches=target.per_sample)
        target.profile(examples, families=target.fitted_families())
    return target


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
    isolation: str = "process",
) -> Evaluation:
    """Losses of ``config``'s variant on every input, its failures, and its speedup over ``fn``
    (measured in a forked child unless ``isolation="none"``, see ``approximate``).

    The exact outputs are computed once; the variant and ``fn`` are timed side by side
    (``repeats`` interleaved passes, speedup = median ratio), or compared by ``cost(fn, inputs)``.
    """
    repeats = check_count("repeats", repeats, example="5")
    target = _target_for(fn, modules, example_inputs, calls, isolation)
    metric = get_quality(quality, per_sample=target.per_sample)
    items = read_inputs(inputs, labeled=metric.needs_labels, batches=target.per_sample)
    cost = check_cost(cost, model=target.per_sample)
    checked = target.check(config)
    program = target.rewrite(checked)
    reference = target.exact_reference(items, metric, timeout=check_timeout(timeout))
    indices = list(range(len(items)))
    plan = Plan(indices, indices, repeats, cost, first_call_compiles=target.program.jitted,
                size=weight_bytes if target.has_weights else None)
    return run_trial(reference, program.build, plan, counters=target.counters, config=checked)


def approximate(
    fn: Any,
    inputs: Sequence[Any],
    *,
    quality: Any = "rel_l2",
    bound: float = 0.05,
    confidence: float = 0.95,
    families: Iterable[str] | None = None,
    select: str | Iterable[str] | None = None,
    budget: Budget | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    holdout: float | int = 0.5,
    seed: int = 0,
    cost: Any = "time",
    repeats: int = 5,
    timeout: float | None = None,
    max_certify: int = 8,
    modules: Iterable[str] = (),
    calls: Iterable[Any] = (),
    loss_cap: float | None = None,
    repair: int = 0,
    strategy: str = "tpe",
    grouping: str | None = None,
    progress: bool = True,
    isolation: str = "process",
    quantile: float | None = None,
    mean_bound: float | None = None,
    groups: Sequence[Any] | None = None,
    min_gain: float = 0.05,
    max_bytes: float | None = None,
    exclude: Iterable[str] = (),
) -> Result:
    """Find the fastest config of ``fn`` whose mean loss is certified <= ``bound``, or with
    ``quantile=q`` whose tail is: with confidence ``confidence``, at least a share q of inputs
    like these have loss <= ``bound`` (``mean_bound=`` asks a mean bound as well).

    1. Inputs are split (seeded) into tuning and held-out sets; the search never sees held-out
       inputs. Every check on the arguments runs, and the exact program runs on every input,
       before any tuning starts.
    2. ``strategy``: ``"tpe"`` (every site x setting alone first, dropping those that fail or
       exceed the bound alone; then Optuna's multivariate TPE, two objectives and the constraint
       loss <= bound, from configs an additive model predicts to fit; a model's roles searched as
       one are then refined layer by layer), ``"delta"`` (delta debugging for a maximal set of
       sites to lower, then only the lowerings that pay), ``"random"`` (configs drawn uniformly:
       the baseline a strategy should beat) or ``"exhaustive"`` (every combination once, as far
       as the trials go). The study lives in ``storage``, so an interrupted run resumes.
    3. The Pareto front within the bound, in order of tuning loss, is measured on the held-out
       inputs (in a seeded random order) and certified by fixed-sequence testing: a config is
       dropped as soon as its anytime confidence sequence shows it cannot hold, and none after
       the first that does not hold is measured. The figures a certificate prints are corrected
       for every config of the front (Bonferroni), so they stay true for the one chosen.
       ``best`` is the certified config whose speed is certified above the alternatives' by
       ``min_gain`` (below), or the exact program.

    With a tail asked, the search holds each config to at most a share 1 - q of tuning inputs
    above ``bound`` (and no failure); a mean bound asked beside it is checked on the held-out
    inputs only.

    Every speedup is the median of paired ratios with a 90% interval (each limit a 95% bound;
    held-out timing uses at least 5 repetitions, the fewest that give one). A config is
    preferred to the exact program only when its held-out lower limit is at least
    ``1 + min_gain``, and to a slower certified config only when its lower limit beats that
    one's speedup by ``min_gain`` (default 5%): a noise-level change is never shipped. Configs
    entering the front and the contenders for best are timed again first, so one lucky timing
    cannot decide (``search.front``, ``search.choice``).

    ``exclude`` names site ids or glob patterns (``["*/reduce#*"]``) whose sites the search
    leaves exact, after ``families`` and ``select`` have chosen; a pattern that matches no site
    is fine (it can only leave the search larger), a non-string entry is refused.

    ``families`` defaults to those a run tunes by default (perforation and precision);
    substitution is asked for by name, as fitting surrogates costs seconds each; ``calls`` names
    further functions whose calls may be substituted (see ``ax.sites``). ``grouping="flow"`` (a
    program's default) tunes float variables linked by data flow as one site; ``"blocks"`` (a
    model's default) tunes the layer at the same place in repeated blocks as one; ``"none"``
    tunes each alone. ``loss_cap`` caps each input's loss (a failure counts as the cap), so small
    bounds certify from far fewer held-out inputs; the certificate then speaks of the capped
    losses and says so. ``repair`` (models): fine-tune each variant for that many steps towards
    the exact model's outputs on the tuning inputs (knowledge distillation) before it is measured.
    ``isolation="process"`` (the default) runs every call of the user's code in forked children,
    so nothing a variant or the exact program does reaches this process; ``"none"`` runs it
    here (for code that cannot be forked, a CUDA context say). ``max_bytes`` (models): a variant
    whose stored tensors take more bytes than this is not chosen (the search holds it infeasible,
    as it does one that fails); every model config's size is recorded (``bytes``) and the summary
    prints the best's beside the exact model's.

    The certificate treats held-out inputs as independent draws (for a model: its samples, valid
    when batches hold a random choice of them). ``groups`` (one hashable label per input; for a
    model one sequence per batch, a label per sample) names inputs that are not: copies of one
    image, calls on one user's data. A group then stays on one side of the split (``holdout``
    counts groups), and the certificate is over held-out groups, each one loss (the mean of its
    members'), its n their number. Not ``grouping``, which is about sites.
    """
    started = time.perf_counter()
    target = Target(fn, modules=modules, calls=calls, isolation=isolation)
    request = check_request(
        target, inputs, quality=quality, bound=bound, confidence=confidence, families=families,
        select=select, budget=budget, storage=storage, study_name=study_name, holdout=holdout,
        seed=seed, cost=cost, repeats=repeats, timeout=timeout, max_certify=max_certify,
        loss_cap=loss_cap, repair=repair, strategy=strategy, grouping=grouping, progress=progress,
        quantile=quantile, mean_bound=mean_bound, groups=groups, min_gain=min_gain, max_bytes=max_bytes,
        exclude=exclude)
    parts = split(request, target)
    reference, sites = baseline(target, request, parts)
    fingerprint = target.fingerprint()  # of the code (or weights) measured, taken before tuning
    settings = _settings(request, target, parts, sites, fingerprint)
    tuned_sites, groups = group_sites(sites, request.grouping)
    tuner = Measurer(target, reference, parts.tuning, repeats=SEARCH_REPEATS, cost=request.cost,
                     timing_indices=timing_indices(target, reference, parts.tuning), groups=groups,
                     view=request.search_view(), max_bytes=request.max_bytes)
    heldout = evaluation_order(parts.heldout, request.seed)
    checker = Measurer(target, reference, heldout, repeats=max(request.repeats, repeats_for()),
                       cost=request.cost, timing_indices=timing_indices(target, reference, heldout),
                       max_bytes=request.max_bytes)
    strategy_ = STRATEGIES[request.strategy]()
    with studies.quiet_optuna(), Progress(enabled=request.progress) as bar:
        study = studies.open_study(request.storage, settings["study_name"],
                                   sampler=strategy_.sampler(request.seed), identity=settings)
        searched = strategy_.run(SearchRun(study, tuner, tuned_sites, request.search_bound, request.budget,
                                           bar, refined=groups if request.grouping == "blocks" else {}))
        exact = Candidate({}, "exact", tuner.figures({}))
        points = [exact, *searched.points]
        certified = settled_front(points, request.search_bound, request.max_certify, tuner)
        saved = certify_front(certified, checker, asked=request.claims, confidence=request.confidence,
                              metric=request.metric, bar=bar, groups=request.groups)
        runoff([c for c in certified if c.certified], checker, min_gain=request.min_gain)
    best, notes = choose(certified, exact, min_gain=request.min_gain)
    notes += above_one_notes(best, request.metric)
    shipped = [c.config for c in [best, *certified]]
    return Result(
        target=target.name, reference=target.reference, settings=settings, exact=exact,
        pareto=certified, best=best, sensitivity=[x.to_dict() for x in searched.singles],
        points=points,
        stats={
            "trials": searched.trials,
            "groups": {g: list(m) for g, m in groups.items()},
            "space_size": searched.space.size(),
            "evaluations": tuner.evaluations + checker.evaluations,
            # held-out losses not measured: configs dropped early, and those after the first
            # that did not hold (out of every front config on every held-out input)
            "heldout_saved": saved,
            "heldout_total": reference.units(heldout) * len(certified),
            "sensitivity_measured": searched.sensitivity_measured,  # not those a resumed study had
            "refined": sum(1 for p in points if p.origin == "refine"),
            "wall_seconds": time.perf_counter() - started,
        },
        environment=environment(), notes=notes, effects=measure_effects(best.config, groups, tuner),
        skipped=[dataclasses.asdict(entry) for entry in target.skipped],
        fits=target.saved_fits(shipped), weights=target.saved_weights(shipped),
        fingerprint=fingerprint,
        _target_obj=fn, _modules=tuple(modules), _calls=target.calls, _followed=target.followed,
    )


def _settings(request: Request, target: Target, parts: Split, sites: list[Site],
              fingerprint: dict[str, Any]) -> dict[str, Any]:
    """What the result records of the request (and what names its study)."""
    cost = request.cost
    settings = {
        "quality": request.metric.name, "loss_cap": request.loss_cap, "bound": request.bound,
        "confidence": request.confidence, "seed": request.seed,
        "budget": {"trials": request.budget.trials, "seconds": request.budget.seconds},
        "inputs": len(request.items), "tuning": len(parts.tuning), "heldout": len(parts.heldout),
        "sites": [s.id for s in sites],
        "cost": cost if isinstance(cost, str) else getattr(cost, "__name__", "callable"),
        "repeats": request.repeats, "storage": request.storage, "strategy": request.strategy,
        "grouping": request.grouping,
        "calls": [getattr(c, "__qualname__", repr(c)) for c in target.calls], "repair": request.repair,
        # what a study is keyed on besides these: the inputs' content and the target's code or
        # weights, so a rerun on other inputs or another model measures anew
        "inputs_digest": digest(request.items),
        # groups= (absent without: the studies of calls without it keep their names)
        **({"sample_groups": request.groups.settings(parts.heldout)} if request.groups else {}),
        **({"max_bytes": request.max_bytes} if request.max_bytes is not None else {}),
    }
    if request.quantile is not None:  # a tail: the search sees other losses, so another study
        settings.update(quantile=request.quantile, mean_bound=request.mean_bound)
    settings["study_name"] = request.study_name or studies.study_name(
        target.name, json.dumps(fingerprint, sort_keys=True), settings)
    settings["min_gain"] = request.min_gain  # after the name: it changes the choice, not what is measured
    return settings
