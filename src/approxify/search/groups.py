"""Tuning sites in groups: one search dimension for sites that go together.

- ``"flow"`` (programs): precision sites that share data flow, whose casts pay only together.
- ``"blocks"`` (models): the layer at the same place in every block of a repeated ``ModuleList``
  (``encoder.layer.*.intermediate.dense``) with the same family: a transformer of 6 blocks has
  6 sites where it has one role, and tuning one dimension per role keeps the search small.

A group is tuned as one site whose setting applies to every member; configs are expanded to the
members before anything is built or stored, so configs in results (best, Pareto front, points)
only ever name real sites; the sensitivity records name the group (``flow:<first member>``,
``blocks:<path with * for the block>/<family>``), and ``result.stats["groups"]`` lists its members.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from ..config import Setting
from ..errors import InvalidArgument
from ..sites import Knob, Site

GROUPINGS = ("flow", "blocks", "none")
FACT = {"flow": "group", "blocks": "role"}  # the site fact that names a site's group


def check_grouping(grouping: str | None, *, model: bool) -> str:
    """The grouping to use: ``None`` means "flow" for a program and "blocks" for a model."""
    if grouping is None:
        return "blocks" if model else "flow"
    if grouping not in GROUPINGS:
        raise InvalidArgument(
            f"grouping= expects one of {', '.join(GROUPINGS)}, got {grouping!r}; 'flow' tunes "
            "float variables that feed each other as one, 'blocks' tunes a model's layer at the "
            "same place in repeated blocks as one, 'none' tunes each site alone."
        )
    kind = {"flow": False, "blocks": True}.get(grouping)
    if kind is not None and kind != model:
        wanted = "blocks" if model else "flow"
        raise InvalidArgument(
            f"grouping={grouping!r} groups {'a model' if kind else 'a Python function'}'s sites, "
            f"and the target is {'a model' if model else 'a Python function'}; use "
            f"grouping={wanted!r} or 'none'."
        )
    return grouping


def group_sites(sites: Sequence[Site], grouping: str) -> tuple[list[Site], dict[str, list[str]]]:
    """Sites to tune (groups in place of their members) and group id -> member site ids."""
    if grouping == "none":
        return list(sites), {}
    fact = FACT[grouping]
    members: dict[str, list[Site]] = {}
    for site in sites:
        group = site.facts.get(fact)
        if group is not None:
            members.setdefault(group, []).append(site)
    tuned: list[Site] = []
    groups: dict[str, list[str]] = {}
    for site in sites:
        group = site.facts.get(fact)
        if group is None or len(members[group]) == 1:
            tuned.append(site)
        elif members[group][0] is site:
            grouped = _group_site(members[group]) if grouping == "flow" else _block_group(group, members[group])
            groups[grouped.id] = [m.id for m in members[group]]
            tuned.append(grouped)
    return tuned, groups


def _group_site(members: list[Site]) -> Site:
    names = ", ".join(m.id.rsplit("/", 1)[-1] for m in members)
    grouped = _grouped(f"flow:{members[0].id}", members[0].where, members,
                       f"{len(members)} variables linked by data flow: {names}")
    # a setting made member by member, where the family has one (precision: integers)
    combined = type(members[0].knob.exact).member_wise([(m.id, m.knob.choices) for m in members])
    if combined is None:
        return grouped
    return dataclasses.replace(grouped, knob=Knob(grouped.knob.exact, (*grouped.knob.choices, combined)))


def _block_group(role: str, members: list[Site]) -> Site:
    return _grouped(f"blocks:{role}", role.rpartition("/")[0], members,
                    f"{len(members)} layers, one in each repeated block ({members[0].detail})")


def _grouped(group_id: str, where: str, members: list[Site], detail: str) -> Site:
    """One site for ``members``: the settings every member offers."""
    first = members[0]
    labels = [{c.label() for c in m.knob.choices} for m in members]
    shared = tuple(c for c in first.knob.choices if all(c.label() in ls for ls in labels))
    return Site(id=group_id, family=first.family, target=first.target,
                knob=Knob(first.knob.exact, shared), where=where, detail=detail,
                facts={"members": [m.id for m in members]})


def expand(config: Mapping[str, Setting], groups: Mapping[str, Sequence[str]]) -> dict[str, Setting]:
    """A config naming groups, as the same config naming their members."""
    out: dict[str, Setting] = {}
    for site, setting in config.items():
        for member in groups.get(site, (site,)):
            out[member] = setting.for_member(member)
    return out
