"""Deterministic costs of a model: its parameters and the bytes of its saved weights.

Both read the state dict, so quantized layers (whose int8 weights are packed, not parameters)
count what they store: a dynamically quantized ``Linear`` has a quarter of the bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def _tensors(value: Any) -> Iterator[Any]:
    if hasattr(value, "element_size") and hasattr(value, "numel"):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _tensors(item)


def _stored(model: Any) -> Iterator[Any]:
    for value in model.state_dict().values():
        yield from _tensors(value)


def parameter_count(model: Any, inputs: Sequence[Any] = ()) -> float:
    """Numbers the model stores (weights, biases, buffers), quantized ones included."""
    return float(sum(t.numel() for t in _stored(model)))


def weight_bytes(model: Any, inputs: Sequence[Any] = ()) -> float:
    """Bytes of the model's stored tensors: what ``torch.save`` of its weights holds, roughly."""
    return float(sum(t.numel() * t.element_size() for t in _stored(model)))


MODEL_COSTS = {"params": parameter_count, "bytes": weight_bytes}
