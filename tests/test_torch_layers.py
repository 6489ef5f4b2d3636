"""Models as people build them: GPT-2's Conv1D, nn.Bilinear and nn.MultiheadAttention's
projections are sites of the families that fit; a forward with Python control flow keeps working;
a layer the example inputs never ran gets no choices and is never chosen."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install 'approxify[torch]')")

import approxify as ax  # noqa: E402
from approxify.errors import InvalidConfig  # noqa: E402
from approxify.search.groups import group_sites  # noqa: E402
from approxify.targets.torch_layers import as_linear, projected_attention_class  # noqa: E402
from approxify.transforms.substitute.torch import factored_bilinear  # noqa: E402

nn = torch.nn


def run(model, *args):
    with torch.inference_mode():
        return model(*args)


def snapshot(model):
    """The user's model as it is: its state (values) and its module types, by path."""
    return ({k: v.clone() for k, v in model.state_dict().items()},
            {p: type(m) for p, m in model.named_modules()})


def assert_unchanged(model, before):
    state, types = before
    now = model.state_dict()
    assert now.keys() == state.keys() and all(torch.equal(now[k], v) for k, v in state.items())
    assert {p: type(m) for p, m in model.named_modules()} == types


def relative_change(variant, model, *args):
    exact = run(model, *args)
    return float((run(variant, *args) - exact).norm() / exact.norm())


def choice(sites, site_id, label):
    return next(c for c in sites[site_id].knob.choices if c.label() == label)


# -- GPT-2 (transformers), random weights ------------------------------------------------------

def gpt2():
    transformers = pytest.importorskip("transformers")
    transformers.logging.set_verbosity_error()
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=100, n_positions=32)
    return transformers.GPT2LMHeadModel(config).eval()


