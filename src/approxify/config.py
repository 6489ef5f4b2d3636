"""Settings (one per family), configs and budgets: frozen, validated, JSON round-trip.

A *setting* is one legal value of a site's knob; a *config* maps site ids to settings; ``{}`` is
the exact program. Settings are frozen dataclasses that validate in ``__post_init__`` and
serialise to plain dicts tagged with their family, so results never need pickle.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from .errors import InvalidArgument, InvalidArgumentType, InvalidConfig

_SETTING_CLASSES: dict[str, type[Setting]] = {}


class Setting:
    """Base of the per-family settings; subclasses register themselves by ``family``."""

    family: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _SETTING_CLASSES[cls.family] = cls

    @property
    def is_exact(self) -> bool:
        raise NotImplementedError

    def label(self) -> str:
        """A short human-readable name, used in tables and Optuna parameters."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return {"family": self.family, **dataclasses.asdict(self)}  # type: ignore[call-overload]

    def for_member(self, site: str) -> Setting:
        """The setting a member ``site`` of a tuned group takes when the group takes this one:
        the same, except for a setting made for the group's members one by one."""
        return self

    @classmethod
    def member_wise(cls, members: Sequence[tuple[str, Sequence[Setting]]]) -> Setting | None:
        """A setting for a group of linked sites ((site id, its choices) each) that gives each
        member its own setting, where the family has one worth trying; None by default."""
        return None


LOOP_POLICIES = ("modulo", "truncate", "random")  # for loops; "neurons" and "magnitude" prune layers
# for maps over a grid: every k-th row and column computed, the rest filled from them
GRID_POLICIES = ("grid-nearest", "grid-linear")
PERFORATION_POLICIES = (*LOOP_POLICIES, "neurons", "magnitude", *GRID_POLICIES)


