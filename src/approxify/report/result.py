"""The outcome of :func:`approxify.approximate`, saved to and loaded from plain JSON."""

from __future__ import annotations

import importlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._target import Target
from ..config import Setting, config_from_dict, config_to_dict, describe_config
from ..errors import InvalidArgument, InvalidArgumentType
from ..stats import Certificate
from .data import report_data
from .export import export_source
from .html import render
from .terminal import summary_text

FORMAT = "approxify.result/1"


@dataclass
class Candidate:
    """One measured config: figures on the tuning inputs, and on held-out inputs if certified."""

    config: dict[str, Setting]
    origin: str  # "exact" | "sensitivity" | "seed" | "search" | "delta" | "refine"
    tuning: dict[str, Any]  # Evaluation.summary() on tuning inputs
    heldout: dict[str, Any] | None = None  # the same on held-out inputs
    certificate: Certificate | None = None

    @property
    def speedup(self) -> float:
        """Held-out speedup when measured there, else the tuning one."""
        figures = self.heldout if self.heldout and self.heldout.get("speedup") else self.tuning
        return float(figures["speedup"])

    @property
    def mean_loss(self) -> float:
        figures = self.heldout if self.heldout else self.tuning
        return float(figures["mean_loss"])

    @property
    def certified(self) -> bool:
        return bool(self.certificate and self.certificate.holds)

    @property
    def is_exact(self) -> bool:
        return not self.config

    def describe(self) -> str:
        return describe_config(self.config)

    def to_dict(self) -> dict[str, Any]:
        return {
            "config": config_to_dict(self.config),
            "origin": self.origin,
            "tuning": self.tuning,
            "heldout": self.heldout,
            "certificate": self.certificate.to_dict() if self.certificate else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Candidate:
        cert = data.get("certificate")
        return cls(
            config=config_from_dict(data["config"]),
            origin=data["origin"],
            tuning=data["tuning"],
            heldout=data.get("heldout"),
            certificate=Certificate.from_dict(cert) if cert else None,
        )


@dataclass
class Result:
    """What tuning found. ``best`` is the fastest certified config (the exact one if none)."""

    target: str  # readable key, e.g. "mc.estimate"
    reference: str  # "module:qualname", to import the target again
    settings: dict[str, Any]  # quality, bound, confidence, seed, budget, split sizes, storage...
    exact: Candidate
    pareto: list[Candidate]
    best: Candidate
    sensitivity: list[dict[str, Any]]
    points: list[Candidate]  # every config measured on the tuning inputs
    stats: dict[str, Any]  # trials, evaluations, wall time
    environment: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    effects: list[dict[str, Any]] = field(default_factory=list)  # each part of best: with/without/alone
    fits: dict[str, Any] = field(default_factory=dict)  # fitted surrogates of the certified configs (JSON)
    weights: dict[str, Any] = field(default_factory=dict, repr=False)  # config key -> repaired state dict
    _target_obj: Any = field(default=None, repr=False, compare=False)
    _modules: tuple[str, ...] = field(default=(), repr=False, compare=False)
    _calls: tuple[Any, ...] = field(default=(), repr=False, compare=False)

    # -- the approximated program ------------------------------------------------------------
    def program(self, config: dict[str, Setting] | None = None) -> Callable[..., Any]:
        """The best variant (or ``config``'s) as a new callable; the target is not modified."""
        return self._lifted().build(self.best.config if config is None else config)

    def source(self, config: dict[str, Setting] | None = None) -> str:
        """The approximated Python source of the target and its callees, ready to ship."""
        return export_source(self._lifted(), self.best.config if config is None else config)

    def _lifted(self):
        obj = self._target_obj if self._target_obj is not None else _import(self.reference)
        self._target_obj = obj
        target = Target(obj, modules=self._modules, calls=self._calls)
        if self.fits:
            target.use_fits(self.fits)
        if self.weights:
            target.use_repaired(self.weights)
        return target

    # -- persistence -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        best_index = next((i for i, c in enumerate(self.pareto) if c is self.best), None)
        return {
            "format": FORMAT,
            "target": self.target,
            "reference": self.reference,
            "modules": list(self._modules),
            "settings": self.settings,
            "exact": self.exact.to_dict(),
            "pareto": [c.to_dict() for c in self.pareto],
            "best": "exact" if best_index is None else best_index,
            "sensitivity": self.sensitivity,
            "points": [c.to_dict() for c in self.points],
            "stats": self.stats,
            "environment": self.environment,
            "notes": self.notes,
            "effects": self.effects,
            "fits": self.fits,
        }

    def save(self, path: str | Path) -> Path:
        """Write the result as JSON; repaired model weights go beside it (``<name>.weights.pt``,
        a state dict per config, read back with ``weights_only=True``), never pickled objects."""
        path = Path(path)
        data = self.to_dict()
        if self.weights:
            import torch

            weights = path.with_name(path.stem + ".weights.pt")
            torch.save(self.weights, weights)
            data["weights_file"] = weights.name
        path.write_text(json.dumps(finite_json(data), indent=2) + "\n")
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, target: Any = None, calls: Any = ()) -> Result:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InvalidArgument(
                f"not an approxify result (expected format {FORMAT!r}, got "
                f"{data.get('format') if isinstance(data, dict) else type(data).__name__!r})."
            )
        exact = Candidate.from_dict(data["exact"])
        pareto = [Candidate.from_dict(c) for c in data["pareto"]]
        best = exact if data["best"] == "exact" else pareto[data["best"]]
        return cls(
            target=data["target"],
            reference=data["reference"],
            settings=data["settings"],
            exact=exact,
            pareto=pareto,
            best=best,
            sensitivity=data["sensitivity"],
            points=[Candidate.from_dict(c) for c in data["points"]],
            stats=data["stats"],
            environment=data["environment"],
            notes=data.get("notes", []),
            effects=data.get("effects", []),
            fits=data.get("fits", {}),
            _target_obj=target,
            _modules=tuple(data.get("modules", ())),
            _calls=tuple(calls),
        )

    def summary(self) -> str:
        return summary_text(self)

    def report_data(self) -> dict[str, Any]:
        """What :meth:`report` shows, as plain JSON-able data."""
        return report_data(self)

    def report(self, path: str | Path) -> Path:
        """Write a self-contained HTML report (trade-off plot, certificate, sensitivity, the
        change) to ``path``; needs matplotlib (``pip install 'approxify[report]'``)."""
        path = Path(path)
        if path.suffix.lower() not in (".html", ".htm"):
            raise InvalidArgument(f"report(path) writes HTML; got {str(path)!r}, pass a path ending in .html.")
        path.write_text(render(self.report_data()), encoding="utf-8")
        return path


def load(path: str | Path, *, target: Any = None, calls: Any = ()) -> Result:
    """Load a saved result. ``target``: the function, when it cannot be imported by reference;
    ``calls``: the functions named with ``calls=`` when tuning (they are not saved: functions
    are not JSON)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidArgument(f"load({str(path)!r}): no such file; pass the path result.save() wrote.")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidArgument(f"load({str(path)!r}): not JSON ({exc}).") from None
    result = Result.from_dict(data, target=target, calls=calls)
    if data.get("weights_file"):
        import torch

        result.weights = torch.load(path.with_name(data["weights_file"]), weights_only=True)
    return result


def _import(reference: str) -> Any:
    module_name, _, qualname = reference.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidArgumentType(
            f"cannot import the target {reference!r} ({exc}); pass it explicitly: "
            "ax.load(path, target=fn)."
        ) from None
    return obj


def finite_json(value: Any) -> Any:
    """JSON has no Infinity/NaN: write them as strings so every reader can parse the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_json(v) for v in value]
    return value
