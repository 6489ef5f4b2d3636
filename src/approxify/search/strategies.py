"""Search strategies, by name: what ``strategy=`` of ``approximate`` picks.

Each strategy gives the Optuna sampler of its study and runs its search over the tuned sites,
returning every config it measured. Adding one is a class here and a line in :data:`STRATEGIES`.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..config import Budget
from ..report.result import Candidate
from ..sites import Site
from . import study as studies
from .delta import DeltaSearch
from .measurer import Measurer
from .progress import Progress
from .refine import refine
from .sensitivity import measure_sensitivity
from .space import SearchSpace


@dataclass
class SearchRun:
    """What a strategy searches with: the study, the tuning-input measurer, the tuned sites."""

    study: Any
    measurer: Measurer
    sites: list[Site]
    bound: float
    budget: Budget
    bar: Progress
    refined: dict[str, list[str]] = field(default_factory=dict)  # groups refined member by member


@dataclass
class Searched:
    """What a search found: every config measured, and how."""

    points: list[Candidate]
    space: SearchSpace
    trials: int  # search trials completed (a resumed study's included)
    singles: list[studies.Sensitivity] = field(default_factory=list)  # the sensitivity pass, if any
    sensitivity_measured: int = 0  # of those, measured in this run


class Strategy(ABC):
    name: ClassVar[str]

    @abstractmethod
    def sampler(self, seed: int) -> Any:
        """The Optuna sampler of this strategy's study."""

    @abstractmethod
    def run(self, run: SearchRun) -> Searched:
        ...


def _full_space(sites: Sequence[Site]) -> SearchSpace:
    return SearchSpace(sites, {s.id: s.knob.choices for s in sites})


class Tpe(Strategy):
    """A sensitivity pass, then Optuna's multivariate TPE from configs an additive model
    predicts to fit; a model's roles searched as one are then refined layer by layer."""

    name = "tpe"

    def sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.TPESampler(seed=seed, multivariate=True, n_startup_trials=8)

    def run(self, run: SearchRun) -> Searched:
        singles = measure_sensitivity(run.study, run.measurer, run.sites, run.bound, run.bar)
        measured = run.measurer.evaluations
        space = SearchSpace(run.sites, {s: [x.setting for x in singles if x.site == s and x.kept]
                                        for s in {x.site for x in singles}})
        points = studies.search(run.study, run.measurer, space, singles, bound=run.bound,
                                budget=run.budget, bar=run.bar)
        if run.refined:
            studies.remember_measured(run.study, run.measurer)
            points += refine(run.measurer, points, singles, run.refined, bound=run.bound, bar=run.bar,
                             store=lambda c, f: studies.store_measured(run.study, c, f))
        return Searched(points, space, studies.completed_search_trials(run.study), singles, measured)


class Uniform(Strategy):
    """Configs drawn from every setting of every site, no sensitivity pass."""

    def run(self, run: SearchRun) -> Searched:
        space = _full_space(run.sites)
        points = studies.search(run.study, run.measurer, space, [], bound=run.bound,
                                budget=run.budget, bar=run.bar)
        return Searched(points, space, studies.completed_search_trials(run.study))


class Random(Uniform):
    """Configs drawn uniformly: the baseline a search strategy should beat."""

    name = "random"

    def sampler(self, seed: int) -> Any:
        import optuna

        return optuna.samplers.RandomSampler(seed=seed)


class Exhaustive(Uniform):
    """Every combination once, as far as the trials go (the study stops itself): the optimum
    of a small space."""

    name = "exhaustive"

    def sampler(self, seed: int) -> Any:
        import optuna

        with warnings.catch_warnings():  # "experimental" since optuna 3.1, and stable in use
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.BruteForceSampler(seed=seed)


class Delta(Tpe):
    """Delta debugging for a maximal set of sites to lower, then only the lowerings that pay
    (Precimonious; :mod:`.delta`). Its measurements are kept in the study's attributes."""

    name = "delta"

    def run(self, run: SearchRun) -> Searched:
        studies.remember_measured(run.study, run.measurer)
        points = DeltaSearch(run.measurer, run.sites, bound=run.bound, trials=run.budget.trials,
                             bar=run.bar,
                             store=lambda c, f: studies.store_measured(run.study, c, f)).run()
        return Searched(points, _full_space(run.sites), sum(1 for p in points if p.origin == "delta"))


STRATEGIES: dict[str, type[Strategy]] = {s.name: s for s in (Tpe, Delta, Random, Exhaustive)}
