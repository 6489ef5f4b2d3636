"""Layers whose fused fast path reads their children's weights directly.

``nn.TransformerEncoderLayer`` runs, in eval mode, one fused kernel that reads
``self.linear1.weight`` and the like; a child replaced by a factored, quantized or cast module has
no such weight, and a pruned one no longer fits the kernel. When a variant edits a child of such
a layer, the layer (in the variant only) switches to :class:`GenericEncoderLayer`, the same
module with the same weights whose forward is the layer's own unfused path, calling each child as
a module; the ``nn.TransformerEncoder`` around it stops taking its nested-tensor fast path, which
reads the first layer's weights too.
"""

from __future__ import annotations

import functools
from typing import Any

from .._optional import require_torch


def unfuse_ancestors(model: Any, path: str) -> None:
    """Switch the fused layers above ``path`` in ``model`` (a variant) to their generic path."""
    nn = require_torch().nn
    parts = path.split(".")
    for depth in range(len(parts) - 1, -1, -1):
        ancestor = model.get_submodule(".".join(parts[:depth]))
        if type(ancestor) is nn.TransformerEncoderLayer:
            ancestor.__class__ = generic_encoder_layer()
        elif isinstance(ancestor, nn.TransformerEncoder):
            ancestor.use_nested_tensor = False


@functools.cache
def generic_encoder_layer() -> type:
    torch = require_torch()
    functional = torch.nn.functional

    class GenericEncoderLayer(torch.nn.TransformerEncoderLayer):
        """``nn.TransformerEncoderLayer`` without its fused fast path: children called as modules."""

        def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
            src_key_padding_mask = functional._canonical_mask(
                mask=src_key_padding_mask, mask_name="src_key_padding_mask",
                other_type=functional._none_or_dtype(src_mask), other_name="src_mask",
                target_type=src.dtype)
            src_mask = functional._canonical_mask(
                mask=src_mask, mask_name="src_mask", other_type=None, other_name="",
                target_type=src.dtype, check_other=False)
            x = src
            if self.norm_first:
                x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal=is_causal)
                return x + self._ff_block(self.norm2(x))
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal=is_causal))
            return self.norm2(x + self._ff_block(x))

    return GenericEncoderLayer
