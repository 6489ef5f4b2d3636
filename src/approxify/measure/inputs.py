"""User inputs: how one input becomes a call, and how calls are kept from mutating inputs."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._optional import require_torch
from ..errors import InvalidArgument, InvalidArgumentType


class Args:
    """One input given as positional and keyword arguments: ``ax.Args(x, n=100)``.

    A plain tuple in ``inputs`` is positional arguments; any other value is the single argument.
    """

    __slots__ = ("args", "kwargs")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.args = args
        self.kwargs = kwargs

    def __repr__(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"Args({', '.join(parts)})"


class Labeled(Args):
    """A model's batch with its true labels: the model gets the arguments, a metric that needs
    labels (``accuracy_drop``) gets ``labels``."""

    __slots__ = ("labels",)

    def __init__(self, *args: Any, labels: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.labels = labels


def split_call(item: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(item, Args):
        return item.args, item.kwargs
    if isinstance(item, tuple):
        return item, {}
    return (item,), {}


def check_inputs(inputs: Any, *, name: str = "inputs") -> list[Any]:
    """The inputs as a list, or a clear error for an empty or non-sequence argument."""
    if isinstance(inputs, (str, bytes)) or not isinstance(inputs, (Sequence, np.ndarray)):
        if hasattr(inputs, "__iter__") and not isinstance(inputs, (str, bytes, dict)):
            inputs = list(inputs)
        else:
            raise InvalidArgumentType(
                f"{name} must be a list of inputs (each a tuple of arguments, an ax.Args, or a "
                f"single argument), got {type(inputs).__name__}."
            )
    items = list(inputs)
    if not items:
        raise InvalidArgument(
            f"{name} is empty: approxify needs example inputs to compare the variant with the "
            "exact program. Pass a list with one entry per call, e.g. [(x1,), (x2,), ...]."
        )
    return items


_ATOMIC = (int, float, complex, str, bytes, bool, type(None), np.generic)

Copier = Callable[[Any], Any]


def read_inputs(inputs: Any, *, name: str = "inputs", labeled: bool = False,
                batches: bool = False) -> list[Any]:
    """The user's inputs as a list of calls. ``batches`` (a model's inputs): a ``DataLoader`` is
    read once; its batches are ``(inputs, labels, ...)`` (the labels are dropped: losses compare
    with the exact model) or bare input tensors. ``labeled`` (a metric that needs labels): every
    input is ``(batch, ..., labels)``, kept as a ``Labeled`` call."""
    if batches and type(inputs).__name__ == "DataLoader":
        inputs = list(inputs) if labeled else [b[0] if isinstance(b, (list, tuple)) else b for b in inputs]
    items = check_inputs(inputs, name=name)
    if not labeled:
        return items
    for position, item in enumerate(items):
        if not isinstance(item, (list, tuple)) or len(item) < 2:
            raise InvalidArgument(
                f"{name}[{position}] is a {type(item).__name__}; a metric that compares with "
                "labels (accuracy_drop) takes each input as a (batch, labels) pair, or a "
                "DataLoader of (inputs, labels) batches."
            )
    return [Labeled(*item[:-1], labels=item[-1]) for item in items]


def digest(items: Sequence[Any]) -> str:
    """A SHA-256 of the inputs' content (values, dtypes and shapes, not object identities):
    what a study is keyed on, so other inputs of the same count never reuse its measurements."""
    hashed = hashlib.sha256()
    seen: dict[int, bytes] = {}
    for item in items:
        _feed(hashed, item, seen)
    return hashed.hexdigest()


def _feed(hashed: Any, value: Any, seen: dict[int, bytes]) -> None:
    """Feed ``value``'s content. A list, tuple or dict is fed as the digest of its own content,
    worked out once per object (``seen``: by id; they are all alive while ``digest`` runs):
    inputs that share one weight matrix hash it once, and sharing does not change the digest."""
    if type(value) in (list, tuple, dict):
        if id(value) not in seen:
            own = hashlib.sha256()
            _feed_container(own, value, seen)
            seen[id(value)] = own.digest()
        hashed.update(seen[id(value)])
        return
    if type(value).__module__ == "torch" and type(value).__name__ == "Tensor":
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray) and value.dtype != object:
        hashed.update(f"array {value.dtype.str} {value.shape}|".encode())
        hashed.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, (list, tuple, dict, np.ndarray)):  # their subclasses, object arrays
        _feed_container(hashed, value, seen)
    elif isinstance(value, Args):
        hashed.update(f"{type(value).__name__}|".encode())
        _feed(hashed, value.args, seen)
        _feed(hashed, value.kwargs, seen)
        _feed(hashed, getattr(value, "labels", None), seen)
    else:  # numbers, strings and other objects by their repr (as much as they say of themselves)
        hashed.update(f"{type(value).__qualname__} {value!r}|".encode())


def _feed_container(hashed: Any, value: Any, seen: dict[int, bytes]) -> None:
    hashed.update(f"{type(value).__name__} {len(value)}|".encode())
    if isinstance(value, dict):
        for key in sorted(value, key=repr):
            _feed(hashed, key, seen)
            _feed(hashed, value[key], seen)
    elif all(type(element) is float for element in value):  # a row of numbers: in one piece
        hashed.update(np.asarray(value, dtype=np.float64).tobytes())
    else:
        for element in value:
            _feed(hashed, element, seen)


def units_of(item: Any, *, per_sample: bool) -> int:
    """Losses one input gives: 1 per call, or (``per_sample``) its batch size."""
    if not per_sample:
        return 1
    args, _ = split_call(item)
    first = args[0] if args else item
    return int(len(first)) if hasattr(first, "__len__") else 1


def _same(value: Any) -> Any:
    return value


def _array(value: np.ndarray) -> np.ndarray:
    return value.copy()


def copier(value: Any) -> Copier:
    """A function that copies values shaped like ``value`` sharing nothing mutable with them.

    The plan is worked out once per input, so copying a list of float lists costs one C-level
    ``list.copy`` per row instead of a ``deepcopy`` walk over every number.
    """
    if isinstance(value, _ATOMIC):
        return _same
    if type(value) is np.ndarray:
        # an object array's copy would share its elements: those are copied one by one
        return copy.deepcopy if value.dtype == object else _array
    if type(value) in (list, tuple):
        plans = [copier(v) for v in value]
        kind = type(value)
        if all(p is _same for p in plans):
            return list.copy if kind is list else _same
        first = plans[0]
        if all(p is first for p in plans):
            return lambda v: kind(first(x) for x in v) if kind is tuple else [first(x) for x in v]
        return lambda v: kind(p(x) for p, x in zip(plans, v))
    if type(value) is dict:
        plans_by_key = {k: copier(v) for k, v in value.items()}
        if all(p is _same for p in plans_by_key.values()):
            return dict.copy
        return lambda v: {k: plans_by_key[k](x) for k, x in v.items()}
    if isinstance(value, Args):
        args_plan, kwargs_plan = copier(value.args), copier(value.kwargs)
        return lambda v: Args(*args_plan(v.args), **kwargs_plan(v.kwargs))
    if type(value).__module__ == "torch" and type(value).__name__ == "Tensor":
        return _clone_tensor
    return copy.deepcopy


def _clone_tensor(value: Any) -> Any:
    return value.clone()


def fresh_copy(value: Any) -> Any:
    """A copy that shares nothing mutable with ``value``."""
    return copier(value)(value)


class InputSet:
    """The user's inputs with a copy plan for each, so every call gets its own fresh arguments."""

    def __init__(self, items: Sequence[Any]) -> None:
        self.items = list(items)
        self._plans: dict[int, Copier] = {}

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> Any:
        return self.items[index]

    def plan(self, indices: Sequence[int]) -> None:
        """Work out the copy plans of ``indices`` now (in the tuning process), so the forked
        children that run the program find them made: a child's plans die with it, and working
        one out walks the whole input (a list of float lists: every number)."""
        for index in indices:
            if index not in self._plans:
                self._plans[index] = copier(self.items[index])

    def fresh(self, index: int) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """Arguments for one call on input ``index``: copies, never the user's objects."""
        self.plan([index])
        return split_call(self._plans[index](self.items[index]))


def run_hooked(model: Any, items: Any, hooks: list[Any]) -> None:
    """Run ``model`` on each input (a tensor, a tuple, ``Args``) in inference mode, then remove
    ``hooks`` (forward hooks registered for this run), also when a batch fails."""
    torch = require_torch()
    try:
        with torch.inference_mode():
            for item in items:
                args, kwargs = split_call(item)
                model(*args, **kwargs)
    finally:
        for hook in hooks:
            hook.remove()
