"""How fitted surrogates predict, in NumPy alone: the code that variants run and exported files carry.

Each ``_ax_*Predictor`` holds a fitted surrogate's arrays and maps rows ``X`` (n, d) to results
(n, m). :mod:`.surrogates` fits them and delegates its predictions here, and ``approxify export``
copies these classes' source with the arrays written as literals, so an exported substitution
runs with NumPy only and predicts bit for bit what the variant predicted.
"""

from __future__ import annotations

import numpy as _ax_np

from ...targets.python_runtime import runtime_helper

_NUMPY = ("import numpy as _ax_np",)


@runtime_helper(imports=_NUMPY)
class _ax_Predictor:
    """Rows of arguments to rows of results, in blocks: temporaries stay in cache, and small
    enough that malloc recycles them instead of mapping fresh pages (a page-faulting temporary
    costs more than the arithmetic on it)."""

    kind = ""
    float32_ready = False  # predicts float32 rows in float32 (else in float64)
    block_rows = 8192

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi  # (d,) the smallest and largest traced value of each argument

    def predict(self, X):
        if not (self.float32_ready and X.dtype == _ax_np.float32):
            X = X.astype(_ax_np.float64, copy=False)
        return self._predict(X)

    def _predict(self, X):
        out = _ax_np.empty((len(X), self.n_outputs), dtype=X.dtype)
        for at in range(0, len(X), self.block_rows):
            self._predict_block(X[at : at + self.block_rows], out[at : at + self.block_rows])
        return out


@runtime_helper(requires=("_ax_Predictor",), imports=_NUMPY)
class _ax_TablePredictor(_ax_Predictor):
    """Piecewise-linear table over one argument: ``values`` (points, m) at the points of
    ``linspace(lo, hi, points)``, one point when the argument was constant."""

    kind = "table"

    def __init__(self, lo, hi, values):
        super().__init__(lo, hi)
        self.values = values
        self.n_outputs = values.shape[1]
        self.slopes = _ax_np.diff(values, axis=0)

    def _predict_block(self, X, out):
        """Linear interpolation like ``np.interp`` (constant beyond the ends), but the grid is
        uniform, so the cell is found by one multiplication instead of a binary search."""
        points = len(self.values)
        if points == 1:  # the argument was constant
            out[:] = self.values[0]
            out[_ax_np.isnan(X[:, 0])] = _ax_np.nan
            return
        position = X[:, 0] - self.lo[0]
        position *= (points - 1) / (self.hi[0] - self.lo[0])
        _ax_np.clip(position, 0, points - 1, out=position)
        nan = _ax_np.isnan(position)
        has_nan = nan.any()
        if has_nan:
            position[nan] = 0.0  # casting NaN to an index is undefined
        left = position.astype(_ax_np.intp)
        _ax_np.minimum(left, points - 2, out=left)
        position -= left
        _ax_np.take(self.slopes, left, axis=0, out=out)
        out *= position[:, None]
        out += self.values[left]
        if has_nan:
            out[nan] = _ax_np.nan


@runtime_helper(requires=("_ax_Predictor",), imports=_NUMPY)
class _ax_PolyPredictor(_ax_Predictor):
    """Chebyshev series over one argument mapped from [lo, hi] to [-1, 1]: ``coefficients``
    (degree + 1, m); ``power_columns`` the same polynomials in the power basis, highest degree
    first, for Horner's rule on low degrees (None where Clenshaw's recurrence is better
    conditioned)."""

    kind = "poly"
    float32_ready = True

    def __init__(self, lo, hi, coefficients, power_columns=None):
        super().__init__(lo, hi)
        self.coefficients, self.power_columns = coefficients, power_columns
        self.n_outputs = coefficients.shape[1]
        # Python floats: NumPy then keeps float32 rows in float32
        centre, half_width = float(lo[0] + hi[0]) / 2, float(hi[0] - lo[0]) / 2
        self.centre, self.scale = centre, (1.0 / half_width if half_width > 0 else 0.0)

    def _predict_block(self, X, out):
        if self.power_columns is not None:
            self._horner_block(X, out)
        else:
            self._clenshaw_block(X, out)

    def _horner_block(self, X, out):
        """Horner's rule on the mapped argument: two passes per degree, one output at a time."""
        t = X[:, 0] - self.centre
        t *= self.scale
        value = _ax_np.empty_like(t)
        for j, column in enumerate(self.power_columns):
            value.fill(column[0])
            for c in column[1:]:
                value *= t
                value += c
            out[:, j] = value

    def _clenshaw_block(self, X, out):
        """Clenshaw's recurrence, as ``chebval`` runs it, with in-place updates of three buffers."""
        t = X[:, :1] - self.centre
        t *= self.scale
        twice_t = t * 2.0
        b1, b2, b0 = _ax_np.zeros_like(out), _ax_np.zeros_like(out), _ax_np.empty_like(out)
        for c in self.coefficients[:0:-1]:  # b_k = c_k + 2 t b_(k+1) - b_(k+2), k = n .. 1
            _ax_np.multiply(twice_t, b1, out=b0)
            b0 -= b2
            b0 += c
            b2, b1, b0 = b1, b0, b2
        _ax_np.multiply(t, b1, out=out)  # f(t) = c_0 + t b_1 - b_2
        out -= b2
        out += self.coefficients[0]


