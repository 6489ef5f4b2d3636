"""The torch target: a ``torch.nn.Module`` whose layers and blocks are sites, by module path.

Variants are deep copies changed by module surgery (``program.model`` is the user's model and is
never modified); ``build`` returns the variant in ``eval()`` mode with gradients off. torch is an
optional extra, imported only when a model is given.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from .._optional import require_torch
from ..errors import UnsupportedTarget
from ..measure.inputs import run_hooked
from .torch_layers import editable_copy, set_module  # noqa: F401  (set_module: for the families)
from .torch_repair import Repair

@dataclass(frozen=True)
class Layer:
    """A model site's locator: the module at ``path`` (in the user's model's naming)."""

    path: str


@dataclass(frozen=True)
class TorchProgram:
    """A model and the variant built so far. Immutable: each transform returns a new program
    whose ``variant`` is a changed deep copy (``model`` stays the user's, untouched)."""

    model: Any
    variant: Any = None  # None: nothing changed yet
    observations: Mapping[str, Any] = field(default_factory=dict)  # family -> what example runs saw
    fits: dict[Any, Any] = field(default_factory=dict, compare=False)  # trained surrogates, shared
    repair: Repair | None = field(default=None, compare=False)  # repair=: fine-tune after pruning
    # paths of the modules that ran on the example inputs (None: no inputs ran yet)
    ran: frozenset[str] | None = None

    per_sample = True  # losses are per sample of a batch
    records_runs = True  # which layers ran on the example inputs (dead ones get no choices)
    has_weights = True
    # measured in this process: variants are private copies already, and torch's thread pools
    # do not survive a fork
    isolate = False

    @property
    def name(self) -> str:
        return type(self.model).__name__

    @property
    def reference(self) -> str:
        cls = type(self.model)
        return f"{cls.__module__}:{cls.__qualname__}"

    @property
    def current(self) -> Any:
        """The model as changed so far (read-only use)."""
        return self.model if self.variant is None else self.variant

    def edited(self) -> Any:
        """A private copy of the current model, for a transform to change."""
        return copy.deepcopy(self.current)

    def with_variant(self, variant: Any) -> TorchProgram:
        return replace(self, variant=variant)

    def with_observations(self, family: str, data: Any) -> TorchProgram:
        return replace(self, observations={**self.observations, family: data})

    def runs(self, examples: Iterable[Any]) -> frozenset[str]:
        """The paths of the modules a private copy runs on ``examples`` (read by forward hooks;
        an attention's projections by their paths, see :mod:`.torch_layers`), each with the
        modules above it, which hold it even when never called themselves (a ``ModuleList``)."""
        model = editable_copy(self.model).eval()
        called: set[str] = set()

        def recorder(path: str):
            return lambda module, args, output: called.add(path)

        run_hooked(model, examples, [m.register_forward_hook(recorder(p)) for p, m in named_leaves(model)])
        return frozenset(".".join(p.split(".")[:i]) for p in called for i in range(1, p.count(".") + 2))

    def with_runs(self, ran: frozenset[str]) -> TorchProgram:
        return replace(self, ran=ran)

    def observed(self, family: str) -> Any:
        return self.observations.get(family)

    def source(self) -> str:
        return repr(self.current)

    def exact(self) -> Any:
        """What variants are compared with: a private copy in eval mode (the user's model may
        be training; it is neither used nor switched)."""
        return replace(self, variant=None).build()

    def with_repair(self, repair: Repair) -> TorchProgram:
        return replace(self, repair=repair)

    def repaired(self, structure: str) -> TorchProgram:
        """The post-build hook: the variant so far with its weights repaired (``repair=``),
        when it changed the structure (``structure`` is that change's config key)."""
        if self.repair is None or self.variant is None or not structure:
            return self
        return self.with_variant(self.repair.apply(self.build(), structure))

    def build(self) -> Any:
        """The variant as a new module in eval mode with gradients off."""
        model = copy.deepcopy(self.current)
        model.eval()
        for parameter in model.parameters():
            parameter.requires_grad_(False)
        return model

    jitted = False  # the runner's first-call compile allowance does not apply


def lift_model(model: Any) -> TorchProgram:
    """The program of ``model``, refused with the reason when approxify could not work on
    private copies of it: variants are deep copies put in eval mode."""
    require_torch()
    name = type(model).__name__
    try:
        probe = copy.deepcopy(model)
    except Exception as exc:  # noqa: BLE001 - a lock, an open file, a generator in an attribute
        raise UnsupportedTarget(
            f"model {name} cannot be deep-copied ({type(exc).__name__}: {exc}); approxify builds "
            "every variant on a private copy. Keep objects that cannot be copied (open files, "
            "locks, generators) out of the module's attributes, or give it a __deepcopy__."
        ) from None
    try:
        probe.eval()
    except Exception as exc:  # noqa: BLE001
        raise UnsupportedTarget(
            f"model {name} raised {type(exc).__name__}: {exc} when put in eval mode (model.eval()); "
            "approxify measures variants in eval mode, so eval() must work on a copy of it."
        ) from None
    return TorchProgram(model)


def named_leaves(model: Any) -> Iterator[tuple[str, Any]]:
    """(path, module) of every module, in registration order, root excluded."""
    for path, module in model.named_modules():
        if path:
            yield path, module


def get_module(model: Any, path: str) -> Any:
    return model.get_submodule(path)