class Logits(nn.Module):
    """GPT-2's logits as one tensor (its own forward returns a ModelOutput)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids):
        return self.model(ids).logits


TOKENS = [torch.randint(0, 100, (2, 8), generator=torch.Generator().manual_seed(i)) for i in range(3)]
GPT2_LAYERS = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")
GPT2_CHOICES = {"perforate": ["neurons 50%", "magnitude 90%"], "precision": ["bfloat16", "int8", "int8 smoothed 0.8"],
                "substitute": None}  # None: the smallest rank offered


def test_gpt2s_conv1d_layers_are_sites_of_every_family():
    model = Logits(gpt2())
    sites = {s.id: s for s in ax.sites(model, example_inputs=TOKENS)}
    for layer in GPT2_LAYERS:
        for family in ("perforate", "precision", "substitute"):
            site = sites[f"model.transformer.h.0.{layer}/{family}"]
            assert site.facts["layer"] == "Conv1D" and site.knob.choices, site.id
    fc = sites["model.transformer.h.1.mlp.c_fc/perforate"]
    assert fc.facts["consumer"] == "model.transformer.h.1.mlp.c_proj"  # neurons: the feed-forward pair
    assert "neurons 50%" in [c.label() for c in fc.knob.choices]
    assert "int8" in [c.label() for c in sites["model.transformer.h.0.attn.c_attn/precision"].knob.choices]
    assert "Conv1D" in repr(ax.sites(model, select="*c_fc*"))


@pytest.mark.parametrize("family", sorted(GPT2_CHOICES))
def test_each_familys_choices_on_gpt2_layers_run_change_outputs_plausibly_and_leave_the_model(family):
    inner = gpt2()
    model = Logits(inner)
    before = snapshot(model)
    sites = {s.id: s for s in ax.sites(model, families=[family], example_inputs=TOKENS)}
    assert torch.equal(run(ax.apply(model, {}), TOKENS[0]), run(model, TOKENS[0]))  # exact: bit-identical
    for layer in GPT2_LAYERS:
        site = sites[f"model.transformer.h.0.{layer}/{family}"]
        labels = GPT2_CHOICES[family] or [site.knob.choices[0].label()]
        for label in labels:
            offered = [c for c in site.knob.choices if c.label() == label]
            if not offered:  # neurons: only the feed-forward pair has a consumer to shrink
                assert label.startswith("neurons") and layer != "mlp.c_fc"
                continue
            variant = ax.apply(model, {site.id: offered[0]}, example_inputs=TOKENS)
            change = relative_change(variant, model, TOKENS[1])
            assert 0 < change < 0.5, (site.id, label, change)
    assert_unchanged(model, before)
    assert type(inner.transformer.h[0].mlp.c_fc).__name__ == "Conv1D"


def test_a_conv1d_is_pruned_and_factored_as_the_linear_it_computes():
    model = Logits(gpt2())
    path = "model.transformer.h.0.mlp.c_fc"
    pruned = ax.apply(model, {path: ax.Perforate(0.9, "magnitude")})
    by_hand = copy.deepcopy(model)
    weight = by_hand.get_submodule(path).weight
    with torch.no_grad():
        weight[weight.abs() <= weight.abs().flatten().kthvalue(int(round(0.9 * weight.numel()))).values] = 0
    assert torch.allclose(run(pruned, TOKENS[0]), run(by_hand, TOKENS[0]), atol=1e-5)
    layer = model.get_submodule(path)
    linear = as_linear(layer)
    x = torch.randn(5, 64)
    assert torch.allclose(linear(x), layer(x), atol=1e-6)
    state = torch.random.get_rng_state()
    factored = ax.apply(model, {path: ax.Substitute("lowrank", rank=63)}).get_submodule(path)
    assert torch.equal(torch.random.get_rng_state(), state)  # the factors draw nothing
    assert [type(m) for m in factored] == [nn.Linear, nn.Linear]
    u, s, vh = torch.linalg.svd(layer.weight.detach().double().t(), full_matrices=False)
    best = ((u[:, :63] * s[:63]) @ vh[:63]).float()  # the best rank-63 weight, (out, in)
    assert torch.allclose(run(factored, x), x @ best.t() + layer.bias, atol=1e-5)


@pytest.mark.slow
def test_gpt2_as_it_comes_is_tuned_on_its_logits():
    model = gpt2()  # its forward returns a ModelOutput: compared by its first field, the logits
    batches = [torch.randint(0, 100, (2, 8), generator=torch.Generator().manual_seed(i)) for i in range(40)]
    result = ax.approximate(model, batches, quality="rel_l2", bound=0.1, cost="bytes", families=["precision"],
                            select="transformer.h.*.mlp.c_fc/precision", budget=ax.Budget(trials=2),
                            progress=False, seed=0)
    assert result.best.certified and not result.best.is_exact
    assert set(result.best.config) == {f"transformer.h.{i}.mlp.c_fc/precision" for i in range(2)}
    exact, variant = run(model, batches[0]).logits, run(result.program(), batches[0]).logits
    assert 0 < float((variant - exact).norm() / exact.norm()) < 0.1


def test_gpt2s_tied_head_is_changed_alone():
    model = Logits(gpt2())
    assert model.model.lm_head.weight is model.model.transformer.wte.weight
    variant = ax.apply(model, {"model.lm_head": ax.Perforate(0.5, "magnitude")})
    assert torch.equal(variant.model.transformer.wte.weight, model.model.transformer.wte.weight)
    assert (variant.model.lm_head.weight == 0).float().mean() >= 0.49
    lowered = ax.apply(model, {"model.lm_head": ax.Precision("bfloat16")})  # every family, not pruning only
    assert lowered.model.transformer.wte.weight.dtype == torch.float32
    assert torch.equal(lowered.model.transformer.wte.weight, model.model.transformer.wte.weight)


def test_gpt2s_blocks_are_dropped_like_loop_iterations():
    model = Logits(gpt2())
    variant = ax.apply(model, {"model.transformer.h": ax.Perforate(0.5, "truncate")})
    assert len(variant.model.transformer.h) == 1 and len(model.model.transformer.h) == 2
    assert 0 < relative_change(variant, model, TOKENS[0])


# -- nn.MultiheadAttention -----------------------------------------------------------------------

class SelfAttention(nn.Module):
    """nn.MultiheadAttention called as people call it: attention weights asked for (the default)."""

    def __init__(self, batch_first=True):
        super().__init__()
        torch.manual_seed(0)
        self.attn = nn.MultiheadAttention(16, 4, batch_first=batch_first)
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        y, _ = self.attn(x, x, x)
        return self.head(y)


SEQUENCES = [torch.randn(3, 6, 16, generator=torch.Generator().manual_seed(i)) for i in range(3)]
PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")


@pytest.mark.parametrize("batch_first", [True, False])
def test_projected_attention_computes_what_multihead_attention_does(batch_first):
    torch.manual_seed(1)
    attention = nn.MultiheadAttention(16, 4, batch_first=batch_first, kdim=12, vdim=12).eval()
    projected = projected_attention_class()(attention).eval()
    q, kv = torch.randn(3, 5, 16), torch.randn(3, 7, 12)
    if not batch_first:
        q, kv = q.transpose(0, 1), kv.transpose(0, 1)
    padding = torch.zeros(3, 7, dtype=torch.bool)
    padding[0, -2:] = True
    for kwargs in ({}, {"key_padding_mask": padding}, {"attn_mask": torch.randn(5, 7), "average_attn_weights": False},
                   {"attn_mask": torch.rand(12, 5, 7) > 0.8, "need_weights": False},
                   # the causal hint: MHA's fused path drops the mask for is_causal=True
                   {"attn_mask": torch.ones(5, 7, dtype=torch.bool).triu(1), "is_causal": True, "need_weights": False},
                   {"attn_mask": torch.ones(5, 7, dtype=torch.bool).triu(1), "is_causal": True}):
        (out, weights), (mine, my_weights) = attention(q, kv, kv, **kwargs), projected(q, kv, kv, **kwargs)
        assert torch.allclose(out, mine, atol=1e-6)
        assert (weights is None and my_weights is None) or torch.allclose(weights, my_weights, atol=1e-6)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        projected(q, kv, kv, is_causal=True)  # as MHA refuses it
    x = torch.randn(5, 16)  # one unbatched sequence
    same = projected_attention_class()(nn.MultiheadAttention(16, 4).eval())
    assert same(x, x, x)[0].shape == (5, 16)


def test_an_attentions_projections_are_sites_and_each_familys_choice_runs_the_changed_projection():
    model = SelfAttention()
    before = snapshot(model)
    sites = {s.id: s for s in ax.sites(model, example_inputs=SEQUENCES)}
    for name in PROJECTIONS:
        assert sites[f"attn.{name}/precision"].facts["layer"] == f"MultiheadAttention {name}"
        for family in ("perforate", "precision", "substitute"):
            site = sites[f"attn.{name}/{family}"]
            assert site.knob.choices
            for setting in {"perforate": site.knob.choices[:1], "substitute": site.knob.choices[-1:],
                            "precision": site.knob.choices}[family]:
                variant = ax.apply(model, {site.id: setting}, example_inputs=SEQUENCES)
                assert type(variant.attn).__name__ == "ProjectedAttention"
                largest = 0.1 if family == "precision" else 1.0  # rounding; weights removed
                assert 0 < relative_change(variant, model, SEQUENCES[1]) < largest, (site.id, setting)
    assert torch.equal(run(ax.apply(model, {}), SEQUENCES[0]), run(model, SEQUENCES[0]))
    assert type(ax.apply(model, {}).attn) is nn.MultiheadAttention
    assert_unchanged(model, before)


@pytest.mark.parametrize("projection, rows", [("q_proj", slice(0, 16)), ("v_proj", slice(32, 48))])
def test_a_pruned_projection_changes_the_output_exactly_as_pruning_its_rows_of_in_proj_weight(projection, rows):
    model = SelfAttention(batch_first=False)
    x = SEQUENCES[0].transpose(0, 1)
    variant = ax.apply(model, {f"attn.{projection}": ax.Perforate(0.9, "magnitude")})
    by_hand = copy.deepcopy(model).eval()
    with torch.no_grad():
        part = by_hand.attn.in_proj_weight[rows]
        part[part.abs() <= part.abs().flatten().kthvalue(int(round(0.9 * part.numel()))).values] = 0
    assert torch.allclose(run(variant, x), run(by_hand, x), atol=1e-5)
    assert not torch.allclose(run(variant, x), run(model, x), atol=1e-3)


def test_out_proj_of_an_encoder_layer_in_bfloat16_changes_outputs_by_rounding_only():
    torch.manual_seed(0)
    model = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True).eval()
    variant = ax.apply(model, {"self_attn.out_proj": ax.Precision("bfloat16")})
    change = relative_change(variant, model, SEQUENCES[0])
    assert 0 < change < 0.02  # bfloat16 keeps 8 bits: one layer's rounding
    assert type(variant.self_attn).__name__ == "ProjectedAttention" and type(model.self_attn) is nn.MultiheadAttention
    assert type(variant.self_attn.out_proj).__name__ == "LowPrecision"  # the projection that runs is the lowered one


# -- nn.Bilinear -----------------------------------------------------------------------------------

class Pairwise(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.bilinear = nn.Bilinear(12, 10, 8)

    def forward(self, x):
        return self.bilinear(x[:, :12], x[:, 12:])


PAIRS = [torch.randn(16, 22, generator=torch.Generator().manual_seed(i)) for i in range(2)]


def test_a_bilinear_is_a_site_of_the_families_that_fit_it():
    model = Pairwise()
    before = snapshot(model)
    sites = {s.id: s for s in ax.sites(model)}
    assert [c.label() for c in sites["bilinear/precision"].knob.choices] == ["bfloat16", "float16"]  # no int8 kernel
    assert {c.policy for c in sites["bilinear/perforate"].knob.choices} == {"magnitude"}
    ranks = [c.rank for c in sites["bilinear/substitute"].knob.choices]
    assert ranks and all(r * (12 + 10) < 12 * 10 for r in ranks)
    for site in sites.values():
        for setting in site.knob.choices:
            change = relative_change(ax.apply(model, {site.id: setting}), model, PAIRS[0])
            assert 0 < change < 1.0, (site.id, setting)
    with pytest.raises(InvalidConfig, match="int8 has no kernel for Bilinear"):
        ax.apply(model, {"bilinear": ax.Precision("int8")})
    assert torch.equal(run(ax.apply(model, {}), PAIRS[0]), run(model, PAIRS[0]))
    assert_unchanged(model, before)


def test_a_factored_bilinear_is_each_outputs_best_low_rank_matrix():
    layer = Pairwise().bilinear
    x1, x2 = torch.randn(6, 12), torch.randn(6, 10)
    full = factored_bilinear(layer, 10)
    assert torch.allclose(full(x1, x2), layer(x1, x2), atol=1e-5)
    u, s, vh = torch.linalg.svd(layer.weight.detach().double(), full_matrices=False)
    best = copy.deepcopy(layer)
    with torch.no_grad():
        best.weight.copy_((u[:, :, :3] * s[:, None, :3]) @ vh[:, :3])
    assert torch.allclose(factored_bilinear(layer, 3)(x1, x2), best(x1, x2), atol=1e-5)


# -- dead layers and control flow ----------------------------------------------------------------

class Branchy(nn.Module):
    """A forward with Python control flow: a loop over layers, a branch on the data, a layer only
    on that branch, and a layer never called at all."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.inp = nn.Linear(8, 32)
        self.layers = nn.ModuleList([nn.Linear(32, 32) for _ in range(3)])
        self.positive = nn.Linear(32, 32)
        self.spare = nn.Linear(32, 256)  # built, never called
        self.out = nn.Linear(32, 4)

    def forward(self, x):
        h = torch.relu(self.inp(x))
        for i, layer in enumerate(self.layers):
            h = h + torch.relu(layer(h)) if i % 2 == 0 else h + layer(h)
        if x[:, 0].mean() > 0:  # data-dependent: torch.fx cannot trace it
            h = torch.tanh(self.positive(h))
        return self.out(h)


