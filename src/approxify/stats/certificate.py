"""Certificates: what held-out inputs let us say about one approximate configuration.

A certificate is computed only from losses on inputs the search never saw (design.md §5.3). It
bounds three things, each with the stated confidence:

- accuracy: the mean loss (Hoeffding / empirical Bernstein / Clopper-Pearson, see `bounds`);
- reliability: the probability that the output is identical (loss <= tolerance);
- safety: the probability that the variant fails (exception, NaN, timeout: loss 1).

`holds` is the accuracy claim "mean loss <= bound". Certifying several configurations on the same
held-out inputs corrects for multiplicity (`certify_many`).
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from approxify.errors import InvalidArgument, InvalidArgumentType, NotEnoughInputs
from approxify.stats import _text, _validate
from approxify.stats.bounds import (
    _cp_lower,
    _cp_upper,
    _is_binary,
    mean_upper_bound,
    min_samples,
)

__all__ = ["Certificate", "certify", "certify_many"]

CORRECTIONS = ("none", "bonferroni", "fixed-sequence")
FAMILY_CORRECTIONS = ("bonferroni", "fixed-sequence")
RESOLVED_METHODS = ("bernstein", "clopper-pearson", "hoeffding")


def _unit(value: object, *, name: str) -> float:
    result = _validate.real(value, name=name)
    if not 0.0 <= result <= 1.0:
        raise InvalidArgument(
            f"Certificate.{name} must be in [0, 1]; got {result!r}. "
            f"Build certificates with certify() rather than by hand."
        )
    return result


def _choice(value: object, *, name: str, choices: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in choices:
        known = ", ".join(repr(c) for c in choices)
        raise InvalidArgument(f"{name} must be one of {known}; got {value!r}.")
    return value


@dataclass(frozen=True, kw_only=True)
class Certificate:
    """The statistical statement about one configuration on n held-out inputs.

    With probability at least `confidence` (over the draw of the held-out inputs) the mean loss
    is at most `upper`; `holds` says whether that certifies `bound`. Likewise the probability of
    identical output (loss <= `tolerance`) is at least `reliability_lower`, and the failure
    probability at most `failure_upper` (exact Clopper-Pearson bounds). `correction` says how the
    confidence accounts for other configurations certified together; `tested` is False when a
    fixed-sequence procedure stopped before this one: then nothing is certified (`upper` is 1,
    `holds` is False) and only the observed `mean` is informative.
    """

    n: int
    mean: float
    upper: float
    bound: float
    confidence: float
    method: str
    holds: bool
    identical: int
    tolerance: float = 0.0
    reliability_lower: float
    failures: int
    failure_upper: float
    correction: str = "none"
    tested: bool = True
    cap: float = 1.0
    unit: str = "inputs"  # what one loss belongs to: an input, or a sample of a model's batch

    def __post_init__(self) -> None:
        # Coerce numpy scalars to plain Python values so to_dict() is JSON-able as is.
        n = _validate.integer(self.n, name="n", low=1)
        clean = {
            "n": n,
            "mean": _unit(self.mean, name="mean"),
            "upper": _unit(self.upper, name="upper"),
            "bound": _validate.bound(self.bound),
            "confidence": _validate.confidence(self.confidence),
            "method": _choice(self.method, name="method", choices=RESOLVED_METHODS),
            "holds": _validate.flag(self.holds, name="holds"),
            "identical": _validate.integer(self.identical, name="identical", low=0, high=n),
            "tolerance": _validate.tolerance(self.tolerance),
            "reliability_lower": _unit(self.reliability_lower, name="reliability_lower"),
            "failures": _validate.integer(self.failures, name="failures", low=0, high=n),
            "failure_upper": _unit(self.failure_upper, name="failure_upper"),
            "correction": _choice(self.correction, name="correction", choices=CORRECTIONS),
            "tested": _validate.flag(self.tested, name="tested"),
            "cap": _validate.bound(self.cap) if self.cap != 1.0 else 1.0,
            "unit": _choice(self.unit, name="unit", choices=("inputs", "samples", "groups")),
        }
        for name, value in clean.items():
            object.__setattr__(self, name, value)
        self._check_consistency()

    def _check_consistency(self) -> None:
        if self.identical + self.failures > self.n:
            raise InvalidArgument(
                f"Certificate: identical ({self.identical}) + failures ({self.failures}) must "
                f"be at most n ({self.n}): a failure (loss 1) is never identical output."
            )
        if not self.tested:
            if self.holds or self.correction != "fixed-sequence" or self.upper != 1.0:
                raise InvalidArgument(
                    f"Certificate: tested=False only arises from fixed-sequence testing and "
                    f"certifies nothing, so it needs holds=False, upper=1.0 and "
                    f"correction='fixed-sequence'; got holds={self.holds}, upper={self.upper}, "
                    f"correction={self.correction!r}. Use certify_many() to build these."
                )
        elif self.holds != (self.upper <= self.bound):
            raise InvalidArgument(
                f"Certificate: holds must equal (upper <= bound); got holds={self.holds} with "
                f"upper={self.upper!r}, bound={self.bound!r}. Use certify() to build certificates."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (ints, floats, bools, strings); `from_dict` reads it back."""
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Certificate:
        """Rebuild a certificate written by `to_dict` (for example after a JSON round trip)."""
        if not isinstance(data, Mapping):
            raise InvalidArgumentType(
                f"data must be a mapping as written by Certificate.to_dict(); "
                f"got {type(data).__name__}."
            )
        expected = {field.name for field in dataclasses.fields(cls)}
        optional = {"cap", "unit"}  # added later: certificates saved before them have none
        missing = sorted(expected - optional - data.keys())
        unknown = sorted(data.keys() - expected)
        if missing or unknown:
            raise InvalidArgument(
                f"data must have exactly the keys written by Certificate.to_dict(); "
                f"missing {missing}, unknown {unknown}. Pass the dict to_dict() produced."
            )
        return cls(**data)

    def statement(self) -> str:
        """The certificate in words, with bounds rounded outwards (never claiming more)."""
        if not self.tested:
            return (
                f"Not tested: the fixed-sequence procedure stopped at an earlier configuration "
                f"that did not hold, so nothing is certified here (bound "
                f"{_text.exact(self.bound)}; observed mean loss {_text.nearest(self.mean)} on "
                f"n={self.n} held-out {self.unit})."
            )
        verdict = "holds" if self.holds else "does not hold"
        family = {"none": "", "bonferroni": ", Bonferroni-corrected",
                  "fixed-sequence": ", fixed-sequence"}[self.correction]
        accuracy = (
            f"With {_text.percent_down(self.confidence, 4)} confidence the mean loss on inputs "
            f"like these is at most {_text.up(self.upper)} (bound {_text.exact(self.bound)}: "
            f"{verdict}; {self.method}{family}, n={self.n} held-out {self.unit})."
        )
        if self.cap != 1.0:
            accuracy += (f" Each input's loss is capped at {_text.exact(self.cap)}, and a failure "
                         f"counts as {_text.exact(self.cap)}.")
        same = (
            "Identical output"
            if self.tolerance == 0.0
            else f"Output within tolerance {_text.exact(self.tolerance)}"
        )
        reliability = (
            f"{same} on at least {_text.percent_down(self.reliability_lower)} of {self.unit}; "
            f"failure rate at most {_text.percent_up(self.failure_upper)}."
        )
        return f"{accuracy} {reliability}"


