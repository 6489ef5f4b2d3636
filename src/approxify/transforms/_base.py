"""The transform protocol and its registry: one registered class per family x target.

Who calls what, when. ``approxify._target.Target`` is the only caller; everything above it sees
sites, settings and callables, never a family.

1. Lifting: ``discover(program)`` on every transform registered for the program's target lists
   its sites (read-only). A family whose sites or fits need a run first (float data, traced
   calls, activation ranges) has ``examples > 0``: ``observe(program, examples, name=...)`` runs
   on at most that many inputs before, and what it returns is kept as
   ``program.observed(family)``.
2. A config: each (site id, setting) becomes a ``(Site, setting)`` pair once, from the sites
   ``discover`` listed or, for a site a saved config names on a program that has not run,
   ``resolve(program, site_id)``; ``check(site, setting)`` refuses a setting the site cannot
   take. Both happen before anything is rewritten.
3. Building: ``apply(program, {site: setting})`` once per family, in ``order``; it returns a
   *new* program and never edits the one it was given. It reads the site's typed ``locator``
   (a loop, a variable, a layer's path), never its id.

``discover`` and ``apply`` are the protocol; the rest are hooks with no-op defaults.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ..config import Setting
from ..sites import Site


class Transform(ABC):
    """One family acting on one kind of target."""

    family: ClassVar[str]
    target: ClassVar[str]  # the program kind: "python" | "torch"
    # place in the build pipeline, as a compression pipeline orders it: remove (prune,
    # perforate), then replace (factor, substitute), then lower the precision of what is left
    order: ClassVar[int]
    examples: ClassVar[int] = 0  # tuning inputs observe() needs; 0: it never observes
    sites_need_examples: ClassVar[bool] = False  # no site exists before observe() ran
    fits_need_examples: ClassVar[bool] = False  # apply() uses objects fitted on the observed run
    by_default: ClassVar[bool] = True  # tuned when ``families=`` is not given
    # whether a variant after this family can still be fine-tuned (repair= trains the model
    # between the families that keep gradients and those that do not)
    keeps_gradients: ClassVar[bool] = True

    @abstractmethod
    def discover(self, program: Any) -> list[Site]:
        """Every site of this family in ``program``; must not change it."""

    @abstractmethod
    def apply(self, program: Any, settings: Mapping[Site, Setting]) -> Any:
        """A new program with ``settings`` (this family's sites, checked) applied."""

    # -- optional hooks --------------------------------------------------------------------
    def observe(self, program: Any, examples: Sequence[Any], *, name: str) -> Any:
        """What a run on ``examples`` shows this family (kept as ``program.observed(family)``)."""
        return None

    def resolve(self, program: Any, site_id: str) -> Site | None:
        """The site ``site_id`` names, checked against the program alone (no run), or None."""
        return None

    def check(self, program: Any, site: Site, setting: Setting) -> None:
        """Raise ``InvalidConfig`` when ``site`` cannot take ``setting``."""

    def unknown_hint(self, site_id: str, setting: Setting) -> str:
        """A sentence added to the error for a site id the program does not have."""
        return ""

    def explain_empty(self, program: Any) -> str | None:
        """Why the program has no site of this family, when it was asked for by name."""
        return None

    def fit_key(self, site_id: str, setting: Setting) -> str | None:
        """The key in ``program.fits`` of what ``setting`` was fitted with, if anything."""
        return None

    def counters(self, variant: Any) -> dict[str, Any]:
        """Counts a variant kept while it ran (guard fallbacks), by site id."""
        return {}


_REGISTRY: dict[tuple[str, str], Transform] = {}


def register(cls: type[Transform]) -> type[Transform]:
    """Class decorator: make one instance of a transform available to targets."""
    _REGISTRY[(cls.family, cls.target)] = cls()
    return cls


def registered(target: str | None = None) -> list[Transform]:
    """The transforms registered for ``target`` (every one when None), in build order."""
    return sorted((t for (_, kind), t in _REGISTRY.items() if target in (None, kind)),
                  key=lambda t: t.order)
