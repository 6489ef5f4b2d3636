"""The pretrained MiniLM sentence encoder (the ``minilm`` extra): loaded offline, real text in,
normalized embeddings out, and approxify's sites and transforms on a model nobody here trained."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="torch is an optional extra (pip install 'approxify[torch]')")

import approxify as ax  # noqa: E402
from approxify.examples import minilm  # noqa: E402

pytestmark = pytest.mark.skipif(not minilm.available(), reason=minilm.INSTALL_HINT)


@pytest.fixture(scope="module")
def model():
    return minilm.model()


@pytest.fixture(scope="module")
def batches():
    return minilm.make_inputs(4, tokens=16, count=3)


def test_sentences_are_real_text_in_a_fixed_order():
    text = minilm.sentences()
    assert len(text) > 300 and text == minilm.sentences()
    assert all(6 <= len(s.split()) <= 40 and s.endswith(".") for s in text)


def test_batches_are_token_ids_and_masks(batches):
    assert len(batches) == 3
    ids, mask = batches[0]
    assert ids.shape == mask.shape == (4, 16) and ids.dtype == torch.int64
    assert set(mask.unique().tolist()) <= {0, 1}


def test_embeddings_are_unit_vectors_that_tell_sentences_apart(model, batches):
    with torch.inference_mode():
        embeddings = model(*batches[0])
    assert embeddings.shape == (4, 384)
    assert torch.allclose(embeddings.norm(dim=1), torch.ones(4), atol=1e-5)
    similarity = embeddings @ embeddings.T
    assert similarity.fill_diagonal_(0).max() < 0.95  # different sentences, different embeddings


def test_bert_layers_are_sites_grouped_by_role(model):
    sites = {s.id: s for s in ax.sites(model)}
    ffn = sites["bert.encoder.layer.3.intermediate.dense/perforate"]
    assert ffn.facts["consumer"] == "bert.encoder.layer.3.output.dense"
    assert ffn.facts["role"] == "bert.encoder.layer.*.intermediate.dense/perforate"
    assert sites["bert.encoder.layer/perforate"].facts["blocks"] == 6


def test_int8_keeps_the_embeddings_close(model, batches):
    from approxify.measure.quality import get_quality

    config = {s.id: ax.Precision("int8") for s in ax.sites(model, families=["precision"])
              if "output.dense" not in s.id or "attention" in s.id}
    variant = ax.apply(model, config)
    cosine = get_quality("cosine", per_sample=True)
    with torch.inference_mode():
        distances = cosine(model(*batches[0]), variant(*batches[0]))
    assert distances.shape == (4,) and 0 < distances.mean() < 0.02