@runtime_helper(requires=("_ax_Predictor",), imports=_NUMPY)
def _ax_mlp_forward(layers, X, block_rows=_ax_Predictor.block_rows):
    """Outputs (n, m) of a tanh network on the rows of ``X`` (n, d), in the layers' precision;
    each layer is its weights and bias as one (fan_out, fan_in + 1) matrix.

    Everything is stored transposed, one row per input, unit or output (the result is a transposed
    view), with a last row of ones that folds each bias into its layer's matrix product: a layer
    is one product of a small matrix with contiguous rows, then tanh. Rows go through in blocks
    (their activations fit in L2 cache), in buffers allocated once: no large temporary is
    allocated per layer (a fresh multi-megabyte array costs page faults).
    """
    dtype = layers[-1].dtype
    n, d = X.shape
    rows = _ax_np.empty((d + 1, n), dtype=dtype)
    rows[:d] = X.T
    rows[d] = 1.0
    out = _ax_np.empty((len(layers[-1]), n), dtype=dtype)
    block = min(n, block_rows)
    buffers = [_ax_np.ones((len(layer) + 1, block), dtype=dtype) for layer in layers[:-1]]
    for at in range(0, n, block_rows):
        h = rows[:, at : at + block_rows]
        size = h.shape[1]
        for layer, buffer in zip(layers, buffers):  # the hidden layers
            z = buffer[:-1, :size]
            _ax_np.matmul(layer, h, out=z)
            _ax_np.tanh(z, out=z)
            h = buffer[:, :size]
        _ax_np.matmul(layers[-1], h, out=out[:, at : at + size])
    return out.T


@runtime_helper(imports=_NUMPY)
def _ax_mlp_layers(weights, dtype):
    """Each layer's weights and bias (W1, b1, W2, b2, ...) as one matrix, for ``_ax_mlp_forward``."""
    return [_ax_np.hstack([W.T, b[:, None]]).astype(dtype) for W, b in zip(weights[0::2], weights[1::2])]


@runtime_helper(requires=("_ax_Predictor", "_ax_mlp_forward", "_ax_mlp_layers"), imports=_NUMPY)
class _ax_MlpPredictor(_ax_Predictor):
    """A small tanh network on the raw arguments, run in float32: a network this small
    approximates to about 1e-2, far above float32 rounding (about 1e-7), and float32 halves the
    matrix products and makes tanh about 4x cheaper with NumPy's SIMD loops (as Parrot's neural
    processor ran in low precision)."""

    kind = "mlp"
    float32_ready = True

    def __init__(self, lo, hi, weights):
        super().__init__(lo, hi)
        self.weights = weights
        self.n_outputs = weights[-1].shape[0]
        self.layers = _ax_mlp_layers(weights, _ax_np.float32)

    def _predict(self, X):
        return _ax_mlp_forward(self.layers, X).astype(X.dtype, copy=False)


@runtime_helper(requires=("_ax_Predictor",), imports=_NUMPY)
class _ax_MemoPredictor(_ax_Predictor):
    """Approximate memoization: the mean result ``values`` (k, m) of each visited cell of a grid
    of ``cells`` points per argument, cells numbered by the sorted flat indices ``keys``; NaN for
    a cell never visited (the caller then runs the exact function)."""

    kind = "memo"
    dense_cells = 1 << 16  # grids up to this many cells get a dense slot table (512 KiB)

    def __init__(self, lo, hi, cells, keys, values):
        super().__init__(lo, hi)
        self.cells, self.keys, self.values = cells, keys, values
        self.n_outputs = values.shape[1]
        self.values_then_nan = _ax_np.vstack([values, _ax_np.full((1, values.shape[1]), _ax_np.nan)])
        self.dense_slots = None  # slot of every cell, when the grid is small: one gather, no search
        if cells ** len(lo) <= self.dense_cells:
            self.dense_slots = _ax_np.full(cells ** len(lo), len(keys), dtype=_ax_np.intp)
            self.dense_slots[keys] = _ax_np.arange(len(keys))

    def _predict_block(self, X, out):
        keys, on_grid = self.cells_of(X)
        unvisited = len(self.keys)
        if self.dense_slots is not None:
            slot = self.dense_slots[keys]
        else:
            slot = _ax_np.searchsorted(self.keys, keys)
            _ax_np.minimum(slot, unvisited - 1, out=slot)
            slot[self.keys[slot] != keys] = unvisited
        slot[~on_grid] = unvisited  # the caller's guard runs the exact function for NaN rows
        _ax_np.take(self.values_then_nan, slot, axis=0, out=out)

    def cells_of(self, X):
        """Flat index of the grid cell nearest each row, and whether the row lies on the grid.

        Column by column: reductions across a short second axis are slow in NumPy."""
        step = (self.hi - self.lo) / (self.cells - 1)
        flat = _ax_np.zeros(len(X), dtype=_ax_np.int64)
        on_grid = _ax_np.ones(len(X), dtype=bool)
        for j in range(X.shape[1]):
            if step[j] > 0:
                position = (X[:, j] - self.lo[j]) * (1.0 / step[j])
            else:  # a constant argument has one cell holding its single traced value
                position = _ax_np.where(X[:, j] == self.lo[j], 0.0, _ax_np.inf)
            on_grid &= (position > -0.5) & (position < self.cells - 0.5)  # False for NaN
            position[~on_grid] = 0.0  # casting NaN or huge values to an index is undefined
            index = _ax_np.rint(position, out=position).astype(_ax_np.int64)
            flat += index * self.cells ** j if j else index
        flat[~on_grid] = 0
        return flat, on_grid
