"""Sub-module surrogates: a block of a model replaced by a small MLP trained to mimic it.

The Parrot transformation on a network: each block of a repeated ``nn.ModuleList`` (a transformer
layer, a residual block: a module with layers inside) that maps one tensor to a tensor of the
same shape is a ``substitute``
site once example inputs have run. Running the exact model on them records every such block's
inputs and outputs, row by row (a token, a sample); ``Substitute("mlp", hidden=(h,))`` then
trains ``x + W2 tanh(W1 x + b1) + b2`` on those rows (Adam, mean squared error, early stopping on
a held-back fifth, seeded) and puts it in the block's place. The second layer starts at zero, so
training starts from skipping the block and can only move towards mimicking it. A row-wise MLP
cannot mix tokens as attention does: the tuner measures what that costs.

Fitted weights are cached per site and setting (``program.fits``, shared by every variant) and
saved with the result as JSON, so a loaded result rebuilds the same module without the traces.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import Any

from ...config import Substitute
from ...errors import InvalidConfig
from ...measure.inputs import run_hooked
from ...targets.torch import TorchProgram, get_module, require_torch, set_module
from .._fits import fit_kind
from ..torch_sites import repeated_blocks
from .fitting import fit_key

HIDDEN_SHARES = (0.25, 0.5)  # a surrogate's hidden units, as a share of the block's width
MAX_ROWS = 20_000  # recorded rows kept per block (seeded choice): enough for a small MLP
MIN_ROWS = 256
FIT_SECONDS = 10.0
EPOCHS = 200
PATIENCE = 10
BATCH = 256
LEARNING_RATE = 1e-3


@dataclass(frozen=True)
class BlockTrace:
    """A block's recorded rows, or why it cannot be substituted."""

    inputs: Any = None  # (rows, width) float32 tensor
    outputs: Any = None
    reason: str | None = None

    @property
    def width(self) -> int:
        return int(self.inputs.shape[1])


def observe_blocks(program: TorchProgram, examples: list[Any]) -> dict[str, BlockTrace]:
    """Run a private copy of the exact model on ``examples``, recording each block's rows."""
    torch = require_torch()
    model = program.edited().eval()
    # blocks with layers inside: a bare Linear in a ModuleList is a layer, factored by low rank
    blocks = [f"{path}.{i}" for path, module in model.named_modules() if repeated_blocks(module)
              for i in range(len(module)) if any(True for _ in module[i].children())]
    seen: dict[str, list[tuple[Any, Any]]] = {path: [] for path in blocks}
    reasons: dict[str, str] = {}

    def recorder(path: str):
        def record(module, args, kwargs, output):
            x = args[0] if args else None
            extra = [v for v in (*args[1:], *kwargs.values()) if torch.is_tensor(v)]
            if not torch.is_tensor(x) or not torch.is_tensor(output) or output.shape != x.shape:
                reasons[path] = "it does not map one tensor to a tensor of the same shape"
            elif extra:
                reasons[path] = "it is called with masks or other tensors besides its input"
            else:
                seen[path].append((x.reshape(-1, x.shape[-1]).float(), output.reshape(-1, x.shape[-1]).float()))
        return record

    hooks = [get_module(model, p).register_forward_hook(recorder(p), with_kwargs=True) for p in blocks]
    run_hooked(model, examples, hooks)
    traces = {}
    for path in blocks:
        if path in reasons or not seen[path]:
            traces[path] = BlockTrace(reason=reasons.get(path, "the examples never ran it"))
            continue
        inputs = torch.cat([x for x, _ in seen[path]])
        outputs = torch.cat([y for _, y in seen[path]])
        if len(inputs) > MAX_ROWS:
            keep = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(0))[:MAX_ROWS]
            inputs, outputs = inputs[keep], outputs[keep]
        traces[path] = BlockTrace(inputs.clone(), outputs.clone())
    return traces


def block_sites(program: TorchProgram) -> dict[str, tuple[tuple[Substitute, ...], int | None]]:
    """Block path -> (settings offered, rows recorded): blocks the examples recorded, and those
    with saved fits (a loaded result, which has no traces)."""
    found: dict[str, tuple[tuple[Substitute, ...], int | None]] = {}
    for path, trace in (program.observed("substitute") or {}).items():
        if trace.reason is None and len(trace.inputs) >= MIN_ROWS:
            widths = sorted({max(2, int(trace.width * share)) for share in HIDDEN_SHARES})
            found[path] = (tuple(Substitute("mlp", hidden=(w,)) for w in widths), len(trace.inputs))
    for key, fitted in program.fits.items():
        path = key.partition("|")[0].rpartition("/")[0]
        setting = Substitute("mlp", hidden=(fitted.hidden,)) if isinstance(fitted, BlockFit) else None
        if setting is not None and setting not in found.get(path, ((), None))[0]:
            choices, rows = found.get(path, ((), None))
            found[path] = ((*choices, setting), rows)
    return found