@dataclass(frozen=True)
class Perforate(Setting):
    """Loop perforation: skip a share ``rate`` of a loop's iterations.

    ``policy``: for loops, ``"modulo"`` runs evenly spaced iterations (every k-th when 1/(1-rate)
    is a whole number), ``"truncate"`` runs the first (1 - rate) part, ``"random"`` a random subset
    drawn with ``seed``; for layers of a model, ``"neurons"`` removes that share of output neurons
    or channels (smallest weight norm first, the consumer layer shrinking to match) and
    ``"magnitude"`` zeroes that share of the weights (smallest magnitude first). ``compensate=True`` rescales the loop's contribution to ``acc += ...`` accumulators by
    iterations seen / iterations run, so sums and means stay unbiased. For an element-wise map
    over a grid (its last two axes), ``"grid-nearest"`` and ``"grid-linear"`` compute every k-th
    row and column only, ``rate = 1 - 1/k**2`` (:meth:`grid` builds them), and fill the rest
    by repeating each sample over its k x k block or by linear interpolation between samples.
    """

    family: ClassVar[str] = "perforate"

    rate: float = 0.0
    policy: str = "modulo"
    compensate: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.rate, bool) or not isinstance(self.rate, (int, float)):
            raise InvalidArgumentType(
                f"Perforate(rate=...) expects a number in [0, 1), got {self.rate!r} "
                f"({type(self.rate).__name__}); pass e.g. rate=0.5 to skip half the iterations."
            )
        if not (0.0 <= float(self.rate) < 1.0) or math.isnan(self.rate):
            raise InvalidArgument(
                f"Perforate(rate=...) expects a share of iterations to skip in [0, 1), "
                f"got {self.rate!r}; rate=0 is the exact loop, rate=0.75 runs a quarter of it."
            )
        object.__setattr__(self, "rate", float(self.rate))
        if self.policy not in PERFORATION_POLICIES:
            raise InvalidArgument(
                f"Perforate(policy=...) expects one of {', '.join(PERFORATION_POLICIES)}, "
                f"got {self.policy!r}."
            )
        if not isinstance(self.compensate, bool):
            raise InvalidArgumentType(
                f"Perforate(compensate=...) expects True or False, got {self.compensate!r}."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise InvalidArgumentType(f"Perforate(seed=...) expects an int, got {self.seed!r}.")
        if self.policy in GRID_POLICIES:
            self._check_grid()

    @classmethod
    def grid(cls, step: int, fill: str = "nearest") -> Perforate:
        """Every ``step``-th row and column of a grid computed, the rest filled by ``fill``
        (``"nearest"`` or ``"linear"``): ``Perforate(1 - 1/step**2, f"grid-{fill}")``."""
        if isinstance(step, bool) or not isinstance(step, int) or step < 2:
            raise InvalidArgument(
                f"Perforate.grid(step=...) expects a whole number >= 2 (every step-th row and column "
                f"computed), got {step!r}; e.g. Perforate.grid(2)."
            )
        if f"grid-{fill}" not in GRID_POLICIES:
            raise InvalidArgument(
                f"Perforate.grid(fill=...) expects 'nearest' or 'linear', got {fill!r}."
            )
        return cls(1.0 - 1.0 / step**2, f"grid-{fill}")

    def _check_grid(self) -> None:
        # the rate stands for a step k (1/k**2 of the grid kept): any other share has no grid
        if not self.is_exact and self.grid_step is None:
            raise InvalidArgument(
                f"Perforate(policy={self.policy!r}) keeps every k-th row and column, 1/k**2 of the "
                f"grid, so rate must be 1 - 1/k**2 (0.75 for k=2, 0.888... for k=3), got "
                f"{self.rate!r}; build it with Perforate.grid(2, {self.policy[5:]!r})."
            )
        if self.compensate:
            raise InvalidArgument(
                f"Perforate(policy={self.policy!r}) fills the rows and columns it skips, so there is "
                "nothing to compensate; drop compensate=True."
            )

    @property
    def grid_step(self) -> int | None:
        """For a grid policy: k when every k-th row and column is computed, else None."""
        if self.policy not in GRID_POLICIES or self.is_exact:
            return None
        k = 1.0 / math.sqrt(self.keep)
        return round(k) if abs(k - round(k)) < 1e-6 else None

    @property
    def is_exact(self) -> bool:
        return self.rate == 0.0

    @property
    def keep(self) -> float:
        """The share of iterations that run."""
        return 1.0 - self.rate

    @property
    def stride(self) -> int | None:
        """For ``modulo``: k when exactly every k-th iteration runs, else None."""
        k = 1.0 / self.keep
        return round(k) if abs(k - round(k)) < 1e-9 else None

    def label(self) -> str:
        if self.is_exact:
            return "exact"
        if self.grid_step is not None:
            return f"grid ::{self.grid_step} {self.policy[5:]}"
        text = f"{self.policy} {self.rate:.0%}"
        return text + " +comp" if self.compensate else text


# int8: a model's Linear layers (dynamic quantization); int16 / int32: a program's float arrays
# whose values are integers (8-bit images stored as float64), held as NumPy integers
PRECISION_DTYPES = ("float64", "float32", "float16", "bfloat16", "int8", "int16", "int32")
FLOAT_BITS = {"float64": 64, "float32": 32, "float16": 16, "bfloat16": 16}
INT_RANGES = {"int16": (-2**15, 2**15 - 1), "int32": (-2**31, 2**31 - 1)}  # program integer dtypes


@dataclass(frozen=True)
class Precision(Setting):
    """Precision lowering: hold a variable, array or layer in ``dtype``.

    Casts only ever narrow: a value already at or below ``dtype`` is left alone, integer and
    object data are never touched, so ``Precision("float64")`` is the exact setting. The integer
    types ``int16`` / ``int32`` hold a program's integral-valued float array as NumPy integers
    (``astype``); they are offered only where the example inputs showed such values in range.
    """

    family: ClassVar[str] = "precision"

    dtype: str = "float64"
    # int8 of a model's Linear only: SmoothQuant's migration strength alpha. Each input channel j
    # is divided by s_j = max|x_j|^alpha / max|W_j|^(1 - alpha) and the weight's column j
    # multiplied by it, which moves activation outliers into the weights, where per-channel
    # scales absorb them (max|x_j| is observed on example inputs)
    smoothing: float | None = None
    # a flow group's integer setting: (member site id, its dtype) pairs, dtype "integers"; each
    # member takes its own type, a member not named stays exact (see :meth:`for_member`)
    members: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.members or self.dtype == "integers":
            pairs = tuple((str(site), str(dtype)) for site, dtype in self.members)
            if self.dtype != "integers" or not pairs or any(d not in INT_RANGES for _, d in pairs):
                raise InvalidArgument(
                    f"Precision(members=...) is a group's integer setting: dtype 'integers' with "
                    f"(site, 'int16' | 'int32') pairs, got dtype={self.dtype!r}, members={self.members!r}.")
            object.__setattr__(self, "members", tuple(sorted(pairs)))  # lists, from JSON, as pairs
            return
        if self.dtype not in PRECISION_DTYPES:
            raise InvalidArgument(
                f"Precision(dtype=...) expects one of {', '.join(PRECISION_DTYPES)}, got "
                f"{self.dtype!r}; e.g. Precision('float32')."
            )
        if self.smoothing is None:
            return
        if isinstance(self.smoothing, bool) or not isinstance(self.smoothing, (int, float)) \
                or not 0 < self.smoothing < 1:
            raise InvalidArgument(
                f"Precision(smoothing=...) expects a number strictly between 0 and 1 (the share of "
                f"activation range moved into the weights), got {self.smoothing!r}; e.g. "
                "Precision('int8', smoothing=0.8)."
            )
        if self.dtype != "int8":
            raise InvalidArgument(
                f"Precision(smoothing=...) applies to int8 only (it evens out what int8 quantizes), "
                f"not to {self.dtype!r}; use Precision('int8', smoothing={self.smoothing!r}) or drop smoothing."
            )

    @property
    def is_exact(self) -> bool:
        return self.dtype == "float64"

    @classmethod
    def member_wise(cls, members: Sequence[tuple[str, Sequence[Setting]]]) -> Setting | None:
        """Integers, member by member: each member offering integer types at the narrowest one
        it offers (int16 where its range and its own products fit), the others exact. One type
        for all would not do: sobel's ``p`` pays in int16, its ``gx * gx`` needs int32."""
        chosen = {}
        for site, choices in members:
            offered = [c.dtype for c in choices if isinstance(c, Precision) and c.dtype in INT_RANGES]
            if offered:
                chosen[site] = min(offered, key=lambda d: INT_RANGES[d][1])
        return Precision("integers", members=tuple(chosen.items())) if chosen else None

    def for_member(self, site: str) -> Setting:
        if not self.members:
            return self
        dtype = dict(self.members).get(site)
        return Precision(dtype) if dtype is not None else Precision()

    def label(self) -> str:
        if self.members:
            return "integers (" + ", ".join(f"{site.rsplit('/', 1)[-1].removeprefix('var:')} {d}" for site, d in self.members) + ")"
        if self.smoothing is not None:
            return f"int8 smoothed {self.smoothing:g}"
        return "exact" if self.is_exact else self.dtype

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.smoothing is None:  # plain settings keep their short form
            del data["smoothing"]
        if not self.members:
            del data["members"]
        else:
            data["members"] = [list(pair) for pair in self.members]
        return data


SUBSTITUTE_KINDS = ("exact", "table", "poly", "mlp", "memo", "alternative", "lowrank")


@dataclass(frozen=True)
class Substitute(Setting):
    """Function substitution: replace a call by a cheaper surrogate fitted on traced calls.

    ``kind``: ``"table"`` (linear interpolation over ``points``), ``"poly"`` (Chebyshev fit of
    ``degree``), ``"mlp"`` (a small network with ``hidden`` units, for several arguments),
    ``"memo"`` (arguments rounded to ``cells`` per dimension, results reused), or
    ``"alternative"`` (the user's cheaper implementation ``name``, see ``ax.alternatives``); for a
    model's ``Linear`` layer, ``"lowrank"`` (two thinner layers from a truncated SVD of ``rank``).
    ``guard=True`` checks that the arguments lie in the traced range (widened by ``margin``, a
    share of its width) and calls the exact function otherwise. ``recheck`` is for a yes/no test,
    a call whose traced results take two values: the surrogate's answer is rounded to the nearer
    of them, and where it lies within ``recheck`` of their midpoint (a share of the gap between
    them, at most 0.5) the exact function answers instead (after Rumba's re-execution of the
    values it is unsure of).
    """

    family: ClassVar[str] = "substitute"

    kind: str = "exact"
    degree: int | None = None
    points: int | None = None
    hidden: tuple[int, ...] | None = None
    cells: int | None = None
    name: str | None = None
    rank: int | None = None
    guard: bool = True
    margin: float = 0.0
    recheck: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in SUBSTITUTE_KINDS:
            raise InvalidArgument(
                f"Substitute(kind=...) expects one of {', '.join(SUBSTITUTE_KINDS)}, got "
                f"{self.kind!r}; e.g. Substitute('poly', degree=6)."
            )
        for option in ("degree", "points", "cells", "rank"):
            value = getattr(self, option)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise InvalidArgument(f"Substitute({option}=...) expects a whole number >= 1, got {value!r}.")
        if self.hidden is not None:
            hidden = tuple(self.hidden) if isinstance(self.hidden, (list, tuple)) else (self.hidden,)
            if not hidden or not all(isinstance(h, int) and not isinstance(h, bool) and h >= 1 for h in hidden):
                raise InvalidArgument(
                    f"Substitute(hidden=...) expects layer widths such as (16,) or (32, 16), got {self.hidden!r}."
                )
            object.__setattr__(self, "hidden", hidden)
        if self.kind == "lowrank" and self.rank is None:
            raise InvalidArgument("Substitute('lowrank', rank=...) needs the rank, e.g. rank=32.")
        if self.kind == "alternative" and not self.name:
            raise InvalidArgument("Substitute('alternative', name=...) needs the alternative function's name.")
        if self.name is not None and not isinstance(self.name, str):
            raise InvalidArgumentType(
                f"Substitute(name=...) expects the alternative function's name as a string, got "
                f"{self.name!r}; e.g. Substitute('alternative', name='fast_norm')."
            )
        if not isinstance(self.guard, bool):
            raise InvalidArgumentType(f"Substitute(guard=...) expects True or False, got {self.guard!r}.")
        if isinstance(self.margin, bool) or not isinstance(self.margin, (int, float)) or not 0 <= self.margin <= 1:
            raise InvalidArgument(
                f"Substitute(margin=...) expects a share of the traced range in [0, 1], got {self.margin!r}."
            )
        object.__setattr__(self, "margin", float(self.margin))
        if self.recheck is not None:
            if isinstance(self.recheck, bool) or not isinstance(self.recheck, (int, float)) \
                    or not 0 < self.recheck <= 0.5:
                raise InvalidArgument(
                    f"Substitute(recheck=...) expects a share of the gap between a yes/no test's two "
                    f"answers in (0, 0.5], got {self.recheck!r}; e.g. Substitute('mlp', hidden=(8,), "
                    "recheck=0.2), or recheck=None to trust every answer."
                )
            if self.kind in ("exact", "alternative", "lowrank"):
                raise InvalidArgument(
                    f"Substitute(recheck=...) applies to fitted surrogates (table, poly, mlp, memo), "
                    f"not to {self.kind!r}; drop recheck."
                )
            object.__setattr__(self, "recheck", float(self.recheck))

    @property
    def is_exact(self) -> bool:
        return self.kind == "exact"

    def fit_options(self) -> dict[str, Any]:
        """The options that decide the fitted model (guard and margin only decide its use)."""
        options = {"degree": self.degree, "points": self.points, "hidden": self.hidden, "cells": self.cells}
        return {k: v for k, v in options.items() if v is not None}

    def label(self) -> str:
        if self.is_exact:
            return "exact"
        detail = {"table": self.points, "poly": self.degree, "memo": self.cells, "alternative": self.name,
                  "lowrank": self.rank,
                  "mlp": "x".join(map(str, self.hidden)) if self.hidden else None}[self.kind]
        text = self.kind if detail is None else f"{self.kind} {detail}"
        if not self.guard:
            text += " unguarded"
        elif self.margin:
            text += f" margin {self.margin:g}"
        if self.recheck is not None:
            text += f" recheck {self.recheck:g}"
        return text

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if data["hidden"] is not None:
            data["hidden"] = list(data["hidden"])
        if self.recheck is None:  # settings without it keep their short form
            del data["recheck"]
        return data


def setting_from_dict(data: Mapping[str, Any]) -> Setting:
    """Rebuild a setting from :meth:`Setting.to_dict` output."""
    if not isinstance(data, Mapping) or "family" not in data:
        raise InvalidConfig(
            f"a setting must be a dict with a 'family' key (one of {sorted(_SETTING_CLASSES)}), "
            f"got {data!r}"
        )
    fields = dict(data)
    family = fields.pop("family")
    cls = _SETTING_CLASSES.get(family)
    if cls is None:
        raise InvalidConfig(
            f"unknown setting family {family!r}; known families: {', '.join(sorted(_SETTING_CLASSES))}"
        )
    try:
        return cls(**fields)
    except TypeError as exc:
        raise InvalidConfig(f"cannot build {cls.__name__} from {dict(data)!r}: {exc}") from None


Config = Mapping[str, Setting]


def check_config(config: Any) -> dict[str, Setting]:
    """Validate a user config: a mapping of site id (str) to a setting object."""
    if not isinstance(config, Mapping):
        raise InvalidArgumentType(
            f"config must be a dict mapping site ids to settings, e.g. "
            f"{{'mod.fn/for#0': ax.Perforate(rate=0.5)}}; got {type(config).__name__}."
        )
    checked: dict[str, Setting] = {}
    for site_id, setting in config.items():
        if not isinstance(site_id, str):
            raise InvalidArgumentType(f"config keys must be site id strings, got {site_id!r}.")
        if isinstance(setting, Mapping):
            setting = setting_from_dict(setting)
        if not isinstance(setting, Setting):
            raise InvalidArgumentType(
                f"config[{site_id!r}] must be a setting such as ax.Perforate(rate=0.5), "
                f"got {setting!r}."
            )
        checked[site_id] = setting
    return checked


def config_to_dict(config: Config) -> dict[str, dict[str, Any]]:
    """A config as plain JSON-able data (exact settings dropped: they change nothing)."""
    return {site: setting.to_dict() for site, setting in sorted(config.items()) if not setting.is_exact}


def config_key(config: Config) -> str:
    """A canonical string for a config, to recognise configs measured before."""
    return json.dumps(config_to_dict(config), sort_keys=True)


def config_from_dict(data: Mapping[str, Any]) -> dict[str, Setting]:
    return {site: setting_from_dict(d) for site, d in data.items()}


def describe_config(config: Config) -> str:
    """One line: ``site: label, site: label`` (or ``exact``); with many sites, grouped by
    setting and function: ``float32: bs.price/{K, S, d1}, bs.cnd/{d, return}``."""
    chosen = sorted((site, s) for site, s in config.items() if not s.is_exact)
    if not chosen:
        return "exact"
    if len(chosen) <= 3:
        return ", ".join(f"{site}: {s.label()}" for site, s in chosen)
    by_label: dict[str, dict[str, list[str]]] = {}
    for site, setting in chosen:
        function, _, leaf = site.rpartition("/")
        by_label.setdefault(setting.label(), {}).setdefault(function, []).append(leaf.removeprefix("var:"))
    parts = []
    for label, functions in by_label.items():
        places = [f"{fn}/{{{', '.join(leaves)}}}" if len(leaves) > 1 else f"{fn}/{leaves[0]}"
                  for fn, leaves in functions.items()]
        parts.append(f"{label}: {', '.join(places)}")
    return "; ".join(parts)


@dataclass(frozen=True)
class Budget:
    """How much search :func:`approxify.approximate` may spend.

    ``trials``: configurations the combination search evaluates (the per-site sensitivity pass
    comes on top). ``seconds``: optional wall-clock cap on the search.
    """

    trials: int = 100
    seconds: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.trials, bool) or not isinstance(self.trials, int) or self.trials < 0:
            raise InvalidArgument(
                f"Budget(trials=...) expects a whole number >= 0, got {self.trials!r}; "
                "e.g. Budget(trials=100)."
            )
        if self.seconds is not None and not (
            isinstance(self.seconds, (int, float)) and self.seconds > 0
        ):
            raise InvalidArgument(
                f"Budget(seconds=...) expects a positive number or None, got {self.seconds!r}."
            )
