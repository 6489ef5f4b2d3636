"""Certificates: what held-out inputs let us say about one approximate configuration.

A certificate is computed only from losses on inputs the search never saw (design.md §5.3). It
bounds three things, each with the stated confidence:

- accuracy: the mean loss (Hoeffding / empirical Bernstein / Clopper-Pearson, see `bounds`);
- reliability: the probability that the output is identical (loss <= tolerance);
- safety: the probability that the variant fails (exception, NaN, timeout: loss 1).

`holds` is the accuracy claim "mean loss <= bound" or, with ``quantile=q``, the tail claim "at
least a share q of inputs have loss <= bound" (Clopper-Pearson on the exceedances; Misailovic
et al. SAS'11, Sampson et al. PLDI'14), or both. Certifying several configurations on the same
held-out inputs corrects for multiplicity (`certify_many`): the decisions by fixed-sequence
testing, and the figures printed for any one of them (which is chosen depends on the data) by a
Bonferroni correction over all of them, so they stay true after the choice.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from approxify.errors import InvalidArgument, InvalidArgumentType, NotEnoughInputs
from approxify.stats import _text, _validate, betting
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
UNITS = ("inputs", "samples", "groups")
RESOLVED_METHODS = ("betting", "bernstein", "clopper-pearson", "hoeffding")


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
    # certified together with family - 1 others: the figures below hold for all of them at once
    family: int = 1
    selected_upper: float | None = None  # mean-loss bound valid after selection (None: old file)
    mean_asked: bool = True  # False: only the tail was asked (upper is then information only)
    quantile: float | None = None  # the tail claim: P(loss <= tail_bound) >= quantile
    tail_bound: float | None = None
    exceedances: int = 0  # losses above tail_bound (failures included)
    exceed_upper: float | None = None  # upper bound on P(loss > tail_bound): the tail's test
    exceed_selected: float | None = None  # the same, valid after selection
    # measured on only this many held-out losses: dropped as soon as its anytime confidence
    # sequence showed it cannot hold (None: it used every held-out input)
    stopped_after: int | None = None
    dropped_for: str | None = None  # the claim whose sequence crossed: "mean" or "tail"

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
            "unit": _choice(self.unit, name="unit", choices=UNITS),
            "family": _validate.integer(self.family, name="family", low=1),
            "selected_upper": None if self.selected_upper is None else _unit(self.selected_upper, name="selected_upper"),
            "mean_asked": _validate.flag(self.mean_asked, name="mean_asked"),
            "exceedances": _validate.integer(self.exceedances, name="exceedances", low=0, high=n),
            "stopped_after": None if self.stopped_after is None
            else _validate.integer(self.stopped_after, name="stopped_after", low=1, high=n),
            "dropped_for": None if self.dropped_for is None
            else _choice(self.dropped_for, name="dropped_for", choices=("mean", "tail")),
        }
        if self.quantile is not None:
            clean.update(
                quantile=_validate.probability(self.quantile, name="quantile", example="0.95"),
                tail_bound=_validate.bound(self.tail_bound),
                exceed_upper=_unit(self.exceed_upper, name="exceed_upper"),
                exceed_selected=_unit(self.exceed_selected, name="exceed_selected"),
            )
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
        elif self.stopped_after is not None:
            if self.holds:
                raise InvalidArgument(
                    "Certificate: a config dropped early (stopped_after) cannot hold; "
                    "use dropped_certificate() to build these.")
        elif self.holds != self._decision():
            raise InvalidArgument(
                f"Certificate: holds must equal the tests' verdict (upper <= bound, and the "
                f"tail's exceed_upper <= 1 - quantile); got holds={self.holds} with "
                f"upper={self.upper!r}, bound={self.bound!r}. Use certify() to build certificates."
            )

    def _decision(self) -> bool:
        mean = self.upper <= self.bound or not self.mean_asked
        return mean and (self.quantile is None or self.tail_holds)

    @property
    def tail_holds(self) -> bool:
        """Whether the tail claim was certified (False when none was asked)."""
        return (self.quantile is not None and self.tested
                and self.exceed_upper <= 1.0 - self.quantile)

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
        optional = {"cap", "unit", "family", "selected_upper", "mean_asked", "quantile", "tail_bound",
                    "exceedances", "exceed_upper", "exceed_selected", "stopped_after",
                    "dropped_for"}  # added later: old files lack them
        missing = sorted(expected - optional - data.keys())
        unknown = sorted(data.keys() - expected)
        if missing or unknown:
            raise InvalidArgument(
                f"data must have exactly the keys written by Certificate.to_dict(); "
                f"missing {missing}, unknown {unknown}. Pass the dict to_dict() produced."
            )
        return cls(**data)

    def statement(self) -> str:
        """The certificate in words, with bounds rounded outwards (never claiming more).

        Certified alone, one sentence per claim. Certified with others (``family`` > 1), the
        verdict comes from the fixed-sequence test, and every figure printed is the
        Bonferroni-corrected one, true for all the configurations at once, so it stays true for
        whichever was chosen after looking at the results."""
        if not self.tested:
            return (
                f"Not tested: the fixed-sequence procedure stopped at an earlier configuration "
                f"that did not hold, so nothing is certified here (bound "
                f"{_text.exact(self.bound)}; observed mean loss {_text.nearest(self.mean)} on "
                f"n={self.n} held-out {self.unit})."
            )
        level = _text.percent_down(self.confidence, 4)
        if self.stopped_after is not None:
            return self._dropped_sentence(level)
        joint = self.family > 1 and self.selected_upper is not None
        parts = [self._verdict_sentence(level) if joint else self._alone_sentence(level)]
        if self.quantile is not None:
            parts.append(self._tail_sentence(level, joint))
        if self.cap != 1.0:
            parts.append(f"Each input's loss is capped at {_text.exact(self.cap)}, and a failure "
                         f"counts as {_text.exact(self.cap)}.")
        parts.append(self._figures_sentence(level, joint))
        return " ".join(parts)

    def _dropped_sentence(self, level: str) -> str:
        claim = (f"its mean loss is above the bound {_text.exact(self.bound)}"
                 if self.dropped_for != "tail" else
                 f"more than {_text.complement_percent(self.quantile)} of {self.unit} have a loss "
                 f"above {_text.exact(self.tail_bound)}")
        return (f"Dropped after {self.stopped_after} held-out {self.unit}: with {level} confidence "
                f"{claim} (anytime-valid betting confidence sequence, watched input by input; "
                f"observed mean loss {_text.nearest(self.mean)}), so nothing is certified.")

    def _alone_sentence(self, level: str) -> str:
        verdict = "holds" if self.holds or not self.mean_asked else "does not hold"
        asked = f"bound {_text.exact(self.bound)}: {verdict}" if self.mean_asked else "not asked"
        family = {"none": "", "bonferroni": ", Bonferroni-corrected",
                  "fixed-sequence": ", fixed-sequence"}[self.correction]
        return (f"With {level} confidence the mean loss on inputs like these is at most "
                f"{_text.up(self.upper)} ({asked}; {self.method}{family}, n={self.n} held-out "
                f"{self.unit}).")

    def _verdict_sentence(self, level: str) -> str:
        together = f"fixed-sequence testing over {self.family} configurations" \
            if self.correction == "fixed-sequence" else f"Bonferroni over {self.family} configurations"
        where = f"{self.method}, n={self.n} held-out {self.unit}"
        if not self.mean_asked:
            return f"Certified together with others by {together} ({where})."
        if self.upper <= self.bound:
            return (f"With {level} confidence the mean loss on inputs like these is at most the "
                    f"bound {_text.exact(self.bound)} (certified by {together}; {where}).")
        return (f"The bound {_text.exact(self.bound)} on the mean loss is not certified "
                f"({together}; {where}).")

    def _tail_sentence(self, level: str, joint: bool) -> str:
        verdict = "holds" if self.tail_holds else "does not hold"
        exceed = self.exceed_selected if joint else self.exceed_upper
        return (f"With {level} confidence{' for all at once' if joint else ''} at least "
                f"{_text.percent_down(1.0 - exceed)} of {self.unit} like these have a loss at most "
                f"{_text.exact(self.tail_bound)} (asked: {_text.percent_down(self.quantile)}: {verdict}; "
                f"Clopper-Pearson on {self.exceedances} of {self.n} above it).")

    def _figures_sentence(self, level: str, joint: bool) -> str:
        same = (
            "Identical output"
            if self.tolerance == 0.0
            else f"Output within tolerance {_text.exact(self.tolerance)}"
        )
        rates = (f"{same.lower() if joint else same} on at least "
                 f"{_text.percent_down(self.reliability_lower)} of {self.unit}; failure rate at most "
                 f"{_text.percent_up(self.failure_upper)}.")
        if not joint:
            return rates
        return (f"With {level} confidence for all {self.family} at once (Bonferroni), the mean loss "
                f"is at most {_text.up(self.selected_upper)}, {rates}")


# --- building certificates ---------------------------------------------------------------------


def uncapped(certificate: Certificate, *, cap: float, bound: float,
             tail_bound: float | None = None) -> Certificate:
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
    if certificate.quantile is not None:
        data["tail_bound"] = tail_bound
    if certificate.selected_upper is not None:
        data["selected_upper"] = min(1.0, certificate.selected_upper * cap)
    if certificate.tested:
        upper = certificate.upper * cap
        if certificate.mean_asked and certificate.upper <= certificate.bound:
            upper = min(upper, bound)
        elif certificate.mean_asked and upper <= bound:  # rounding must not turn a miss into a pass
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


@dataclass(frozen=True)
class Claims:
    """What is asked of the losses: a mean bound, a tail (``quantile``, ``tail_bound``), or both."""

    bound: float  # the mean bound, or the tail's when only the tail is asked
    mean_asked: bool = True
    quantile: float | None = None
    tail_bound: float | None = None

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`certify` that ask these claims."""
        if self.quantile is None:
            return {"bound": self.bound}
        return {"bound": self.tail_bound, "quantile": self.quantile,
                "mean_bound": self.bound if self.mean_asked else None}

    def scaled(self, cap: float) -> Claims:
        tail = None if self.tail_bound is None else self.tail_bound / cap
        return dataclasses.replace(self, bound=self.bound / cap, tail_bound=tail)


