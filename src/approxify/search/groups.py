"""Tuning sites in groups: one search dimension for precision sites that share data flow.

A group is tuned as one site whose setting applies to every member; configs are expanded to the
members before anything is built or stored, so configs in results (best, Pareto front, points)
only ever name real sites; the sensitivity records name the group (``flow:<first member>``),
and ``result.stats["groups"]`` lists its members.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..config import Setting
from ..errors import InvalidArgument
from ..sites import Knob, Site

GROUPINGS = ("flow", "none")


def check_grouping(grouping: str) -> str:
    if grouping not in GROUPINGS:
        raise InvalidArgument(
            f"grouping= expects one of {', '.join(GROUPINGS)}, got {grouping!r}; 'flow' tunes "
            "float variables that feed each other as one, 'none' tunes each variable alone."
        )
    return grouping


def group_sites(sites: Sequence[Site], grouping: str) -> tuple[list[Site], dict[str, list[str]]]:
    """Sites to tune (groups in place of their members) and group id -> member site ids."""
    if grouping == "none":
        return list(sites), {}
    members: dict[str, list[Site]] = {}
    for site in sites:
        group = site.facts.get("group")
        if group is not None:
            members.setdefault(group, []).append(site)
    tuned: list[Site] = []
    groups: dict[str, list[str]] = {}
    for site in sites:
        group = site.facts.get("group")
        if group is None or len(members[group]) == 1:
            tuned.append(site)
        elif members[group][0] is site:
            grouped = _group_site(members[group])
            groups[grouped.id] = [m.id for m in members[group]]
            tuned.append(grouped)
    return tuned, groups


def _group_site(members: list[Site]) -> Site:
    first = members[0]
    labels = [{c.label() for c in m.knob.choices} for m in members]
    shared = tuple(c for c in first.knob.choices if all(c.label() in ls for ls in labels))
    names = ", ".join(m.id.rsplit("/", 1)[-1] for m in members)
    return Site(
        id=f"flow:{first.id}",
        family=first.family,
        target=first.target,
        knob=Knob(first.knob.exact, shared),
        where=first.where,
        detail=f"{len(members)} variables linked by data flow: {names}",
        facts={"members": [m.id for m in members]},
    )


def expand(config: Mapping[str, Setting], groups: Mapping[str, Sequence[str]]) -> dict[str, Setting]:
    """A config naming groups, as the same config naming their members."""
    out: dict[str, Setting] = {}
    for site, setting in config.items():
        for member in groups.get(site, (site,)):
            out[member] = setting
    return out
