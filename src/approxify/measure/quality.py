"""Quality metrics: a per-input loss comparing a variant's output with the exact output.

Built-in losses lie in [0, 1] (0 = identical, capped at 1) so distribution-free bounds apply.
A function passed as ``quality=`` may return a loss above 1: it is returned as is, and the runner
counts it as 1 and records that it did (the result then says so), since an error at the first
such variant would end the tuning; a NaN or negative loss is a broken metric: an error.
Whether an output *fails* (exception, NaN/Inf where the exact output is finite, wrong shape) is
decided by the runner before a metric is called; metrics only see comparable outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InvalidArgument, InvalidArgumentType, QualityError


class OutputMismatch(Exception):
    """The variant's output cannot be compared with the exact one (shape or type differs)."""


@dataclass(frozen=True)
class Quality:
    """A named loss function ``loss(exact, approx) -> float in [0, 1]``.

    ``binary``: the loss only takes the values 0 and 1, so exact binomial bounds apply.
    ``cap``: losses are capped here (and a failure counts as ``cap``); see :func:`with_cap`.
    ``capped``: the cap was asked for (``loss_cap=``), so losses above it are cut here; without,
    a loss above 1 comes back as it is, for the runner to count (see the module docstring).
    ``per_sample``: the loss is one value per sample of a batch (a model's output, first axis),
    so the statistical unit is the sample, not the call. ``needs_labels``: the loss compares with
    the true labels too (``accuracy_drop``), which the inputs carry.
    """

    name: str
    loss: Callable[..., Any]
    binary: bool = False
    cap: float = 1.0
    per_sample: bool = False
    needs_labels: bool = False  # loss(exact, approx, labels): the inputs carry each batch's labels
    capped: bool = False

    def __call__(self, exact: Any, approx: Any, labels: Any = None) -> Any:
        if self.per_sample:
            raw = self.loss(exact, approx, labels) if self.needs_labels else self.loss(exact, approx)
            values = np.asarray(raw, dtype=np.float64).ravel()
            if np.isnan(values).any() or (values < 0).any():
                self._refuse(values[np.isnan(values) | (values < 0)][0])
            return np.minimum(values, self.cap) if self.cuts else values
        value = float(self.loss(exact, approx))
        if math.isnan(value) or value < 0:
            self._refuse(value)
        return min(value, self.cap) if self.cuts else value

    @property
    def cuts(self) -> bool:
        """Losses above the cap are cut here: a cap asked for (or set below 1 by hand)."""
        return self.capped or self.cap < 1.0

    def _refuse(self, value: float) -> None:
        """A NaN or negative loss: no bound can be stated about it, whatever the variant did."""
        raise QualityError(
            f"quality {self.name!r} returned {value!r}; a loss must be a number >= 0 (0 for "
            "identical outputs, at most 1 for the bounds to apply). Fix the metric so it returns "
            "a value in [0, 1], e.g. min(error / scale, 1.0)."
        )


def with_cap(quality: Quality, cap: Any, *, bound: float) -> Quality:
    """``quality`` with each input's loss capped at ``cap`` (``loss_cap=`` of ``approximate``).

    Distribution-free bounds need a known loss range; with losses in [0, cap] a bound of 1e-3
    needs about 1/cap times fewer held-out inputs than with losses in [0, 1]. The price: an
    input whose loss exceeds ``cap`` (or fails) counts as ``cap``, which the certificate states.
    """
    if cap is None:
        return quality
    if isinstance(cap, bool) or not isinstance(cap, (int, float)) or not (bound < cap <= 1.0):
        raise InvalidArgument(
            f"loss_cap= expects a number above bound= ({bound}) and at most 1, got {cap!r}; "
            f"e.g. loss_cap={min(1.0, bound * 20):g} counts any input worse than that as that bad."
        )
    if quality.binary:
        raise InvalidArgument(f"loss_cap= does not apply to the 0/1 metric {quality.name!r}.")
    return replace(quality, cap=float(cap), capped=True)


