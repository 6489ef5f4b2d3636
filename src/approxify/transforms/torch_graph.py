"""Which layer consumes a layer's outputs, read from a ``torch.fx`` trace of the model.

For models written with a ``forward`` of their own (``x = F.relu(self.fc1(x))``), the chain from
one layer to the next is in the traced graph: a layer's output that passes only through
element-wise operations (activations, dropout, batch norm) into exactly one other layer of the
same kind can shrink with it. A convolution's channels also pass per-channel pooling and a
flatten into a ``Linear``, whose inputs are then the channels' pixels in order (``flatten``'s
channel-major layout). Models ``torch.fx`` cannot trace (data-dependent control flow) get no
such coupling: their layers are pruned by magnitude only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..targets.torch import require_torch

ELEMENTWISE_MODULES = {"ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "ELU",
                       "Mish", "Hardswish", "Dropout", "Identity"}
ELEMENTWISE_METHODS = {"relu", "tanh", "sigmoid", "relu_", "tanh_", "sigmoid_"}
# per-channel spatial modules: a convolution's channel c stays channel c through them
CHANNELWISE_MODULES = {"MaxPool2d", "AvgPool2d", "AdaptiveAvgPool2d", "AdaptiveMaxPool2d"}


def chain_step(layer: Any, module: Any, flattened: bool) -> str | None:
    """How pruning ``layer``'s outputs passes ``module``, the next one on their way: "through"
    (element-wise; per-channel pooling of a convolution), "norm" (a batch norm that shrinks
    too), "flatten" (a convolution's channels become a ``Linear``'s inputs), "consumer" (the
    layer whose inputs shrink), or None (no plain chain: nothing can shrink with ``layer``)."""
    nn = require_torch().nn
    kind = type(module).__name__
    convolution = isinstance(layer, nn.Conv2d)
    if kind in ELEMENTWISE_MODULES or (convolution and not flattened and kind in CHANNELWISE_MODULES):
        return "through"
    if flattened:  # the next layer must take every pixel of every channel, in flatten's order
        fits = isinstance(module, nn.Linear) and module.in_features % layer.out_channels == 0
        return "consumer" if fits else None
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return "norm"
    if convolution and isinstance(module, nn.Flatten) and module.start_dim == 1 and module.end_dim == -1:
        return "flatten"
    same = type(module) is type(layer) and getattr(module, "groups", 1) == 1
    return "consumer" if same else None


def _elementwise_functions() -> set[Any]:
    torch = require_torch()
    functional = torch.nn.functional
    return {torch.relu, torch.tanh, torch.sigmoid, functional.relu, functional.gelu, functional.silu,
            functional.relu6, functional.leaky_relu, functional.elu, functional.dropout,
            functional.hardswish, functional.mish, torch.sigmoid}


def _flattens_channels(node: Any) -> bool:
    """``torch.flatten(x, 1)`` or ``x.flatten(1)``: each sample's channels, one after another."""
    torch = require_torch()
    flatten = (node.op == "call_function" and node.target is torch.flatten) or (
        node.op == "call_method" and node.target == "flatten")
    dims = (*node.args[1:], *node.kwargs.values())
    return flatten and dims in ((1,), (1, -1))


@dataclass(frozen=True)
class Trace:
    """A model's ``torch.fx`` graph, or why it could not be traced (control flow on the data:
    such a model runs as written, and its layers are pruned by magnitude only)."""

    graph: Any = None
    reason: str | None = None


def trace(model: Any) -> Trace:
    torch = require_torch()
    try:
        return Trace(torch.fx.symbolic_trace(model).graph)
    except Exception as exc:  # noqa: BLE001 - untraceable models simply get no coupling
        message = str(exc).strip().splitlines()
        return Trace(reason=f"{type(exc).__name__}: {message[0] if message else ''}".rstrip(": "))


def traced_consumer(model: Any, path: str, traced: Trace | None = None) -> tuple[list[str], str] | None:
    """(batch norms in between, consumer path) for the layer at ``path``, or None; ``traced``:
    ``model``'s trace, when the caller has it."""
    torch = require_torch()
    graph = (traced or trace(model)).graph
    if graph is None:
        return None
    modules = dict(model.named_modules())
    layer = modules.get(path)
    node = next((n for n in graph.nodes if n.op == "call_module" and n.target == path), None)
    if node is None or layer is None:
        return None
    functions = _elementwise_functions()
    norms: list[str] = []
    flattened = False
    while True:
        users = list(node.users)
        if len(users) != 1:
            return None  # the output is used twice (a residual sum, a skip): not a plain chain
        node = users[0]
        if node.op == "call_module":
            step = chain_step(layer, modules[node.target], flattened)
            if step == "norm":
                norms.append(node.target)
            flattened = flattened or step == "flatten"
            if step == "consumer":
                return (norms, node.target) if node.args and len(node.args) == 1 else None
            if step is None:
                return None
            continue
        if node.op == "call_function" and node.target in functions:
            continue
        if not flattened and isinstance(layer, torch.nn.Conv2d) and _flattens_channels(node):
            flattened = True
            continue
        if node.op == "call_method" and node.target in ELEMENTWISE_METHODS:
            continue
        return None
