"""Refining a search over a model's roles layer by layer (``grouping="blocks"``).

The search tunes one dimension per role (``encoder.layer.*.intermediate.dense``), which keeps it
small, but a setting that breaks the bound on all six layers together may keep it on some of
them: int8 on the feed-forward of the last layers, say, and bfloat16 on the first. So after
the search, from the fastest config within the bound:

1. Moves: each member of a group may take a setting the whole group was measured with alone
   that was faster there than the member's present one. The moves are ranked by what the group
   gained for the loss it cost (that measurement alone), and the first :data:`MOVES` are tried.
2. Each move alone on top of the config, one evaluation each.
3. Greedily, the moves that cost least loss first: each is kept when the config with it and
   every move kept so far still meets the bound (one move per member).

Every config measured is a candidate for certification, like the search's own; measurements
are stored in the study, so a rerun replays them without measuring again.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..config import Setting, config_key
from ..report.result import Candidate
from .feasibility import feasible, searched_loss
from .measurer import Measurer
from .progress import Progress
from .study import Sensitivity

MOVES = 16  # at most this many moves are tried: at most 2 * MOVES evaluations


def refine(measurer: Measurer, points: Sequence[Candidate], singles: Sequence[Sensitivity],
           groups: Mapping[str, Sequence[str]], *, bound: float, bar: Progress,
           store: Callable[[dict[str, Setting], dict[str, Any]], None]) -> list[Candidate]:
    """The configs measured while refining the best of ``points`` member by member."""
    fitting = [p for p in points if feasible(p.tuning, bound)]
    if not groups or not fitting:
        return []
    base = max(fitting, key=lambda p: p.tuning["speedup"])
    moves = _moves(base.config, singles, groups)
    if not moves:
        return []
    found: list[Candidate] = []
    seen = {config_key(p.config) for p in points}  # candidates already (the search's own)
    bar.start("refine", total=2 * len(moves))

    def measure(config: dict[str, Setting]) -> dict[str, Any]:
        bar.advance("refine")
        figures = measurer.known(config)  # a rerun has them stored: nothing runs again
        if figures is None:
            figures = measurer.figures(config)
            store(config, figures)
        if config_key(config) not in seen:
            seen.add(config_key(config))
            found.append(Candidate(dict(config), "refine", figures))
            bar.note_feasible(figures, bound)
        return figures

    alone = [(member, setting, measure({**base.config, member: setting})) for member, setting in moves]
    config, moved = dict(base.config), set()
    for member, setting, figures in sorted(alone, key=lambda m: searched_loss(m[2])):
        if member in moved or not feasible(figures, bound):
            continue
        trial = {**config, member: setting}
        if feasible(measure(trial), bound):
            config, moved = trial, moved | {member}
    return found


def _moves(config: Mapping[str, Setting], singles: Sequence[Sensitivity],
           groups: Mapping[str, Sequence[str]]) -> list[tuple[str, Setting]]:
    """(member site, setting) pairs worth trying, best-paying first, at most :data:`MOVES`."""
    alone = {(s.site, s.setting.label()): s.figures for s in singles}
    ranked = []
    for single in singles:
        members = groups.get(single.site)
        if not members or single.figures["failures"]:
            continue
        for member in members:
            present = config.get(member)  # None: exact, as fast as the exact program
            before = alone.get((single.site, present.label()), {}).get("speedup", 1.0) if present else 1.0
            gain = math.log(max(single.figures["speedup"], 1e-9) / max(before, 1e-9))
            if present != single.setting and gain > 0:
                ranked.append((gain / (searched_loss(single.figures) + 1e-9), member, single.setting))
    ranked.sort(key=lambda r: -r[0])
    return [(member, setting) for _, member, setting in ranked[:MOVES]]