def claims(*, bound: object, quantile: object = None, mean_bound: object = None) -> Claims:
    """The checked claims of ``bound=`` / ``quantile=`` / ``mean_bound=``: with a quantile,
    ``bound`` is the tail's (a share ``quantile`` of losses at most ``bound``), and
    ``mean_bound`` asks a mean bound as well."""
    target = _validate.bound(bound)
    if quantile is None:
        if mean_bound is not None:
            raise InvalidArgument(
                f"mean_bound={mean_bound!r} is only for a tail certificate (with quantile=); "
                f"without quantile=, bound= is the mean bound. Pass bound={mean_bound!r} instead."
            )
        return Claims(bound=target)
    share = _validate.probability(quantile, name="quantile", example="0.95")
    if mean_bound is None:
        return Claims(bound=target, mean_asked=False, quantile=share, tail_bound=target)
    return Claims(bound=_validate.bound(mean_bound), quantile=share, tail_bound=target)


def tail_min_samples(quantile: float, *, confidence: float) -> int:
    """Fewest losses with which a tail claim could be certified at all (no exceedance):
    Clopper-Pearson's all-zero bound at 1 - quantile (59 for 95% at 95% confidence)."""
    return min_samples(1.0 - quantile, confidence=confidence, method="clopper-pearson")


