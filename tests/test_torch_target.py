"""Models as targets: layers are sites by module path; variants are new modules built by surgery
(quantize, prune, factor), and the user's model is never touched."""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install 'approxify[torch]')")

import approxify as ax  # noqa: E402
from approxify.errors import InvalidConfig, UnknownSite, UnsupportedTarget  # noqa: E402

nn = torch.nn


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4))


def cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 6 * 6, 3))


X = torch.randn(64, 16)


def run(model, x=X):
    with torch.inference_mode():
        return model(x)


def test_layers_are_sites_of_every_family_by_path():
    sites = {s.id: s for s in ax.sites(mlp())}
    assert set(sites) == {f"{p}/{f}" for p in ("0", "2", "4") for f in ("precision", "perforate", "substitute")}
    assert [c.label() for c in sites["0/precision"].knob.choices] == ["bfloat16", "float16", "int8"]
    # neurons only where the consumer is plain to see; the last layer has none
    assert "neurons 50%" in [c.label() for c in sites["2/perforate"].knob.choices]
    assert all(c.policy == "magnitude" for c in sites["4/perforate"].knob.choices)
    assert sites["2/perforate"].facts["consumer"] == "4"
    assert all(c.rank * (32 + 32) < 32 * 32 for c in sites["2/substitute"].knob.choices)
    assert sites["0/precision"].where == "0" and sites["0/precision"].target == "torch"


def test_precision_sites_of_a_model_need_no_example_inputs():
    assert {s.id for s in ax.sites(mlp(), families=["precision"])} == {"0/precision", "2/precision", "4/precision"}


def test_the_exact_config_is_a_copy_with_identical_outputs_and_the_user_model_is_untouched():
    model = mlp()
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    variant = ax.apply(model, {})
    assert variant is not model and not variant.training and model.training
    assert not any(p.requires_grad for p in variant.parameters())
    model.eval()
    assert torch.equal(run(variant), run(model))
    ax.apply(model, {"0": ax.Precision("int8"), "2": ax.Perforate(0.5, "neurons"),
                     "4": ax.Substitute("lowrank", rank=2)})
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]


def test_bare_paths_name_the_site_of_the_settings_family():
    variant = ax.apply(mlp(), {"0": ax.Precision("int8"), "2": ax.Perforate(rate=0.5, policy="neurons"),
                               "4": ax.Substitute("lowrank", rank=2)})
    assert variant[0]._get_name() == "DynamicQuantizedLinear"
    assert variant[2].out_features == 16 and isinstance(variant[4], nn.Sequential)
    assert run(variant).shape == (64, 4)


def test_half_precision_layers_cast_in_and_out():
    model = mlp().eval()
    for dtype in ("bfloat16", "float16"):
        variant = ax.apply(model, {"2/precision": ax.Precision(dtype)})
        assert variant[2].layer.weight.dtype == getattr(torch, dtype)
        out = run(variant)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, run(model), rtol=0.05, atol=0.05)


def test_int8_quantizes_linear_layers_and_refuses_convolutions():
    model = mlp().eval()
    variant = ax.apply(model, {"0/precision": ax.Precision("int8")})
    torch.testing.assert_close(run(variant), run(model), rtol=0.1, atol=0.05)
    with pytest.raises(InvalidConfig, match=r"int8 has no kernel for Conv2d"):
        ax.apply(cnn(), {"0/precision": ax.Precision("int8")})


def test_pruning_neurons_drops_the_weakest_and_shrinks_the_consumer():
    model = mlp().eval()
    with torch.no_grad():  # 16 dead neurons in layer 2: zero rows and bias, relu(0) = 0
        model[2].weight[::2] = 0.0
        model[2].bias[::2] = 0.0
    variant = ax.apply(model, {"2/perforate": ax.Perforate(0.5, "neurons")})
    assert variant[2].out_features == 16 and variant[4].in_features == 16
    assert torch.equal(variant[2].weight, model[2].weight[1::2])
    torch.testing.assert_close(run(variant), run(model), rtol=1e-6, atol=1e-6)


