"""Surrogate models for function substitution: fit on traced calls, predict vectorized, save JSON.

A surrogate stands in for a costly element-wise function ``Y = f(X)`` once :func:`fit` on traced
arguments (rows of ``X``) and results (rows of ``Y``). The kinds trade accuracy for cost:

``table``  piecewise-linear table over one argument, least-squares values, linear interpolation;
``poly``   Chebyshev least-squares polynomial over one argument, Clenshaw recurrence;
``mlp``    small tanh network over any number of arguments (:mod:`.mlp`);
``memo``   approximate memoization: mean result per visited grid cell, NaN rows for the others.

Each surrogate records the observed range ``lo``/``hi`` of its arguments (the caller's guard falls
back to the exact function outside it) and round-trips through plain JSON with predictions
unchanged bit for bit: arrays are stored as lists of floats, whose ``repr`` is exact. Predictions
run over blocks of rows with NumPy operations only, never a Python loop over rows.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, ClassVar

import numpy as np
from numpy.polynomial import chebyshev
from scipy.linalg import solveh_banded

from ...errors import InvalidArgument, InvalidArgumentType
from . import mlp
from .predict import _ax_MemoPredictor, _ax_MlpPredictor, _ax_PolyPredictor, _ax_TablePredictor

KINDS = ("table", "poly", "mlp", "memo")
HORNER_MAX_DEGREE = 8  # poly up to this degree is evaluated by Horner's rule (fewer passes)


@dataclass(frozen=True)
class Samples:
    """Traced calls: ``X`` (N, d) has a column per numeric argument, ``Y`` (N, m) one per output."""

    X: np.ndarray
    Y: np.ndarray

    def __post_init__(self) -> None:
        for name in ("X", "Y"):
            array = np.asarray(getattr(self, name), dtype=np.float64)
            if array.ndim != 2 or array.shape[1] == 0:
                raise InvalidArgument(
                    f"Samples.{name} must be a 2-D array with one row per traced value and at "
                    f"least one column, got shape {array.shape}; reshape a single column with "
                    f"{name.lower()}.reshape(-1, 1)"
                )
            object.__setattr__(self, name, array)
        if len(self.X) != len(self.Y):
            raise InvalidArgument(
                f"Samples.X and Samples.Y must have one row per traced value each, got "
                f"{len(self.X)} rows in X and {len(self.Y)} in Y; trace arguments and results "
                f"together"
            )

    def finite(self) -> Samples:
        """The rows whose arguments and results are all finite (NaN/Inf rows teach nothing)."""
        keep = np.isfinite(self.X).all(axis=1) & np.isfinite(self.Y).all(axis=1)
        return self if keep.all() else Samples(self.X[keep], self.Y[keep])


class TooFewSamples(InvalidArgument):
    """Raised by :func:`fit` when fewer (finite) traced values than the kind needs were given."""

    def __init__(self, needed: int, given: int, message: str | None = None):
        super().__init__(message or f"needs at least {needed} traced values, got {given}")
        self.needed, self.given = needed, given


# -- options: frozen, validated, with defaults ---------------------------------------------------


def _bad_option(kind: str, name: str, value: Any, expected: str, example: str) -> InvalidArgument:
    return InvalidArgument(
        f"surrogate option {name}={value!r} (kind {kind!r}) must be {expected}; pass e.g. {example}"
    )


def _check_int(kind: str, name: str, value: Any, minimum: int, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise _bad_option(kind, name, value, f"an integer >= {minimum}", example)


def _check_positive(kind: str, name: str, value: Any, example: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise _bad_option(kind, name, value, "a finite number > 0", example)


@dataclass(frozen=True)
class TableOptions:
    points: int = 256  # grid points evenly over [lo, hi]

    def __post_init__(self) -> None:
        _check_int("table", "points", self.points, 2, "points=256")

    def needed(self, n_arguments: int, n_outputs: int) -> tuple[int, str]:
        return 16, "table"


@dataclass(frozen=True)
class PolyOptions:
    degree: int = 8

    def __post_init__(self) -> None:
        _check_int("poly", "degree", self.degree, 0, "degree=8")

    def needed(self, n_arguments: int, n_outputs: int) -> tuple[int, str]:
        # two samples per coefficient, so the least-squares fit is not an interpolation of noise
        return 2 * (self.degree + 1), f"poly of degree {self.degree}"


@dataclass(frozen=True)
class MlpOptions:
    hidden: tuple[int, ...] = (16,)  # widths of the tanh layers
    validation: float = 0.2  # share held back for early stopping
    epochs: int = 2000  # cap on passes over the training part
    seconds: float | None = 5.0  # time budget; None: only epochs and patience stop training
    learning_rate: float = 1e-2
    batch: int | None = 128  # minibatch size; None: full batch
    patience: int = 100  # epochs without a better validation error before stopping

    def __post_init__(self) -> None:
        hidden = (self.hidden,) if isinstance(self.hidden, int) else self.hidden
        if not isinstance(hidden, (tuple, list)) or any(
            isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1 for w in hidden
        ):
            raise _bad_option(
                "mlp", "hidden", self.hidden, "a tuple of layer widths >= 1", "hidden=(16,)"
            )
        object.__setattr__(self, "hidden", tuple(int(w) for w in hidden))
        if (
            isinstance(self.validation, bool)
            or not isinstance(self.validation, (int, float))
            or not (0 < self.validation < 1)
        ):
            raise _bad_option(
                "mlp",
                "validation",
                self.validation,
                "a share strictly between 0 and 1",
                "validation=0.2",
            )
        _check_int("mlp", "epochs", self.epochs, 1, "epochs=2000")
        if self.seconds is not None:
            _check_positive("mlp", "seconds", self.seconds, "seconds=5.0 or seconds=None")
        _check_positive("mlp", "learning_rate", self.learning_rate, "learning_rate=0.01")
        if self.batch is not None:
            _check_int("mlp", "batch", self.batch, 1, "batch=128 or batch=None")
        _check_int("mlp", "patience", self.patience, 1, "patience=100")

    def needed(self, n_arguments: int, n_outputs: int) -> tuple[int, str]:
        weights = mlp.weight_count(n_arguments, self.hidden, n_outputs)
        what = f"mlp with hidden={self.hidden} ({weights} weights for {n_arguments} arguments)"
        return max(200, 10 * weights), what


@dataclass(frozen=True)
class MemoOptions:
    cells: int = 64  # grid points per argument, evenly over [lo, hi]

    def __post_init__(self) -> None:
        _check_int("memo", "cells", self.cells, 2, "cells=64")

    def needed(self, n_arguments: int, n_outputs: int) -> tuple[int, str]:
        return 1, "memo"


_OPTIONS = {"table": TableOptions, "poly": PolyOptions, "mlp": MlpOptions, "memo": MemoOptions}


def _options(kind: str, options: Mapping[str, Any]):
    if not isinstance(options, Mapping):
        raise InvalidArgumentType(
            f"options must be a mapping of option names to values, got {type(options).__name__}; "
            f"pass e.g. options={{}} for the defaults"
        )
    cls = _OPTIONS[kind]
    known = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise InvalidArgument(
            f"options {unknown} are not options of surrogate kind {kind!r}; its options are {known}"
        )
    return cls(**options)


def minimum_samples(
    kind: str, n_arguments: int, n_outputs: int = 1, *, options: Mapping[str, Any] | None = None
) -> int:
    """Finite traced values :func:`fit` needs for ``kind`` with ``options`` (the same rule it
    enforces), so callers can tell beforehand whether a kind is worth offering."""
    _check_kind(kind)
    return _options(kind, options or {}).needed(n_arguments, n_outputs)[0]


def _check_kind(kind: Any) -> None:
    if not isinstance(kind, str) or kind not in _OPTIONS:
        raise InvalidArgument(f"kind={kind!r} is not a surrogate kind; expected one of {KINDS}")


# -- fitting -----------------------------------------------------------------------------------


def fit(kind: str, samples: Samples, *, options: Mapping[str, Any], seed: int = 0) -> Surrogate:
    """Fit a surrogate of ``kind`` (one of :data:`KINDS`) to ``samples``; rows with NaN or Inf are
    dropped first. Raises :class:`TooFewSamples` when fewer finite rows remain than the kind needs.
    """
    _check_kind(kind)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidArgument(f"seed={seed!r} must be an integer >= 0; pass e.g. seed=0")
    if not isinstance(samples, Samples):
        raise InvalidArgumentType(
            f"samples must be a Samples(X, Y), got {type(samples).__name__}; wrap the traced "
            f"arrays as Samples(X, Y)"
        )
    settings = _options(kind, options)
    n_arguments, n_outputs = samples.X.shape[1], samples.Y.shape[1]
    if kind in ("table", "poly") and n_arguments != 1:
        raise InvalidArgument(
            f"a {kind} surrogate approximates a function of one argument, got samples with "
            f"{n_arguments} arguments (X has {n_arguments} columns); use kind 'mlp' or 'memo'"
        )
    start = time.perf_counter()
    finite = samples.finite()
    needed, what = settings.needed(n_arguments, n_outputs)
    if len(finite.X) < needed:
        dropped = len(samples.X) - len(finite.X)
        note = f" ({dropped} non-finite dropped)" if dropped else ""
        raise TooFewSamples(
            needed,
            len(finite.X),
            f"{what} needs at least {needed} traced values, got {len(finite.X)}{note}; "
            f"trace more calls or choose a smaller surrogate",
        )
    cls = _CLASSES[kind]
    lo, hi = finite.X.min(axis=0), finite.X.max(axis=0)
    fields = cls._fit(finite, lo, hi, settings, seed)
    return cls(lo=lo, hi=hi, fit_seconds=time.perf_counter() - start, **fields)


# -- the surrogates ------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Surrogate:
    """A fitted stand-in for ``Y = f(X)``. ``predict`` maps (n, d) to (n, m) float64 arrays."""

    kind: ClassVar[str]

    lo: np.ndarray  # (d,) smallest traced value of each argument
    hi: np.ndarray  # (d,) largest
    fit_seconds: float

    @property
    def n_arguments(self) -> int:
        return len(self.lo)

    @property
    def n_outputs(self) -> int:
        raise NotImplementedError

    def predict(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_arguments:
            raise InvalidArgument(
                f"predict expects X of shape (n, {self.n_arguments}), one column per argument the "
                f"{self.kind} surrogate was fitted on, got shape {X.shape}; pass the arguments as "
                f"columns, e.g. np.column_stack(args)"
            )
        return self.predictor.predict(X)

    @cached_property
    def predictor(self) -> Any:
        """The NumPy-only object that predicts for this surrogate (:mod:`.predict`): what
        variants call and exported files rebuild from its arrays."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict; :meth:`from_dict` rebuilds a surrogate predicting bit for bit
        alike."""
        state = {f.name: _encode(getattr(self, f.name)) for f in dataclasses.fields(self)}
        return {"kind": self.kind, **state}

    @staticmethod
    def from_dict(d: Mapping[str, Any]) -> Surrogate:
        kind = d.get("kind") if isinstance(d, Mapping) else None
        if not isinstance(kind, str) or kind not in _CLASSES:
            raise InvalidArgument(
                f"from_dict expects a dict made by Surrogate.to_dict, with 'kind' one of {KINDS}, "
                f"got kind={kind!r}"
            )
        cls = _CLASSES[kind]
        try:
            return cls(**{f.name: _decode(d[f.name]) for f in dataclasses.fields(cls)})
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidArgument(
                f"from_dict could not rebuild a {kind} surrogate ({error!r}); pass the unchanged "
                f"output of Surrogate.to_dict"
            ) from error


@dataclass(frozen=True, eq=False)
class TableSurrogate(Surrogate):
    kind: ClassVar[str] = "table"

    values: np.ndarray  # (points, m) at np.linspace(lo, hi, points); one point if lo == hi

    @property
    def n_outputs(self) -> int:
        return self.values.shape[1]

    @cached_property
    def predictor(self) -> Any:
        return _ax_TablePredictor(self.lo, self.hi, self.values)

    @staticmethod
    def _fit(samples: Samples, lo, hi, options: TableOptions, seed: int) -> dict[str, Any]:
        if lo[0] == hi[0]:
            return {"values": samples.Y.mean(axis=0, keepdims=True)}
        return {
            "values": _least_squares_hats(samples.X[:, 0], samples.Y, lo[0], hi[0], options.points)
        }


def _least_squares_hats(x, Y, lo, hi, points) -> np.ndarray:
    """Values at the grid points whose linear interpolation best fits ``Y`` in least squares.

    Unlike binned means, this is not biased when a bin's samples sit off its grid point. A tiny
    penalty on differences between neighbours fills grid points no sample touches by straight
    lines; the normal equations stay tridiagonal, solved by banded Cholesky in O(points).
    """
    position = (x - lo) * ((points - 1) / (hi - lo))
    left = np.clip(np.floor(position).astype(np.intp), 0, points - 2)
    right_weight = position - left
    left_weight = 1.0 - right_weight
    diagonal = np.bincount(left, left_weight**2, points) + np.bincount(
        left + 1, right_weight**2, points
    )
    upper = np.bincount(left, left_weight * right_weight, points - 1)
    rhs = np.stack(
        [
            np.bincount(left, left_weight * y, points)
            + np.bincount(left + 1, right_weight * y, points)
            for y in Y.T
        ],
        axis=1,
    )
    penalty = 1e-6 * diagonal.mean()
    banded = np.zeros((2, points))  # upper form: row 0 the superdiagonal, row 1 the diagonal
    banded[1] = diagonal + penalty * np.r_[1.0, np.full(points - 2, 2.0), 1.0]
    banded[0, 1:] = upper - penalty
    return solveh_banded(banded, rhs)


@dataclass(frozen=True, eq=False)
class PolySurrogate(Surrogate):
    kind: ClassVar[str] = "poly"

    coefficients: np.ndarray  # (degree + 1, m) Chebyshev coefficients on [lo, hi] mapped to [-1, 1]

    @property
    def n_outputs(self) -> int:
        return self.coefficients.shape[1]

    @cached_property
    def predictor(self) -> Any:
        # the power basis (highest degree first) for Horner's rule up to HORNER_MAX_DEGREE; above
        # it Clenshaw's recurrence stays better conditioned
        low_degree = len(self.coefficients) - 1 <= HORNER_MAX_DEGREE
        power = [chebyshev.cheb2poly(c)[::-1].tolist() for c in self.coefficients.T] if low_degree else None
        return _ax_PolyPredictor(self.lo, self.hi, self.coefficients, power)

    @staticmethod
    def _fit(samples: Samples, lo, hi, options: PolyOptions, seed: int) -> dict[str, Any]:
        if lo[0] == hi[0]:  # a constant argument determines nothing but the mean
            return {"coefficients": samples.Y.mean(axis=0, keepdims=True)}
        centre, half_width = (lo[0] + hi[0]) / 2, (hi[0] - lo[0]) / 2
        unit = (samples.X[:, 0] - centre) * (1.0 / half_width)
        coefficients = chebyshev.chebfit(unit, samples.Y, options.degree)
        return {"coefficients": coefficients.reshape(options.degree + 1, -1)}


@dataclass(frozen=True, eq=False)
class MlpSurrogate(Surrogate):
    kind: ClassVar[str] = "mlp"

    weights: tuple[np.ndarray, ...]  # W1, b1, W2, b2, ... acting on raw X, giving raw Y
    epochs_run: int
    stopped_by: str  # "patience", "epochs" or "seconds"
    validation_rmse: np.ndarray  # (m,) root mean squared error on the held-back samples

    @property
    def n_outputs(self) -> int:
        return self.weights[-1].shape[0]

    @cached_property
    def predictor(self) -> Any:  # runs in float32: see _ax_MlpPredictor
        return _ax_MlpPredictor(self.lo, self.hi, self.weights)

    @staticmethod
    def _fit(samples: Samples, lo, hi, options: MlpOptions, seed: int) -> dict[str, Any]:
        settings = {f.name: getattr(options, f.name) for f in dataclasses.fields(options)}
        trained = mlp.train(samples.X, samples.Y, seed=seed, **settings)
        return {f.name: getattr(trained, f.name) for f in dataclasses.fields(trained)}


@dataclass(frozen=True, eq=False)
class MemoSurrogate(Surrogate):
    kind: ClassVar[str] = "memo"

    cells: int  # grid points per argument
    keys: np.ndarray  # (k,) sorted flat indices of the visited cells
    values: np.ndarray  # (k, m) mean traced result in each visited cell

    @property
    def n_outputs(self) -> int:
        return self.values.shape[1]

    @cached_property
    def predictor(self) -> Any:
        return _ax_MemoPredictor(self.lo, self.hi, self.cells, self.keys, self.values)

    @staticmethod
    def _fit(samples: Samples, lo, hi, options: MemoOptions, seed: int) -> dict[str, Any]:
        n_arguments = samples.X.shape[1]
        if n_arguments * math.log2(options.cells) >= 63:
            raise InvalidArgument(
                f"memo with cells={options.cells} over {n_arguments} arguments has "
                f"{options.cells}**{n_arguments} cells, more than int64 indices can number; "
                f"lower cells or use kind 'mlp'"
            )
        probe = _ax_MemoPredictor(lo, hi, options.cells, np.zeros(0, np.int64), np.zeros((0, 1)))
        cell_of_row, _ = probe.cells_of(samples.X)
        keys, row_cell, counts = np.unique(cell_of_row, return_inverse=True, return_counts=True)
        sums = np.stack([np.bincount(row_cell, y, len(keys)) for y in samples.Y.T], axis=1)
        return {"cells": options.cells, "keys": keys, "values": sums / counts[:, None]}


_CLASSES: dict[str, type[Surrogate]] = {
    "table": TableSurrogate,
    "poly": PolySurrogate,
    "mlp": MlpSurrogate,
    "memo": MemoSurrogate,
}


# -- exact JSON encoding ---------------------------------------------------------------------------


def _encode(value: Any) -> Any:
    """Arrays become ``{"dtype", "shape", "values"}``; floats keep their exact ``repr`` in JSON,
    and non-finite floats are spelled as strings, since strict JSON has no NaN or Infinity."""
    if isinstance(value, np.ndarray):
        values = value.ravel().tolist()
        if value.dtype.kind == "f" and not np.isfinite(value).all():
            values = [v if math.isfinite(v) else repr(v) for v in values]
        return {"dtype": value.dtype.name, "shape": list(value.shape), "values": values}
    if isinstance(value, tuple):
        return [_encode(item) for item in value]
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        if value["dtype"] not in ("float64", "int64"):
            raise ValueError(f"unexpected dtype {value['dtype']!r}")
        return np.array(value["values"], dtype=value["dtype"]).reshape(value["shape"])
    if isinstance(value, list):
        return tuple(_decode(item) for item in value)
    return value
