"""The measured effect of each part of the chosen config, for the report.

A *part* is one site, or one tuned group of sites (float variables lowered together). For each
part the tuning inputs say what the chosen config gives up without it (measured here when the
search did not already), and what the part did alone when that was measured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..config import Setting
from .measurer import Measurer

MAX_PARTS = 8  # leave-one-out is measured for at most this many parts


def parts_of(config: Mapping[str, Setting], groups: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The config's sites, with the members of each tuned group kept together."""
    parts, placed = [], set()
    for members in groups.values():
        inside = [m for m in members if m in config]
        if inside:
            parts.append(inside)
            placed.update(inside)
    parts += [[site] for site in sorted(config) if site not in placed]
    return parts


def measure_effects(config: Mapping[str, Setting], groups: Mapping[str, Sequence[str]],
                    measurer: Measurer) -> list[dict[str, Any]]:
    """One row per part: its sites and setting, the config's figures without it, and alone."""
    if not config:
        return []
    parts = parts_of(config, groups)
    whole = measurer.figures(dict(config))
    rows = []
    for part in parts:
        without = {k: v for k, v in config.items() if k not in part}
        alone = {k: v for k, v in config.items() if k in part}
        row: dict[str, Any] = {
            "sites": part,
            "setting": ", ".join(sorted({config[s].label() for s in part})),
            "with": _brief(whole),
            "without": _brief(measurer.figures(without)) if len(parts) <= MAX_PARTS else None,
            "alone": _brief(measurer.known(alone)),
        }
        rows.append(row)
    return rows


def _brief(figures: Mapping[str, Any] | None) -> dict[str, float] | None:
    if figures is None:
        return None
    return {"speedup": float(figures["speedup"]), "mean_loss": float(figures["mean_loss"])}
