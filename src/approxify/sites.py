"""Sites, their knobs, and selectors over them.

A *site* is one place where one approximation family can act (a ``for`` loop, a float variable,
a call, a layer). Its *knob* lists the legal settings; ``knob.exact`` leaves the program unchanged.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .config import Setting
from .errors import InvalidArgument, InvalidArgumentType, UnknownSite


@dataclass(frozen=True)
class Knob:
    """The legal settings of one site: ``exact`` first, then the approximate ``choices``."""

    exact: Setting
    choices: tuple[Setting, ...]


@dataclass(frozen=True)
class Site:
    """One place a family can act. ``id`` is stable across runs; ``where`` is for display."""

    id: str
    family: str
    target: str
    knob: Knob
    where: str
    detail: str = ""
    facts: dict = field(default_factory=dict, compare=False, hash=False)
    # where the family's transform acts, typed by the transform (a loop's function and index, a
    # layer's path): what ``apply`` reads, so an id is never parsed back
    locator: Any = field(default=None, compare=False, hash=False, repr=False)

    def __str__(self) -> str:
        return f"{self.id}  [{self.family}]  {self.where}  {self.detail}".rstrip()


class SiteList(list):
    """What ``ax.sites`` returns: the sites, as a list, and ``skipped``: every call approxify saw
    in the code it lifted and did not follow, each with the reason. Its repr is a table."""

    def __init__(self, sites: Iterable[Site] = (), skipped: Iterable[Any] = ()) -> None:
        super().__init__(sites)
        self.skipped = list(skipped)

    def table(self) -> str:
        """The sites, one per row (id, family, where, what, choices), then the calls skipped."""
        rows = [[s.id, s.family, s.where, s.detail, str(len(s.knob.choices))] for s in self]
        lines = _columns(["site", "family", "where", "what", "choices"], rows) if rows else ["(no sites)"]
        if self.skipped:
            lines += ["", f"calls not followed ({len(self.skipped)}):"]
            lines += ["  " + line for line in _columns(
                ["in", "where", "call", "why"],
                [[k.function, k.where, f"{k.call}(...)", k.reason] for k in self.skipped])]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.table()

    __str__ = __repr__


def _columns(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [headers, *rows]]


def select_sites(
    sites: Sequence[Site],
    *,
    families: Iterable[str] | None = None,
    select: str | Iterable[str] | None = None,
    known: Iterable[str] = (),
    exclude: Iterable[str] = (),
) -> list[Site]:
    """Keep the sites of the given families whose ids match ``select`` (ids or glob patterns)
    and match none of ``exclude`` (checked by :func:`check_exclude`).

    A ``select`` pattern that matches nothing is an error, so a typo never silently empties a
    search; an ``exclude`` pattern that matches nothing is not: it can only leave a search
    larger, and one list of exclusions serves many programs (``"*/grid#*"`` where some have no
    grid). ``known`` names the families that exist, beside those of ``sites``.
    """
    chosen = list(sites)
    if families is not None:
        if isinstance(families, str):
            families = [families]
        wanted = set(families)
        known = {s.family for s in sites} | set(known)
        unknown = wanted - known
        if unknown:
            raise InvalidArgument(
                f"families= names unknown families {sorted(unknown)}; "
                f"expected some of {sorted(known)}."
            )
        chosen = [s for s in chosen if s.family in wanted]
    if select is not None:
        patterns = [select] if isinstance(select, str) else list(select)
        if not all(isinstance(p, str) for p in patterns):
            raise InvalidArgumentType(f"select= expects site ids or glob patterns, got {select!r}.")
        kept = []
        for pattern in patterns:
            matched = [s for s in chosen if fnmatch.fnmatchcase(s.id, pattern)]
            if not matched:
                raise UnknownSite(unknown_site_message(pattern, sites))
            kept.extend(s for s in matched if s not in kept)
        chosen = kept
    patterns = check_exclude(exclude)
    return [s for s in chosen if not any(fnmatch.fnmatchcase(s.id, p) for p in patterns)]


def check_exclude(exclude: Any) -> tuple[str, ...]:
    """``exclude=`` as a tuple of site ids or glob patterns (a lone string is one pattern)."""
    patterns = (exclude,) if isinstance(exclude, str) else exclude
    try:
        patterns = tuple(patterns)
    except TypeError:
        patterns = (patterns,)
    bad = [p for p in patterns if not isinstance(p, str)]
    if bad:
        raise InvalidArgumentType(
            f"exclude= expects site ids or glob patterns (strings), got {bad[0]!r} in {exclude!r}; "
            'e.g. exclude=["*/reduce#*"] leaves every sampled reduction exact.')
    return patterns


def unknown_site_message(site_id: str, sites: Sequence[Site]) -> str:
    """The message for a site id the target does not have, listing the ones it does."""
    ids = [s.id for s in sites]
    shown = ", ".join(ids[:12]) + (" …" if len(ids) > 12 else "")
    close = fnmatch.filter(ids, f"*{site_id.split('/')[-1]}*") if "/" in site_id else []
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return (
        f"unknown site {site_id!r}: the target has {len(ids)} site(s): {shown or 'none'}.{hint} "
        "List them with ax.sites(fn)."
    )


def index_sites(sites: Sequence[Site]) -> dict[str, Site]:
    return {s.id: s for s in sites}
