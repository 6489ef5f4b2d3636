"""The first steps of ``approximate``: split the inputs, then run the exact program.

1. Split (seeded) into tuning and held-out inputs; the search never sees a held-out one. With
   ``groups=`` a group's inputs stay on one side (:mod:`.sample_groups`).
2. Baseline: the exact program's outputs (and its own failures) on every input, computed once;
   the families that find sites by running the program (float data, traced calls) profile the
   first tuning inputs; the sites to tune are selected.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._target import Target
from ..errors import InvalidArgument
from ..measure.runner import Reference
from ..measure.trial import check_proxy
from ..sites import Site
from .request import Request, check_enough_heldout

PROFILE_INPUTS = 20  # at most this many tuning inputs are run to find sites (float data, calls)


@dataclass(frozen=True)
class Split:
    tuning: list[int]
    heldout: list[int]


def split_indices(count: int, heldout: int, seed: int) -> tuple[list[int], list[int]]:
    """The tuning and held-out input indices for ``seed``: a seeded permutation, so a benchmark
    can evaluate baselines on exactly the inputs a result was certified on."""
    order = np.random.default_rng(seed).permutation(count)
    return sorted(int(i) for i in order[heldout:]), sorted(int(i) for i in order[:heldout])


def split(request: Request, target: Target) -> Split:
    """The seeded split; refused when the held-out side could never certify the bound."""
    if request.groups is None:
        tuning, heldout = split_indices(len(request.items), request.n_heldout, request.seed)
    else:
        tuning, heldout = request.groups.split(request.n_heldout, request.seed)
    check_enough_heldout(request, heldout, per_sample=target.per_sample)
    return Split(tuning, heldout)


def baseline(target: Target, request: Request, parts: Split) -> tuple[Reference, list[Site]]:
    """The exact program's reference outputs, and the sites to tune."""
    items = list(request.items)
    reference = target.exact_reference(items, request.metric, timeout=request.timeout)
    profiled = parts.tuning[:PROFILE_INPUTS]
    target.follow_calls([items[i] for i in profiled])  # what the source leaves open (Python)
    if target.needs_profile(request.families):
        reference.prepare(profiled)  # the exact program's own failures first
        target.profile([items[i] for i in profiled], families=request.families, tuning=True)
        if request.explicit_families:
            target.require_sites(request.families)
    sites = target.select(families=request.families, select=request.select, exclude=request.exclude)
    if not sites:
        raise InvalidArgument(
            f"{target.name} has no approximation sites"
            + (f" of families {sorted(request.families)}" if request.explicit_families else "")
            + (f" left by exclude={list(request.exclude)}" if request.exclude else "")
            + "; ax.sites(fn) lists what approxify finds (perforation needs a for loop)."
        )
    reference.prepare(parts.tuning + parts.heldout)  # exact failures and metric errors surface now
    if request.groups is not None:
        request.groups.check_units([reference.units([i]) for i in range(len(items))],
                                   metric=request.metric.name)
    if callable(request.cost):
        check_proxy(reference, request.cost, parts.tuning[:PROFILE_INPUTS])
    if request.repair:
        target.enable_repair([(reference.inputs.fresh(i)[0], reference.exact(i)) for i in parts.tuning],
                             steps=request.repair)
    return reference, sites