BATCHES = [torch.randn(4, 8, generator=torch.Generator().manual_seed(i)) for i in range(24)]


def positive(batch):
    return bool(batch[:, 0].mean() > 0)


def test_a_layer_that_never_ran_has_no_choices_and_says_so():
    model = Branchy()
    negative = [b for b in BATCHES if not positive(b)]
    assert negative
    found = ax.sites(model, example_inputs=negative[:3])
    sites = {s.id: s for s in found}
    for family in ("perforate", "precision", "substitute"):
        for path in ("spare", "positive"):  # never called; its branch not taken on these inputs
            site = sites[f"{path}/{family}"]
            assert site.knob.choices == () and site.facts["ran"] is False
            assert "never ran on the example inputs" in site.detail
        assert sites[f"layers.1/{family}"].knob.choices and "ran" not in sites[f"layers.1/{family}"].facts
    table = repr(found)
    assert any(line.startswith("spare/precision") and "never ran" in line and line.rstrip().endswith("0")
               for line in table.splitlines())
    with pytest.raises(InvalidConfig, match="never ran on the example inputs"):
        ax.apply(model, {"spare": ax.Substitute("lowrank", rank=4)}, example_inputs=negative[:3])
    # without example inputs nothing is known to be dead
    assert ax.sites(model, select="spare/substitute")[0].knob.choices


