"""Pruning a model's layers: ``Linear`` and convolution layers are ``perforate`` sites.

``Perforate(rate, "neurons")`` removes that share of a layer's output neurons (channels for a
convolution), those with the smallest weight norm, and shrinks what consumes them: a BatchNorm
in between and the next layer's inputs. It is offered where the consumer is plain to see: the
next layer of the same ``nn.Sequential`` after element-wise modules only (activations, dropout,
batch norm; for a convolution also per-channel pooling, and a flatten into a ``Linear``, whose
inputs for each kept channel go with it), the feed-forward ``linear1`` -> ``linear2`` of a
transformer layer (and ``intermediate.dense`` -> ``output.dense`` of a Hugging Face BERT-style
one), or for a model with its own ``forward``, the one layer its output reaches through such
operations in the ``torch.fx`` trace (:mod:`..torch_graph`); GPT-2's ``mlp.c_fc`` ->
``mlp.c_proj`` (``Conv1D`` layers, pruned as the ``nn.Linear`` each computes, see
:mod:`approxify.targets.torch_layers`). The result is a smaller dense
model. ``Perforate(rate, "magnitude")`` zeroes that share of the layer's weights, smallest
magnitude first; a loop policy (``Perforate(0.5)``'s default ``"modulo"``) on a layer means
``"neurons"`` where a consumer is known, else ``"magnitude"``. A ``Linear`` pruned by magnitude
at 75% or more is stored sparse (CSR, see :mod:`.sparse`), smaller and, where its kernel beats
the dense one, faster; below that, and for convolutions, the zeros stay in a dense weight that
is neither smaller nor faster (the site's ``magnitude_storage`` fact says which). An
``nn.MultiheadAttention``'s four projections and an ``nn.Bilinear`` are pruned by magnitude
only: a projection's outputs are split into heads, a Bilinear's feed nothing approxify can see.

A ``nn.ModuleList`` of blocks of one type (transformer layers, residual blocks) is a loop over
layers, and is perforated like a loop: ``Perforate(rate, "modulo" | "truncate" | "random")``
drops that share of its blocks (evenly spaced, the last ones, or a seeded random choice). It
keeps its meaning only for blocks that map their input to an output of the same shape, as
residual blocks do; for others the variant fails, and the failure is measured. The kept blocks
keep their names (:func:`..torch_sites.kept_blocks`): settings on layers inside them reach the
same block as in the original model, and settings inside a dropped block go with it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from ...config import GRID_POLICIES, LOOP_POLICIES, Perforate, Setting
from ...errors import InvalidConfig
from ...sites import Knob, Site
from ...targets.torch import (
    TorchProgram,
    get_module,
    named_leaves,
    require_torch,
    set_module,
)
from ...targets.torch_layers import (
    as_linear,
    features,
    is_conv1d,
    linear_layers,
    projected_attention_class,
)
from .._base import Transform, register
from ..torch_graph import Trace, chain_step, trace, traced_consumer
from ..torch_sites import (
    check_ran,
    edit_layers,
    in_dropped_block,
    kept_blocks,
    layer_site,
    mark_unrun,
    repeated_blocks,
)
from .sparse import SPARSE_FROM, sparse_linear

NEURON_RATES = (0.25, 0.5, 0.75)
MAGNITUDE_RATES = (0.75, 0.9, 0.95)


@register
class TorchPruning(Transform):
    family = "perforate"
    target = "torch"
    order = 0

    def discover(self, program: TorchProgram) -> list[Site]:
        nn = require_torch().nn
        sites = []
        for path, module in named_leaves(program.model):
            if repeated_blocks(module):
                choices = tuple(Perforate(r, p) for p in ("modulo", "truncate") for r in LAYER_RATES
                                if round(r * len(module)) >= 1)
                sites.append(layer_site(path, module, "perforate", Knob(Perforate(), choices),
                                        blocks=len(module), block=type(module[0]).__name__))
        traced = functools.cache(lambda: trace(program.model))  # once, and only if needed
        # a Bilinear's outputs have no consumer approxify can shrink: its weights only
        for path, layer, kind in linear_layers(program.model, also=(nn.Conv2d, nn.Bilinear)):
            found = None if isinstance(layer, nn.Bilinear) else _coupled_in_structure(program.model, path)
            chain = traced_consumer(program.model, path, traced()) if found is NEEDS_TRACE else found
            choices = [Perforate(r, "magnitude") for r in MAGNITUDE_RATES]
            if chain is not None and _outputs(layer) >= 4:
                choices = [Perforate(r, "neurons") for r in NEURON_RATES] + choices
            storage = "CSR" if isinstance(layer, nn.Linear) else "dense: zeros save no time or bytes"
            facts = {}
            if chain is None and found is NEEDS_TRACE and traced().reason is not None:
                facts["untraced"] = (f"torch.fx cannot trace the model's forward ({traced().reason}): "
                                     "no consumer is found through it, so the layer is pruned by magnitude")
            sites.append(layer_site(path, layer, "perforate", Knob(Perforate(), tuple(choices)),
                                    model=program.model, layer=kind, consumer=chain[1] if chain else None,
                                    magnitude_storage=storage, **facts))
        return mark_unrun(program, sites)

    def check(self, program: TorchProgram, site: Site, setting: Setting) -> None:
        assert isinstance(setting, Perforate)
        check_ran(program, site, setting)
        if not setting.is_exact and setting.policy in GRID_POLICIES:
            raise InvalidConfig(
                f"config[{site.id!r}]: policy {setting.policy!r} samples a map over a grid in Python "
                "code; a layer takes Perforate(rate, 'neurons') or Perforate(rate, 'magnitude')."
            )
        if not setting.is_exact and "blocks" in site.facts and setting.policy not in LOOP_POLICIES:
            raise InvalidConfig(_blocks_policy_message(site.id, site.locator.path, setting))

    def apply(self, program: TorchProgram, settings: Mapping[Site, Setting]) -> TorchProgram:
        program = edit_layers(program, settings, _prune)
        # last, so neuron pruning of another layer shrinks these while they are still dense
        model = program.variant
        nn = require_torch().nn
        for site, setting in settings.items():
            path = site.locator.path
            layer = None if setting.is_exact or in_dropped_block(model, path) else get_module(model, path)
            if type(layer) is nn.Linear and setting.rate >= SPARSE_FROM and (
                    setting.policy == "magnitude" or _zeroed_by_magnitude(model, path, setting)):
                set_module(model, path, sparse_linear(layer))
        return program


def _prune(model: Any, site: str, path: str, setting: Perforate) -> None:
    if repeated_blocks(get_module(model, path)):
        if setting.policy not in LOOP_POLICIES:
            raise InvalidConfig(_blocks_policy_message(site, path, setting))
        set_module(model, path, drop_blocks(get_module(model, path), setting))
        return
    policy = setting.policy
    chain = None if policy == "magnitude" else coupled(model, path)  # a trace: only when needed
    if policy in LOOP_POLICIES:  # Perforate(0.5) on a layer: skip neurons where one can
        policy = "neurons" if chain is not None else "magnitude"
    if policy == "magnitude":
        zero_smallest(get_module(model, path), setting.rate)
        return
    if chain is None:
        raise InvalidConfig(
            f"config[{site!r}]: {path} has no consumer approxify can shrink with it (the "
            "next layer of the same nn.Sequential, after element-wise modules only); "
            "use policy='magnitude' for this layer."
        )
    prune_neurons(model, path, chain, setting.rate)


def _blocks_policy_message(site: str, path: str, setting: Perforate) -> str:
    return (f"config[{site!r}]: blocks of {path} are dropped like loop iterations, with "
            f"policy 'modulo', 'truncate' or 'random', not {setting.policy!r}.")


def _zeroed_by_magnitude(model: Any, path: str, setting: Perforate) -> bool:
    """A loop policy on a layer without a known consumer meant magnitude pruning."""
    return setting.policy in LOOP_POLICIES and coupled(model, path) is None


LAYER_RATES = (0.25, 0.5)


def drop_blocks(blocks: Any, setting: Perforate) -> Any:
    """A new ModuleList without the dropped share of ``blocks``, the kept ones under their names."""
    import random

    import numpy as np

    count = len(blocks)
    keep = max(1, count - int(round(setting.rate * count)))
    if setting.policy == "truncate":
        kept = list(range(keep))
    elif setting.policy == "random":
        kept = sorted(random.Random(setting.seed).sample(range(count), keep))
    else:  # evenly spaced, first and last block kept
        kept = sorted({int(i) for i in np.round(np.linspace(0, count - 1, keep))})
    return kept_blocks(blocks, kept)


def _outputs(layer: Any) -> int:
    return layer.out_features if hasattr(layer, "out_features") else layer.out_channels


def coupled(model: Any, path: str, traced: Callable[[], Trace] | None = None) -> tuple[list[str], str] | None:
    """(batch norms in between, consumer path) when ``path``'s outputs feed exactly the next
    layer of its ``nn.Sequential`` through element-wise modules, or, outside a Sequential, one
    layer by a plain chain in the model's traced graph (``traced()``, when the caller keeps
    it); None otherwise."""
    chain = _coupled_in_structure(model, path)
    if chain is NEEDS_TRACE:
        return traced_consumer(model, path, traced() if traced else None)
    return chain


NEEDS_TRACE = object()  # what the module structure cannot tell: only the traced graph can


def _coupled_in_structure(model: Any, path: str) -> Any:
    """:func:`coupled` from the modules alone, or NEEDS_TRACE."""
    nn = require_torch().nn
    parent_path, _, name = path.rpartition(".")
    parent = model.get_submodule(parent_path) if parent_path else model
    if isinstance(parent, (nn.TransformerEncoderLayer, nn.TransformerDecoderLayer)):
        # the feed-forward block: linear2(dropout(activation(linear1(x)))), element-wise between
        return ([], f"{parent_path}.linear2") if name == "linear1" else None
    if isinstance(parent, (nn.MultiheadAttention, projected_attention_class())):
        return None  # a projection's outputs are split into heads
    ffn_output = _ffn_output(model, path)
    if ffn_output is not None:
        return [], ffn_output
    if not isinstance(parent, nn.Sequential):
        return NEEDS_TRACE
    names = [n for n, _ in parent.named_children()]
    layer = parent.get_submodule(name)
    norms: list[str] = []
    flattened = False
    for following in names[names.index(name) + 1:]:
        full = f"{parent_path}.{following}" if parent_path else following
        step = chain_step(layer, parent.get_submodule(following), flattened)
        if step == "norm":
            norms.append(full)
        flattened = flattened or step == "flatten"
        if step == "consumer":
            return norms, full
        if step is None:
            return None
    return None


# (layer, consumer) of the feed-forward of Hugging Face transformer layers, which such models'
# own ``forward`` hides from ``torch.fx``: BERT-style ones (BERT, RoBERTa, MiniLM, ...) and GPT-2's
# Conv1D pair, each an activation apart
FFN_PAIRS = (("intermediate.dense", "output.dense"), ("mlp.c_fc", "mlp.c_proj"))


def _ffn_output(model: Any, path: str) -> str | None:
    """The consumer of ``path`` when it is the first layer of a feed-forward of ``FFN_PAIRS``."""
    for producer, consumer_name in FFN_PAIRS:
        if path == producer or path.endswith("." + producer):
            consumer = path[: -len(producer)] + consumer_name
            try:
                layer, output = model.get_submodule(path), model.get_submodule(consumer)
            except AttributeError:
                return None
            nn = require_torch().nn
            fits = all(isinstance(m, nn.Linear) or is_conv1d(m) for m in (layer, output)) \
                and features(output)[0] == features(layer)[1]
            return consumer if fits else None
    return None


def zero_smallest(layer: Any, rate: float) -> None:
    torch = require_torch()
    with torch.no_grad():
        weight = layer.weight  # its own: edit_layers unties a weight shared with another layer
        count = int(round(rate * weight.numel()))
        if count:
            threshold = weight.abs().flatten().kthvalue(count).values
            weight[weight.abs() <= threshold] = 0.0


def prune_neurons(model: Any, path: str, chain: tuple[list[str], str], rate: float) -> None:
    """Keep the ``1 - rate`` share of ``path``'s outputs with the largest weight norm."""
    torch = require_torch()
    layer = get_module(model, path)
    outputs = _outputs(layer)
    keep_count = max(1, int(round(outputs * (1.0 - rate))))
    norms = layer.weight.detach().flatten(1).norm(dim=1)
    keep = torch.sort(torch.topk(norms, keep_count).indices).values
    with torch.no_grad():
        set_module(model, path, _select_outputs(layer, keep))
        for norm_path in chain[0]:
            set_module(model, norm_path, _select_norm(get_module(model, norm_path), keep))
        consumer = as_linear(get_module(model, chain[1]))  # GPT-2's c_proj: a Conv1D
        set_module(model, chain[1], _select_inputs(consumer, _input_columns(layer, consumer, keep)))


