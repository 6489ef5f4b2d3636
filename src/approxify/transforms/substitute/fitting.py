"""Fitting surrogates for call sites, once per site and setting, and keeping them.

``program.fits`` maps ``site|kind and options`` to a :class:`Fitted`; every variant of a target
shares the dict, results save it as JSON and a loaded result puts it back, so a surrogate is
trained once and a saved variant is rebuilt bit for bit without its traces.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ...config import Substitute
from ...errors import InvalidConfig
from ...targets.python import PythonProgram
from .._fits import UNTAGGED, fit_kind
from . import surrogates
from .surrogates import Samples, Surrogate, TooFewSamples, minimum_samples


@fit_kind(UNTAGGED)
@dataclass(frozen=True)
class Fitted:
    """A surrogate with what its call site needs to use it."""

    surrogate: Any  # surrogates.Surrogate
    outputs: int
    tuple_result: bool
    levels: tuple[float, float] | None = None  # a yes/no test's two answers, for recheck

    def to_dict(self) -> dict[str, Any]:
        data = {"surrogate": self.surrogate.to_dict(), "outputs": self.outputs,
                "tuple_result": self.tuple_result}
        return data if self.levels is None else {**data, "levels": list(self.levels)}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Fitted:
        levels = data.get("levels")
        return Fitted(Surrogate.from_dict(data["surrogate"]), int(data["outputs"]), bool(data["tuple_result"]),
                      tuple(float(v) for v in levels) if levels is not None else None)


def fit_key(site: str, setting: Substitute) -> str:
    return f"{site}|{json.dumps({'kind': setting.kind, **setting.fit_options()}, sort_keys=True)}"


def minimum_rows(setting: Substitute, arguments: int, outputs: int = 1) -> int:
    """Traced values a setting needs before it is offered (the surrogates' own minimums)."""
    return minimum_samples(setting.kind, arguments, outputs, options=setting.fit_options())


def fit_for(program: PythonProgram, site: str, setting: Substitute) -> Fitted:
    """The fitted surrogate of ``site`` for ``setting``: from the cache, or fitted now."""
    key = fit_key(site, setting)
    if key in program.fits:
        return program.fits[key]
    traces = program.observed("substitute")
    trace = traces.of(site) if traces is not None else None
    if trace is not None and trace.reason is not None:
        raise InvalidConfig(f"config[{site!r}]: this call cannot be substituted: {trace.reason}.")
    if trace is not None and trace.calls == 0:
        raise InvalidConfig(f"config[{site!r}]: this call never ran on the example inputs, so "
                            "there is nothing to fit a surrogate on.")
    if trace is None or trace.arguments is None:
        raise InvalidConfig(
            f"config[{site!r}] asks for a {setting.label()} surrogate, but none was fitted and "
            "there are no traced calls to fit one: pass example_inputs= (ax.apply(fn, config, "
            "example_inputs=inputs[:20])), or load the result that saved its surrogates."
        )
    x, y = trace.samples()
    memo_key = (key, hashlib.sha1(x.tobytes() + y.tobytes() + str(x.shape).encode()).hexdigest())
    if memo_key in _FITTED:  # the same traces fitted before in this process: reuse, do not retrain
        _FITTED.move_to_end(memo_key)
        program.fits[key] = _FITTED[memo_key]
        return program.fits[key]
    try:
        surrogate = surrogates.fit(setting.kind, Samples(x, y), options=setting.fit_options(), seed=0)
    except TooFewSamples as exc:
        raise InvalidConfig(
            f"config[{site!r}]: a {setting.label()} surrogate needs at least {exc.needed} traced "
            f"values and the example inputs gave {exc.given}; pass more example inputs or pick "
            "a smaller surrogate."
        ) from None
    except ValueError as exc:
        raise InvalidConfig(f"config[{site!r}]: cannot fit {setting.label()}: {exc}") from None
    fitted = Fitted(surrogate, y.shape[1], trace.tuple_result, trace.levels())
    program.fits[key] = fitted
    _FITTED[memo_key] = fitted
    if len(_FITTED) > _FITTED_KEPT:
        _FITTED.popitem(last=False)
    return fitted


# Surrogates fitted in this process, by site, setting and a digest of the traced samples: tuning
# the same program again (another bound, another strategy) reuses them instead of training anew,
# and gets the same surrogates even where a time budget ended the training.
_FITTED: OrderedDict[tuple[str, str], Fitted] = OrderedDict()
_FITTED_KEPT = 256