# --- building certificates ---------------------------------------------------------------------


def uncapped(certificate: Certificate, *, cap: float, bound: float) -> Certificate:
    """A certificate computed on losses divided by ``cap``, stated in the losses' own units.

    Losses capped at ``cap`` < 1 and divided by it lie in [0, 1], so the bounds apply to them;
    multiplying mean and upper bound back by ``cap`` states the same fact about the capped
    losses. This is how small bounds (a relative error of 1e-3) become certifiable from
    hundreds rather than thousands of inputs, at the price of the cap in the statement.
    """
    if cap == 1.0:
        return certificate
    data = certificate.to_dict()
    data.update(cap=cap, bound=bound, mean=certificate.mean * cap, tolerance=certificate.tolerance * cap)
    if certificate.tested:
        upper = certificate.upper * cap
        if certificate.holds:
            upper = min(upper, bound)
        elif upper <= bound:  # rounding must not turn a miss into a pass
            upper = float(np.nextafter(bound, 1.0))
        data["upper"] = upper
    return Certificate(**data)


def _check_failures(failures: object, losses: np.ndarray, *, name: str = "failures") -> int:
    count = _validate.integer(failures, name=name, low=0, high=losses.size)
    ones = int(np.count_nonzero(losses == 1.0))
    if count > ones:
        raise InvalidArgument(
            f"{name}={count} but only {ones} of the losses equal 1; every failed input "
            f"(exception, NaN, timeout) must be recorded as loss 1. Set their losses to 1."
        )
    return count


