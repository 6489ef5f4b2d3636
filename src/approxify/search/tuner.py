"""``approximate``: split, measure the exact program, profile each site, search, certify.

1. Inputs are split (seeded) into tuning and held-out sets; the search never sees held-out inputs.
2. Sensitivity: every site x setting alone on the tuning inputs. Settings that fail or exceed the
   bound alone are dropped (criticality testing, as in the loop-perforation literature).
3. Search: Optuna, two objectives (speedup up, mean loss down) and the constraint loss <= bound,
   started from configs an additive model predicts to fit. The study lives in ``storage`` so an
   interrupted run resumes where it stopped. A model's roles searched as one (``grouping=
   "blocks"``) are then refined layer by layer from the best config (:mod:`.refine`).
4. Certification: the Pareto front's configs that fit the bound, in order of tuning loss, are
   measured on held-out inputs and certified by fixed-sequence testing (family-wise confidence
   kept without a Bonferroni penalty). ``best`` is the fastest certified one; certified configs
   within 10% of the fastest are timed again with three times the repetitions first (:func:`runoff`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .._target import Target
from ..config import Budget
from ..errors import InvalidArgument, InvalidArgumentType
from ..measure.cost import check_cost
from ..measure.quality import Quality, get_quality, with_cap
from ..measure.runner import Reference
from ..report.environment import environment
from ..report.result import Candidate, Result
from ..sites import Site
from ..stats import certify_many, uncapped
from . import study as studies
from .checks import certificate_method, check_enough_heldout, check_probability, holdout_count
from .delta import DeltaSearch
from .groups import check_grouping, group_sites
from .effects import measure_effects
from .measurer import Measurer
from .pareto import pareto_front
from .progress import Progress
from .refine import refine
from .space import SearchSpace, config_key

TIMING_INPUTS = 16  # inputs timed per config; losses use every tuning input
# certified configs within 10% of the fastest are timed again with 3x the repetitions before one
# is chosen: five paired ratios leave a few percent of noise, enough to pick the slower of two
RUNOFF_SHARE, RUNOFF_REPEATS = 0.10, 3
# tuning speedups closer than this share count as equal when configs are picked for certifying
FRONT_NOISE = 0.10
# a model's batches can take a tenth of a second each (a BERT): timing 16 of them, repeatedly,
# for every config would cost more than the search; fewer are timed, as many as this takes
MODEL_TIMING_SECONDS = 0.3
MIN_TIMING_INPUTS = 4
SEARCH_REPEATS = 3  # timing repetitions during search; certification uses ``repeats``
PROFILE_INPUTS = 20  # at most this many tuning inputs are run to find sites (float data, calls)
# a model's layer setting that saves less than this alone is left out of the search: layers cost
# independently (unlike a program's float variables, whose casts pay only together), and a
# setting that is not cheaper alone (float16 on a CPU without it, int8 on a tiny layer,
# magnitude pruning with dense kernels under cost="time") only adds loss to a combination
MODEL_PAYOFF = 1.02
STRATEGIES = ("tpe", "delta", "random", "exhaustive")
# substitution is asked for by name: fitting surrogates (networks especially) costs seconds per
# site and setting, which a default run should not spend where loops and floats already pay
DEFAULT_FAMILIES = ("perforate", "precision")


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
) -> Result:
    """Find the fastest config of ``fn`` whose mean loss is certified <= ``bound``.

    See :mod:`approxify.search.tuner` for the steps. Every check on the arguments runs (and the
    exact program runs on every input) before any tuning starts.

    ``families`` defaults to perforation and precision; substitution is asked for by name
    (``families=["substitute"]`` or with the others), as fitting surrogates costs seconds each;
    ``calls`` names further functions whose calls may be substituted (see ``ax.sites``).
    ``strategy``: ``"tpe"`` (sensitivity pass, then Optuna's TPE), ``"delta"`` (delta debugging
    for a maximal set of sites to lower, then only the lowerings that pay; see
    :mod:`approxify.search.delta`), ``"random"`` (configs drawn uniformly from every site's
    settings, no sensitivity pass: the baseline a search strategy should beat) or
    ``"exhaustive"`` (every combination of those settings once, as far as the trials go: the
    optimum of a small space).
    ``grouping="flow"`` (a program's default) tunes float variables linked by data flow as one
    site; ``"blocks"`` (a model's default) tunes the layer at the same place in repeated blocks as
    one; ``"none"`` tunes each alone. ``loss_cap`` caps each input's loss (a failure counts as the
    cap), so small bounds certify from far fewer held-out inputs; the certificate then speaks of
    the capped losses and says so. ``repair`` (models): fine-tune
    each variant for that many steps towards the exact model's outputs on the tuning inputs
    (knowledge distillation, see :mod:`approxify.search.repair`) before it is measured.
    """
    started = time.perf_counter()
    target = Target(fn, modules=modules, calls=calls)
    bound = check_probability("bound", bound, example="0.05")
    metric = with_cap(get_quality(quality, per_sample=target.per_sample), loss_cap, bound=bound)
    items = target.inputs(inputs, labeled=metric.needs_labels)
    confidence = check_probability("confidence", confidence, example="0.95")
    budget = budget if budget is not None else Budget()
    if not isinstance(budget, Budget):
        raise InvalidArgumentType(f"budget= expects ax.Budget(trials=...), got {budget!r}.")
    cost = check_cost(cost, model=target.per_sample)
    if strategy not in STRATEGIES:
        raise InvalidArgument(
            f"strategy= expects one of {', '.join(STRATEGIES)}, got {strategy!r}; 'tpe' searches "
            "combinations with Optuna, 'delta' finds a maximal set of sites to lower, 'random' "
            "samples configs uniformly (a baseline), 'exhaustive' measures every config (small spaces)."
        )
    grouping = check_grouping(grouping, model=target.per_sample)
    repairing = check_repair(repair, target)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise InvalidArgumentType(f"seed= expects an int, got {seed!r}.")
    n_heldout = holdout_count(holdout, len(items))
    tuning_idx, heldout_idx = split_indices(len(items), n_heldout, seed)
    units = [target.units_of(item) for item in items]  # losses per input: samples, for a model
    check_enough_heldout(n_heldout=sum(units[i] for i in heldout_idx), n_inputs=sum(units),
                         holdout=holdout, bound=bound, confidence=confidence, binary=metric.binary,
                         cap=metric.cap, unit="samples" if target.per_sample else "inputs")
    reference = Reference(target.exact(), items, metric, timeout=timeout, name=target.name)
    explicit = families is not None
    wanted = [families] if isinstance(families, str) else list(families or DEFAULT_FAMILIES)
    if {"precision", "substitute"} & set(wanted):
        reference.prepare(tuning_idx[:PROFILE_INPUTS])  # the exact program's own failures first
        target.profile([items[i] for i in tuning_idx[:PROFILE_INPUTS]], families=wanted, tuning=True)
        if explicit and "precision" in wanted:
            target.require_float_sites()
    sites = target.select(families=wanted, select=select)
    if not sites:
        raise InvalidArgument(
            f"{target.name} has no approximation sites"
            + (f" of families {sorted(wanted)}" if explicit else "")
            + "; ax.sites(fn) lists what approxify finds (perforation needs a for loop)."
        )

    reference.prepare(tuning_idx + heldout_idx)  # exact failures and metric errors surface now
    if repairing:
        target.enable_repair([(reference.inputs.fresh(i)[0], reference.exact(i)) for i in tuning_idx],
                             steps=repair)

    settings = {
        "quality": metric.name, "loss_cap": loss_cap, "bound": bound, "confidence": confidence,
        "seed": seed,
        "budget": {"trials": budget.trials, "seconds": budget.seconds},
        "inputs": len(items), "tuning": len(tuning_idx), "heldout": len(heldout_idx),
        "sites": [s.id for s in sites], "cost": cost if isinstance(cost, str) else getattr(cost, "__name__", "callable"),
        "repeats": repeats, "storage": storage, "strategy": strategy, "grouping": grouping,
        "calls": [getattr(c, "__qualname__", repr(c)) for c in target.calls], "repair": repair,
    }
    name = study_name or _study_name(target, settings)
    settings["study_name"] = name
    tuned_sites, groups = group_sites(sites, grouping)
    tuner = Measurer(target, reference, tuning_idx, timing_indices=_timed(target, reference, tuning_idx),
                     repeats=SEARCH_REPEATS, cost=cost, groups=groups)
    with studies.quiet_optuna(), Progress(enabled=progress) as bar:
        study = studies.open_study(storage, name, seed=seed, strategy=strategy)
        singles, sensitivity_measured, space, points = _search(
            strategy, study, tuner, tuned_sites, bound=bound, budget=budget, bar=bar,
            refined=groups if grouping == "blocks" else {})
        exact = Candidate({}, "exact", tuner.figures({}))
        points = [exact, *points]
        checker = Measurer(target, reference, heldout_idx,
                           timing_indices=_timed(target, reference, heldout_idx), repeats=repeats,
                           cost=cost)
        front = _front(points, bound, max_certify)
        _certify(front, checker, bound=bound, confidence=confidence, metric=metric, bar=bar)
        runoff([c for c in front if c.certified], checker)
    best, notes = _choose(front, exact)
    effects = measure_effects(best.config, groups, tuner)
    return Result(
        target=target.name,
        reference=target.reference,
        settings=settings,
        exact=exact,
        pareto=front,
        best=best,
        sensitivity=[x.to_dict() for x in singles],
        points=points,
        stats={
            "trials": studies.completed_search_trials(study) if strategy != "delta"
            else sum(1 for p in points if p.origin == "delta"),
            "groups": {g: list(m) for g, m in groups.items()},
            "space_size": space.size(),
            "evaluations": tuner.evaluations + checker.evaluations,
            "sensitivity_measured": sensitivity_measured,  # not counting those a resumed study had
            "refined": sum(1 for p in points if p.origin == "refine"),
            "wall_seconds": time.perf_counter() - started,
        },
        environment=environment(),
        notes=notes,
        effects=effects,
        fits=saved_fits(target, [best, *front]),
        weights=repaired_weights(target, [best, *front]),
        _target_obj=fn,
        _modules=tuple(modules),
        _calls=target.calls,
    )


def split_indices(count: int, heldout: int, seed: int) -> tuple[list[int], list[int]]:
    """The tuning and held-out input indices for ``seed``: a seeded permutation, so a benchmark
    can evaluate baselines on exactly the inputs a result was certified on."""
    order = np.random.default_rng(seed).permutation(count)
    return sorted(int(i) for i in order[heldout:]), sorted(int(i) for i in order[:heldout])


def _timed(target: Target, reference: Reference, indices: list[int]) -> list[int]:
    """The inputs whose time is measured: the first :data:`TIMING_INPUTS`; for a model, only as
    many (at least :data:`MIN_TIMING_INPUTS`) as the exact model needs
    :data:`MODEL_TIMING_SECONDS` to run."""
    timed = indices[:TIMING_INPUTS]
    if not target.per_sample:
        return timed
    for count in range(MIN_TIMING_INPUTS, len(timed) + 1):
        if reference.exact_seconds(timed[:count]) >= MODEL_TIMING_SECONDS:
            return timed[:count]
    return timed


def check_repair(repair: Any, target: Target) -> bool:
    if isinstance(repair, bool) or not isinstance(repair, int) or repair < 0:
        raise InvalidArgumentType(f"repair= expects a number of fine-tuning steps >= 0, got {repair!r}.")
    if repair and not target.per_sample:
        raise InvalidArgument("repair= fine-tunes a model's variants; a Python function has no weights.")
    return repair > 0


def repaired_weights(target: Target, candidates: Sequence[Candidate]) -> dict[str, Any]:
    """The repaired weights of these configs (models with ``repair=``), saved beside the result."""
    if not target.repaired:
        return {}
    keys = {config_key({k: v for k, v in c.config.items() if v.family != "precision"})
            for c in candidates if not c.is_exact}
    return {k: v for k, v in target.repaired.items() if k in keys}


def saved_fits(target: Target, candidates: Sequence[Candidate]) -> dict[str, Any]:
    """The fitted surrogates and activation ranges these configs use, as JSON, so a loaded
    result needs no traces."""
    from ..config import Precision, Substitute
    from ..transforms.precision.torch_smoothing import range_key
    from ..transforms.substitute.fitting import fit_key

    fits: dict[str, Any] = {}
    cache = target.program.fits  # call-site surrogates, a model's block surrogates, layer ranges
    for candidate in candidates:
        for site, setting in candidate.config.items():
            key = None
            if isinstance(setting, Substitute) and setting.kind not in ("exact", "alternative"):
                key = fit_key(site, setting)
            elif isinstance(setting, Precision) and setting.smoothing is not None:
                key = range_key(site)
            if key in cache:
                fits[key] = cache[key].to_dict()
    return fits


def _study_name(target: Target, settings: dict[str, Any]) -> str:
    """Same target source, inputs split and settings -> same study, so a rerun resumes."""
    text = target.program.source() + json.dumps(
        {k: v for k, v in settings.items() if k != "storage"}, sort_keys=True, default=str
    )
    return f"approxify-{target.name}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


def _search(strategy: str, study, tuner: Measurer, sites: list[Site], *, bound: float,
            budget: Budget, bar: Progress, refined: dict[str, list[str]]):
    """Run ``strategy``. Returns the sensitivity records (tpe only), how many of them were
    measured in this run (a resumed study has the others), the space, every config measured.
    tpe then refines the ``refined`` groups member by member (:mod:`.refine`)."""
    if strategy == "delta":
        studies.remember_measured(study, tuner)
        points = DeltaSearch(tuner, sites, bound=bound, trials=budget.trials, bar=bar,
                             store=lambda c, f: studies.store_measured(study, c, f)).run()
        return [], 0, SearchSpace(sites, {s.id: s.knob.choices for s in sites}), points
    if strategy in ("random", "exhaustive"):  # every setting of every site, no sensitivity pass
        space = SearchSpace(sites, {s.id: s.knob.choices for s in sites})
        return [], 0, space, studies.search(study, tuner, space, [], bound=bound, budget=budget, bar=bar)
    payoff = MODEL_PAYOFF if tuner.target.per_sample else None
    singles = _sensitivity(study, tuner, sites, bound, bar, payoff=payoff)
    measured = tuner.evaluations
    space = SearchSpace(sites, {s: [x.setting for x in singles if x.site == s and x.kept]
                                for s in {x.site for x in singles}})
    points = studies.search(study, tuner, space, singles, bound=bound, budget=budget, bar=bar)
    if refined:
        studies.remember_measured(study, tuner)
        points += refine(tuner, points, singles, refined, bound=bound, bar=bar,
                         store=lambda c, f: studies.store_measured(study, c, f))
    return singles, measured, space, points


def _sensitivity(study, tuner: Measurer, sites, bound: float, bar: Progress, *,
                 payoff: float | None) -> list[studies.Sensitivity]:
    """Each site x setting alone; results are stored in the study as they come (resumable)."""
    jobs = [(site, setting) for site in sites for setting in site.knob.choices]
    done = studies.stored_sensitivity(study)
    bar.start("sensitivity", total=len(jobs))
    results = []
    for site, setting in jobs:
        key = studies.sensitivity_key(site.id, setting)
        figures = done.get(key)
        if figures is None:
            figures = tuner.figures({site.id: setting})
            studies.store_sensitivity(study, key, figures)
        else:
            tuner.remember({site.id: setting}, figures)
        results.append(studies.Sensitivity.judge(site.id, setting, figures, bound, payoff=payoff))
        bar.advance("sensitivity")
    return results


def _front(points: list[Candidate], bound: float, limit: int) -> list[Candidate]:
    """Configs to certify: the tuning Pareto front within the bound, faster than exact.

    Ordered by tuning loss (safest first), the order fixed-sequence testing needs; when the
    front is longer than ``limit``, an even spread of it is kept. Chosen from tuning data only.
    Search timings are noisy (:data:`SEARCH_REPEATS` ratios on a few inputs), so a front shorter
    than ``limit`` is topped up with the fastest configs it dominates by less than
    :data:`FRONT_NOISE` (as accurate, and not measurably slower): held-out timing and the runoff
    then decide between them, instead of one lucky tuning figure.
    """
    feasible = [p for p in points if not p.is_exact and p.tuning["mean_loss"] <= bound]
    indices = pareto_front([(p.tuning["speedup"], p.tuning["mean_loss"]) for p in feasible])
    front = [feasible[i] for i in indices if feasible[i].tuning["speedup"] > 1.0]
    if len(front) > limit:
        keep = np.unique(np.linspace(0, len(front) - 1, limit).round().astype(int))
        return [front[i] for i in keep]
    chosen = {id(p) for p in front}
    close = sorted((p for p in feasible if id(p) not in chosen and _within_noise(p, feasible)),
                   key=lambda p: -p.tuning["speedup"])
    front += close[: limit - len(front)]
    return sorted(front, key=lambda p: (p.tuning["mean_loss"], -p.tuning["speedup"]))


def _within_noise(point: Candidate, others: list[Candidate]) -> bool:
    """Whether no config is as accurate as ``point`` and faster by more than the noise, and
    ``point`` is not measured slower than exact by more than it."""
    speedup, loss = point.tuning["speedup"], point.tuning["mean_loss"]
    return speedup * (1 + FRONT_NOISE) > 1.0 and not any(
        o.tuning["mean_loss"] <= loss and o.tuning["speedup"] > speedup * (1 + FRONT_NOISE) for o in others)


def _certify(front: list[Candidate], checker: Measurer, *, bound: float, confidence: float,
             metric: Quality, bar: Progress) -> None:
    bar.start("certify", total=len(front))
    evaluations = []
    for candidate in front:
        evaluation = checker.evaluate(candidate.config)
        candidate.heldout = evaluation.summary()
        evaluations.append(evaluation)
        bar.advance("certify")
    if not front:
        return
    cap = metric.cap  # certify losses / cap, which lie in [0, 1], then state them in their units
    certificates = certify_many(
        [e.losses / cap for e in evaluations], bound=bound / cap, confidence=confidence,
        method=certificate_method(metric.binary),
        failures=[e.failure_count for e in evaluations], correction="fixed-sequence",
    )
    certificates = [uncapped(c, cap=cap, bound=bound) for c in certificates]
    if metric.per_sample:  # a model's losses are per sample: say so in the statement
        certificates = [dataclasses.replace(c, unit="samples") for c in certificates]
    for candidate, certificate in zip(front, certificates):
        candidate.certificate = certificate
        if certificate.holds:
            bar.note_certified(candidate.speedup)


def runoff(certified: list[Candidate], checker: Measurer) -> None:
    """Time the certified configs within :data:`RUNOFF_SHARE` of the fastest again, side by
    side, with :data:`RUNOFF_REPEATS` times the repetitions; their held-out speedups become
    these figures (``heldout["runoff"]``), which the choice of the best then reads."""
    if callable(checker.cost) or not certified:
        return
    fastest = max(c.speedup for c in certified)
    close = [c for c in certified if c.speedup >= fastest * (1 - RUNOFF_SHARE)]
    if len(close) < 2:
        return
    for candidate in close:
        speedup, timing = checker.retime(candidate.config, repeats=checker.repeats * RUNOFF_REPEATS)
        candidate.heldout = {**candidate.heldout, "speedup": speedup, "timing": timing.to_dict(),
                             "runoff": True}


def _choose(front: list[Candidate], exact: Candidate) -> tuple[Candidate, list[str]]:
    certified = [c for c in front if c.certified]
    if not certified:
        return exact, [
            "No configuration was certified on the held-out inputs; best is the exact program."
        ]
    best = max(certified, key=lambda c: c.speedup)
    if best.speedup <= 1.0:
        return exact, [
            f"Certified configurations were not faster on held-out inputs (best {best.speedup:.2f}x); "
            "best is the exact program."
        ]
    return best, []