def needed_losses(asked: Claims, *, confidence: float, method: str, binary: bool,
                  cap: float = 1.0) -> tuple[int, str]:
    """Fewest losses with which ``asked`` could be certified at all (every loss 0), and the
    argument that needs them: the mean bound's (``cap``: losses in [0, cap]) or the tail's."""
    needs = []
    if asked.mean_asked:
        name = "bound" if asked.quantile is None else "mean_bound"
        needs.append((min_samples(asked.bound, confidence=confidence, method=method, binary=binary,
                                  cap=cap), f"{name}={asked.bound!r} (method={method!r})"))
    if asked.quantile is not None:
        needs.append((tail_min_samples(asked.quantile, confidence=confidence),
                      f"quantile={asked.quantile!r}"))
    return max(needs)


def _require_enough(losses: np.ndarray, *, asked: Claims, confidence: float, method: str,
                    name: str = "losses") -> None:
    """Refuse a request no loss values could satisfy: too few held-out inputs for the bound."""
    needed, what = needed_losses(asked, confidence=confidence, method=method,
                                 binary=_is_binary(losses))
    if losses.size < needed:
        raise NotEnoughInputs(
            f"{name} has {losses.size} held-out losses, but {what} at "
            f"confidence={confidence!r} needs at least {needed} even if "
            f"every loss is 0. Pass more held-out inputs, a larger bound or a lower confidence."
        )


