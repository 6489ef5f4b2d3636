"""Repair: a short knowledge-distillation fine-tune of a model's variant (``repair=`` steps),
the torch target's post-build hook.

The variant learns to reproduce the exact model's outputs on the tuning inputs (no labels
needed): mean squared error between its outputs and the exact ones, Adam, a fixed number of
steps in a seeded order, capped by :data:`REPAIR_SECONDS`. It runs in eval mode (dropout off,
batch norm statistics kept) on the pruned and factored model, before any precision lowering
(int8 kernels have no gradients).
Pruned and factorized models recover much of what they lost this way. The weights are kept per
structure (the config of the families that keep gradients), so each is trained once, rebuilt the
same, and saved beside a result.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from .._optional import require_torch

REPAIR_SECONDS = 20.0  # per variant, whatever the steps asked for
LEARNING_RATE = 1e-3


def distill(variant: Any, pairs: Sequence[tuple[tuple, Any]], *, steps: int, seed: int = 0) -> Any:
    """Fine-tune ``variant`` in place towards ``pairs`` of (arguments, exact output)."""
    torch = require_torch()
    trainable = [p for p in variant.parameters() if p.dtype.is_floating_point]
    if not trainable or not pairs:
        return variant
    for parameter in trainable:
        parameter.requires_grad_(True)
    # weights pruned to exact zeros (magnitude pruning kept dense) stay pruned
    masks = [(p, p != 0) for p in trainable if bool((p == 0).any())]
    optimizer = torch.optim.Adam(trainable, lr=LEARNING_RATE)
    order = torch.randperm(len(pairs), generator=torch.Generator().manual_seed(seed)).tolist()
    started = time.perf_counter()
    try:
        for step in range(steps):
            args, target = pairs[order[step % len(order)]]
            output = variant(*args)
            loss = torch.nn.functional.mse_loss(output.float(), target.float())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            with torch.no_grad():
                for parameter, mask in masks:
                    parameter.mul_(mask)
            if time.perf_counter() - started > REPAIR_SECONDS:
                break
    finally:
        for parameter in trainable:
            parameter.requires_grad_(False)
    return variant


@dataclass
class Repair:
    """What repair trains on, and the weights it gave, shared by every variant of a target."""

    pairs: list[tuple[tuple, Any]] | None  # (arguments, exact output) on tuning inputs; None: reuse only
    steps: int
    weights: dict[str, Any] = field(default_factory=dict)  # structure key -> repaired state dict

    def apply(self, variant: Any, key: str) -> Any:
        """``variant`` (of the structure ``key``) with its repaired weights: trained the first
        time, loaded after; a loaded result's repair never trains (``pairs`` is None)."""
        if key in self.weights:
            variant.load_state_dict(self.weights[key])
        elif self.pairs is not None:
            distill(variant, self.pairs, steps=self.steps)
            self.weights[key] = copy.deepcopy(variant.state_dict())
        return variant