def test_pruning_channels_keeps_batch_norm_and_the_next_convolution_consistent():
    model = cnn().eval()
    variant = ax.apply(model, {"0/perforate": ax.Perforate(0.5, "neurons")})
    assert variant[0].out_channels == 4 and variant[1].num_features == 4 and variant[3].in_channels == 4
    assert run(variant, torch.randn(2, 1, 6, 6)).shape == (2, 3)


def _dead_channels(model, conv):
    """Zero every other output channel of ``model[conv]`` (weights and bias): relu(0) = 0, so
    those channels contribute nothing downstream, and pruning them changes no output."""
    with torch.no_grad():
        model[conv].weight[::2] = 0.0
        model[conv].bias[::2] = 0.0
    return model


def test_pruning_channels_flattened_into_a_linear_drops_each_channels_pixels():
    model = _dead_channels(cnn().eval(), 3)
    site = {s.id: s for s in ax.sites(model, families=["perforate"])}["3/perforate"]
    assert site.facts["consumer"] == "6" and "neurons 50%" in [c.label() for c in site.knob.choices]
    variant = ax.apply(model, {"3/perforate": ax.Perforate(0.5, "neurons")})
    assert variant[3].out_channels == 4 and variant[6].in_features == 4 * 6 * 6
    # channel c's 36 pixels are columns 36c..36c+35 of the flattened input: channels 1, 3, 5, 7
    kept = torch.cat([torch.arange(36 * c, 36 * (c + 1)) for c in (1, 3, 5, 7)])
    assert torch.equal(variant[6].weight, model[6].weight[:, kept])
    x = torch.randn(5, 1, 6, 6)
    torch.testing.assert_close(run(variant, x), run(model, x), rtol=1e-5, atol=1e-5)


def test_channels_pass_pooling_and_a_traced_flatten_but_not_a_misfit_linear():
    pooled = _dead_channels(nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                          nn.Flatten(), nn.Linear(8 * 3 * 3, 3)).eval(), 0)
    variant = ax.apply(pooled, {"0/perforate": ax.Perforate(0.5, "neurons")})
    x = torch.randn(5, 1, 6, 6)
    assert variant[4].in_features == 4 * 9
    torch.testing.assert_close(run(variant, x), run(pooled, x), rtol=1e-5, atol=1e-5)

    class Traced(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = nn.Conv2d(1, 8, 3, padding=1), nn.Linear(8 * 36, 3)

        def forward(self, x):
            return self.fc(torch.flatten(torch.relu(self.conv(x)), 1))

    traced = Traced().eval()
    assert {s.id: s for s in ax.sites(traced, families=["perforate"])}["conv/perforate"].facts["consumer"] == "fc"
    assert ax.apply(traced, {"conv": ax.Perforate(0.75, "neurons")}).fc.in_features == 2 * 36
    # a Linear after a flatten that is not the channels' pixels (an odd width) is not coupled
    misfit = nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), nn.Linear(8 * 4 * 4, 3), nn.Linear(3, 3))
    misfit[2] = nn.Linear(7, 3)
    assert {s.id: s for s in ax.sites(misfit, families=["perforate"])}["0/perforate"].facts["consumer"] is None


def test_magnitude_pruning_below_the_sparse_share_keeps_zeros_in_a_dense_weight():
    variant = ax.apply(mlp(), {"2/perforate": ax.Perforate(0.5, "magnitude")})
    zeros = (variant[2].weight == 0).float().mean().item()
    assert zeros == pytest.approx(0.5, abs=0.01)
    assert variant[2].weight.shape == (32, 32)  # neither smaller nor faster: the site says so
    assert ax.sites(cnn(), families=["perforate"])[0].facts["magnitude_storage"].startswith("dense")


