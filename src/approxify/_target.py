"""A lifted target: its program, its sites, configs resolved to sites, and variants built.

The one place that knows which kind of target an object is and which transforms act on it;
everything above it (the API, the tuner, results) sees sites, configs and callables, and no
family: what differs between families is asked of the transforms (:mod:`.transforms._base`).
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ._optional import is_torch_module
from .config import Setting, check_config, config_key
from .errors import InvalidArgument, InvalidArgumentType, InvalidConfig, TargetFailed, UnknownSite
from .measure import sandbox
from .measure.inputs import InputSet, read_inputs
from .measure.quality import Quality
from .measure.runner import Reference
from .sites import Site, index_sites, select_sites, unknown_site_message
from .targets.fingerprint import fingerprint
from .targets.call_trace import EXAMPLES, CallHint, trace_calls
from .targets.python import lift
from .targets.torch import lift_model
from .targets.torch_repair import Repair
from .transforms import Transform, load_fit, registered
from .transforms import families as all_families


def check_modules(modules: Any) -> tuple[str, ...]:
    """``modules=``: names of modules (or package prefixes) whose functions count as user code."""
    if isinstance(modules, str):
        modules = [modules]
    try:
        found = tuple(modules)
    except TypeError:
        raise InvalidArgumentType(
            f"modules= expects a list of module names (e.g. modules=['mypkg.kernels']), got {modules!r}."
        ) from None
    for name in found:
        if not isinstance(name, str) or not name or not all(p.isidentifier() for p in name.split(".")):
            raise InvalidArgumentType(
                f"modules= expects module names such as 'mypkg.kernels', got {name!r} among them."
            )
        if not _importable(name):
            raise InvalidArgument(
                f"modules= names {name!r}, which is not a module Python can import from here "
                f"(sys.path); give the name you would write in 'import ...', e.g. "
                f"modules=['mypkg.kernels'], or install the package."
            )
    return found


def _importable(name: str) -> bool:
    """Whether ``name`` is an imported module or one Python would find (parents are imported
    to look, as ``import`` would)."""
    if name in sys.modules:
        return isinstance(sys.modules[name], types.ModuleType)
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


ISOLATIONS = ("process", "none")


def check_isolation(isolation: Any) -> str:
    """``isolation=``: "process" (the default) or "none" (in this process, for code that cannot
    run in a forked child, a CUDA context say; a variant's writes may then reach the user's
    objects)."""
    if isolation not in ISOLATIONS:
        raise InvalidArgument(
            f"isolation= expects 'process' (run the user's code in forked children) or 'none' "
            f"(in this process), got {isolation!r}."
        )
    return isolation


def check_calls(calls: Any) -> tuple[Any, ...]:
    """``calls=``: functions whose calls may be substituted, besides those found by default."""
    if callable(calls):
        calls = [calls]
    try:
        found = tuple(calls)
    except TypeError:
        raise InvalidArgumentType(
            f"calls= expects a list of functions (e.g. calls=[scipy.special.jv]), got {calls!r}."
        ) from None
    for fn in found:
        if not callable(fn):
            raise InvalidArgumentType(f"calls= expects functions, got {fn!r} among them.")
    return found


class Target:
    """The user's object, lifted once; variants are built from it without touching it."""

    def __init__(self, obj: Any, *, modules: Iterable[str] = (),
                 example_inputs: Sequence[Any] | None = None,
                 families: Iterable[str] | None = None, calls: Iterable[Any] = (),
                 isolation: str = "process", followed: Iterable[CallHint] = ()) -> None:
        self.obj = obj
        self.isolation = check_isolation(isolation)
        self.calls = check_calls(calls)
        self.modules = check_modules(modules)
        # calls a run on example inputs resolved (a result keeps them, to lift the same program)
        self.followed: tuple[CallHint, ...] = tuple(followed)
        self._traced = False
        if is_torch_module(obj):
            self.program: Any = lift_model(obj)
        else:
            self.program = self._lift_python()
        self.transforms: list[Transform] = registered("torch" if self.program.per_sample else "python")
        self._by_family = {t.family: t for t in self.transforms}
        self.discover()
        if example_inputs is not None:
            examples = read_inputs(example_inputs, name="example_inputs", batches=self.per_sample)
            self.profile(examples, families=families)

    def _lift_python(self, seen: Any = None) -> Any:
        return replace(lift(self.obj, modules=self.modules, hints=self.followed, seen=seen),
                       named_calls=self.calls)

    def follow_calls(self, examples: Sequence[Any]) -> None:
        """Run the user's program on a few ``examples`` with the calls recorded (in a forked
        child, as profiling is), and lift it again following what the source left open: a
        function passed as an argument, a method of an object in a variable (see
        :mod:`.targets.call_trace`). Once per target; a run that fails just follows less."""
        if self.per_sample or self._traced:
            return
        self._traced = True
        exact, inputs, scope = self.program.exact(), InputSet(list(examples)[:EXAMPLES]), self.program.scope

        def run(index: int) -> None:
            args, kwargs = inputs.fresh(index)
            exact(*args, **kwargs)

        outcome = sandbox.run(lambda emit: trace_calls(run, range(len(inputs)), scope),
                              limit=None, isolate=self.isolated)
        if outcome.lost is not None:
            return
        trace = outcome.value
        self.followed = tuple(dict.fromkeys([*self.followed, *trace.hints]))
        self.program = self._lift_python(seen=trace.c_calls)
        self.discover()

    @property
    def skipped(self) -> list[Any]:
        """The calls seen and not followed, with the reason (a model has none)."""
        return list(getattr(self.program, "skipped", []))

    # -- sites -------------------------------------------------------------------------------
    def discover(self) -> None:
        self.sites: list[Site] = [s for t in self.transforms for s in t.discover(self.program)]
        self.site_index = index_sites(self.sites)

    def profile(self, examples: Sequence[Any], *, families: Iterable[str] | None = None,
                tuning: bool = False) -> None:
        """Run the program on ``examples`` to find the sites and fits that need a run, for
        ``families`` (all by default). ``tuning``: the examples are tuning inputs, of which each
        family takes only as many as it needs (``Transform.examples``)."""
        self.follow_calls(examples)
        if self.program.records_runs:  # which layers ran: the others get no choices
            program = self.program
            self.program = program.with_runs(self._run_where_variants_run(
                lambda: program.runs(examples), "find the layers they run"))
        for transform in self.transforms:
            if not transform.examples or (families is not None and transform.family not in families):
                continue
            chosen = examples[: transform.examples] if tuning else examples
            self.program = self.program.with_observations(transform.family, self._observe(transform, chosen))
        self.discover()

    def _observe(self, transform: Transform, examples: Sequence[Any]) -> Any:
        """What ``transform`` sees running the program on ``examples``, run where variants run
        (a forked child for a Python program: profiling runs the user's code too)."""
        program, name = self.program, self.name
        return self._run_where_variants_run(lambda: transform.observe(program, examples, name=name),
                                            f"find its {transform.family} sites")

    def _run_where_variants_run(self, work: Callable[[], Any], purpose: str) -> Any:
        """``work()``'s value, computed in a forked child for a Python program."""
        outcome = sandbox.run(lambda emit: work(), limit=None, isolate=self.isolated)
        if outcome.lost is not None:
            raise TargetFailed(
                f"running {self.name} on the example inputs to {purpose} did not finish: "
                f"{outcome.lost.message}."
            )
        return outcome.value

    def observed_families(self, families: Iterable[str] | None) -> list[str]:
        """Of ``families`` (default: the default ones), those whose sites or fits need a run."""
        wanted = self.families_or_default(families)
        return [t.family for t in self.transforms if t.family in wanted and t.examples]

    def needs_profile(self, families: Iterable[str] | None) -> bool:
        """Whether a run on example inputs changes the sites: families that observe, or a
        model, whose layers that never run get no choices."""
        return bool(self.observed_families(families)) or self.program.records_runs

    def fitted_families(self) -> list[str]:
        """Families whose variants use objects fitted on example inputs (``ax.apply`` fits them)."""
        return [t.family for t in self.transforms if t.fits_need_examples]

    def families_or_default(self, families: Iterable[str] | None) -> list[str]:
        if families is None:
            return [t.family for t in self.transforms if t.by_default]
        return [families] if isinstance(families, str) else list(families)

    def require_examples(self, families: Iterable[str] | None, given: bool) -> None:
        """Families named whose sites exist only after a run need ``example_inputs``."""
        for transform in self.transforms:
            if not given and families is not None and transform.family in families \
                    and transform.sites_need_examples:
                raise InvalidArgument(
                    f"{transform.family} sites are found by running the program: pass "
                    f"example_inputs= with a few inputs, e.g. ax.sites(fn, families="
                    f"[{transform.family!r}], example_inputs=inputs[:{transform.examples}])."
                )

    def require_sites(self, families: Iterable[str]) -> None:
        """A family asked for by name that has no site here is an error that says why."""
        present = {s.family for s in self.sites}
        for transform in self.transforms:
            if transform.family in families and transform.family not in present:
                reason = transform.explain_empty(self.program)
                if reason is not None:
                    raise InvalidArgument(reason)

    def select(self, *, families: Iterable[str] | None = None,
               select: str | Iterable[str] | None = None, exclude: Iterable[str] = ()) -> list[Site]:
        return select_sites(self.sites, families=families, select=select, known=all_families(),
                            exclude=exclude)

    # -- what the target is -------------------------------------------------------------------
    @property
    def per_sample(self) -> bool:
        """Whether losses are per sample of a batch (a model) rather than per call."""
        return self.program.per_sample

    @property
    def isolated(self) -> bool:
        """Whether the user's code runs in forked children (``isolation="process"``, and a
        program that may write anywhere: a model's variants are private copies already)."""
        return self.isolation == "process" and self.program.isolate and sandbox.CAN_FORK

    @property
    def has_weights(self) -> bool:
        return self.program.has_weights

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def reference(self) -> str:
        """``module:qualname``, enough to import the target again when a result is loaded."""
        return self.program.reference

    def exact(self) -> Callable[..., Any]:
        """What variants are compared with (see the program's ``exact``)."""
        return self.program.exact()

    def exact_reference(self, items: Sequence[Any], metric: Quality, *, timeout: float | None) -> Reference:
        """The exact program's outputs on ``items``, computed where variants run: in a forked
        child for a program that may write anywhere (see :mod:`.measure.sandbox`)."""
        program = self.program
        warm = (program.compiled, program.compile_like) if program.jitted else None
        return Reference(self.exact(), items, metric, timeout=timeout, name=self.name,
                         isolate=self.isolated, warm=warm)

    # -- configs -----------------------------------------------------------------------------
    def resolve(self, config: Any) -> dict[Site, Setting]:
        """``config`` as (site, setting) pairs, every setting checked legal for its site:
        the one place a config is checked, before anything is rewritten."""
        resolved: dict[Site, Setting] = {}
        for site_id, setting in check_config(config).items():
            if site_id not in self.site_index and f"{site_id}/{setting.family}" in self.site_index:
                site_id = f"{site_id}/{setting.family}"  # a model's layer named by its path alone
            site = self.site_index.get(site_id) or self._resolve(site_id)
            if site is None:
                hint = "".join(t.unknown_hint(site_id, setting) for t in self.transforms)
                raise UnknownSite(unknown_site_message(site_id, self.sites) + hint)
            if site in resolved:
                raise InvalidConfig(f"config names site {site_id!r} twice; give it one setting.")
            if setting.family != site.family:
                example = site.knob.choices[0] if site.knob.choices else site.knob.exact
                raise InvalidConfig(
                    f"config[{site_id!r}] is a {setting.family} setting ({setting!r}), but the "
                    f"site is a {site.family} site; give it a {site.family} setting such as "
                    f"{example!r}."
                )
            self._by_family[site.family].check(self.program, site, setting)
            resolved[site] = setting
        return resolved

    def check(self, config: Any) -> dict[str, Setting]:
        """``config`` checked, by site id (a model's layer named by its path gets its site's id)."""
        return {site.id: setting for site, setting in self.resolve(config).items()}

    def _resolve(self, site_id: str) -> Site | None:
        for transform in self.transforms:
            site = transform.resolve(self.program, site_id)
            if site is not None:
                return site
        return None

    # -- variants ----------------------------------------------------------------------------
    def rewrite(self, config: Any) -> Any:
        """The program with ``config`` applied, family by family in build order. Between the
        families whose variants keep gradients and those that do not, the program's post-build
        hook runs (a model's repair)."""
        resolved = self.resolve(config)
        program, repaired = self.program, False
        for transform in self.transforms:
            if not transform.keeps_gradients and not repaired:
                program, repaired = program.repaired(self.structure_key(resolved)), True
            settings = {s: v for s, v in resolved.items() if s.family == transform.family}
            if settings:
                program = transform.apply(program, settings)
        return program if repaired else program.repaired(self.structure_key(resolved))

    def build(self, config: Any) -> Callable[..., Any]:
        """The variant for ``config`` as a new callable (``{}`` gives a fresh exact copy)."""
        return self.rewrite(config).build()

    def structure_key(self, config: Mapping[Any, Setting]) -> str:
        """The config key of the settings that change what repair trains (families that keep
        gradients): the key repaired weights are kept under."""
        kept = {getattr(s, "id", s): v for s, v in config.items()
                if not v.is_exact and self._by_family[v.family].keeps_gradients}
        return config_key(kept) if kept else ""

    def counters(self, variant: Any) -> dict[str, Any]:
        """What the variant counted while it ran (guard fallbacks), by site id."""
        found: dict[str, Any] = {}
        for transform in self.transforms:
            found.update(transform.counters(variant))
        return found

    # -- what a result saves and loads --------------------------------------------------------
    def enable_repair(self, pairs: Any, steps: int) -> None:
        """Fine-tune every variant built from now on for ``steps`` steps towards the exact
        outputs in ``pairs`` ((arguments, exact output), tuning inputs only); weights are kept
        per structure, so a variant is repaired once and rebuilt the same."""
        self.program = self.program.with_repair(Repair(list(pairs), steps))

    def use_repaired(self, weights: dict[str, Any]) -> None:
        """Rebuild variants with saved repaired weights (a loaded result), never training."""
        self.program = self.program.with_repair(Repair(None, 0, dict(weights)))

    def saved_weights(self, configs: Iterable[Mapping[str, Setting]]) -> dict[str, Any]:
        """The repaired weights of these configs, to save beside a result."""
        repair = getattr(self.program, "repair", None)
        if repair is None:
            return {}
        keys = {self.structure_key(c) for c in configs}
        return {k: v for k, v in repair.weights.items() if k in keys}

    def saved_fits(self, configs: Iterable[Mapping[str, Setting]]) -> dict[str, Any]:
        """The fitted objects these configs use, as JSON, so a loaded result needs no run."""
        fits: dict[str, Any] = {}
        for config in configs:
            for site_id, setting in config.items():
                key = self._by_family[setting.family].fit_key(site_id, setting)
                if key in self.program.fits:
                    fits[key] = self.program.fits[key].to_dict()
        return fits

    def use_fits(self, saved: Mapping[str, Any]) -> None:
        """Put back fits a result saved as JSON (surrogates, activation ranges), so their sites
        exist again and variants are rebuilt without traces or example inputs."""
        self.program.fits.update({key: load_fit(data) for key, data in saved.items()})
        self.discover()


    # -- provenance --------------------------------------------------------------------------
    def fingerprint(self) -> dict[str, Any]:
        """What this target is, as digests of its code or of its model's structure and weights
        (:mod:`.targets.fingerprint`): a result records it, and is rebuilt only on the same."""
        return fingerprint(self.program)