def _require_enough(losses: np.ndarray, *, bound: float, confidence: float, method: str,
                    name: str = "losses") -> None:
    """Refuse a request no loss values could satisfy: too few held-out inputs for the bound."""
    needed = min_samples(bound, confidence=confidence, method=method, binary=_is_binary(losses))
    if losses.size < needed:
        raise NotEnoughInputs(
            f"{name} has {losses.size} held-out losses, but bound={bound!r} at "
            f"confidence={confidence!r} (method={method!r}) needs at least {needed} even if "
            f"every loss is 0. Pass more held-out inputs, a larger bound or a lower confidence."
        )


def _certificate(losses: np.ndarray, *, bound: float, confidence: float, method: str,
                 failures: int, tolerance: float, correction: str) -> Certificate:
    """Compute a certificate from checked arguments."""
    n = losses.size
    upper, used = mean_upper_bound(losses, confidence=confidence, method=method)
    identical = int(np.count_nonzero(losses <= tolerance))
    return Certificate(
        n=n,
        mean=float(losses.mean()),
        upper=upper,
        bound=bound,
        confidence=confidence,
        method=used,
        holds=upper <= bound,
        identical=identical,
        tolerance=tolerance,
        reliability_lower=_cp_lower(identical, n, confidence),
        failures=failures,
        failure_upper=_cp_upper(failures, n, confidence),
        correction=correction,
    )


def certify(
    losses: Iterable[float],
    *,
    bound: float,
    confidence: float = 0.95,
    method: str = "auto",
    failures: int = 0,
    tolerance: float = 0.0,
    cap: float = 1.0,
) -> Certificate:
    """Certify "mean loss <= bound" for one configuration from its held-out losses.

    `failures` is how many of these inputs made the variant fail; their losses must be 1 (or
    `cap`). `cap` < 1: losses capped at `cap` (``loss_cap=``), certified divided by it and
    stated in their own units (:func:`uncapped`).
    Raises NotEnoughInputs when there are too few losses to certify `bound` even if all were 0.
    """
    if cap != 1.0:
        scaled = certify(np.asarray(list(losses), dtype=float) / cap, bound=bound / cap,
                         confidence=confidence, method=method, failures=failures, tolerance=tolerance)
        return uncapped(scaled, cap=cap, bound=bound)
    array = _validate.losses_array(losses)
    target, level = _validate.bound(bound), _validate.confidence(confidence)
    name, tol = _validate.method(method), _validate.tolerance(tolerance)
    failed = _check_failures(failures, array)
    _require_enough(array, bound=target, confidence=level, method=name)
    return _certificate(array, bound=target, confidence=level, method=name, failures=failed,
                        tolerance=tol, correction="none")


def _loss_arrays(loss_lists: object) -> list[np.ndarray]:
    """Check `loss_lists` is a non-empty sequence of loss sequences and convert each one."""
    if isinstance(loss_lists, (str, bytes)) or loss_lists is None:
        raise InvalidArgumentType(
            f"loss_lists must be a sequence of loss sequences, one per configuration; "
            f"got {type(loss_lists).__name__}."
        )
    try:
        items = list(loss_lists)  # type: ignore[call-overload]
    except TypeError:
        raise InvalidArgumentType(
            f"loss_lists must be a sequence of loss sequences, one per configuration; "
            f"got {type(loss_lists).__name__}, which is not iterable."
        ) from None
    if not items:
        raise InvalidArgument(
            "loss_lists is empty; expected one loss sequence per configuration to certify."
        )
    if any(isinstance(item, numbers.Number) for item in items):
        raise InvalidArgument(
            "loss_lists must be a sequence of loss sequences, one per configuration; got a flat "
            "sequence of numbers. For one configuration call certify(losses, ...) or wrap it: "
            "certify_many([losses], ...)."
        )
    return [_validate.losses_array(item, name=f"loss_lists[{i}]") for i, item in enumerate(items)]