def test_magnitude_pruning_stores_the_kept_weights_sparse():
    from approxify.measure.model_cost import weight_bytes

    model = mlp().eval()
    site = {s.id: s for s in ax.sites(model, families=["perforate"])}["2/perforate"]
    assert site.facts["magnitude_storage"] == "CSR"
    assert [c.rate for c in site.knob.choices if c.policy == "magnitude"] == [0.75, 0.9, 0.95]
    variant = ax.apply(model, {"2/perforate": ax.Perforate(0.75, "magnitude")})
    layer = variant[2]
    assert type(layer).__name__ == "SparseLinear" and layer.values.numel() == 256  # a quarter of 32x32
    assert layer.col_indices.dtype == torch.int32
    dense = layer.weight_csr().to_dense()
    threshold = model[2].weight.abs().flatten().kthvalue(768).values
    assert torch.equal(dense, torch.where(model[2].weight.abs() > threshold, model[2].weight, 0.0))
    zeroed = copy.deepcopy(model)  # the same layer dense, with zeros: the same outputs
    with torch.no_grad():
        zeroed[2].weight.copy_(dense)
    assert torch.allclose(run(variant), run(zeroed), atol=1e-5)
    # 256 values + 256 column indices (4 bytes each) + 33 row pointers, against 32x32 floats
    assert weight_bytes(model) - weight_bytes(variant) == 4 * 32 * 32 - (4 * 256 + 4 * 256 + 4 * 33)
    assert {"2.values", "2.col_indices", "2.crow_indices"} <= set(variant.state_dict())


def test_a_sparse_layer_cannot_also_be_lowered():
    with pytest.raises(InvalidConfig, match=r"stored sparse \(CSR\).*float32 only"):
        ax.apply(mlp(), {"2/perforate": ax.Perforate(0.9, "magnitude"), "2/precision": ax.Precision("int8")})


def test_low_rank_is_exact_for_a_weight_of_that_rank():
    model = mlp().eval()
    with torch.no_grad():
        model[2].weight.copy_(torch.randn(32, 3) @ torch.randn(3, 32))
    variant = ax.apply(model, {"2/substitute": ax.Substitute("lowrank", rank=3)})
    assert variant[2][0].out_features == 3 and variant[2][1].in_features == 3
    torch.testing.assert_close(run(variant), run(model), rtol=1e-4, atol=1e-4)


def test_layer_configs_that_cannot_apply_say_why():
    model = mlp()
    with pytest.raises(InvalidConfig, match=r"4 has no consumer"):
        ax.apply(model, {"4/perforate": ax.Perforate(0.5, "neurons")})
    # a loop policy on a layer: neurons where a consumer is known, else magnitude
    assert ax.apply(model, {"2": ax.Perforate(0.5)})[2].out_features == 16
    assert (ax.apply(model, {"4": ax.Perforate(0.5)})[4].weight == 0).float().mean() == pytest.approx(0.5, abs=0.02)
    with pytest.raises(InvalidConfig, match=r"rank 40 must lie in 1\.\.31"):
        ax.apply(model, {"2/substitute": ax.Substitute("lowrank", rank=40)})
    with pytest.raises(UnknownSite, match=r"unknown site 'fc9'"):
        ax.apply(model, {"fc9": ax.Precision("int8")})


def test_loops_refuse_layer_policies():
    import tuning_kernels as tk

    with pytest.raises(InvalidConfig, match=r"prunes layers of a model"):
        ax.apply(tk.smooth_mean, {"tuning_kernels.smooth_mean/for#0": ax.Perforate(0.5, "neurons")})


def trained_classifier() -> tuple[nn.Module, list]:
    """A small classifier of Gaussian clusters, trained for a second; its batches of inputs."""
    torch.manual_seed(0)
    generator = torch.Generator().manual_seed(1)
    centres = torch.randn(5, 16, generator=generator) * 3

    def batch(n):
        labels = torch.randint(0, 5, (n,), generator=generator)
        return centres[labels] + torch.randn(n, 16, generator=generator), labels

    model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 5))
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(60):
        x, y = batch(64)
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model, [batch(32)[0] for _ in range(30)]


def labeled_classifier() -> tuple[nn.Module, list]:
    """The classifier above with (inputs, labels) batches: the cluster each input came from."""
    model, batches = trained_classifier()
    generator = torch.Generator().manual_seed(1)
    centres = torch.randn(5, 16, generator=generator) * 3  # the same centres, regenerated
    return model, [(x, torch.cdist(x, centres).argmin(dim=1)) for x in batches]


