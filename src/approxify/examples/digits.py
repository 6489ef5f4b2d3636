"""Digits classifiers for the neural-network examples: an MLP and a small CNN, trained at first
use on scikit-learn's bundled 8x8 digits (1797 images, no download) and cached.

The first 60% of the images (seeded shuffle) train the models; the rest are the examples'
inputs, in batches: models are approximated and certified on images they never saw. Weights are
cached in ``$APPROXIFY_CACHE`` (default ``~/.cache/approxify``) as state dicts, keyed by the
architecture and training settings, so a second use loads them in a moment.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from .._optional import require_torch

TRAIN_SHARE = 0.6
EPOCHS = 60
SEED = 0


def _data():
    """(train images, train labels, other images, other labels) as float32/int64 tensors."""
    torch = require_torch()
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("the digits examples need scikit-learn: pip install 'approxify[torch]'") from None
    digits = load_digits()
    images = torch.tensor(digits.images / 16.0, dtype=torch.float32)
    labels = torch.tensor(digits.target, dtype=torch.int64)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(SEED))
    cut = int(len(labels) * TRAIN_SHARE)
    return images[order[:cut]], labels[order[:cut]], images[order[cut:]], labels[order[cut:]]


def _mlp_module():
    nn = require_torch().nn
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def _cnn_module():
    nn = require_torch().nn
    return nn.Sequential(
        nn.Unflatten(1, (1, 8)),
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
        nn.Flatten(), nn.Linear(64 * 8 * 8, 10),
    )


def _trained(name: str, build) -> Any:
    torch = require_torch()
    torch.manual_seed(SEED)  # the initial weights too: the trained model is the same every time
    model = build()
    key = hashlib.sha1(f"{name}|{model}|{EPOCHS}|{SEED}|{TRAIN_SHARE}|{torch.__version__}".encode()).hexdigest()[:12]
    path = _cache_dir() / f"digits-{name}-{key}.pt"
    if path.exists():
        model.load_state_dict(torch.load(path, weights_only=True))
        return model.eval()
    images, labels, _, _ = _data()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    generator = torch.Generator().manual_seed(SEED)
    model.train()
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(labels), generator=generator).split(64):
            loss = torch.nn.functional.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return model


def _cache_dir() -> Path:
    return Path(os.environ.get("APPROXIFY_CACHE", Path.home() / ".cache" / "approxify"))


def mlp() -> Any:
    """A trained MLP (64 -> 256 -> 256 -> 10) in eval mode."""
    return _trained("mlp", _mlp_module)


def cnn() -> Any:
    """A trained CNN (two 3x3 convolutions with batch norm, then a linear classifier)."""
    return _trained("cnn", _cnn_module)


def make_inputs(batch: int = 16, *, copies: int = 1, noise: float = 0.0, seed: int = 0) -> list[Any]:
    """The images the models never trained on, in batches of ``batch`` (8x8 each).

    ``copies`` > 1 repeats each image with Gaussian pixel ``noise`` (seeded, clipped to [0, 1]),
    its copies side by side, so a batch holds all copies of the images in it. The copies of one
    image are not independent samples: pass ``groups=make_groups(batch, copies=copies)`` to
    ``approximate``, which then keeps an image's copies on one side of the split and certifies
    over images (``ax.approximate(model, make_inputs(64, copies=8, noise=0.05), groups=...)``).
    """
    torch = require_torch()
    _, _, images, _ = _data()
    if copies > 1 or noise:
        generator = torch.Generator().manual_seed(seed)
        noisy = [(images + noise * torch.randn(images.shape, generator=generator)).clamp(0, 1)
                 for _ in range(copies)]
        images = torch.stack(noisy, dim=1).reshape(-1, *images.shape[1:])  # image-major
    return list(images.split(batch))


def make_groups(batch: int = 16, *, copies: int = 1) -> list[list[int]]:
    """The group labels of :func:`make_inputs` (same ``batch`` and ``copies``): per batch, the
    image each sample is a copy of, for ``approximate(..., groups=)``."""
    count = len(_data()[2])
    labels = [image for image in range(count) for _ in range(copies)]
    return [labels[start:start + batch] for start in range(0, len(labels), batch)]


def accuracy(model: Any) -> float:
    """Top-1 accuracy on the images the model never trained on."""
    torch = require_torch()
    _, _, images, labels = _data()
    with torch.inference_mode():
        return float((model(images).argmax(dim=1) == labels).float().mean())
