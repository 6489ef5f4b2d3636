"""Measure configs on a fixed set of inputs: losses against the cached exact outputs, and speedup.

Each distinct config is measured once per set; asking again returns the figures already taken.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._target import Target
from ..config import Setting, config_key
from ..errors import InvalidConfig
from ..measure.cost import CostFunction
from ..measure.evaluation import Evaluation
from ..measure.model_cost import weight_bytes
from ..measure.runner import Reference
from ..measure.trial import Plan, retime, run_trial, unbuildable
from .groups import expand

TIMING_INPUTS = 16  # inputs timed per config; losses use every input
# a model's batches can take a tenth of a second each (a BERT): timing 16 of them, repeatedly,
# for every config would cost more than the search; fewer are timed, as many as this takes
MODEL_TIMING_SECONDS = 0.3
MIN_TIMING_INPUTS = 4


def timing_indices(target: Target, reference: Reference, indices: Sequence[int]) -> list[int]:
    """The inputs whose time is measured: the first :data:`TIMING_INPUTS`; for a model, only as
    many (at least :data:`MIN_TIMING_INPUTS`) as the exact model needs
    :data:`MODEL_TIMING_SECONDS` to run."""
    timed = list(indices[:TIMING_INPUTS])
    if not target.per_sample:
        return timed
    for count in range(MIN_TIMING_INPUTS, len(timed) + 1):
        if reference.exact_seconds(timed[:count]) >= MODEL_TIMING_SECONDS:
            return timed[:count]
    return timed


class Measurer:
    def __init__(
        self,
        target: Target,
        reference: Reference,
        indices: Sequence[int],
        *,
        timing_indices: Sequence[int],
        repeats: int,
        cost: str | CostFunction,
        groups: Mapping[str, Sequence[str]] | None = None,
        view: Callable[[np.ndarray], np.ndarray] | None = None,
        max_bytes: float | None = None,
    ) -> None:
        self.target = target
        self.reference = reference
        self.indices = list(indices)
        self.timing_indices = list(timing_indices)
        self.repeats = repeats
        self.cost = cost
        self.groups = dict(groups or {})
        # what the search sees of the losses: themselves, or (a tail asked) which exceed the bound
        self.view = view
        self.max_bytes = max_bytes  # a model variant above it is infeasible (``oversize``)
        self.evaluations = 0  # configs actually run (cache hits excluded)
        self._cache: dict[str, dict[str, Any]] = {}

    def expand(self, config: Mapping[str, Setting]) -> dict[str, Setting]:
        """The config with tuned groups replaced by their member sites."""
        return expand(config, self.groups)

    def remember(self, config: Mapping[str, Setting], figures: dict[str, Any]) -> None:
        """Figures measured earlier (a resumed study) count as measured."""
        self._cache[config_key(self.expand(config))] = figures

    def figures(self, config: Mapping[str, Setting]) -> dict[str, Any]:
        """``Evaluation.summary()`` of ``config`` on these inputs, measured at most once."""
        key = config_key(self.expand(config))
        if key not in self._cache:
            evaluation = self.evaluate(config)
            figures = evaluation.summary()
            if self.view is not None:
                figures["search_loss"] = float(self.view(evaluation.losses).mean()) if evaluation.n else math.nan
            if self.max_bytes is not None and figures.get("bytes") is not None:
                figures["oversize"] = figures["bytes"] > self.max_bytes
            self._cache[key] = figures
        return self._cache[key]

    def known(self, config: Mapping[str, Setting]) -> dict[str, Any] | None:
        """Figures of ``config`` if it was measured already (nothing is run)."""
        return self._cache.get(config_key(self.expand(config)))

    def evaluate(self, config: Mapping[str, Setting], *,
                 stop: Callable[[np.ndarray], bool] | None = None) -> Evaluation:
        """``config`` measured now (see :func:`approxify.measure.trial.run_trial`); ``stop``:
        asked with the losses after each input, True drops the config there."""
        self.evaluations += 1
        config = self.expand(config)
        try:  # rewriting (and fitting) runs no user code: here, so fits are kept for the next
            program = self.target.rewrite(config)
        except InvalidConfig as exc:  # settings that cannot combine (a rank the pruning removed)
            return unbuildable(self.reference, self.indices, "invalid", str(exc), dict(config))
        return run_trial(self.reference, program.build, dataclasses.replace(self._plan(), stop=stop),
                         counters=self.target.counters, config=dict(config))

    def retime(self, config: Mapping[str, Setting], *, repeats: int):
        """``config``'s speedup and timing again, with ``repeats`` paired repetitions (measured
        cost only; a proxy cost gives the same figure every time)."""
        program = self.target.rewrite(self.expand(config))
        return retime(self.reference, program.build, self._plan(repeats))

    def _plan(self, repeats: int | None = None) -> Plan:
        return Plan(self.indices, self.timing_indices, repeats or self.repeats, self.cost,
                    first_call_compiles=self.target.program.jitted,
                    size=weight_bytes if self.target.has_weights else None)
