"""A lifted target: its program, its sites, config checking and variant building.

This is the one place that knows which kind of target an object is; everything above it (the API,
the tuner, results) sees only sites, configs and callables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from .config import Setting, check_config
from .errors import InvalidConfig, UnknownSite
from .sites import Site, index_sites, select_sites, unknown_site_message
from .targets.python import PythonProgram, lift
from .transforms import transforms_for


class Target:
    """The user's object, lifted once; variants are built from it without touching it."""

    def __init__(self, obj: Any, *, modules: Iterable[str] = ()) -> None:
        self.obj = obj
        self.kind = "python"
        self.program: PythonProgram = lift(obj, modules=modules)
        self.modules = tuple(modules)
        self._transforms = transforms_for(self.kind)
        self.sites: list[Site] = [s for t in self._transforms for s in t.discover(self.program)]
        self.site_index = index_sites(self.sites)

    @property
    def name(self) -> str:
        return self.program.root

    @property
    def reference(self) -> str:
        """``module:qualname``, enough to import the target again when a result is loaded."""
        func = self.program.functions[self.program.root].func
        return f"{func.__module__}:{func.__qualname__}"

    def select(self, *, families: Iterable[str] | None = None,
               select: str | Iterable[str] | None = None) -> list[Site]:
        return select_sites(self.sites, families=families, select=select)

    def check(self, config: Any) -> dict[str, Setting]:
        """A validated config: known site ids, and settings of the site's family."""
        checked = check_config(config)
        for site_id, setting in checked.items():
            site = self.site_index.get(site_id)
            if site is None:
                raise UnknownSite(unknown_site_message(site_id, self.sites))
            if setting.family != site.family:
                example = site.knob.choices[0] if site.knob.choices else site.knob.exact
                raise InvalidConfig(
                    f"config[{site_id!r}] is a {setting.family} setting ({setting!r}), but the "
                    f"site is a {site.family} site; give it a {site.family} setting such as "
                    f"{example!r}."
                )
        return checked

    def rewrite(self, config: Mapping[str, Setting]) -> PythonProgram:
        checked = self.check(config)
        program = self.program
        for transform in self._transforms:
            settings = {k: v for k, v in checked.items() if v.family == transform.family}
            if settings:
                program = transform.apply(program, settings)
        return program

    def build(self, config: Mapping[str, Setting]) -> Callable[..., Any]:
        """The variant for ``config`` as a new callable (``{}`` gives a fresh exact copy)."""
        return self.rewrite(config).build()
