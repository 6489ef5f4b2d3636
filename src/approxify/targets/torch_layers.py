"""Linear-like layers as people build them, seen as ``nn.Linear`` by the families.

Two kinds of layer compute ``x W^T + b`` without being an ``nn.Linear`` a family can edit:

- ``transformers``' ``Conv1D`` (GPT-2's ``c_attn``, ``c_fc``, ``c_proj``) stores its weight
  transposed, ``(in, out)``: :func:`as_linear` gives the equivalent ``nn.Linear``;
- ``nn.MultiheadAttention`` reads ``in_proj_weight`` (or ``q/k/v_proj_weight``) and
  ``out_proj.weight`` straight into one fused function, so a replaced projection would never
  run: its projections are sites by the paths ``<attention>.q_proj``, ``.k_proj``, ``.v_proj``
  and ``.out_proj``, and a variant that changes one runs :class:`ProjectedAttention` in its
  place, the same attention calling each projection as a module.

A variant swaps such a layer for its plain form (:func:`make_editable`) only when a setting
changes it, so the exact config still runs the user's own modules, bit for bit.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from typing import Any

from .._optional import require_torch
from .torch_fused import unfuse_ancestors

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")


def is_conv1d(module: Any) -> bool:
    """``transformers.pytorch_utils.Conv1D`` (told by its shape, so transformers is not needed)."""
    weight = getattr(module, "weight", None)
    return (type(module).__name__ == "Conv1D" and hasattr(module, "nf") and weight is not None
            and weight.dim() == 2 and weight.shape[1] == module.nf)


def is_attention(module: Any) -> bool:
    """An ``nn.MultiheadAttention`` whose projections :class:`ProjectedAttention` can run
    (not one with ``add_bias_kv`` or ``add_zero_attn``, which append to the keys)."""
    nn = require_torch().nn
    return (isinstance(module, nn.MultiheadAttention) and module.bias_k is None
            and not module.add_zero_attn)


def features(layer: Any) -> tuple[int, int]:
    """(inputs, outputs) of a linear-like layer."""
    if is_conv1d(layer):
        return int(layer.weight.shape[0]), int(layer.nf)
    return int(layer.in_features), int(layer.out_features)


def linear_from(weight: Any, bias: Any, *, share: bool = False) -> Any:
    """A new ``nn.Linear`` holding copies of ``weight`` ``(out, in)`` and ``bias`` (``share``:
    the tensors themselves, for a layer only read); nothing is drawn from torch's random
    generator (the user's RNG state stays as it was)."""
    torch = require_torch()
    out_features, in_features = weight.shape
    if share:
        layer = torch.nn.utils.skip_init(torch.nn.Linear, in_features, out_features, bias=False, device="meta")
        layer.weight = torch.nn.Parameter(weight.detach(), requires_grad=False)
        layer.bias = None if bias is None else torch.nn.Parameter(bias.detach(), requires_grad=False)
        return layer
    layer = torch.nn.utils.skip_init(torch.nn.Linear, in_features, out_features, bias=bias is not None,
                                     device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        layer.weight.copy_(weight)
        if bias is not None:
            layer.bias.copy_(bias)
    return layer


def as_linear(layer: Any, *, share: bool = False) -> Any:
    """The ``nn.Linear`` that computes what ``layer`` (a Conv1D, or a Linear) computes."""
    if is_conv1d(layer):
        return linear_from(layer.weight.detach().t(), layer.bias, share=share)
    return layer


def projections(attention: Any, *, share: bool = False) -> dict[str, Any]:
    """The four projections of an ``nn.MultiheadAttention``, as new ``nn.Linear`` modules."""
    if attention._qkv_same_embed_dim:
        weights = attention.in_proj_weight.detach().chunk(3)
    else:
        weights = (attention.q_proj_weight, attention.k_proj_weight, attention.v_proj_weight)
    bias = attention.in_proj_bias
    biases = bias.detach().chunk(3) if bias is not None else (None, None, None)
    found = {name: linear_from(w.detach(), b, share=share) for name, w, b in zip(PROJECTIONS, weights, biases)}
    found["out_proj"] = linear_from(attention.out_proj.weight.detach(), attention.out_proj.bias, share=share)
    return found


def linear_layers(model: Any, also: tuple[type, ...] = ()) -> Iterator[tuple[str, Any, str]]:
    """(path, layer as an ``nn.Linear``, what it is) of every linear-like layer of ``model``, in
    registration order: Linear and Conv1D modules, and the projections of each attention (paths
    that exist in a variant once :func:`make_editable` ran), and modules of the types ``also``
    as they are. The layers given for Conv1D and projections share the model's weights: to read."""
    nn = require_torch().nn
    for path, module in model.named_modules():
        parent_path = path.rpartition(".")[0]
        if not path or isinstance(_module_or_none(model, parent_path), nn.MultiheadAttention):
            continue  # an attention's out_proj comes with the attention's other projections
        if is_attention(module):
            for name, layer in projections(module, share=True).items():
                yield f"{path}.{name}", layer, f"MultiheadAttention {name}"
        elif is_conv1d(module):
            yield path, as_linear(module, share=True), "Conv1D"
        elif isinstance(module, (nn.Linear, *also)):
            yield path, module, type(module).__name__


def linear_at(model: Any, path: str) -> Any:
    """The layer at ``path`` as an ``nn.Linear`` sharing its weights, to read (a projection of
    an attention by its path)."""
    parent_path, _, name = path.rpartition(".")
    parent = _module_or_none(model, parent_path)
    if is_attention(parent) and name in PROJECTIONS:
        return projections(parent, share=True)[name]
    return as_linear(model.get_submodule(path), share=True)


def make_editable(model: Any, path: str) -> None:
    """In ``model`` (a variant's private copy), make the layer at ``path`` a module a family can
    replace: a Conv1D becomes its ``nn.Linear``, an attention holding the projection at ``path``
    becomes a :class:`ProjectedAttention`. Anything else, or a path no longer there, is left."""
    parent_path, _, name = path.rpartition(".")
    parent = _module_or_none(model, parent_path)
    if is_attention(parent) and name in PROJECTIONS:
        set_module(model, parent_path, projected_attention_class()(parent))
        return
    layer = _module_or_none(model, path)
    if is_conv1d(layer):
        set_module(model, path, as_linear(layer))


def editable_copy(model: Any) -> Any:
    """A copy of ``model`` with every attention a :class:`ProjectedAttention`: what profiling runs,
    so that hooks see each projection's inputs (the same outputs, to rounding)."""
    model = copy.deepcopy(model)
    for path, module in list(model.named_modules()):
        if path and is_attention(module):
            set_module(model, path, projected_attention_class()(module))
            unfuse_ancestors(model, path)
    return model


def _module_or_none(model: Any, path: str) -> Any:
    try:
        return model.get_submodule(path) if path else model
    except AttributeError:
        return None


def set_module(model: Any, path: str, module: Any) -> None:
    """Replace the submodule at ``path`` (``model`` is a private copy)."""
    parent_path, _, name = path.rpartition(".")
    setattr(model.get_submodule(parent_path) if parent_path else model, name, module)


@functools.cache
def projected_attention_class() -> type:
    torch = require_torch()
    functional = torch.nn.functional

    class ProjectedAttention(torch.nn.Module):
        """``nn.MultiheadAttention``'s computation with its four projections as modules
        (``q_proj``, ``k_proj``, ``v_proj``, ``out_proj``), each called on its input: a
        projection a variant pruned, factored or quantized is the one that runs."""

        def __init__(self, attention: Any) -> None:
            super().__init__()
            self.embed_dim, self.num_heads = attention.embed_dim, attention.num_heads
            self.dropout, self.batch_first = attention.dropout, attention.batch_first
            for name, layer in projections(attention).items():
                setattr(self, name, layer)
            self.train(attention.training)

        def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                    attn_mask=None, average_attn_weights=True, is_causal=False):
            batched = query.dim() == 3
            if not batched:  # (L, E): one sequence
                query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
                key_padding_mask = None if key_padding_mask is None else key_padding_mask.unsqueeze(0)
            elif not self.batch_first:  # (L, N, E) -> (N, L, E)
                query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
            q, k, v = self.q_proj(query), self.k_proj(key), self.v_proj(value)
            batch, length, sources = q.shape[0], q.shape[1], k.shape[1]
            q, k, v = (t.reshape(batch, t.shape[1], self.num_heads, -1).transpose(1, 2) for t in (q, k, v))
            if is_causal and attn_mask is None:  # as nn.MultiheadAttention says it
                raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the "
                                   "Transformer module method `generate_square_subsequent_mask` to create this mask.")
            # MHA's own shortcut: the causal hint replaces the mask in the fused kernel
            causal = is_causal and key_padding_mask is None and not need_weights
            mask = None if causal else self._mask(attn_mask, key_padding_mask, batch, length, sources, q)
            dropout = self.dropout if self.training else 0.0
            if need_weights:
                scores = (q * q.shape[-1] ** -0.5) @ k.transpose(-2, -1)
                weights = torch.softmax(scores if mask is None else scores + mask, dim=-1)
                heads = functional.dropout(weights, p=dropout) @ v
            else:  # the fused kernel, as nn.MultiheadAttention takes when no weights are asked for
                heads = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout,
                                                                is_causal=causal)
            out = self.out_proj(heads.transpose(1, 2).reshape(batch, length, -1))
            if not batched:
                out = out.squeeze(0)
            elif not self.batch_first:
                out = out.transpose(0, 1)
            if not need_weights:
                return out, None
            weights = weights.mean(dim=1) if average_attn_weights else weights
            return out, weights if batched else weights.squeeze(0)

        def _mask(self, attn_mask, key_padding_mask, batch, length, sources, like):
            """One additive mask, (batch or 1, heads or 1, length, sources), of ``like``'s dtype
            and device, or None."""
            mask = None
            if attn_mask is not None:
                mask = _additive(attn_mask, like.dtype)
                mask = mask.view(batch, self.num_heads, length, sources) if mask.dim() == 3 else mask
            if key_padding_mask is not None:
                padding = _additive(key_padding_mask, like.dtype).view(batch, 1, 1, sources)
                mask = padding if mask is None else mask + padding
            return mask

    def _additive(mask, dtype):
        if mask.dtype == torch.bool:
            return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
        return mask.to(dtype)

    return ProjectedAttention
