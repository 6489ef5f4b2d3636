"""The search space: for each site, the settings still allowed, named by their labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..config import Setting
from ..sites import Site


class SearchSpace:
    """Sites and their allowed settings; converts configs to Optuna parameters and back."""

    def __init__(self, sites: Sequence[Site], allowed: Mapping[str, Sequence[Setting]]) -> None:
        self.sites = [s for s in sites if allowed.get(s.id)]
        self._by_label: dict[str, dict[str, Setting]] = {}
        for site in self.sites:
            labels = {site.knob.exact.label(): site.knob.exact}
            labels.update({s.label(): s for s in allowed[site.id] if not s.is_exact})
            self._by_label[site.id] = labels

    def __len__(self) -> int:
        return len(self.sites)

    def choices(self, site_id: str) -> list[str]:
        return list(self._by_label[site_id])

    def size(self) -> int:
        total = 1
        for labels in self._by_label.values():
            total *= len(labels)
        return total

    def to_config(self, params: Mapping[str, str]) -> dict[str, Setting]:
        """Optuna params -> config (exact settings dropped)."""
        config = {}
        for site_id, label in params.items():
            setting = self._by_label[site_id][label]
            if not setting.is_exact:
                config[site_id] = setting
        return config

    def to_params(self, config: Mapping[str, Setting]) -> dict[str, str]:
        params = {s.id: s.knob.exact.label() for s in self.sites}
        params.update({site_id: setting.label() for site_id, setting in config.items()})
        return params

    def contains(self, config: Mapping[str, Setting]) -> bool:
        return all(
            site_id in self._by_label and setting.label() in self._by_label[site_id]
            for site_id, setting in config.items()
        )

    def distributions(self) -> dict:
        from optuna.distributions import CategoricalDistribution

        return {site_id: CategoricalDistribution(list(labels)) for site_id, labels in self._by_label.items()}
