"""Transformer models: children of fused encoder layers, the feed-forward of BERT-style layers,
layers of repeated blocks tuned as one (``grouping="blocks"``), and settings that save nothing."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install 'approxify[torch]')")

import approxify as ax  # noqa: E402
from approxify.errors import InvalidArgument  # noqa: E402
from approxify._target import Target  # noqa: E402
from approxify.measure.quality import get_quality  # noqa: E402
from approxify.search.groups import expand, group_sites  # noqa: E402
from approxify.search.measurer import Measurer  # noqa: E402
from test_torch_target import Encoder, mlp, run, trained_classifier  # noqa: E402

nn = torch.nn
X = torch.randn(3, 5, 8, generator=torch.Generator().manual_seed(1))


def test_children_of_a_fused_encoder_layer_can_be_replaced():
    model = Encoder().eval()
    config = {"encoder.layers.0.linear1/substitute": ax.Substitute("lowrank", rank=8),
              "encoder.layers.1.linear2/precision": ax.Precision("int8"),
              "encoder.layers.2.linear1/precision": ax.Precision("bfloat16")}
    variant = ax.apply(model, config)
    assert run(variant, X).shape == (3, 3)  # the fused fast path would read linear1.weight and fail
    switched = [type(layer).__name__ for layer in variant.encoder.layers]
    assert switched == ["GenericEncoderLayer"] * 3 + ["TransformerEncoderLayer"]
    assert all(type(layer) is nn.TransformerEncoderLayer for layer in model.encoder.layers)
    assert not variant.encoder.use_nested_tensor


def test_the_generic_encoder_layer_computes_what_the_fused_one_does():
    from approxify.targets.torch_fused import unfuse_ancestors

    model = Encoder().eval()
    generic = ax.apply(model, {})
    unfuse_ancestors(generic, "encoder.layers.0.linear1")
    assert type(generic.encoder.layers[0]).__name__ == "GenericEncoderLayer"
    assert torch.allclose(run(generic, X), run(model, X), atol=1e-5)


def test_feed_forward_neurons_of_an_encoder_layer_shrink_linear2():
    model = Encoder().eval()
    sites = {s.id: s for s in ax.sites(model, families=["perforate"])}
    assert sites["encoder.layers.0.linear1/perforate"].facts["consumer"] == "encoder.layers.0.linear2"
    assert all(c.policy == "magnitude" for c in sites["encoder.layers.0.linear2/perforate"].knob.choices)
    variant = ax.apply(model, {"encoder.layers.0.linear1/perforate": ax.Perforate(0.5, "neurons")})
    layer = variant.encoder.layers[0]
    assert (layer.linear1.out_features, layer.linear2.in_features) == (32, 32)
    assert run(variant, X).shape == (3, 3)


def test_layers_of_repeated_blocks_have_a_role():
    sites = {s.id: s for s in ax.sites(Encoder())}
    assert sites["encoder.layers.2.linear1/precision"].facts["role"] == "encoder.layers.*.linear1/precision"
    assert "role" not in sites["embed/precision"].facts
    assert "role" not in {k for s in ax.sites(mlp()) for k in s.facts}  # a Sequential is not blocks


def test_blocks_grouping_tunes_one_role_as_one_site():
    sites = ax.sites(Encoder(), families=["precision"])
    tuned, groups = group_sites(sites, "blocks")
    role = "blocks:encoder.layers.*.linear1/precision"
    assert groups[role] == [f"encoder.layers.{i}.linear1/precision" for i in range(4)]
    projections = {f"blocks:encoder.layers.*.self_attn.{p}/precision" for p in ("q_proj", "k_proj", "v_proj", "out_proj")}
    assert {s.id for s in tuned} == {"embed/precision", "head/precision", role,
                                     "blocks:encoder.layers.*.linear2/precision", *projections}
    grouped = next(s for s in tuned if s.id == role)
    assert grouped.where == "encoder.layers.*.linear1" and "4 layers" in grouped.detail
    assert expand({role: ax.Precision("int8")}, groups) == {m: ax.Precision("int8") for m in groups[role]}
    assert group_sites(sites, "none") == (list(sites), {})


def test_grouping_is_checked_against_the_target():
    model, batches = trained_classifier()
    with pytest.raises(InvalidArgument, match=r"grouping='flow' groups a Python function's sites.*'blocks'"):
        ax.approximate(model, batches, quality="mismatch", bound=0.05, grouping="flow", progress=False)
    import precision_kernels as K

    with pytest.raises(InvalidArgument, match=r"grouping='blocks' groups a model's sites.*'flow'"):
        ax.approximate(K.variance_pair, K.variance_inputs(4), grouping="blocks", progress=False)


def test_a_model_setting_that_saves_nothing_alone_is_left_out_of_the_search():
    model, batches = trained_classifier()
    result = ax.approximate(model, batches, quality="rel_l2", bound=0.5, cost="params",
                            families=["precision", "perforate"], select=["0/precision", "0/perforate"],
                            budget=ax.Budget(trials=0), progress=False)
    records = {(r["site"], r["label"]): r for r in result.sensitivity}
    cast = records[("0/precision", "bfloat16")]  # the same number of parameters
    assert not cast["kept"] and cast["reason"] == "saves nothing alone (1.00x)"
    assert records[("0/perforate", "neurons 50%")]["kept"]


def test_int8_scales_weights_per_output_channel():
    variant = ax.apply(mlp(), {"2/precision": ax.Precision("int8")})
    assert variant[2].weight().qscheme() == torch.per_channel_affine


def tiny_bert():
    transformers = pytest.importorskip("transformers", reason="the minilm extra")
    config = transformers.BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=2,
                                     num_attention_heads=2, intermediate_size=32, max_position_embeddings=16)
    torch.manual_seed(0)
    return transformers.BertModel(config).eval()


def test_feed_forward_neurons_of_a_bert_layer_shrink_its_output_dense():
    bert = tiny_bert()
    sites = {s.id: s for s in ax.sites(bert, families=["perforate"])}
    site = sites["encoder.layer.1.intermediate.dense/perforate"]
    assert site.facts["consumer"] == "encoder.layer.1.output.dense"
    assert site.facts["role"] == "encoder.layer.*.intermediate.dense/perforate"
    variant = ax.apply(bert, {site.id: ax.Perforate(0.25, "neurons")})
    layer = variant.encoder.layer[1]
    assert (layer.intermediate.dense.out_features, layer.output.dense.in_features) == (24, 24)
    ids = torch.randint(0, 50, (2, 6), generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert variant(input_ids=ids).last_hidden_state.shape == (2, 6, 16)
    assert bert.encoder.layer[1].output.dense.in_features == 32


# --- sub-module surrogates -------------------------------------------------------------------------

BATCHES = [torch.randn(16, 5, 8, generator=torch.Generator().manual_seed(i)) for i in range(8)]
MLP = ax.Substitute("mlp", hidden=(16,))


def relative_error(variant, model, x=X):
    return float((run(variant, x) - run(model, x)).norm() / run(model, x).norm())


def test_blocks_are_substitute_sites_once_example_inputs_ran():
    model = Encoder().eval()
    blocks = {s.id: s for s in ax.sites(model, families=["substitute"], example_inputs=BATCHES)
              if s.facts.get("surrogate") == "mlp"}
    assert set(blocks) == {f"encoder.layers.{i}/substitute" for i in range(4)}
    site = blocks["encoder.layers.3/substitute"]
    assert [c.label() for c in site.knob.choices] == ["mlp 8", "mlp 16"]  # a quarter and half of 32
    assert site.facts["rows"] == 8 * 16 * 5  # one row per token
    assert "encoder.layers.3/substitute" not in {s.id for s in ax.sites(model)}
    with pytest.raises(ax.UnknownSite, match=r"exists once example inputs have run"):
        ax.apply(model, {"encoder.layers.3/substitute": MLP})


def test_a_block_surrogate_mimics_the_block_better_than_skipping_it():
    model = Encoder().eval()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    variant = ax.apply(model, {"encoder.layers.3/substitute": MLP}, example_inputs=BATCHES)
    assert type(variant.encoder.layers[3]).__name__ == "BlockSurrogate"
    assert variant.encoder.layers[3].first.out_features == 16
    skipped = ax.apply(model, {"encoder.layers": ax.Perforate(0.25, "truncate")})  # drops block 3
    assert relative_error(variant, model) < 0.5 * relative_error(skipped, model)
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


def test_blocks_that_change_the_shape_get_no_surrogate():
    class Tower(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Sequential(nn.Linear(8, 16), nn.ReLU()),
                                         nn.Sequential(nn.Linear(16, 8), nn.ReLU())])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    sites = ax.sites(Tower(), families=["substitute"], example_inputs=[torch.randn(64, 8)])
    assert {s.id for s in sites} == {"layers.0.0/substitute", "layers.1.0/substitute"}  # low rank only
    from approxify.targets.torch import lift_model
    from approxify.transforms.substitute.torch_blocks import observe_blocks

    traces = observe_blocks(lift_model(Tower()), [torch.randn(4, 8)])
    assert traces["layers.0"].reason == "it does not map one tensor to a tensor of the same shape"


def test_a_chosen_block_surrogate_is_saved_and_rebuilt_without_training(tmp_path, monkeypatch):
    from approxify.transforms.substitute import torch_blocks

    model = Encoder().eval()
    batches = [torch.randn(8, 5, 8, generator=torch.Generator().manual_seed(10 + i)) for i in range(40)]
    result = ax.approximate(model, batches, quality="rel_l2", bound=0.5, cost="params",
                            families=["substitute"], select=["encoder.layers.3/substitute"],
                            budget=ax.Budget(trials=0), progress=False,
                            min_gain=0.0)  # parameters are counted, not timed: any gain counts
    assert result.best.config == {"encoder.layers.3/substitute": ax.Substitute("mlp", hidden=(8,))}
    saved = result.save(tmp_path / "r.json")
    monkeypatch.setattr(torch_blocks, "_train", lambda *a: pytest.fail("a loaded result retrained"))
    loaded = ax.load(saved, target=model).program()
    assert torch.equal(run(loaded, batches[0]), run(result.program(), batches[0]))


def test_block_fits_round_trip_through_json_exactly():
    import json

    from approxify.transforms.substitute.torch_blocks import BlockFit

    variant = ax.apply(Encoder().eval(), {"encoder.layers.1/substitute": MLP}, example_inputs=BATCHES)
    module = variant.encoder.layers[1]
    fit = BlockFit(32, 16, {k: v.clone() for k, v in module.state_dict().items()}, 0.1, 0.2)
    again = BlockFit.from_dict(json.loads(json.dumps(fit.to_dict())))
    assert all(torch.equal(again.weights[k], v) for k, v in fit.weights.items())
    assert torch.equal(run(again.module(), X.view(-1, 8).repeat(1, 4)), run(module, X.view(-1, 8).repeat(1, 4)))


def test_uniform_configs_seed_the_search():
    from approxify.search.model import SingleSite, uniform_seeds

    int8, bf16, prune = ax.Precision("int8"), ax.Precision("bfloat16"), ax.Perforate(0.5, "neurons")
    singles = [SingleSite("a", int8, 0.0, 1.2), SingleSite("b", int8, 0.0, 1.1),
               SingleSite("c", int8, 0.0, 1.3), SingleSite("a", bf16, 0.0, 1.1),
               SingleSite("b", bf16, 0.0, 1.1), SingleSite("c", prune, 0.0, 2.0)]
    assert uniform_seeds(singles) == [{"a": int8, "b": int8, "c": int8}, {"a": bf16, "b": bf16}]
    assert uniform_seeds(singles, limit=1) == [{"a": int8, "b": int8, "c": int8}]
    # many surrogate labels do not crowd out the family with one (fft: sin and cos, two float groups)
    kinds = [ax.Substitute("poly", degree=d) for d in (4, 8, 16)] + [ax.Substitute("table", points=64)]
    f32 = ax.Precision("float32")
    mixed = [SingleSite(s, k, 0.0, 0.8) for k in kinds for s in ("sin", "cos")]
    mixed += [SingleSite("g1", f32, 0.0, 0.9), SingleSite("g2", f32, 0.0, 0.8)]
    assert uniform_seeds(mixed, limit=4) == [{"sin": kinds[0], "cos": kinds[0]}, {"g1": f32, "g2": f32},
                                             {"sin": kinds[1], "cos": kinds[1]}, {"sin": kinds[2], "cos": kinds[2]}]
    model, batches = trained_classifier()
    result = ax.approximate(model, batches, quality="rel_l2", bound=0.5, cost="bytes",
                            families=["precision"], budget=ax.Budget(trials=3), progress=False)
    seeded = [p.config for p in result.points if p.origin == "seed"]
    assert {"0/precision": int8, "2/precision": int8, "4/precision": int8} in seeded


@pytest.mark.parametrize("inner", [ax.Substitute("lowrank", rank=4), ax.Precision("int8")])
def test_a_block_surrogate_with_a_setting_inside_the_block_is_refused_and_measured_as_failing(inner):
    """The block's surrogate replaces the layer the other setting names: whichever order the
    settings come in, the config is refused with the reason (tuning measures it as a failure)."""
    model = Encoder().eval()
    family = inner.family
    config = {"encoder.layers.1/substitute": MLP, f"encoder.layers.1.linear1/{family}": inner}
    for ordered in (config, dict(reversed(list(config.items())))):
        with pytest.raises(ax.InvalidConfig, match="encoder.layers.1.linear1.*block|no longer in the model"):
            ax.apply(model, ordered, example_inputs=BATCHES)
        target = Target(model, example_inputs=BATCHES)
        reference = target.exact_reference(BATCHES[:2], get_quality("mismatch", per_sample=True), timeout=None)
        measured = Measurer(target, reference, [0, 1], timing_indices=[0], repeats=1, cost="time")
        evaluation = measured.evaluate(ordered)
        assert {f.kind for f in evaluation.failures} == {"invalid"} and evaluation.speedup == 0.0
