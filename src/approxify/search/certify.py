"""Certification on held-out inputs, and the choice of the best certified config.

The front's configs are measured on the held-out inputs and certified by fixed-sequence testing
(family-wise confidence kept without a Bonferroni penalty). ``best`` is the fastest certified
one; certified configs within :data:`RUNOFF_SHARE` of the fastest are timed again with
:data:`RUNOFF_REPEATS` times the repetitions first, so timing noise does not pick the slower of
two near-equal configs.
"""

from __future__ import annotations

import dataclasses

from ..measure.quality import Quality
from ..report.result import Candidate
from ..stats import certify_many, certificate_method
from .measurer import Measurer
from .progress import Progress
from .sample_groups import SampleGroups

RUNOFF_SHARE, RUNOFF_REPEATS = 0.10, 3


def certify_front(front: list[Candidate], checker: Measurer, *, bound: float, confidence: float,
                  metric: Quality, bar: Progress, groups: SampleGroups | None = None) -> None:
    """Measure ``front`` (in its fixed order) on the held-out inputs and certify it; with
    ``groups``, over the held-out groups (one loss each, see :mod:`.sample_groups`)."""
    bar.start("certify", total=len(front))
    evaluations = []
    for candidate in front:
        evaluation = checker.evaluate(candidate.config)
        if groups is not None:
            evaluation = groups.pool(evaluation, checker.indices, cap=metric.cap)
        candidate.heldout = evaluation.summary()
        evaluations.append(evaluation)
        bar.advance("certify")
    if not front:
        return
    binary = metric.binary and (groups is None or groups.singletons)  # a group's mean is not 0/1
    certificates = certify_many(
        [e.losses for e in evaluations], bound=bound, confidence=confidence,
        method=certificate_method(binary), failures=[e.failure_count for e in evaluations],
        correction="fixed-sequence", cap=metric.cap,
    )
    unit = "groups" if groups is not None else "samples" if metric.per_sample else None
    if unit is not None:  # a model's losses are per sample, or pooled per group: say so
        certificates = [dataclasses.replace(c, unit=unit) for c in certificates]
    for candidate, certificate in zip(front, certificates):
        candidate.certificate = certificate
        if certificate.holds:
            bar.note_certified(candidate.speedup)


def above_one_notes(best: Candidate, metric: Quality) -> list[str]:
    """Say so when the metric gave the best config's held-out losses above 1 (without
    ``loss_cap=``): each counted as 1, so its certificate bounds the mean of capped losses."""
    count = (best.heldout or {}).get("above_one", 0)
    if not count or best.certificate is None:
        return []
    return [f"quality {metric.name!r} returned losses above 1 for {count} held-out losses of the "
            "best config; each counts as 1, so the certificate bounds the mean of losses capped at "
            "1. Normalise the metric to [0, 1], or pass loss_cap=1 to cap them by choice."]


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


def choose(front: list[Candidate], exact: Candidate) -> tuple[Candidate, list[str]]:
    """The fastest certified config, or the exact program (with a note saying why)."""
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
