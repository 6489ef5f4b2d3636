"""A small tanh network trained with Adam on mean squared error in plain NumPy: the ``mlp`` kind.

:func:`train` standardizes inputs and outputs with statistics of the training part, stops early
on a held-back part, and returns the best validation weights with the standardization folded into
the first and last layers, so that :func:`forward` is only ``tanh(X W1 + b1) ... W_L + b_L``: a few
matrix products, nothing per sample. Training is deterministic for a given seed as long as the
``epochs`` cap or patience, not the ``seconds`` budget, ends it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from .predict import _ax_mlp_forward, _ax_mlp_layers

_BETA1, _BETA2, _EPSILON = 0.9, 0.999, 1e-8  # Adam's usual constants


@dataclass(frozen=True)
class Trained:
    """The outcome of :func:`train`."""

    weights: tuple[np.ndarray, ...]  # W1, b1, W2, b2, ..., in the units of X and Y
    epochs_run: int
    stopped_by: str  # "patience", "epochs" or "seconds"
    validation_rmse: np.ndarray  # (m,) on the held-back rows, in the units of Y, best weights


def weight_count(n_inputs: int, hidden: Sequence[int], n_outputs: int) -> int:
    """Number of weights and biases of a network with these layer sizes."""
    sizes = (n_inputs, *hidden, n_outputs)
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in pairwise(sizes))


def forward(weights: Sequence[np.ndarray], X: np.ndarray) -> np.ndarray:
    """Outputs (n, m) of the network ``weights`` (W1, b1, W2, b2, ...) on the rows of ``X`` (n, d),
    computed in the weights' precision, as a variant computes them (:mod:`.predict`)."""
    return _ax_mlp_forward(_ax_mlp_layers(weights, weights[-1].dtype), X)


def train(
    X: np.ndarray,
    Y: np.ndarray,
    *,
    hidden: Sequence[int],
    validation: float,
    epochs: int,
    seconds: float | None,
    learning_rate: float,
    batch: int | None,
    patience: int,
    seed: int,
) -> Trained:
    """Fit a network with ``hidden`` tanh layers to ``Y ~ f(X)``; see the module docstring."""
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(X))
    n_held = min(max(1, round(validation * len(X))), len(X) - 1)
    held, kept = order[:n_held], order[n_held:]
    x_mean, x_scale = _standardization(X[kept])
    y_mean, y_scale = _standardization(Y[kept])
    X_fit, Y_fit = (X[kept] - x_mean) / x_scale, (Y[kept] - y_mean) / y_scale
    X_held, Y_held = (X[held] - x_mean) / x_scale, (Y[held] - y_mean) / y_scale

    net = _FlatNetwork((X.shape[1], *hidden, Y.shape[1]), rng)
    adam = _Adam(net.params, learning_rate)
    batch = len(X_fit) if batch is None else min(batch, len(X_fit))
    best, best_loss, since_best = net.params.copy(), math.inf, 0
    stopped_by, epochs_run = "epochs", 0
    start = time.perf_counter()
    while epochs_run < epochs:
        epochs_run += 1
        shuffled = rng.permutation(len(X_fit))
        X_epoch, Y_epoch = X_fit[shuffled], Y_fit[shuffled]  # one gather, then cheap slices
        for at in range(0, len(X_epoch), batch):
            net.gradient(X_epoch[at : at + batch], Y_epoch[at : at + batch])
            adam.step(net.grads)
        loss = float(np.mean((forward(net.layers, X_held) - Y_held) ** 2))
        if loss < best_loss:
            best[:], best_loss, since_best = net.params, loss, 0
        else:
            since_best += 1
            if since_best >= patience:
                stopped_by = "patience"
                break
        if seconds is not None and time.perf_counter() - start > seconds:  # checked once an epoch
            stopped_by = "seconds"
            break

    weights = _fold_standardization(net.unflatten(best), x_mean, x_scale, y_mean, y_scale)
    errors = forward(weights, X[held]) - Y[held]
    return Trained(weights, epochs_run, stopped_by, np.sqrt(np.mean(errors**2, axis=0)))


def _standardization(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mean, scale = A.mean(axis=0), A.std(axis=0)
    scale[scale == 0] = 1.0  # a constant column: centre it, do not divide by zero
    return mean, scale


def _fold_standardization(weights, x_mean, x_scale, y_mean, y_scale) -> tuple[np.ndarray, ...]:
    """Rewrite ``(Y - y_mean) / y_scale = net((X - x_mean) / x_scale)`` as ``Y = net'(X)``, so
    prediction skips two element-wise passes over its input and output."""
    weights = [w.copy() for w in weights]
    W1, b1 = weights[0], weights[1]
    b1 -= (x_mean / x_scale) @ W1
    W1 /= x_scale[:, None]
    W_last, b_last = weights[-2], weights[-1]
    W_last *= y_scale
    b_last *= y_scale
    b_last += y_mean
    return tuple(weights)


class _FlatNetwork:
    """Weights and gradients as views into two flat vectors, so Adam updates every layer with a
    handful of vector operations instead of a Python loop over layers."""

    def __init__(self, sizes: tuple[int, ...], rng: np.random.Generator):
        self.shapes = [s for a, b in pairwise(sizes) for s in ((a, b), (b,))]
        total = sum(math.prod(s) for s in self.shapes)
        self.params, self.grads = np.zeros(total), np.zeros(total)
        self.layers, self.grad_layers = self._views(self.params), self._views(self.grads)
        for W in self.layers[0::2]:
            W[...] = rng.normal(
                0.0, 1.0 / math.sqrt(W.shape[0]), W.shape
            )  # LeCun: tanh stays unsaturated

    def _views(self, flat: np.ndarray) -> list[np.ndarray]:
        views, at = [], 0
        for shape in self.shapes:
            size = math.prod(shape)
            views.append(flat[at : at + size].reshape(shape))
            at += size
        return views

    def unflatten(self, flat: np.ndarray) -> list[np.ndarray]:
        return [view.copy() for view in self._views(flat)]

    def gradient(self, X: np.ndarray, Y: np.ndarray) -> None:
        """Fill ``grads`` with the gradient of the mean squared error on ``(X, Y)``."""
        activations, h = [X], X
        last = len(self.layers) - 2
        for k in range(0, len(self.layers), 2):
            h = h @ self.layers[k] + self.layers[k + 1]
            if k < last:
                np.tanh(h, out=h)
            activations.append(h)
        g = (h - Y) * (2.0 / Y.size)
        for k in range(len(self.layers) - 2, -1, -2):
            a = activations[k // 2]
            np.matmul(a.T, g, out=self.grad_layers[k])
            np.sum(g, axis=0, out=self.grad_layers[k + 1])
            if k > 0:
                g = (g @ self.layers[k].T) * (1.0 - a * a)  # tanh' = 1 - tanh^2


class _Adam:
    def __init__(self, params: np.ndarray, learning_rate: float):
        self.params, self.learning_rate = params, learning_rate
        self.m, self.v, self.t = np.zeros_like(params), np.zeros_like(params), 0

    def step(self, grads: np.ndarray) -> None:
        self.t += 1
        self.m *= _BETA1
        self.m += (1 - _BETA1) * grads
        self.v *= _BETA2
        self.v += (1 - _BETA2) * grads * grads
        rate = self.learning_rate * math.sqrt(1 - _BETA2**self.t) / (1 - _BETA1**self.t)
        self.params -= rate * self.m / (np.sqrt(self.v) + _EPSILON)
