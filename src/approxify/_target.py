"""A lifted target: its program, its sites, config checking and variant building.

This is the one place that knows which kind of target an object is; everything above it (the API,
the tuner, results) sees only sites, configs and callables.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .config import Setting, check_config
from .errors import InvalidArgument, InvalidArgumentType, InvalidConfig, UnknownSite
from .measure.inputs import Labeled, check_inputs, split_call
from .sites import Site, index_sites, select_sites, unknown_site_message
from .targets.python import lift
from .targets.torch import is_torch_module, lift_model
from .transforms import transforms_for


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
                 families: Iterable[str] | None = None, calls: Iterable[Any] = ()) -> None:
        self.obj = obj
        self.calls = check_calls(calls)
        if is_torch_module(obj):
            self.kind = "torch"
            self.program: Any = lift_model(obj)
        else:
            self.kind = "python"
            self.program = replace(lift(obj, modules=modules), named_calls=self.calls)
        self.modules = tuple(modules)
        self._transforms = transforms_for(self.kind)
        self.discover()
        if example_inputs is not None:
            self.profile(self.inputs(example_inputs, name="example_inputs"), families=families)

    def discover(self) -> None:
        self.sites: list[Site] = [s for t in self._transforms for s in t.discover(self.program)]
        self.site_index = index_sites(self.sites)

    def profile(self, examples: Sequence[Any], *, families: Iterable[str] | None = None,
                tuning: bool = False) -> None:
        """Run the program on ``examples`` to find the sites that need it (float variables,
        traced calls) of ``families`` (all by default). ``tuning``: the examples are tuning
        inputs, of which each family takes only as many as it needs (``tuning_examples``)."""
        for transform in self._transforms:
            observe = getattr(transform, "observe", None)
            if observe is None or (families is not None and transform.family not in families):
                continue
            chosen = examples[: transform.tuning_examples] if tuning else examples
            data = observe(self.program, chosen, name=self.name)
            self.program = self.program.with_observations(transform.family, data)
        self.discover()

    @property
    def per_sample(self) -> bool:
        """Whether losses are per sample of a batch (a model) rather than per call."""
        return self.kind == "torch"

    def exact(self) -> Callable[..., Any]:
        """What variants are compared with: the user's function, or for a model a private copy
        in eval mode (the user's model may be training; it is neither used nor switched)."""
        return self.obj if self.kind == "python" else self.build({})

    def inputs(self, inputs: Any, *, name: str = "inputs", labeled: bool = False) -> list[Any]:
        """The user's inputs as a list of calls. For a model a ``DataLoader`` is read once: its
        batches are ``(inputs, labels, ...)`` (the labels are dropped: losses compare with the
        exact model) or bare input tensors. ``labeled`` (a metric that needs labels): every
        input is ``(batch, ..., labels)``, kept as a ``Labeled`` call."""
        if self.kind == "torch" and type(inputs).__name__ == "DataLoader":
            inputs = list(inputs) if labeled else [b[0] if isinstance(b, (list, tuple)) else b for b in inputs]
        items = check_inputs(inputs, name=name)
        if not labeled:
            return items
        for position, item in enumerate(items):
            if not isinstance(item, (list, tuple)) or len(item) < 2:
                raise InvalidArgument(
                    f"{name}[{position}] is a {type(item).__name__}; a metric that compares with "
                    "labels (accuracy_drop) takes each input as a (batch, labels) pair, or a "
                    "DataLoader of (inputs, labels) batches."
                )
        return [Labeled(*item[:-1], labels=item[-1]) for item in items]

    def units_of(self, item: Any) -> int:
        """Losses one input gives: 1 per call, or a model's batch size."""
        if not self.per_sample:
            return 1
        args, _ = split_call(item)
        first = args[0] if args else item
        return int(len(first)) if hasattr(first, "__len__") else 1

    def require_float_sites(self) -> None:
        """Precision was asked for: a profile without float data is an error, not an empty list."""
        if any(s.family == "precision" for s in self.sites):
            return
        profile = self.program.observed("precision")
        held = [f"{v.name}: {v.summary()}" for v in profile.variables.values()] if profile else []
        summary = "; ".join(held[:12]) + (" …" if len(held) > 12 else "") or "no variables"
        if profile and any(v.is_float for v in profile.variables.values()):
            raise InvalidArgument(
                f"precision tuning has nothing to lower in {self.name}: its float data is already "
                f"as narrow as approxify offers (float16 in Python, float32 in numba code), or "
                f"plain Python floats, which lowering cannot speed up; on the example inputs its "
                f"variables held {summary}."
            )
        raise InvalidArgument(
            f"precision tuning found no float data in {self.name}: on the example inputs its "
            f"variables held {summary}. Only float variables and arrays (Python floats, NumPy "
            "float scalars and float arrays) can be lowered."
        )

    @property
    def name(self) -> str:
        return self.program.name

    @property
    def reference(self) -> str:
        """``module:qualname``, enough to import the target again when a result is loaded."""
        return self.program.reference

    def select(self, *, families: Iterable[str] | None = None,
               select: str | Iterable[str] | None = None) -> list[Site]:
        return select_sites(self.sites, families=families, select=select)

    def check(self, config: Any) -> dict[str, Setting]:
        """A validated config: known site ids, and settings of the site's family."""
        checked: dict[str, Setting] = {}
        for site_id, setting in check_config(config).items():
            if site_id not in self.site_index and f"{site_id}/{setting.family}" in self.site_index:
                site_id = f"{site_id}/{setting.family}"  # a model's layer named by its path alone
            if site_id in checked:
                raise InvalidConfig(f"config names site {site_id!r} twice; give it one setting.")
            checked[site_id] = setting
            site = self.site_index.get(site_id) or self._resolve(site_id)
            if site is None:
                hint = (" A call to a function named with calls= is a site only when the same "
                        "calls= is given again (ax.apply(..., calls=[...]), ax.load(path, calls=[...]))."
                        if "/call:" in site_id else "")
                if self.kind == "torch" and getattr(setting, "kind", None) == "mlp":
                    hint = (" A block's surrogate is trained on what the block computes: its site "
                            "exists once example inputs have run (ax.apply(model, config, "
                            "example_inputs=batches[:8]), ax.sites(model, example_inputs=...)).")
                raise UnknownSite(unknown_site_message(site_id, self.sites) + hint)
            if setting.family != site.family:
                example = site.knob.choices[0] if site.knob.choices else site.knob.exact
                raise InvalidConfig(
                    f"config[{site_id!r}] is a {setting.family} setting ({setting!r}), but the "
                    f"site is a {site.family} site; give it a {site.family} setting such as "
                    f"{example!r}."
                )
        return checked

    def _resolve(self, site_id: str) -> Site | None:
        for transform in self._transforms:
            resolve = getattr(transform, "resolve", None)
            site = resolve(self.program, site_id) if resolve else None
            if site is not None:
                return site
        return None

    def rewrite(self, config: Mapping[str, Setting]) -> Any:
        checked = self.check(config)
        program = self.program
        for transform in self._transforms:
            settings = {k: v for k, v in checked.items() if v.family == transform.family}
            if settings:
                program = transform.apply(program, settings)
        return program

    def build(self, config: Mapping[str, Setting]) -> Callable[..., Any]:
        """The variant for ``config`` as a new callable (``{}`` gives a fresh exact copy); a
        model's variant repaired when repair is on (see :meth:`enable_repair`)."""
        if self.repaired is None:
            return self.rewrite(config).build()
        return self._repaired_build(self.check(config))

    def _repaired_build(self, config: dict[str, Setting]) -> Any:
        """Prune and factor, repair those weights (once per structure), then lower precision:
        int8 kernels have no gradients, so quantization comes after the fine-tune."""
        from .search.space import config_key

        structure = {k: v for k, v in config.items() if v.family != "precision" and not v.is_exact}
        variant = self.rewrite(structure).build()
        if structure:
            key = config_key(structure)
            if key in self.repaired:
                variant.load_state_dict(self.repaired[key])
            elif self._repair_pairs is not None:
                from .search.repair import distill

                distill(variant, self._repair_pairs, steps=self._repair_steps)
                self.repaired[key] = copy.deepcopy(variant.state_dict())
        lowering = {k: v for k, v in config.items() if v.family == "precision"}
        if not lowering:
            return variant
        precision = next(t for t in self._transforms if t.family == "precision")
        return precision.apply(self.program.with_variant(variant), lowering).build()

    repaired: dict[str, Any] | None = None  # config key -> repaired weights of that variant
    _repair_pairs: Any = None
    _repair_steps: int = 0

    def enable_repair(self, pairs: Any, steps: int) -> None:
        """Fine-tune every model variant built from now on for ``steps`` steps towards the exact
        outputs in ``pairs`` ((arguments, exact output), tuning inputs only); weights are kept
        per config, so a variant is repaired once and rebuilt the same."""
        self.repaired = {} if self.repaired is None else self.repaired
        self._repair_pairs, self._repair_steps = list(pairs), steps

    def use_fits(self, saved: Mapping[str, Any]) -> None:
        """Put back fits a result saved as JSON (surrogates, activation ranges), so their sites
        exist again and variants are rebuilt without traces or example inputs."""
        from .transforms.substitute.fitting import load_fit

        self.program.fits.update({key: load_fit(data) for key, data in saved.items()})
        self.discover()

    def use_repaired(self, weights: dict[str, Any]) -> None:
        """Rebuild variants with saved repaired weights (a loaded result), never training."""
        self.repaired = dict(weights)
