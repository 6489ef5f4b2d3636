"""What substituted calls run: the surrogate inside its trusted range, the exact function outside.

``_ax_sub_3(np.exp, x)`` predicts with the surrogate for every argument (or array element) that
lies in the range the surrogate was fitted on, widened by the margin, and calls the exact
function for the rest; a surrogate that cannot answer (``memo`` for a cell it never saw gives
NaN) falls back the same way, and so do a yes/no test's answers that lie within the recheck band
around the midpoint of its two values (the others are rounded to the nearer value). ``calls`` and
``fallbacks`` count values, for the report.

Calls with plain float arguments take a pure-Python path (``_ax_scalar_predictor``): building
NumPy arrays for one value would cost more than most functions worth replacing.
"""

from __future__ import annotations

import inspect

import numpy as _ax_np

from ...targets.python_runtime import array_literal, exported_as, runtime_helper


def guard_counts(variant) -> dict:
    """Site -> ``{"values": n, "fallbacks": k}`` of the substituted calls a variant has run."""
    function = getattr(variant, "__func__", variant)
    namespace = getattr(function, "__globals__", {})
    return {value.site: {"values": value.calls, "fallbacks": value.fallbacks}
            for value in namespace.values() if isinstance(value, _ax_Substituted)}


@runtime_helper()
def _ax_scalar_predictor(surrogate):
    """A pure-Python ``f(*floats) -> tuple of floats, or None where the surrogate has no answer``
    for the table, poly and memo kinds; None for kinds that only predict in bulk (mlp)."""
    lo = [float(v) for v in surrogate.lo]
    hi = [float(v) for v in surrogate.hi]
    if surrogate.kind == "table" and len(lo) == 1 and len(surrogate.values) > 1:
        values = surrogate.values.T.tolist()
        last = len(surrogate.values) - 1
        scale = last / (hi[0] - lo[0])

        def table(x):
            position = min(max((x - lo[0]) * scale, 0.0), last)
            i = min(int(position), last - 1)
            t = position - i
            return tuple(v[i] + t * (v[i + 1] - v[i]) for v in values)

        return table
    if surrogate.kind == "poly" and len(lo) == 1 and hi[0] > lo[0]:
        columns = [list(reversed(c))[:-1] for c in surrogate.coefficients.T.tolist()]
        firsts = surrogate.coefficients[0].tolist()
        centre, scale = (lo[0] + hi[0]) / 2, 2.0 / (hi[0] - lo[0])

        def poly(x):
            t = (x - centre) * scale
            out = []
            for column, first in zip(columns, firsts):
                b1 = b2 = 0.0
                for c in column:  # Clenshaw: b_k = c_k + 2 t b_(k+1) - b_(k+2)
                    b1, b2 = c + 2.0 * t * b1 - b2, b1
                out.append(first + t * b1 - b2)
            return tuple(out)

        return poly
    if surrogate.kind == "memo" and all(h > lw for lw, h in zip(lo, hi)):
        cells = surrogate.cells
        steps = [(h - lw) / (cells - 1) for lw, h in zip(lo, hi)]
        weights = [cells ** k for k in range(len(lo))]
        table = dict(zip(surrogate.keys.tolist(), map(tuple, surrogate.values.tolist())))

        def memo(*args):
            key = 0
            for x, low, step, weight in zip(args, lo, steps, weights):
                position = (x - low) / step
                if not -0.5 < position < cells - 0.5:
                    return None
                key += int(round(position)) * weight  # half to even, as np.rint when fitting
            return table.get(key)

        return memo
    return None


