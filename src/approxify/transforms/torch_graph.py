"""Which layer consumes a layer's outputs, read from a ``torch.fx`` trace of the model.

For models written with a ``forward`` of their own (``x = F.relu(self.fc1(x))``), the chain from
one layer to the next is in the traced graph: a layer's output that passes only through
element-wise operations (activations, dropout, batch norm) into exactly one other layer of the
same kind can shrink with it. Models ``torch.fx`` cannot trace (data-dependent control flow) get
no such coupling: their layers are pruned by magnitude only.
"""

from __future__ import annotations

from typing import Any

from ..targets.torch import require_torch

ELEMENTWISE_MODULES = {"ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Tanh", "Sigmoid", "ELU",
                       "Mish", "Hardswish", "Dropout", "Identity"}
ELEMENTWISE_METHODS = {"relu", "tanh", "sigmoid", "relu_", "tanh_", "sigmoid_"}


def _elementwise_functions() -> set[Any]:
    torch = require_torch()
    functional = torch.nn.functional
    return {torch.relu, torch.tanh, torch.sigmoid, functional.relu, functional.gelu, functional.silu,
            functional.relu6, functional.leaky_relu, functional.elu, functional.dropout,
            functional.hardswish, functional.mish, torch.sigmoid}


def traced_consumer(model: Any, path: str) -> tuple[list[str], str] | None:
    """(batch norms in between, consumer path) for the layer at ``path``, or None."""
    torch = require_torch()
    try:
        graph = torch.fx.symbolic_trace(model).graph
    except Exception:  # noqa: BLE001 - untraceable models simply get no coupling
        return None
    modules = dict(model.named_modules())
    layer = modules.get(path)
    node = next((n for n in graph.nodes if n.op == "call_module" and n.target == path), None)
    if node is None or layer is None:
        return None
    functions = _elementwise_functions()
    norms: list[str] = []
    while True:
        users = list(node.users)
        if len(users) != 1:
            return None  # the output is used twice (a residual sum, a skip): not a plain chain
        node = users[0]
        if node.op == "call_module":
            module = modules[node.target]
            kind = type(module).__name__
            if kind in ELEMENTWISE_MODULES:
                continue
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                norms.append(node.target)
                continue
            same = type(module) is type(layer) and getattr(module, "groups", 1) == 1
            return (norms, node.target) if same and node.args and len(node.args) == 1 else None
        if node.op == "call_function" and node.target in functions:
            continue
        if node.op == "call_method" and node.target in ELEMENTWISE_METHODS:
            continue
        return None
