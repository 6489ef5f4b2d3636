"""Seeds for the search: an additive model of single-site measurements, and uniform configs.

Losses of sites applied together are predicted to add up, and so are the shares of time each
saves alone. The model is only a guess (sites interact); its configs are measured like any other.
Uniform configs are what a person tries first (every layer int8, every loop perforated at 50%):
seeded, the search measures them first, so what it finds is compared with them by measurement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..config import Setting

FRACTIONS = (1.0, 0.7, 0.4, 0.15)  # of the bound: seeds from aggressive to cautious


@dataclass(frozen=True)
class SingleSite:
    site: str
    setting: Setting
    loss: float
    speedup: float

    @property
    def saving(self) -> float:
        """Share of the exact time this setting saves on its own."""
        return 1.0 - 1.0 / self.speedup if self.speedup > 0 else -1.0


def predict(choices: Sequence[SingleSite]) -> tuple[float, float]:
    """(predicted speedup, predicted loss) of applying ``choices`` together."""
    remaining = 1.0 - sum(c.saving for c in choices)
    return 1.0 / max(remaining, 0.02), sum(c.loss for c in choices)


def additive_seeds(
    singles: Sequence[SingleSite], *, bound: float, limit: int = 6
) -> list[dict[str, Setting]]:
    """Up to ``limit`` configs predicted to fit within fractions of ``bound``, greedily by saving."""
    useful = [s for s in singles if s.saving > 0]
    seeds: list[dict[str, Setting]] = []
    for fraction in FRACTIONS:
        budget = bound * fraction
        for rank in (_by_saving, _by_efficiency):
            config = _greedy(sorted(useful, key=rank), budget)
            if config and config not in seeds:
                seeds.append(config)
    return seeds[:limit]


def uniform_seeds(singles: Sequence[SingleSite], *, limit: int = 4) -> list[dict[str, Setting]]:
    """Up to ``limit`` configs giving every site that offers it the same setting (by label),
    for labels that two or more sites keep: the most shared label of each family first, then the
    next of each, so that one family's many labels (surrogate kinds) cannot crowd out another's
    (everything float32, whose parts may only pay together)."""
    by_label: dict[str, dict[str, Setting]] = {}
    for single in singles:
        by_label.setdefault(single.setting.label(), {})[single.site] = single.setting
    by_family: dict[str, list[dict[str, Setting]]] = {}
    for config in sorted((c for c in by_label.values() if len(c) >= 2), key=len, reverse=True):
        by_family.setdefault(next(iter(config.values())).family, []).append(config)
    interleaved: list[dict[str, Setting]] = []
    for rank in range(max(map(len, by_family.values()), default=0)):
        interleaved += [configs[rank] for configs in by_family.values() if rank < len(configs)]
    return interleaved[:limit]


def _by_saving(s: SingleSite) -> tuple[float, float]:
    return (-s.saving, s.loss)


def _by_efficiency(s: SingleSite) -> tuple[float, float]:
    return (s.loss / s.saving if s.saving > 0 else float("inf"), -s.saving)


def _greedy(ranked: Sequence[SingleSite], budget: float) -> dict[str, Setting]:
    chosen: dict[str, SingleSite] = {}
    for candidate in ranked:
        if candidate.site in chosen:
            continue
        trial = [*chosen.values(), candidate]
        if predict(trial)[1] <= budget:
            chosen[candidate.site] = candidate
    return {c.site: c.setting for c in chosen.values()}

