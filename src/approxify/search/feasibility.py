"""The one rule for "this config fits the bound", used by every step that asks it.

A config is feasible when its mean loss on the inputs measured is at most the bound **and it
failed on none of them**. Why failures count twice: in the mean a failure (an exception, NaN,
a timeout) weighs only the loss cap, so a variant that crashes on 1 input in 50 could fit a 5%
bound on its losses alone, and ship a program that crashes. The search keeps such configs out;
the certificate still bounds the failure rate of the config it ships on held-out inputs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def searched_loss(figures: Mapping[str, Any]) -> float:
    """The loss the search holds to the bound: the mean loss, or with a tail asked the share of
    inputs whose loss exceeds the tail's bound (``search_loss``, kept beside the mean loss so
    that what is printed as a loss stays one)."""
    return float(figures.get("search_loss", figures["mean_loss"]))


def violation(figures: Mapping[str, Any], bound: float) -> float:
    """How far ``figures`` are from feasible: <= 0 exactly when feasible (Optuna's constraint
    convention). Each failure adds 1, more than any loss within [0, 1] can make up for, and so
    does a model variant larger than ``max_bytes=`` (``oversize``, set where it was measured)."""
    return searched_loss(figures) - bound + int(figures["failures"]) + int(bool(figures.get("oversize")))


def feasible(figures: Mapping[str, Any], bound: float) -> bool:
    return violation(figures, bound) <= 0