@runtime_helper(requires=("_ax_scalar_predictor",), imports=("import numpy as _ax_np",))
class _ax_Substituted:
    """A fitted surrogate's predictor with its guard; called as ``wrapper(exact_function, *args)``."""

    def __init__(self, surrogate, *, outputs, tuple_result, guard=True, margin=0.0, site="", levels=None,
                 recheck=None):
        self.surrogate = surrogate
        self.levels, self.recheck = levels, recheck
        if recheck is not None:  # answers within `band` of `middle` are unsure: the exact one runs
            self.middle = (levels[0] + levels[1]) / 2
            self.band = recheck * (levels[1] - levels[0])
        self.site = site
        width = _ax_np.asarray(surrogate.hi, dtype=float) - _ax_np.asarray(surrogate.lo, dtype=float)
        self.lo = _ax_np.asarray(surrogate.lo, dtype=float) - margin * width
        self.hi = _ax_np.asarray(surrogate.hi, dtype=float) + margin * width
        self.lo_list, self.hi_list = self.lo.tolist(), self.hi.tolist()
        self.outputs = outputs
        self.tuple_result = tuple_result
        self.guard = guard
        self.margin = margin
        self.scalar = _ax_scalar_predictor(surrogate)
        self.calls = 0
        self.fallbacks = 0

    def __call__(self, exact, /, *args):
        if self.scalar is not None and all(type(a) is float or type(a) is int for a in args):
            return self._one(exact, args)
        arrays = [_ax_np.asarray(a) for a in args]
        # float32 data stays float32 (surrogates that can predict in float32 then do), the rest
        # is predicted in float64
        single = any(a.dtype == _ax_np.float32 for a in arrays) and all(
            a.dtype == _ax_np.float32 or (a.ndim == 0 and a.dtype.kind in "fi") for a in arrays)
        arrays = [a.astype(_ax_np.float32 if single else float, copy=False) for a in arrays]
        shape = arrays[0].shape
        if any(a.shape != shape for a in arrays):
            shape = _ax_np.broadcast_shapes(*(a.shape for a in arrays))
            columns = [_ax_np.broadcast_to(a, shape).ravel() for a in arrays]
        else:  # the common case, and cheaper: broadcast_to costs microseconds per call
            columns = [a.ravel() for a in arrays]  # contiguous 1-D: fast passes
        # (n, d) as the transpose of stacked rows: every argument's values stay contiguous
        stacked = columns[0].reshape(1, -1) if len(columns) == 1 else _ax_np.stack(columns)
        x = stacked.T
        n = x.shape[0]
        self.calls += n
        if not n:
            return exact(*args)
        outside = None if not self.guard else self._outside(stacked)
        if outside is None:
            y = self.surrogate.predict(x)  # the common case: every value inside, no masks
        else:
            # Usually only a few values lie outside: predicting all of them and then replacing
            # those costs less than gathering the inside ones and scattering their results.
            with _ax_np.errstate(all="ignore"):
                y = _ax_np.asarray(self.surrogate.predict(x), dtype=x.dtype)  # a fresh array
        missing = outside
        if self.surrogate.kind == "memo":  # only memo has cells without an answer (NaN)
            unanswered = _ax_np.isnan(y[:, 0])
            missing = unanswered if missing is None else missing | unanswered
        if self.recheck is not None:
            score = y[:, 0]
            unsure = _ax_np.abs(score - self.middle) < self.band  # False for NaN: memo's are missing
            missing = unsure if missing is None else missing | unsure
            y[:, 0] = _ax_np.where(score > self.middle, self.levels[1], self.levels[0])
        if missing is not None and missing.any():
            where = _ax_np.flatnonzero(missing)
            self.fallbacks += len(where)
            if not shape:
                return exact(*args)
            exact_part = exact(*(c[where] for c in columns))
            parts = exact_part if self.tuple_result else (exact_part,)
            for j, part in enumerate(parts):
                y[where, j] = part
        results = tuple(y[:, j].reshape(shape) if shape else float(y[0, j]) for j in range(self.outputs))
        return results if self.tuple_result else results[0]

    def _outside(self, stacked):
        """None when every value of the (d, n) arguments lies in the trusted range, else a mask of
        the values outside it (NaN included). The extremes are compared as Python floats (NumPy
        scalars cost more than the reductions here), and only a violated side gets a pass."""
        outside = None
        lows, highs = stacked.min(axis=1).tolist(), stacked.max(axis=1).tolist()
        for row, low, high, lo, hi in zip(stacked, lows, highs, self.lo_list, self.hi_list):
            if lo <= low and high <= hi:  # False for NaN
                continue
            if low != low or (low < lo and high > hi):  # low != low: a NaN among them
                mask = ~((row >= lo) & (row <= hi))  # NaN counts as outside
            else:
                mask = row < lo if low < lo else row > hi
            outside = mask if outside is None else outside | mask
        return outside

    def _one(self, exact, args):
        self.calls += 1
        if self.guard:
            for x, low, high in zip(args, self.lo_list, self.hi_list):
                if not low <= x <= high:
                    self.fallbacks += 1
                    return exact(*args)
        y = self.scalar(*args)
        if y is not None and self.recheck is not None:
            y = None if abs(y[0] - self.middle) < self.band else (
                self.levels[1] if y[0] > self.middle else self.levels[0],)
        if y is None:
            self.fallbacks += 1
            return exact(*args)
        return y if self.tuple_result else y[0]


def _definition(name: str, value: _ax_Substituted) -> list[str]:
    """Source lines that rebuild ``value`` with NumPy alone (for ``approxify export``): its
    predictor's arrays written as literals, which ``repr`` writes exactly."""
    predictor = value.surrogate
    fields = inspect.signature(type(predictor).__init__).parameters
    arguments = [f"        {field}={array_literal(getattr(predictor, field), indent=12)}," for field in list(fields)[1:]]
    options = ", ".join(f"{option}={array_literal(getattr(value, option))}" for option in (  # NumPy scalars as numbers
        "outputs", "tuple_result", "guard", "margin", "site", "levels", "recheck"))
    return [f"{name} = _ax_Substituted(", f"    {type(predictor).__name__}(", *arguments, "    ),",
            f"    {options},", ")"]


exported_as(_ax_Substituted, _definition)
