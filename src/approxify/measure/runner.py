"""Run the exact program once per input (cached) and variants against it.

A variant's failure (exception, timeout, NaN/Inf where the exact output is finite, an output that
cannot be compared) is data: loss 1 and a :class:`Failure` record, never an exception here.
Every call gets a fresh copy of its input, so neither the exact program nor a variant can change
the user's inputs.
"""

from __future__ import annotations

import contextlib
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import QualityError, TargetFailed
from .deadline import Timeout, deadline
from .inputs import InputSet
from .quality import OutputMismatch, Quality, has_nonfinite_where_exact_finite

MIN_TIMEOUT = 1.0  # seconds; a variant may take this long on any input before it is a failure
TIMEOUT_FACTOR = 10.0  # ... or this many times the exact program's time on that input
COMPILE_ALLOWANCE = 60.0  # extra seconds for a JIT-compiled variant's first call (compilation)


@contextlib.contextmanager
def _quiet_numerics():
    """A variant's overflow or invalid value is data (its loss says so), not a warning for the
    user's terminal: NumPy's floating-point warnings are silenced while a variant runs."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


@dataclass(frozen=True)
class Failure:
    index: int  # position of the input in the list evaluated
    kind: str  # "exception" | "timeout" | "nonfinite" | "mismatch"
    message: str
    units: int = 1  # losses it stands for: the samples of a failed batch, else 1

    def to_dict(self) -> dict[str, Any]:
        data = {"index": self.index, "kind": self.kind, "message": self.message}
        return data if self.units == 1 else {**data, "units": self.units}


class Reference:
    """Inputs with their exact outputs and exact times, computed once and reused by every variant."""

    def __init__(
        self,
        fn: Callable[..., Any],
        inputs: Sequence[Any],
        quality: Quality,
        *,
        timeout: float | None = None,
        name: str = "target",
    ) -> None:
        self.fn = fn
        self.inputs = InputSet(inputs)
        self.quality = quality
        self.name = name
        self._timeout = timeout
        self._outputs: dict[int, Any] = {}
        self._seconds: dict[int, float] = {}
        self._units: dict[int, int] = {}  # losses per input: 1, or a batch's samples

    def exact(self, index: int) -> Any:
        if index not in self._outputs:
            item = self.inputs[index]
            args, kwargs = self.inputs.fresh(index)
            start = time.perf_counter()
            try:
                output = self.fn(*args, **kwargs)
            except Exception as exc:
                raise TargetFailed(
                    f"the exact {self.name} raised {type(exc).__name__}: {exc} on input #{index} "
                    f"({_short(item)}); approxify needs inputs on which the original program runs."
                ) from exc
            self._seconds[index] = time.perf_counter() - start
            self._outputs[index] = output
            self._check_quality(index, output)
        return self._outputs[index]

    def prepare(self, indices: Sequence[int]) -> None:
        for i in indices:
            self.exact(i)

    def exact_seconds(self, indices: Sequence[int]) -> float:
        self.prepare(indices)
        return float(sum(self._seconds[i] for i in indices))

    def timeout(self, index: int) -> float | None:
        if self._timeout is not None:
            return self._timeout
        self.exact(index)
        return max(MIN_TIMEOUT, TIMEOUT_FACTOR * self._seconds[index])

    def _check_quality(self, index: int, output: Any) -> None:
        """The metric must accept the exact output and give 0 against itself."""
        try:
            value = self.quality(output, output, self._labels(index))
        except Exception as exc:
            raise QualityError(
                f"quality {self.quality.name!r} raised {type(exc).__name__}: {exc} when comparing "
                f"the exact output of input #{index} with itself; it must accept outputs of "
                f"{self.name} (type {type(output).__name__})."
            ) from exc
        if np.any(np.asarray(value) != 0):
            raise QualityError(
                f"quality {self.quality.name!r} gave {value!r} comparing the exact output of input "
                f"#{index} with itself; a loss must be 0 for identical outputs."
            )
        self._units[index] = int(np.size(value))

    def _labels(self, index: int) -> Any:
        """The labels input ``index`` carries (a ``Labeled`` batch), for metrics that need them."""
        return getattr(self.inputs[index], "labels", None)

    def units(self, indices: Sequence[int]) -> int:
        """How many losses ``indices`` give (samples, for a model)."""
        self.prepare(indices)
        return sum(self._units[i] for i in indices)

    def losses(
        self, variant: Callable[..., Any], indices: Sequence[int], *, first_call_compiles: bool = False
    ) -> tuple[np.ndarray, list[Failure]]:
        """Losses of ``variant`` on ``indices`` (one per input, or one per sample of each batch
        for a model; failures are the worst loss) and the failures.

        ``first_call_compiles``: the variant compiles itself on its first call (numba), so that
        call gets :data:`COMPILE_ALLOWANCE` more seconds before it counts as a hang.
        """
        parts = []
        failures: list[Failure] = []
        for position, index in enumerate(indices):
            extra = COMPILE_ALLOWANCE if first_call_compiles and position == 0 else 0.0
            loss, failure = self._one(variant, index, extra)
            units = self._units[index]
            if failure is not None:
                failures.append(Failure(index, *failure, units=units))
                loss = np.full(units, self.quality.cap)
            parts.append(np.atleast_1d(np.asarray(loss, dtype=np.float64)))
        if not parts:
            return np.empty(0), failures
        losses = np.concatenate(parts)
        return losses, failures

    def _one(self, variant: Callable[..., Any], index: int,
             extra: float = 0.0) -> tuple[float, tuple[str, str] | None]:
        exact = self.exact(index)
        args, kwargs = self.inputs.fresh(index)
        worst = self.quality.cap  # a failure is the worst loss there is
        try:
            with deadline(self.timeout(index) + extra), _quiet_numerics():
                output = variant(*args, **kwargs)
        except Timeout as exc:
            return worst, ("timeout", str(exc))
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a failing variant is data
            return worst, ("exception", f"{type(exc).__name__}: {exc}")
        if has_nonfinite_where_exact_finite(exact, output):
            return worst, ("nonfinite", "NaN or Inf where the exact output is finite")
        try:
            return self.quality(exact, output, self._labels(index)), None
        except OutputMismatch as exc:
            return worst, ("mismatch", str(exc))
        except Exception as exc:  # noqa: BLE001
            return worst, ("mismatch", f"quality raised {type(exc).__name__}: {exc}")


def _short(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 80 else text[:77] + "..."
