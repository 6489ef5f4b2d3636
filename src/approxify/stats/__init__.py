"""Confidence bounds and certificates for losses in [0, 1] (pure functions, no state).

`bounds` gives one-sided upper bounds on a mean loss and the sample size a bound needs;
`certificate` turns held-out losses into a `Certificate` for one configuration or many.
"""

from __future__ import annotations

from approxify.stats.bounds import (
    bernstein_upper,
    betting_upper,
    certificate_method,
    clopper_pearson_lower,
    clopper_pearson_upper,
    hoeffding_upper,
    mean_upper_bound,
    min_samples,
)
from approxify.stats.certificate import (
    Certificate,
    Claims,
    certify,
    certify_many,
    claims,
    dropped,
    dropped_certificate,
    needed_losses,
    tail_min_samples,
    uncapped,
)

__all__ = [
    "Certificate",
    "Claims",
    "claims",
    "dropped",
    "dropped_certificate",
    "needed_losses",
    "tail_min_samples",
    "bernstein_upper",
    "betting_upper",
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
