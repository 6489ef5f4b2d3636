"""Certification on held-out inputs.

The front's configs are measured on the held-out inputs and certified by fixed-sequence testing
(family-wise confidence kept without a Bonferroni penalty), each dropped as soon as it cannot
hold, and none measured after the first that does not; :mod:`.choice` then picks the best.
"""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from ..measure.quality import Quality
from ..report.result import Candidate
from ..stats import Claims, certificate_method, certify_many, dropped, dropped_certificate
from .measurer import Measurer
from .progress import Progress
from .sample_groups import SampleGroups


def certify_front(front: list[Candidate], checker: Measurer, *, asked: Claims, confidence: float,
                  metric: Quality, bar: Progress, groups: SampleGroups | None = None) -> int:
    """Measure ``front`` on the held-out inputs, in its fixed order, and certify it; returns how
    many held-out losses were not measured.

    Fixed-sequence testing: the first config that does not hold ends the sequence, so the
    configs after it are not measured at all (nothing could be certified of them). Each config's
    held-out inputs come in a seeded random order (the checker's), and it is dropped as soon as
    its anytime confidence sequence shows it cannot hold (:func:`approxify.stats.dropped`); a
    certified config has used every held-out input. The figures each certificate prints are
    corrected for the whole front (``family``), so they stay true for whichever is chosen.

    With ``groups``, certification is over the held-out groups (one loss each, see
    :mod:`.sample_groups`), and no config is dropped early: inputs of one group are not
    independent, so watching them one by one would not be the test it is for independent ones."""
    bar.start("certify", total=len(front))
    binary = metric.binary and (groups is None or groups.singletons)  # a group's mean is not 0/1
    method = certificate_method(binary)
    unit = "groups" if groups is not None else "samples" if metric.per_sample else "inputs"
    every = checker.reference.units(checker.indices)
    stop = None if groups is not None else functools.partial(
        dropped, asked=asked, confidence=confidence, cap=metric.cap)
    saved = 0
    for position, candidate in enumerate(front):
        evaluation = checker.evaluate(candidate.config, stop=stop)
        if groups is not None:
            evaluation = groups.pool(evaluation, checker.indices, cap=metric.cap)
        candidate.heldout = evaluation.summary()
        bar.advance("certify")
        if evaluation.stopped_after is not None:
            candidate.certificate = dropped_certificate(
                evaluation.losses, asked, confidence=confidence, method=method,
                failures=evaluation.failure_count, cap=metric.cap, family=len(front), unit=unit)
            saved += every - evaluation.n
        else:
            [certificate] = certify_many(
                [evaluation.losses], **asked.arguments(), confidence=confidence, method=method,
                failures=[evaluation.failure_count], correction="fixed-sequence", cap=metric.cap,
                family=len(front))
            candidate.certificate = dataclasses.replace(certificate, unit=unit)
        if not candidate.certificate.holds:
            saved += every * (len(front) - position - 1)  # the rest: not tested, not measured
            return saved
        bar.note_certified(candidate.speedup)
    return saved


def evaluation_order(indices: list[int], seed: int) -> list[int]:
    """The held-out inputs in the seeded random order they are measured in: the anytime test
    watches the losses one by one, and needs them in an order that has nothing to do with the
    inputs' own (a user's inputs sorted by size would otherwise look like a drift)."""
    return [indices[i] for i in np.random.default_rng([seed, 1]).permutation(len(indices))]


def above_one_notes(best: Candidate, metric: Quality) -> list[str]:
    """Say so when the metric gave the best config's held-out losses above 1 (without
    ``loss_cap=``): each counted as 1, so its certificate bounds the mean of capped losses."""
    count = (best.heldout or {}).get("above_one", 0)
    if not count or best.certificate is None:
        return []
    return [f"quality {metric.name!r} returned losses above 1 for {count} held-out losses of the "
            "best config; each counts as 1, so the certificate bounds the mean of losses capped at "
            "1. Normalise the metric to [0, 1], or pass loss_cap=1 to cap them by choice."]