def _failure_counts(failures: object, arrays: list[np.ndarray]) -> list[int]:
    if failures is None:
        return [0] * len(arrays)
    if isinstance(failures, (str, bytes, numbers.Number)) or not isinstance(failures, Iterable):
        raise InvalidArgumentType(
            f"failures must be None or a sequence of ints, one per configuration; "
            f"got {type(failures).__name__} {failures!r}."
        )
    counts = list(failures)
    if len(counts) != len(arrays):
        raise InvalidArgument(
            f"failures must have one count per configuration ({len(arrays)}); "
            f"got {len(counts)}. Pass None when no variant failed."
        )
    return [_check_failures(c, a, name=f"failures[{i}]")
            for i, (c, a) in enumerate(zip(counts, arrays))]


def certify_many(
    loss_lists: Iterable[Iterable[float]],
    *,
    bound: float,
    confidence: float = 0.95,
    method: str = "auto",
    failures: Sequence[int] | None = None,
    correction: str = "fixed-sequence",
    tolerance: float = 0.0,
    cap: float = 1.0,
) -> list[Certificate]:
    """Certify several configurations so that, with probability at least `confidence`, *every*
    certificate that holds is true (family-wise error at most 1 - confidence).

    correction="bonferroni": each configuration is certified at 1 - (1 - confidence) / m.

    correction="fixed-sequence" (Learn-Then-Test, Angelopoulos et al. 2021): `loss_lists` must be
    in an order fixed *before* looking at the held-out data, from safest to most aggressive.
    Each is tested at the full `confidence`, in order, until the first that does not hold; the
    rest come back with tested=False and holds=False. Why no correction is needed: let j* be the
    first configuration, in the fixed order, whose claim "mean loss <= bound" is false. Every
    configuration before j* has a true claim, so any false "holds" requires the procedure to
    reach j* and pass it, which happens with probability at most 1 - confidence because j*'s
    bound alone is a valid (1 - confidence)-level test. Nothing after j* matters, whatever the
    dependence between the tests. The price: one failure stops the sequence, so order matters.

    `cap` < 1: the losses were capped at `cap` (``loss_cap=``); they are certified divided by
    it, where they lie in [0, 1], and the certificates state them in their own units
    (:func:`uncapped`); `bound` is in those units too.

    Raises NotEnoughInputs when some configuration has too few losses to ever certify `bound`.
    """
    if cap != 1.0:
        scaled = certify_many([np.asarray(list(losses), dtype=float) / cap for losses in loss_lists],
                              bound=bound / cap, confidence=confidence, method=method,
                              failures=failures, correction=correction, tolerance=tolerance)
        return [uncapped(c, cap=cap, bound=bound) for c in scaled]
    arrays = _loss_arrays(loss_lists)
    target, level = _validate.bound(bound), _validate.confidence(confidence)
    name, tol = _validate.method(method), _validate.tolerance(tolerance)
    kind = _choice(correction, name="correction", choices=FAMILY_CORRECTIONS)
    counts = _failure_counts(failures, arrays)
    each = 1.0 - (1.0 - level) / len(arrays) if kind == "bonferroni" else level
    for i, array in enumerate(arrays):
        _require_enough(array, bound=target, confidence=each, method=name,
                        name=f"loss_lists[{i}]")
    certificates, stopped = [], False
    for array, count in zip(arrays, counts):
        certificate = _certificate(array, bound=target, confidence=each, method=name,
                                   failures=count, tolerance=tol, correction=kind)
        if stopped:
            certificate = dataclasses.replace(certificate, upper=1.0, holds=False, tested=False)
        stopped = stopped or (kind == "fixed-sequence" and not certificate.holds)
        certificates.append(certificate)
    return certificates
