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
from . import sandbox
from .inputs import InputSet, fresh_copy
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
    """Inputs with their exact outputs and exact times, computed once and reused by every variant.

    ``isolate``: the exact program runs in a forked child (:mod:`.sandbox`), so running it
    changes nothing in this process; its outputs come back as copies. ``warm``: a pair of
    functions, the first run in that child after the exact program (what it compiled, say), the
    second given its result here (to compile the same, without running user code).
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        inputs: Sequence[Any],
        quality: Quality,
        *,
        timeout: float | None = None,
        name: str = "target",
        isolate: bool = False,
        warm: tuple[Callable[[], Any], Callable[[Any], None]] | None = None,
    ) -> None:
        self.fn = fn
        self.inputs = InputSet(inputs)
        self.quality = quality
        self.name = name
        self.isolate = isolate
        self._warm = warm
        self._timeout = timeout
        self._outputs: dict[int, Any] = {}
        self._seconds: dict[int, float] = {}
        self._units: dict[int, int] = {}  # losses per input: 1, or a batch's samples

    def exact(self, index: int) -> Any:
        if index not in self._outputs:
            self.prepare([index])
        return self._outputs[index]

    def prepare(self, indices: Sequence[int]) -> None:
        """Run the exact program on the inputs of ``indices`` not run yet (isolated when asked):
        its outputs (copied: an output the program later overwrites stays what it was), times
        and loss units. The exact program failing, or the metric refusing its outputs, is an
        error of the user's setup, raised here."""
        self.inputs.plan(indices)
        missing = [i for i in dict.fromkeys(indices) if i not in self._outputs]
        if not missing:
            return
        outcome = sandbox.run(lambda emit: self._run_exact(missing, emit), limit=None,
                              isolate=self.isolate)
        for index, output, seconds, units in outcome.messages:
            self._outputs[index], self._seconds[index], self._units[index] = output, seconds, units
        if outcome.lost is not None:
            raise TargetFailed(
                f"the exact {self.name} did not finish on input #{_first_missing(missing, self._outputs)}: "
                f"{outcome.lost.message}; approxify needs inputs on which the original program runs."
            )
        if self._warm is not None and outcome.value is not None:
            self._warm[1](outcome.value)

    def _run_exact(self, indices: Sequence[int], emit: Callable[[Any], None]) -> Any:
        """The sandbox's side of :meth:`prepare`."""
        for index in indices:
            args, kwargs = self.inputs.fresh(index)
            start = time.perf_counter()
            try:
                output = fresh_copy(self.fn(*args, **kwargs))
            except Exception as exc:  # noqa: BLE001 - the user's program, reported with its input
                raise TargetFailed(
                    f"the exact {self.name} raised {sandbox.describe(exc)} on input #{index} "
                    f"({_short(self.inputs[index])}); approxify needs inputs on which the original "
                    "program runs."
                ) from exc
            seconds = time.perf_counter() - start
            emit((index, output, seconds, self._check_quality(index, output)))
        return self._warm[0]() if self._warm is not None else None

    def exact_seconds(self, indices: Sequence[int]) -> float:
        self.prepare(indices)
        return float(sum(self._seconds[i] for i in indices))

    def timeout(self, index: int) -> float | None:
        if self._timeout is not None:
            return self._timeout
        self.exact(index)
        return max(MIN_TIMEOUT, TIMEOUT_FACTOR * self._seconds[index])

    def _check_quality(self, index: int, output: Any) -> int:
        """The metric must accept the exact output and give 0 against itself; the number of
        losses it gives is the input's loss units."""
        try:
            value = self.quality(output, output, self._labels(index))
        except QualityError:  # the metric's own verdict on what it returned: as it is
            raise
        except Exception as exc:
            raise QualityError(
                f"quality {self.quality.name!r} raised {sandbox.describe(exc)} when comparing "
                f"the exact output of input #{index} with itself; it must accept outputs of "
                f"{self.name} (type {type(output).__name__})."
            ) from exc
        if np.any(np.asarray(value) != 0):
            raise QualityError(
                f"quality {self.quality.name!r} gave {value!r} comparing the exact output of input "
                f"#{index} with itself; a loss must be 0 for identical outputs."
            )
        return int(np.size(value))

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
        results = {}
        for position, index in enumerate(indices):
            extra = COMPILE_ALLOWANCE if first_call_compiles and position == 0 else 0.0
            results[index] = self.one(variant, index, extra)
        return self.assemble(indices, results)[:2]

    def assemble(self, indices: Sequence[int], results: dict[int, tuple[Any, Any]],
                 lost: tuple[str, str] | None = None) -> tuple[np.ndarray, list[Failure], int]:
        """Losses and failures in the order of ``indices`` from ``results`` (index -> (loss,
        failure)); an input with no result lost it to ``lost`` (kind, message): its process was
        killed or crashed. A failure is the worst loss, for every loss the input gives. Third:
        how many losses a metric without ``loss_cap=`` gave above 1, counted as 1 here."""
        self.prepare(indices)
        parts, failures = [], []
        for index in indices:
            loss, failure = results.get(index, (None, lost or ("crash", "no result came back")))
            if failure is not None:
                failures.append(Failure(index, *failure, units=self._units[index]))
            parts.append(self.loss_array(index, loss, failure))
        losses = np.concatenate(parts) if parts else np.empty(0)
        above = int(np.count_nonzero(losses > self.quality.cap))
        return np.minimum(losses, self.quality.cap), failures, above

    def loss_array(self, index: int, loss: Any, failure: tuple[str, str] | None) -> np.ndarray:
        """Input ``index``'s losses as an array: what the metric gave, or for a failure the
        worst loss for every loss the input gives."""
        if failure is not None:
            return np.full(self.units([index]), self.quality.cap)
        return np.atleast_1d(np.asarray(loss, dtype=np.float64))

    def one(self, variant: Callable[..., Any], index: int,
            extra: float = 0.0) -> tuple[Any, tuple[str, str] | None]:
        """The loss of ``variant`` on input ``index`` (and its failure, if it failed): computed
        from the output before anything runs again, so an output the variant later overwrites
        (a buffer it returns each time) is compared as it was."""
        exact = self.exact(index)
        args, kwargs = self.inputs.fresh(index)
        worst = self.quality.cap  # a failure is the worst loss there is
        try:
            with deadline(self.timeout(index) + extra), _quiet_numerics():
                output = variant(*args, **kwargs)
        except Timeout as exc:
            return worst, ("timeout", str(exc))
        except KeyboardInterrupt:  # the user's Ctrl-C stops tuning; what was measured is kept
            raise
        except BaseException as exc:  # noqa: BLE001 - anything a variant raises is data
            return worst, ("exception", sandbox.describe(exc))
        try:
            with _quiet_numerics():
                if has_nonfinite_where_exact_finite(exact, output):
                    return worst, ("nonfinite", "NaN or Inf where the exact output is finite")
                return self.quality(exact, output, self._labels(index)), None
        except OutputMismatch as exc:
            return worst, ("mismatch", sandbox.describe(exc).removeprefix("OutputMismatch: "))
        except QualityError:  # a NaN or negative loss is the metric's fault, not the variant's
            raise
        except Exception as exc:  # noqa: BLE001 - an output the metric cannot read is a failure
            return worst, ("mismatch", f"comparing its output raised {sandbox.describe(exc)}")


def _first_missing(indices: Sequence[int], done: dict[int, Any]) -> int:
    return next(i for i in indices if i not in done)


def _short(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 80 else text[:77] + "..."