def _input_columns(layer: Any, consumer: Any, keep: Any) -> Any:
    """The consumer's inputs fed by the kept outputs: the same indices, or for a convolution
    flattened into a ``Linear``, every pixel of each kept channel (channel-major)."""
    torch = require_torch()
    pixels = consumer.in_features // _outputs(layer) if isinstance(consumer, torch.nn.Linear) else 1
    return (keep[:, None] * pixels + torch.arange(pixels)).flatten()


def _select_outputs(layer: Any, keep: Any) -> Any:
    nn = require_torch().nn
    if isinstance(layer, nn.Linear):
        new = nn.Linear(layer.in_features, len(keep), bias=layer.bias is not None)
    else:
        new = nn.Conv2d(layer.in_channels, len(keep), layer.kernel_size, layer.stride, layer.padding,
                        layer.dilation, layer.groups, layer.bias is not None, layer.padding_mode)
    new.weight.copy_(layer.weight[keep])
    if layer.bias is not None:
        new.bias.copy_(layer.bias[keep])
    return new.to(layer.weight.dtype)


def _select_inputs(layer: Any, keep: Any) -> Any:
    nn = require_torch().nn
    if isinstance(layer, nn.Linear):
        new = nn.Linear(len(keep), layer.out_features, bias=layer.bias is not None)
    else:
        new = nn.Conv2d(len(keep), layer.out_channels, layer.kernel_size, layer.stride, layer.padding,
                        layer.dilation, layer.groups, layer.bias is not None, layer.padding_mode)
    new.weight.copy_(layer.weight[:, keep])
    if layer.bias is not None:
        new.bias.copy_(layer.bias)
    return new.to(layer.weight.dtype)


def _select_norm(norm: Any, keep: Any) -> Any:
    new = type(norm)(len(keep), eps=norm.eps, momentum=norm.momentum, affine=norm.affine,
                     track_running_stats=norm.track_running_stats)
    if norm.affine:
        new.weight.copy_(norm.weight[keep])
        new.bias.copy_(norm.bias[keep])
    if norm.track_running_stats:
        new.running_mean.copy_(norm.running_mean[keep])
        new.running_var.copy_(norm.running_var[keep])
        new.num_batches_tracked.copy_(norm.num_batches_tracked)
    return new