def test_evaluate_gives_one_loss_per_sample():
    model, batches = trained_classifier()
    exact = ax.evaluate(model, {}, batches[:4], quality="mismatch", repeats=1)
    assert exact.n == 4 * 32 and exact.mean_loss == 0.0 and exact.failure_count == 0
    pruned = ax.evaluate(model, {"0/perforate": ax.Perforate(0.75, "neurons")}, batches[:4],
                         quality="rel_l2", repeats=1)
    assert pruned.n == 128 and 0.0 < pruned.mean_loss < 1.0


def test_a_failing_batch_counts_every_sample_as_failed():
    from approxify.measure.quality import get_quality
    from approxify.measure.runner import Reference

    model, batches = trained_classifier()
    exact = ax.apply(model, {})
    reference = Reference(exact, batches[:3], get_quality("mismatch", per_sample=True))
    reference.prepare([0, 1, 2])

    def broken(x):
        raise RuntimeError("boom")

    losses, failures = reference.losses(broken, [0, 1, 2])
    assert losses.shape == (96,) and (losses == 1.0).all()
    assert [f.units for f in failures] == [32, 32, 32]


def test_per_sample_metrics_compare_rows():
    from approxify.measure.quality import rows_cosine, rows_rel_l2, top1_disagreement

    exact = torch.tensor([[1.0, 0.0], [0.0, 2.0], [3.0, 4.0]])
    approx = torch.tensor([[0.9, 0.1], [1.0, 0.5], [3.0, 4.0]])
    assert top1_disagreement(exact, approx).tolist() == [0.0, 1.0, 0.0]
    rel = rows_rel_l2(exact, approx)
    assert rel[2] == 0.0 and rel[0] == pytest.approx((0.01 + 0.01) ** 0.5)
    assert rows_cosine(exact, exact).tolist() == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    with pytest.raises(ax.InvalidArgument, match="not a metric for models"):
        ax.evaluate(mlp(), {}, [X], quality="mean_rel")


def test_approximate_tunes_a_model_per_sample_and_never_touches_it(tmp_path):
    model, batches = trained_classifier()
    model.train()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    def parameters(fn, inputs):  # a deterministic cost: the model's size
        return float(sum(p.numel() for p in fn.parameters()))

    result = ax.approximate(model, batches, quality="mismatch", bound=0.05, progress=False,
                            families=["perforate", "substitute"], cost=parameters,
                            budget=ax.Budget(trials=10))
    assert model.training and all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    best = result.best
    assert best.certified and best.certificate.n == 15 * 32  # held-out samples, not batches
    assert best.speedup > 1.5  # at least a third of the parameters gone
    assert "n=480 held-out samples" in best.certificate.statement()
    small = result.program()
    assert isinstance(small, nn.Module) and not small.training
    loaded = ax.load(result.save(tmp_path / "r.json"), target=model).program()
    assert torch.equal(run(loaded, batches[0]), run(small, batches[0]))


def test_too_few_held_out_samples_are_refused_in_samples():
    model, batches = trained_classifier()
    with pytest.raises(ax.NotEnoughInputs, match=r"held-out samples"):
        ax.approximate(model, batches[:2], quality="rel_l2", bound=0.01, progress=False)


def test_a_models_variant_is_a_module_not_source():
    with pytest.raises(UnsupportedTarget, match=r"result.export_model\('net.pt2'"):
        ax.source(mlp(), {"0": ax.Precision("int8")})


def test_model_costs_count_what_is_stored():
    from approxify.measure.model_cost import parameter_count, weight_bytes

    model = mlp()
    dense = parameter_count(model)
    assert dense == sum(p.numel() for p in model.parameters())
    assert weight_bytes(model) == 4 * dense
    quantized = ax.apply(model, {"2/precision": ax.Precision("int8")})
    assert weight_bytes(quantized) < weight_bytes(model) - 3 * 32 * 32 + 100  # int8 weights: a quarter
    pruned = ax.evaluate(model, {"2/perforate": ax.Perforate(0.5, "neurons")}, [X], cost="params")
    assert pruned.speedup == pytest.approx(dense / parameter_count(ax.apply(model, {"2/perforate": ax.Perforate(0.5, "neurons")})))
    with pytest.raises(ax.InvalidArgumentType, match="'time', 'params', 'bytes', 'flops'"):
        ax.evaluate(model, {}, [X], cost="energy")


