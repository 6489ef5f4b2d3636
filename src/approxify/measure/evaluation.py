"""Figures of one config on a set of inputs: losses, failures, and speedup."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..stats import certify
from .cost import Timing
from .runner import Failure


@dataclass(frozen=True)
class Evaluation:
    """What one config did on some inputs. ``losses[k]`` belongs to the k-th input evaluated."""

    losses: np.ndarray
    failures: tuple[Failure, ...]
    speedup: float | None = None
    timing: Timing | None = None
    config: dict = field(default_factory=dict)
    guards: dict = field(default_factory=dict)  # substituted site -> values seen, fallbacks to exact
    above_one: int = 0  # losses a metric without loss_cap= gave above 1, counted as 1 in ``losses``
    stopped_after: int | None = None  # measured on the first this many inputs only (dropped)
    size: float | None = None  # a model variant's stored bytes (None: not a model, or not built)

    @property
    def n(self) -> int:
        return int(self.losses.size)

    @property
    def mean_loss(self) -> float:
        return float(self.losses.mean()) if self.losses.size else math.nan

    @property
    def max_loss(self) -> float:
        return float(self.losses.max()) if self.losses.size else math.nan

    @property
    def identical(self) -> int:
        return int(np.count_nonzero(self.losses == 0))

    @property
    def failure_count(self) -> int:
        """Losses that are failures: failed inputs, or all the samples of each failed batch."""
        return sum(f.units for f in self.failures)

    def certificate(self, *, bound: float, confidence: float = 0.95, method: str = "auto"):
        """Certify this evaluation's losses (only meaningful on inputs the search never saw)."""
        return certify(self.losses, bound=bound, confidence=confidence, method=method,
                       failures=self.failure_count)

    def summary(self) -> dict[str, Any]:
        """Plain JSON-able figures (losses summarised, not listed)."""
        return {
            "n": self.n,
            "mean_loss": self.mean_loss,
            "max_loss": self.max_loss,
            "p95_loss": float(np.quantile(self.losses, 0.95)) if self.n else math.nan,
            "identical": self.identical,
            "failures": self.failure_count,
            "failure_kinds": sorted({f.kind for f in self.failures}),
            **speed_figures(self.speedup, self.timing),
            **({"guards": self.guards} if self.guards else {}),
            **({"above_one": self.above_one} if self.above_one else {}),
            **({"stopped_after": self.stopped_after} if self.stopped_after is not None else {}),
            **({"bytes": self.size} if self.size is not None else {}),
        }


def speed_figures(speedup: float | None, timing: Timing | None) -> dict[str, Any]:
    """``speedup``, its interval (``speedup_low``, ``speedup_high``) and ``timing``, as a
    summary holds them; a proxy cost (no timing) is deterministic: both limits are the speedup."""
    low, high = (timing.speedup_low, timing.speedup_high) if timing else (speedup, speedup)
    return {"speedup": speedup, "speedup_low": low, "speedup_high": high,
            "timing": timing.to_dict() if timing else None}