def _certificate(losses: np.ndarray, *, asked: Claims, confidence: float, method: str,
                 failures: int, tolerance: float, correction: str, family: int = 1) -> Certificate:
    """Compute a certificate from checked arguments: its tests at ``confidence``, and the
    figures it prints at ``1 - (1 - confidence) / family`` (true for all the family at once)."""
    n = losses.size
    joint = 1.0 - (1.0 - confidence) / family
    upper, used = mean_upper_bound(losses, confidence=confidence, method=method)
    selected = upper if family == 1 else mean_upper_bound(losses, confidence=joint, method=method)[0]
    identical = int(np.count_nonzero(losses <= tolerance))
    tail: dict[str, Any] = {}
    if asked.quantile is not None:
        exceed = int(np.count_nonzero(losses > asked.tail_bound))
        tail = {"quantile": asked.quantile, "tail_bound": asked.tail_bound, "exceedances": exceed,
                "exceed_upper": _cp_upper(exceed, n, confidence),
                "exceed_selected": _cp_upper(exceed, n, joint)}
    verdict = (upper <= asked.bound or not asked.mean_asked) and (
        not tail or tail["exceed_upper"] <= 1.0 - asked.quantile)
    return Certificate(
        n=n,
        mean=float(losses.mean()),
        upper=upper,
        bound=asked.bound,
        confidence=confidence,
        method=used,
        holds=verdict,
        identical=identical,
        tolerance=tolerance,
        reliability_lower=_cp_lower(identical, n, joint),
        failures=failures,
        failure_upper=_cp_upper(failures, n, joint),
        correction=correction,
        family=family,
        selected_upper=selected,
        mean_asked=asked.mean_asked,
        **tail,
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
    quantile: float | None = None,
    mean_bound: float | None = None,
) -> Certificate:
    """Certify "mean loss <= bound" for one configuration from its held-out losses.

    ``quantile=q``: certify the tail instead, "with confidence ``confidence``, at least a share
    q of inputs like these have loss <= bound" (Clopper-Pearson on the losses above ``bound``;
    59 losses with none above it certify q = 0.95 at 95%); ``mean_bound=`` then asks a mean bound
    as well (the certificate holds when both do).

    `failures` is how many of these inputs made the variant fail; their losses must be 1 (or
    `cap`). `cap` < 1: losses capped at `cap` (``loss_cap=``), certified divided by it and
    stated in their own units (:func:`uncapped`).
    Raises NotEnoughInputs when there are too few losses to certify `bound` even if all were 0.
    """
    return _certify(losses, asked=claims(bound=bound, quantile=quantile, mean_bound=mean_bound),
                    confidence=confidence, method=method, failures=failures, tolerance=tolerance, cap=cap)


