"""Deterministic costs of a model: its parameters, the bytes of its saved weights, its FLOPs.

Parameters and bytes read the state dict, so quantized layers (whose int8 weights are packed,
not parameters) count what they store: a dynamically quantized ``Linear`` has a quarter of the
bytes. FLOPs are counted by ``torch.utils.flop_counter`` over the inputs, corrected where its
count is not the work done: a quantized ``Linear`` (an op it does not know) does the multiplies
of its shape, and a sparse (CSR) one only those of its kept weights.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .inputs import run_hooked


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


def flop_count(model: Any, inputs: Sequence[Any] = ()) -> float:
    """Floating-point (and int8) operations of the model's forward pass over ``inputs``."""
    from torch.utils.flop_counter import FlopCounterMode

    corrections: list[float] = []

    def correct(module: Any, args: tuple, output: Any) -> None:
        rows = args[0].numel() // module.in_features
        dense = module.in_features * module.out_features
        if type(module).__name__ == "SparseLinear":  # counted as the dense product it is not
            corrections.append(2.0 * rows * (module.values.numel() - dense))
        else:  # a quantized Linear: not counted at all
            corrections.append(2.0 * rows * dense)

    hooks = [m.register_forward_hook(correct) for m in model.modules() if _miscounted(m)]
    with FlopCounterMode(display=False) as counter:
        run_hooked(model, inputs, hooks)
    return float(counter.get_total_flops() + sum(corrections))


def _miscounted(module: Any) -> bool:
    """A layer the flop counter gets wrong: a sparse Linear (counted dense) or a quantized one
    (an op it does not know, counted as nothing)."""
    return type(module).__name__ == "SparseLinear" or (
        any(c.__module__.startswith("torch.ao.nn.quantized") for c in type(module).__mro__)
        and hasattr(module, "in_features"))  # a subclass too (8-bit activations)


MODEL_COSTS = {"params": parameter_count, "bytes": weight_bytes, "flops": flop_count}