def as_array(output: Any) -> np.ndarray:
    """Numbers, arrays and (nested) lists/tuples of numbers as one float64 array; a Hugging
    Face model's output as its first field (:func:`main_output`)."""
    try:
        array = np.asarray(main_output(output), dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OutputMismatch(f"output is not numeric ({type(output).__name__}): {exc}") from None
    return array


def main_output(output: Any) -> Any:
    """A Hugging Face ``ModelOutput`` (a mapping with ``to_tuple``) as its first field, what the
    model is for (``logits``, ``last_hidden_state``); the cache and hidden states that may follow
    are not outputs to compare. Anything else as it is."""
    if isinstance(output, Mapping) and callable(getattr(output, "to_tuple", None)) and len(output):
        return next(iter(output.values()))
    return output


def _pair(exact: Any, approx: Any) -> tuple[np.ndarray, np.ndarray]:
    e, a = as_array(exact), as_array(approx)
    if e.shape != a.shape:
        raise OutputMismatch(f"output shape {a.shape} differs from the exact {e.shape}")
    return e, a


def _agree_off_finite(e: np.ndarray, a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where the exact output is NaN or infinite, whether the approximate one is the same there
    (NaN equal to NaN), and where the exact output is finite: every metric treats an exact
    output's NaN and Inf alike, as values the approximation must reproduce."""
    finite = np.isfinite(e)
    same = (a == e) | (np.isnan(a) & np.isnan(e))
    return finite, same | finite


def rel_l2(exact: Any, approx: Any) -> float:
    """``||approx - exact||_2 / ||exact||_2``, capped at 1; 0/1 when the exact output is all zero.
    Elements where the exact output is NaN or Inf must be reproduced, else the loss is 1."""
    e, a = _pair(exact, approx)
    finite, agree = _agree_off_finite(e, a)
    if not agree.all():
        return 1.0
    e, a = e[finite], a[finite]
    diff = np.linalg.norm((a - e).ravel())
    norm = np.linalg.norm(e.ravel())
    if norm == 0:
        return 0.0 if diff == 0 else 1.0
    return min(float(diff / norm), 1.0)


def mean_rel(exact: Any, approx: Any) -> float:
    """Mean element-wise relative error, each element capped at 1 (AxBench style)."""
    e, a = _pair(exact, approx)
    if e.size == 0:
        return 0.0
    finite, agree = _agree_off_finite(e, a)
    diff = np.abs(a - e)
    scale = np.abs(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale > 0, diff / scale, np.where(diff > 0, 1.0, 0.0))
    rel = np.where(finite, np.minimum(rel, 1.0), np.where(agree, 0.0, 1.0))  # NaN/Inf: same or not
    return float(rel.mean())


def mismatch(exact: Any, approx: Any) -> float:
    """0 when the outputs are equal (any type; arrays element-wise, NaN equal to NaN), else 1."""
    return 0.0 if outputs_equal(exact, approx) else 1.0


def outputs_equal(exact: Any, approx: Any) -> bool:
    exact, approx = main_output(exact), main_output(approx)  # a model's output: as the metrics see it
    if isinstance(exact, np.ndarray) or isinstance(approx, np.ndarray):
        try:
            return bool(np.array_equal(np.asarray(exact), np.asarray(approx), equal_nan=True))
        except TypeError:  # equal_nan on non-numeric arrays
            return bool(np.array_equal(np.asarray(exact), np.asarray(approx)))
    if isinstance(exact, (list, tuple)) and isinstance(approx, (list, tuple)):
        return type(exact) is type(approx) and len(exact) == len(approx) and all(
            outputs_equal(x, y) for x, y in zip(exact, approx)
        )
    if isinstance(exact, float) and isinstance(approx, float) and math.isnan(exact):
        return math.isnan(approx)
    try:
        return bool(exact == approx)
    except Exception:  # noqa: BLE001 - an __eq__ that raises or returns an array means "not equal"
        return False


BUILTIN = {
    "rel_l2": Quality("rel_l2", rel_l2),
    "mean_rel": Quality("mean_rel", mean_rel),
    "mismatch": Quality("mismatch", mismatch, binary=True),
}


def get_quality(quality: str | Callable[[Any, Any], float] | Quality, *,
                per_sample: bool = False) -> Quality:
    """Resolve ``quality=`` (a built-in name, a callable, or a Quality) with a clear error.

    ``per_sample``: the target is a model, whose outputs are batches: built-in names give one
    loss per sample (``mismatch`` compares the top-1 class, ``rel_l2`` and ``cosine`` rows), and
    a function may return one loss per sample too.
    """
    if isinstance(quality, Quality):
        return quality
    if per_sample:
        return _per_sample_quality(quality)
    if isinstance(quality, str):
        if quality not in BUILTIN:
            raise InvalidArgument(
                f"quality={quality!r} is not a known metric; built-ins are "
                f"{', '.join(sorted(BUILTIN))}, or pass a function loss(exact, approx) -> [0, 1]."
            )
        return BUILTIN[quality]
    if callable(quality):
        name = getattr(quality, "__name__", type(quality).__name__)
        return Quality(name, quality)
    raise InvalidArgumentType(
        f"quality= expects a metric name ({', '.join(sorted(BUILTIN))}) or a function "
        f"loss(exact, approx) -> float in [0, 1]; got {type(quality).__name__}."
    )


def has_nonfinite_where_exact_finite(exact: Any, approx: Any) -> bool:
    """True when the variant produced NaN/Inf at a place where the exact output is finite."""
    try:
        e, a = as_array(exact), as_array(approx)
    except OutputMismatch:
        return False
    if e.shape != a.shape:
        return False
    return bool(np.any(~np.isfinite(a) & np.isfinite(e)))


# -- per-sample losses for models (one per row of a batch) ---------------------------------------

def _rows(exact: Any, approx: Any) -> tuple[np.ndarray, np.ndarray]:
    e, a = _pair(exact, approx)
    if e.ndim == 0:
        raise OutputMismatch("a model's output must have a batch axis (its first)")
    return e.reshape(len(e), -1), a.reshape(len(a), -1)


def top1_disagreement(exact: Any, approx: Any) -> np.ndarray:
    """1 where the variant's top-1 class differs from the exact model's, per sample."""
    e, a = _rows(exact, approx)
    return (e.argmax(axis=1) != a.argmax(axis=1)).astype(np.float64)


def rows_rel_l2(exact: Any, approx: Any) -> np.ndarray:
    """Relative L2 error of each sample's output row, capped at 1."""
    e, a = _rows(exact, approx)
    diff = np.linalg.norm(a - e, axis=1)
    norm = np.linalg.norm(e, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(norm > 0, diff / norm, np.where(diff > 0, 1.0, 0.0))
    return np.minimum(rel, 1.0)


def rows_cosine(exact: Any, approx: Any) -> np.ndarray:
    """Cosine distance (1 - cos) of each sample's output row to the exact one, in [0, 1]."""
    e, a = _rows(exact, approx)
    norms = np.linalg.norm(e, axis=1) * np.linalg.norm(a, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = np.where(norms > 0, (e * a).sum(axis=1) / norms, np.where((e == a).all(axis=1), 1.0, 0.0))
    distance = np.clip(1.0 - cos, 0.0, 1.0)
    return np.where((e == a).all(axis=1), 0.0, distance)  # identical rows: exactly 0, not 1e-16


def newly_wrong(exact: Any, approx: Any, labels: Any) -> np.ndarray:
    """1 for each sample the exact model classifies right and the variant wrong, else 0: its
    mean bounds the accuracy drop from above (samples the variant fixes are not subtracted, so
    the bound certified holds for the drop whatever the variant fixes)."""
    e, a = _rows(exact, approx)
    truth = np.asarray(labels.detach().cpu() if hasattr(labels, "detach") else labels).reshape(-1)
    if truth.shape != (len(e),):
        raise OutputMismatch(f"{truth.size} labels for a batch of {len(e)} samples")
    return ((e.argmax(axis=1) == truth) & (a.argmax(axis=1) != truth)).astype(np.float64)


PER_SAMPLE = {
    "mismatch": Quality("mismatch", top1_disagreement, binary=True, per_sample=True),
    "accuracy_drop": Quality("accuracy_drop", newly_wrong, binary=True, per_sample=True,
                             needs_labels=True),
    "rel_l2": Quality("rel_l2", rows_rel_l2, per_sample=True),
    "cosine": Quality("cosine", rows_cosine, per_sample=True),
}


def _per_sample_quality(quality: Any) -> Quality:
    if isinstance(quality, str):
        if quality not in PER_SAMPLE:
            raise InvalidArgument(
                f"quality={quality!r} is not a metric for models; they take "
                f"{', '.join(sorted(PER_SAMPLE))} (one loss per sample), or a function "
                "loss(exact_batch, approx_batch) -> one loss in [0, 1] per sample."
            )
        return PER_SAMPLE[quality]
    if callable(quality):
        return Quality(getattr(quality, "__name__", type(quality).__name__), quality, per_sample=True)
    raise InvalidArgumentType(
        f"quality= expects a metric name ({', '.join(sorted(PER_SAMPLE))}) or a function for a "
        f"model; got {type(quality).__name__}."
    )