def test_flops_count_the_work_each_variant_does():
    from approxify.measure.model_cost import flop_count

    model = mlp().eval()
    rows = len(X)
    dense = 2 * rows * (16 * 32 + 32 * 32 + 32 * 4)
    assert flop_count(model, [X, X]) == 2 * dense
    int8 = ax.apply(model, {"2/precision": ax.Precision("int8")})
    assert flop_count(int8, [X]) == dense  # torch's counter misses quantized ops: counted by shape
    sparse = ax.apply(model, {"2/perforate": ax.Perforate(0.75, "magnitude")})
    assert flop_count(sparse, [X]) == dense - 2 * rows * 768  # only the kept quarter multiplies
    factored = ax.apply(model, {"2/substitute": ax.Substitute("lowrank", rank=4)})
    assert flop_count(factored, [X]) == dense - 2 * rows * (32 * 32 - 4 * 64)
    assert ax.evaluate(model, {"2/perforate": ax.Perforate(0.5, "neurons")}, [X], cost="flops").speedup == (
        pytest.approx(dense / (2 * rows * (16 * 32 + 32 * 16 + 16 * 4))))


class Encoder(nn.Module):
    """A small transformer encoder: its layers, in an nn.ModuleList, are residual blocks."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Linear(8, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=4, enable_nested_tensor=False)
        self.head = nn.Linear(32, 3)

    def forward(self, x):
        return self.head(self.encoder(self.embed(x)).mean(dim=1))


def test_blocks_of_a_module_list_are_dropped_like_loop_iterations():
    model = Encoder().eval()
    sites = {s.id: s for s in ax.sites(model, families=["perforate"])}
    blocks = sites["encoder.layers/perforate"]
    assert blocks.facts["blocks"] == 4 and blocks.facts["block"] == "TransformerEncoderLayer"
    x = torch.randn(2, 5, 8)
    for policy, kept in (("modulo", [0, 3]), ("truncate", [0, 1])):
        variant = ax.apply(model, {"encoder.layers": ax.Perforate(0.5, policy)})
        assert len(variant.encoder.layers) == 2
        for mine, original in zip(variant.encoder.layers, (model.encoder.layers[i] for i in kept)):
            assert torch.equal(mine.linear1.weight, original.linear1.weight)
        assert run(variant, x).shape == (2, 3)
    assert len(model.encoder.layers) == 4
    with pytest.raises(InvalidConfig, match=r"policy 'modulo', 'truncate' or 'random'"):
        ax.apply(model, {"encoder.layers": ax.Perforate(0.5, "neurons")})


def test_kept_blocks_keep_their_names_so_settings_inside_reach_the_same_block():
    model = Encoder().eval()
    config = {"encoder.layers": ax.Perforate(0.5), "encoder.layers.3.linear1": ax.Precision("int8"),
              "encoder.layers.1.linear1": ax.Precision("int8")}  # modulo 50% keeps blocks 0 and 3
    variant = ax.apply(model, config)
    layers = variant.encoder.layers
    assert list(dict(layers.named_children())) == ["0", "3"] and len(layers) == 2
    assert layers[1] is variant.encoder.layers.get_submodule("3") and layers[-1] is layers[1]
    assert isinstance(layers[1].linear1, torch.ao.nn.quantized.dynamic.Linear)  # block 3, as named
    assert type(layers[0].linear1) is nn.Linear  # block 1's setting went with block 1
    assert {k.split(".")[2] for k in variant.state_dict() if k.startswith("encoder.layers.")} == {"0", "3"}
    # the same as quantizing block 3's layer, then keeping blocks 0 and 3 by hand
    by_hand = ax.apply(model, {"encoder.layers.3.linear1": ax.Precision("int8")})
    by_hand.encoder.layers = nn.ModuleList([by_hand.encoder.layers[0], by_hand.encoder.layers[3]])
    x = torch.randn(2, 5, 8)
    assert torch.equal(run(variant, x), run(by_hand, x))
    assert len(model.encoder.layers) == 4 and type(model.encoder.layers[3].linear1) is nn.Linear
    replacement = copy.deepcopy(layers[0])
    layers[1] = replacement  # assigning by position replaces the block under its name
    assert list(dict(layers.named_children())) == ["0", "3"] and layers.get_submodule("3") is replacement


def test_an_attentions_projections_are_sites_and_a_variant_runs_the_changed_one():
    model = Encoder().eval()
    ids = {s.id for s in ax.sites(model)}
    for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
        assert f"encoder.layers.0.self_attn.{name}/precision" in ids
    assert "encoder.layers.0.linear1/precision" in ids
    x = torch.randn(2, 5, 8)
    variant = ax.apply(model, {"encoder.layers.0.self_attn.out_proj": ax.Precision("int8")})
    assert type(variant.encoder.layers[0].self_attn).__name__ == "ProjectedAttention"
    assert 0 < (run(variant, x) - run(model, x)).abs().max() < 0.1
    assert type(model.encoder.layers[0].self_attn) is nn.MultiheadAttention


def test_repair_fine_tunes_variants_towards_the_exact_model_and_saves_their_weights(tmp_path):
    import tuning_kernels as tk

    model, batches = trained_classifier()

    def tune(repair):
        return ax.approximate(model, batches, quality="rel_l2", bound=0.5, cost="params",
                              families=["perforate"], select=["0/perforate"],
                              budget=ax.Budget(trials=0), repair=repair, progress=False)

    def pruned_loss(result):
        return {p.describe(): p for p in result.points}["0/perforate: neurons 75%"].tuning["mean_loss"]

    plain, repaired = tune(0), tune(60)
    assert pruned_loss(repaired) < 0.8 * pruned_loss(plain)
    assert repaired.best.certified and repaired.weights  # the chosen variant's repaired weights
    saved = repaired.save(tmp_path / "r.json")
    assert (tmp_path / "r.weights.pt").exists()
    loaded = ax.load(saved, target=model)
    assert torch.equal(run(loaded.program(), batches[0]), run(repaired.program(), batches[0]))
    with pytest.raises(ax.InvalidArgument, match="a Python function has no weights"):
        ax.approximate(tk.smooth_mean, tk.make_inputs(), repair=10, progress=False)


def test_repair_keeps_pruned_weights_pruned(tmp_path):
    from approxify.targets.torch_repair import distill

    model, batches = trained_classifier()
    with torch.no_grad():  # not inference mode: the targets take part in the loss's graph
        pairs = [((x,), model(x)) for x in batches[:4]]
    config = {"0/perforate": ax.Perforate(0.9, "magnitude"), "2/perforate": ax.Perforate(0.5, "magnitude")}
    variant = ax.apply(model, config)
    sparse_values, dense_zeros = variant[0].values.clone(), variant[2].weight == 0
    distill(variant, pairs, steps=20)
    assert variant[0].values.shape == sparse_values.shape and not torch.equal(variant[0].values, sparse_values)
    assert torch.equal(variant[2].weight == 0, dense_zeros)  # trained, and the zeros still zeros
    result = ax.approximate(model, batches, quality="rel_l2", bound=0.5, cost="params",
                            families=["perforate"], select=["0/perforate"],
                            budget=ax.Budget(trials=0), repair=20, progress=False)
    loaded = ax.load(result.save(tmp_path / "r.json"), target=model)
    assert torch.equal(run(loaded.program(), batches[0]), run(result.program(), batches[0]))


def test_a_data_loader_of_inputs_and_labels_gives_the_input_batches():
    model, batches = trained_classifier()
    data = torch.utils.data.TensorDataset(torch.cat(batches[:4]), torch.zeros(128, dtype=torch.int64))
    loader = torch.utils.data.DataLoader(data, batch_size=32)
    evaluation = ax.evaluate(model, {}, loader, quality="mismatch", repeats=1)
    assert evaluation.n == 128 and evaluation.mean_loss == 0.0


class Custom(nn.Module):
    """The issue's shape: layers as attributes, the chain written in forward."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.fc1 = nn.Linear(16, 32)
        self.fc2 = nn.Linear(32, 32)
        self.fc3 = nn.Linear(32, 4)

    def forward(self, x):
        x = torch.relu(self.fc1(x))
        x = nn.functional.gelu(self.fc2(x))
        return self.fc3(x) + 0.0 * x.sum(dim=1, keepdim=True)  # fc2's output is used twice