def _certify(losses: Iterable[float], *, asked: Claims, confidence: float, method: str,
             failures: int, tolerance: float, cap: float) -> Certificate:
    if cap != 1.0:
        scaled = _certify(np.asarray(list(losses), dtype=float) / cap, asked=asked.scaled(cap),
                          confidence=confidence, method=method, failures=failures,
                          tolerance=tolerance / cap, cap=1.0)
        return uncapped(scaled, cap=cap, bound=asked.bound, tail_bound=asked.tail_bound)
    array = _validate.losses_array(losses)
    level = _validate.confidence(confidence)
    name, tol = _validate.method(method), _validate.tolerance(tolerance)
    failed = _check_failures(failures, array)
    _require_enough(array, asked=asked, confidence=level, method=name)
    return _certificate(array, asked=asked, confidence=level, method=name, failures=failed,
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
    quantile: float | None = None,
    mean_bound: float | None = None,
    family: int | None = None,
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
    With a mean and a tail asked, a configuration holds when both tests pass (an
    intersection-union test: valid at the full level with no correction).

    The figures each certificate prints (its mean-loss bound ``selected_upper``, reliability and
    failure bounds, the tail's share) are at 1 - (1 - confidence) / m whatever the correction: true
    for all m at once, so true for the one the caller then picks by looking at them.

    `cap` < 1: the losses were capped at `cap` (``loss_cap=``); they are certified divided by
    it, where they lie in [0, 1], and the certificates state them in their own units
    (:func:`uncapped`); `bound` is in those units too. `quantile`, `mean_bound`: as in
    :func:`certify`. `family`: how many configs could have been chosen, when more than those
    given (the fixed-sequence test stopped before measuring the rest).

    Raises NotEnoughInputs when some configuration has too few losses to ever certify `bound`.
    """
    asked = claims(bound=bound, quantile=quantile, mean_bound=mean_bound)
    if cap != 1.0:
        scaled = _certify_many([np.asarray(list(losses), dtype=float) / cap for losses in loss_lists],
                               asked=asked.scaled(cap), confidence=confidence, method=method,
                               failures=failures, correction=correction, tolerance=tolerance / cap,
                               family=family)
        return [uncapped(c, cap=cap, bound=asked.bound, tail_bound=asked.tail_bound) for c in scaled]
    return _certify_many(loss_lists, asked=asked, confidence=confidence, method=method,
                         failures=failures, correction=correction, tolerance=tolerance, family=family)


def _certify_many(loss_lists: Iterable[Iterable[float]], *, asked: Claims, confidence: float,
                  method: str, failures: Sequence[int] | None, correction: str,
                  tolerance: float, family: int | None) -> list[Certificate]:
    arrays = _loss_arrays(loss_lists)
    size = len(arrays) if family is None else _validate.integer(family, name="family", low=len(arrays))
    level = _validate.confidence(confidence)
    name, tol = _validate.method(method), _validate.tolerance(tolerance)
    kind = _choice(correction, name="correction", choices=FAMILY_CORRECTIONS)
    counts = _failure_counts(failures, arrays)
    each = 1.0 - (1.0 - level) / size if kind == "bonferroni" else level
    for i, array in enumerate(arrays):
        _require_enough(array, asked=asked, confidence=each, method=name, name=f"loss_lists[{i}]")
    certificates, stopped = [], False
    for array, count in zip(arrays, counts):
        certificate = _certificate(array, asked=asked, confidence=each, method=name,
                                   failures=count, tolerance=tol, correction=kind,
                                   family=size if kind == "fixed-sequence" else 1)
        if kind == "bonferroni":  # already at the corrected level: its figures are the joint ones
            certificate = dataclasses.replace(certificate, family=size)
        if stopped:
            certificate = dataclasses.replace(certificate, upper=1.0, holds=False, tested=False)
        stopped = stopped or (kind == "fixed-sequence" and not certificate.holds)
        certificates.append(certificate)
    return certificates


def dropped(losses: np.ndarray, asked: Claims, *, confidence: float, cap: float = 1.0) -> bool:
    """Whether the losses measured so far (in a random order, one held-out input after another)
    already show, with confidence ``confidence`` at whatever point one looks, that the claims
    cannot hold (:func:`dropped_claim`). Measuring the config on the rest would be wasted;
    stopping only ever withholds a certificate, so it costs no validity."""
    return dropped_claim(losses, asked, confidence=confidence, cap=cap) is not None


def dropped_claim(losses: np.ndarray, asked: Claims, *, confidence: float,
                  cap: float = 1.0) -> str | None:
    """Which claim the losses so far show cannot hold: "mean" when the betting lower confidence
    sequence of the mean is above the bound, "tail" when that of the share above
    ``tail_bound`` is above 1 - quantile; None while neither is."""
    delta = 1.0 - confidence
    if asked.mean_asked and betting.lower_crosses(np.minimum(losses / cap, 1.0), asked.bound / cap,
                                                  delta=delta) is not None:
        return "mean"
    if asked.quantile is not None and betting.lower_crosses(
            (losses > asked.tail_bound).astype(float), 1.0 - asked.quantile, delta=delta) is not None:
        return "tail"
    return None


def dropped_certificate(losses: np.ndarray, asked: Claims, *, confidence: float, method: str,
                        failures: int, tolerance: float = 0.0, cap: float = 1.0, family: int = 1,
                        unit: str = "inputs") -> Certificate:
    """The certificate of a config :func:`dropped` after ``losses.size`` held-out losses: it does
    not hold; its figures are the observed ones, in the losses' own units, and it names the
    claim that was shown not to hold."""
    scaled = np.minimum(np.asarray(losses, dtype=float) / cap, 1.0)
    tail = {}
    if asked.quantile is not None:
        tail = {"quantile": asked.quantile, "tail_bound": asked.tail_bound, "exceed_upper": 1.0,
                "exceed_selected": 1.0, "exceedances": int(np.count_nonzero(losses > asked.tail_bound))}
    return Certificate(
        n=losses.size, mean=float(scaled.mean()) * cap, upper=1.0, bound=asked.bound,
        confidence=confidence, method=method, holds=False,
        identical=int(np.count_nonzero(scaled <= tolerance / cap)), tolerance=tolerance,
        reliability_lower=0.0, failures=failures, failure_upper=1.0, correction="fixed-sequence",
        cap=cap, unit=unit, family=family, selected_upper=1.0, mean_asked=asked.mean_asked,
        stopped_after=losses.size,
        dropped_for=dropped_claim(losses, asked, confidence=confidence, cap=cap), **tail)
