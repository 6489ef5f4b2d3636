"""Confidence bounds and certificates for losses in [0, 1] (pure functions, no state).

`bounds` gives one-sided upper bounds on a mean loss and the sample size a bound needs;
`certificate` turns held-out losses into a `Certificate` for one configuration or many.
"""

from __future__ import annotations

from approxify.stats.bounds import (
    bernstein_upper,
    certificate_method,
    clopper_pearson_lower,
    clopper_pearson_upper,
    hoeffding_upper,
    mean_upper_bound,
    min_samples,
)
from approxify.stats.certificate import Certificate, certify, certify_many, uncapped

__all__ = [
    "Certificate",
    "bernstein_upper",
    "certificate_method",
    "certify",
    "certify_many",
    "clopper_pearson_lower",
    "clopper_pearson_upper",
    "hoeffding_upper",
    "mean_upper_bound",
    "min_samples",
    "uncapped",
]