class Gated(nn.Module):
    """Blocks of one type, of which only the first calls its ``extra`` layer."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.blocks = nn.ModuleList(nn.ModuleDict({"main": nn.Linear(8, 8), "extra": nn.Linear(8, 8)})
                                    for _ in range(3))

    def forward(self, x):
        for i, block in enumerate(self.blocks):
            x = x + block["main"](x)
            if i == 0:
                x = x + block["extra"](x)
        return x


def test_a_dead_layer_leaves_its_role_and_the_blocks_that_ran_are_still_tuned_as_one():
    sites = ax.sites(Gated(), families=["precision"], example_inputs=BATCHES[:2])
    tuned, groups = group_sites(sites, "blocks")
    assert groups == {"blocks:blocks.*.main/precision": [f"blocks.{i}.main/precision" for i in range(3)]}
    alone = {s.id: s for s in tuned}
    assert alone["blocks.0.extra/precision"].knob.choices
    assert alone["blocks.1.extra/precision"].knob.choices == () == alone["blocks.2.extra/precision"].knob.choices
    assert next(s for s in tuned if s.id.startswith("blocks:")).knob.choices


def test_a_change_to_a_dead_layer_is_never_chosen():
    model = Branchy()
    # the spare layer holds most of the parameters: factoring it would be "best" by size alone
    result = ax.approximate(model, BATCHES, quality="rel_l2", bound=0.5, cost="params",
                            families=["substitute"], budget=ax.Budget(trials=12), progress=False, seed=0)
    touched = {site for point in result.points for site, setting in point.config.items() if not setting.is_exact}
    assert not any(site.startswith("spare/") for site in touched)


def test_a_forward_with_control_flow_keeps_working_for_every_family():
    model = Branchy()
    before = snapshot(model)
    taken = [b for b in BATCHES if positive(b)]
    negative = [b for b in BATCHES if not positive(b)]
    assert taken and negative
    examples = taken[:2] + negative[:2]
    sites = ax.sites(model, example_inputs=examples)
    # torch.fx cannot trace the branch: no consumer is known outside the loop, so no neurons
    pruned = {s.id: s for s in sites}["positive/perforate"]
    assert all(c.policy == "magnitude" for c in pruned.knob.choices)
    assert "torch.fx cannot trace the model's forward (TraceError" in pruned.facts["untraced"]
    for site in sites:
        for setting in site.knob.choices[:1] + site.knob.choices[-1:]:
            variant = ax.apply(model, {site.id: setting}, example_inputs=examples)
            for batch in (taken[0], negative[0]):
                assert torch.isfinite(run(variant, batch)).all(), (site.id, setting)
    exact = ax.apply(model, {})
    assert all(torch.equal(run(exact, b), run(model, b)) for b in BATCHES)
    assert_unchanged(model, before)


class UntraceableWithSequential(nn.Module):
    """A layer the trace is asked about first, then layers whose consumer the structure settles."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.inp = nn.Linear(8, 16)
        self.seq = nn.Sequential(nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 16))
        self.bil = nn.Bilinear(16, 16, 4)

    def forward(self, x):
        h = self.seq(self.inp(x))
        if x.mean() > 0:  # data-dependent: torch.fx cannot trace it
            h = -h
        return self.bil(h, h)


def test_only_a_layer_whose_consumer_needed_the_trace_says_it_was_untraceable():
    facts = {s.id: s.facts for s in ax.sites(UntraceableWithSequential(), families="perforate")}
    assert "untraced" in facts["inp/perforate"]
    assert "untraced" not in facts["seq.2/perforate"] and "untraced" not in facts["bil/perforate"]