@fit_kind("block-mlp")
@dataclass(frozen=True)
class BlockFit:
    """A trained block surrogate's weights, as plain lists (JSON) and back."""

    width: int
    hidden: int
    weights: dict[str, Any]  # first.weight, first.bias, second.weight, second.bias: tensors
    fit_seconds: float
    validation_rmse: float

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "block-mlp", "width": self.width, "hidden": self.hidden,
                "weights": {k: v.tolist() for k, v in self.weights.items()},
                "fit_seconds": self.fit_seconds, "validation_rmse": self.validation_rmse}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> BlockFit:
        torch = require_torch()
        return BlockFit(int(data["width"]), int(data["hidden"]),
                        {k: torch.tensor(v, dtype=torch.float32) for k, v in data["weights"].items()},
                        float(data["fit_seconds"]), float(data["validation_rmse"]))

    def module(self) -> Any:
        surrogate = _surrogate_class()(self.width, self.hidden)
        surrogate.load_state_dict(self.weights)
        return surrogate


def replace_block(program: TorchProgram, model: Any, site: str, path: str, setting: Substitute) -> None:
    set_module(model, path, block_fit(program, site, setting).module())


def block_fit(program: TorchProgram, site: str, setting: Substitute) -> BlockFit:
    """The fitted surrogate of ``site`` for ``setting``: from the cache, or trained now."""
    key = fit_key(site, setting)
    if key in program.fits:
        return program.fits[key]
    trace = (program.observed("substitute") or {}).get(site.rpartition("/")[0])
    if trace is None:
        raise InvalidConfig(
            f"config[{site!r}]: a block's surrogate is trained on what the block computes; pass "
            "example inputs (ax.apply(model, config, example_inputs=batches[:8])).")
    if trace.reason is not None:
        raise InvalidConfig(f"config[{site!r}]: this block cannot be substituted: {trace.reason}.")
    if setting.hidden is None or len(setting.hidden) != 1:
        raise InvalidConfig(f"config[{site!r}]: a block's surrogate has one hidden layer, "
                            f"Substitute('mlp', hidden=({trace.width // 4},)); got {setting.label()!r}.")
    if len(trace.inputs) < MIN_ROWS:
        raise InvalidConfig(f"config[{site!r}]: {len(trace.inputs)} recorded rows are too few to "
                            f"train a surrogate; at least {MIN_ROWS} are needed: give more example inputs.")
    program.fits[key] = fitted = _train(trace, setting.hidden[0])
    return fitted


def _train(trace: BlockTrace, hidden: int) -> BlockFit:
    torch = require_torch()
    generator = torch.Generator().manual_seed(0)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        surrogate = _surrogate_class()(trace.width, hidden)
    order = torch.randperm(len(trace.inputs), generator=generator)
    held = max(1, len(order) // 5)
    train, check = order[held:], order[:held]
    optimizer = torch.optim.Adam(surrogate.parameters(), lr=LEARNING_RATE)
    # the starting weights (the block skipped) stand until an epoch does better, so a training
    # that diverges to NaN still leaves a usable surrogate
    best = {k: v.detach().clone() for k, v in surrogate.state_dict().items()}
    best_error, waited = float("inf"), 0
    started = time.perf_counter()
    with torch.enable_grad():
        for _ in range(EPOCHS):
            for batch in train[torch.randperm(len(train), generator=generator)].split(BATCH):
                loss = torch.nn.functional.mse_loss(surrogate(trace.inputs[batch]), trace.outputs[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                error = float(torch.nn.functional.mse_loss(surrogate(trace.inputs[check]), trace.outputs[check]))
            if error < best_error:
                best, best_error, waited = {k: v.detach().clone() for k, v in surrogate.state_dict().items()}, error, 0
            else:
                waited += 1
            if waited >= PATIENCE or time.perf_counter() - started > FIT_SECONDS:
                break
    return BlockFit(trace.width, hidden, best, time.perf_counter() - started, best_error ** 0.5)


@functools.cache
def _surrogate_class() -> type:
    torch = require_torch()

    class BlockSurrogate(torch.nn.Module):
        """``x + second(tanh(first(x)))``, row by row: stands in for a block."""

        def __init__(self, width: int, hidden: int):
            super().__init__()
            self.first = torch.nn.Linear(width, hidden)
            self.second = torch.nn.Linear(hidden, width)
            torch.nn.init.zeros_(self.second.weight)  # start as the identity: the block skipped
            torch.nn.init.zeros_(self.second.bias)

        def forward(self, x, *args, **kwargs):
            return x + self.second(torch.tanh(self.first(x)))

    return BlockSurrogate
