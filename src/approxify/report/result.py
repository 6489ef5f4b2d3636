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
from ..errors import (ApproxifyError, InvalidArgument, InvalidArgumentType, ResultFileError, TargetChanged,
                      UnsupportedTarget)
from ..stats import Certificate
from ..targets.call_trace import CallHint
from ..targets.fingerprint import changes
from .data import report_data
from .export import export_source
from .export_model import ModelExport, export_model
from .html import render
from .result_file import FIX, FORMAT, check_result_data, read_json
from .terminal import summary_text

ALLOW_CHANGED = ("pass allow_changed=True to build it anyway, uncertified (ax.load(path, "
                 "allow_changed=True) or result.program(allow_changed=True); approxify export "
                 "and report: --allow-changed)")


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
        return float(self._speed_figures()["speedup"])

    @property
    def speedup_low(self) -> float | None:
        """The lower limit of :attr:`speedup`'s interval (None: a result saved before intervals)."""
        return _number(self._speed_figures().get("speedup_low"))

    @property
    def speedup_high(self) -> float | None:
        return _number(self._speed_figures().get("speedup_high"))

    def _speed_figures(self) -> dict[str, Any]:
        return self.heldout if self.heldout and self.heldout.get("speedup") else self.tuning

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
    # the calls seen in the lifted code and not followed: function, where, call, reason
    skipped: list[dict[str, str]] = field(default_factory=list)
    fits: dict[str, Any] = field(default_factory=dict)  # fitted surrogates of the certified configs (JSON)
    weights: dict[str, Any] = field(default_factory=dict, repr=False)  # config key -> repaired state dict
    # what was measured (targets/fingerprint.py). None: not taken yet, a fresh result takes it
    # from its target; {}: the result was saved before results recorded one
    fingerprint: dict[str, Any] | None = field(default=None, repr=False)
    # how the target differs from the fingerprint, as last compared (when building, or loading
    # with allow_changed=True): not empty, the certificate does not apply to what is built now
    changed: list[str] = field(default_factory=list, compare=False)
    # module:name that imports the target itself, where ``reference`` cannot: a model's reference
    # names its class, which holds no weights (approxify tune records the name it was given)
    imported_as: str | None = None
    _target_obj: Any = field(default=None, repr=False, compare=False)
    _modules: tuple[str, ...] = field(default=(), repr=False, compare=False)
    _calls: tuple[Any, ...] = field(default=(), repr=False, compare=False)
    _followed: tuple[Any, ...] = field(default=(), repr=False, compare=False)  # CallHints of the tuning run
    _path: Path | None = field(default=None, repr=False, compare=False)  # the file it was loaded from
    _allow_changed: bool = field(default=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.fingerprint is None and self._target_obj is not None:  # fresh from tuning
            self.fingerprint = self._lifted().fingerprint()

    # -- the approximated program ------------------------------------------------------------
    def program(self, config: dict[str, Setting] | None = None, *,
                allow_changed: bool = False) -> Callable[..., Any]:
        """The best variant (or ``config``'s) as a new callable; the target is not modified.
        Refused (:class:`TargetChanged`) when the target's code or weights are not those the
        result measured; ``allow_changed=True`` builds anyway and marks the result uncertified."""
        return self._checked(allow_changed).build(self.best.config if config is None else config)

    def source(self, config: dict[str, Setting] | None = None, *, allow_changed: bool = False) -> str:
        """The approximated Python source of the target and its callees, ready to ship (refused
        like :meth:`program` when the code changed)."""
        return export_source(self._checked(allow_changed), self.best.config if config is None else config)

    def export_model(self, path: str | Path, example_inputs: Any = None, *,
                     config: dict[str, Setting] | None = None, allow_changed: bool = False) -> ModelExport:
        """Write the best variant (or ``config``'s) of a model to ``path``, a file torch alone
        loads: ``.pt2`` (torch.export, preferred), ``.pt`` (TorchScript, for what torch.export
        cannot trace) or ``.onnx``. ``example_inputs``: a few inputs the model takes (a result keeps
        only a digest of its inputs); the file is traced on the first and checked against the
        variant on up to four. Refused like :meth:`program` when the model changed."""
        if not self.is_model:
            raise UnsupportedTarget(
                f"{self.target} is a Python function: its variant is source, not a model file; "
                "write it with result.source() (approxify export r.json --out fast.py)."
            )
        if example_inputs is None:
            raise InvalidArgument(
                f"export_model(example_inputs=...) is needed for the model {self.target}: a result "
                "keeps no inputs (only their digest), and the file is traced and checked on some; "
                "pass a few of the batches it was tuned on (approxify export: --inputs module:name)."
            )
        return export_model(self.program(config, allow_changed=allow_changed), path, example_inputs)

    @property
    def is_model(self) -> bool:
        """Whether the target is a model (its variant is a module), not a Python function."""
        return self._lifted().has_weights

    def provenance(self) -> str | None:
        """What a reader must be told about where the certificate applies; None when the target
        is the one measured (or was not looked at yet)."""
        if self.changed:
            what = "code" if "functions" in (self.fingerprint or {}) else "model"
            return (f"The {what} changed since this result was certified ({'; '.join(self.changed)}): "
                    "the certificate does not apply to the variant built from it now.")
        if self.fingerprint == {}:
            return ("This result was saved before approxify recorded fingerprints: whether the code "
                    "is still the code certified cannot be checked.")
        return None

    def _checked(self, allow_changed: bool = False) -> Target:
        """The target lifted, once it is known to be what the result measured. What differs is
        kept in ``changed`` (the summary and the report say it), and refused unless allowed."""
        allowed = allow_changed or self._allow_changed
        recorded = self.fingerprint or {}
        edited = recorded and self._target_obj is None and self.reference != recorded["reference"]
        if edited and not allowed:  # checked before any import: the module it names must not run
            self._compare([f"the result names {self.reference} as its target, but it measured "
                           f"{recorded['reference']}"], allowed)
        target = self._lifted()
        self._compare(changes(recorded, target.fingerprint()) if recorded else [], allowed)
        return target

    def _compare(self, found: list[str], allowed: bool) -> None:
        """Keep what differs (``found``); refuse it, naming the file and the fix, unless allowed."""
        self.changed = found
        if found and not allowed:
            where = f"the result in {str(self._path)!r}" if self._path else "this result"
            raise TargetChanged(
                f"{where} was measured on another version of {self.target}: {'; '.join(found)}. A "
                "variant built now would not be the one measured, so its certificate would not "
                f"apply. Tune again on the current version, or {ALLOW_CHANGED}."
            )

    def _lifted(self) -> Target:
        obj = self._target_obj if self._target_obj is not None else self._imported()
        self._target_obj = obj
        target = Target(obj, modules=self._modules, calls=self._calls, followed=self._followed)
        if self.fits:
            try:
                target.use_fits(self.fits)
            except (ApproxifyError, KeyError, TypeError, ValueError) as exc:
                problem = str(exc).rstrip(".")
                raise ResultFileError(f"{_name(self._path)} is damaged: fits: {problem}; {FIX}.") from None
        if self.weights:
            target.use_repaired(self.weights)
        return target

    def _imported(self) -> Any:
        """The target imported by name; a model's class is not the model (it has no weights)."""
        obj = _import(self.imported_as or self.reference)
        if isinstance(obj, type) and "weights" in (self.fingerprint or {}):
            raise InvalidArgumentType(
                f"the result names the class {self.reference} of its model, not the model, and a "
                "class holds no weights; pass the model: ax.load(path, target=model) (a result "
                "that approxify tune wrote names the model itself)."
            )
        return obj

    # -- persistence -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        best_index = next((i for i, c in enumerate(self.pareto) if c is self.best), None)
        return {
            "format": FORMAT,
            "target": self.target,
            "reference": self.reference,
            **({"imported_as": self.imported_as} if self.imported_as else {}),
            "modules": list(self._modules),
            "followed": [hint.to_list() for hint in self._followed],
            "skipped": self.skipped,
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
            "fingerprint": self.fingerprint or {},
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
    def from_dict(cls, data: dict[str, Any], *, target: Any = None, calls: Any = (),
                  path: Path | None = None) -> Result:
        """The result ``to_dict`` wrote; ``path``: the file it was read from, for messages. A
        damaged ``data`` is a :class:`ResultFileError` naming what is wrong."""
        check_result_data(data, name=_name(path))
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
            skipped=data.get("skipped", []),
            fits=data.get("fits", {}),
            fingerprint=data.get("fingerprint", {}),
            imported_as=data.get("imported_as"),
            _target_obj=target,
            _modules=tuple(data.get("modules", ())),
            _calls=tuple(calls),
            _followed=_followed(data.get("followed", []), path),
            _path=path,
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


def load(path: str | Path, *, target: Any = None, calls: Any = (), allow_changed: bool = False) -> Result:
    """Load a saved result. ``target``: the function, when it cannot be imported by reference;
    ``calls``: the functions named with ``calls=`` when tuning (they are not saved: functions
    are not JSON). A missing or damaged file is a :class:`ResultFileError`.

    Variants are built only on the code (or model weights) the result measured: when they
    differ from its fingerprint, ``program()`` and ``source()`` raise :class:`TargetChanged`.
    ``allow_changed=True`` builds anyway; the target is compared now, and what changed is kept
    in ``result.changed`` and said by the summary and the report: the certificate does not
    apply."""
    path = Path(path)
    data = read_json(path)
    result = Result.from_dict(data, target=target, calls=calls, path=path)
    if data.get("weights_file"):
        result.weights = _read_weights(path, data["weights_file"])
    if allow_changed:
        result._allow_changed = True
        result._checked()  # now, so that the summary says what changed before anything is built
    return result


def _read_weights(path: Path, name: str) -> dict[str, Any]:
    """The repaired weights saved beside the result (state dicts, never pickled objects)."""
    import torch

    try:
        return torch.load(path.with_name(name), weights_only=True)
    except Exception as exc:  # torch raises many kinds for a missing or damaged file
        raise ResultFileError(f"{_name(path)}: its weights file {name!r} cannot be read ({exc}); "
                              f"keep it beside the result, or {FIX}.") from None


def _name(path: Path | None) -> str:
    return f"result file {str(path)!r}" if path else "the result data"


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


def _number(value: Any) -> float | None:
    """A stored figure as a float (``finite_json`` writes inf as "inf"); None when absent."""
    return None if value is None else float(value)


def _followed(data: Any, path: Path | None) -> tuple[CallHint, ...]:
    """The ``followed`` list of a result file: calls its tuning run resolved (see Target)."""
    try:
        return tuple(CallHint.from_list(entry) for entry in data)
    except (TypeError, ValueError) as exc:
        raise ResultFileError(f"{_name(path)} is damaged: followed: {exc}; {FIX}.") from None
