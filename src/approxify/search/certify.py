"""Certification on held-out inputs.

The front's configs are measured on the held-out inputs and certified by fixed-sequence testing
(family-wise confidence kept without a Bonferroni penalty); :mod:`.choice` then picks the best.
"""

from __future__ import annotations

import dataclasses

from ..measure.quality import Quality
from ..report.result import Candidate
from ..stats import certify_many, certificate_method
from .measurer import Measurer
from .progress import Progress


def certify_front(front: list[Candidate], checker: Measurer, *, bound: float, confidence: float,
                  metric: Quality, bar: Progress) -> None:
    """Measure ``front`` (in its fixed order) on the held-out inputs and certify it."""
    bar.start("certify", total=len(front))
    evaluations = []
    for candidate in front:
        evaluation = checker.evaluate(candidate.config)
        candidate.heldout = evaluation.summary()
        evaluations.append(evaluation)
        bar.advance("certify")
    if not front:
        return
    certificates = certify_many(
        [e.losses for e in evaluations], bound=bound, confidence=confidence,
        method=certificate_method(metric.binary), failures=[e.failure_count for e in evaluations],
        correction="fixed-sequence", cap=metric.cap,
    )
    if metric.per_sample:  # a model's losses are per sample: say so in the statement
        certificates = [dataclasses.replace(c, unit="samples") for c in certificates]
    for candidate, certificate in zip(front, certificates):
        candidate.certificate = certificate
        if certificate.holds:
            bar.note_certified(candidate.speedup)