def test_a_custom_forward_is_traced_to_find_the_consumer():
    model = Custom().eval()
    sites = {s.id: s for s in ax.sites(model, families=["perforate"])}
    assert sites["fc1/perforate"].facts["consumer"] == "fc2"
    assert sites["fc2/perforate"].facts["consumer"] is None  # used twice: no plain chain
    variant = ax.apply(model, {"fc1": ax.Perforate(rate=0.5), "fc2": ax.Precision("int8"),
                               "fc3": ax.Substitute("lowrank", rank=2)})  # the example
    assert variant.fc1.out_features == 16 and run(variant).shape == (64, 4)


def test_low_rank_error_is_the_svds_theoretical_minimum():
    """Eckart-Young: the best rank-r approximation leaves the discarded singular values."""
    model = mlp()
    weight = model[2].weight.detach().double()
    singular = torch.linalg.svdvals(weight)
    for rank in (4, 8, 16):
        factored = ax.apply(model, {"2": ax.Substitute("lowrank", rank=rank)})[2]
        product = (factored[1].weight.double() @ factored[0].weight.double())
        error = torch.linalg.matrix_norm(weight - product).item()
        assert error == pytest.approx(singular[rank:].square().sum().sqrt().item(), rel=1e-4)
        assert torch.equal(factored[1].bias, model[2].bias)


def test_accuracy_drop_counts_samples_the_variant_gets_newly_wrong():
    from approxify.measure.quality import newly_wrong

    exact = torch.tensor([[2.0, 0.0], [2.0, 0.0], [0.0, 2.0], [0.0, 2.0]])
    approx = torch.tensor([[0.0, 2.0], [2.0, 0.0], [2.0, 0.0], [0.0, 2.0]])
    labels = torch.tensor([0, 0, 0, 1])
    # right -> wrong counts; wrong -> right (the third) is not subtracted: an upper bound
    assert newly_wrong(exact, approx, labels).tolist() == [1.0, 0.0, 0.0, 0.0]


def test_accuracy_drop_takes_labeled_batches_and_certifies_per_sample():
    model, batches = labeled_classifier()
    evaluation = ax.evaluate(model, {"2/perforate": ax.Perforate(0.75, "neurons")}, batches,
                             quality="accuracy_drop", cost="params")
    assert evaluation.losses.shape == (30 * 32,) and set(evaluation.losses.tolist()) <= {0.0, 1.0}
    with torch.inference_mode():
        exact_right = [(model(x).argmax(1) == y) for x, y in batches]
    assert float(torch.cat(exact_right).float().mean()) > 0.9  # the labels are the true classes
    result = ax.approximate(model, batches, quality="accuracy_drop", bound=0.05, cost="params",
                            families=["perforate"], budget=ax.Budget(trials=4), progress=False)
    assert result.best.certified and result.best.certificate.n == 15 * 32
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
        torch.cat([x for x, _ in batches]), torch.cat([y for _, y in batches])), batch_size=32)
    assert ax.evaluate(model, {}, loader, quality="accuracy_drop").losses.shape == (30 * 32,)
    with pytest.raises(ax.InvalidArgument, match=r"inputs\[0\] is a Tensor; .*\(batch, labels\) pair"):
        ax.evaluate(model, {}, [x for x, _ in batches], quality="accuracy_drop")
