"""Write a model variant to a file that loads with torch alone: no approxify, no user classes.

Why not a state dict: it loads only into the classes that hold it, and a variant's layers are
approxify's own (``SparseLinear``, ``LowPrecision``, ``ProjectedAttention``...) or torch.ao's
quantized ones, so the reader would need approxify and the user's module. What is written instead
keeps the computation and the weights together, with no reference to a Python class:

- ``.pt2``: ``torch.export`` (an ExportedProgram: an ATen graph and its weights), loaded with
  ``torch.export.load(path).module()``. Preferred: it is what torch develops now.
- ``.pt``: TorchScript, loaded with ``torch.jit.load(path)``; for what ``torch.export`` cannot
  trace in torch 2.13 (the packed weights of dynamically quantized int8 layers; sparse CSR weights,
  which fake tensors cannot run). ``torch.jit.script`` first (it keeps control flow), else
  ``torch.jit.trace`` (the operations the example input ran).
- ``.onnx``: ``torch.onnx.export``, only where onnx and onnxruntime are installed (not a dependency).

A file counts as written only once it has been loaded back and its outputs on the example inputs
match the variant's (``torch.testing.assert_close``: exact or within float rounding); otherwise
the next way is tried, and the reasons say why each earlier one failed.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._optional import require_torch
from ..errors import InvalidArgument, UnsupportedTarget
from ..measure.inputs import read_inputs, split_call

CHECKED = 4  # example inputs the written file is compared on: the first one is what is traced
ONNX_HINT = "pip install onnx onnxscript onnxruntime"
SUFFIXES = {".pt2": "torch.export", ".pt": "TorchScript", ".onnx": "ONNX"}
LOADERS = {".pt2": "torch.export.load({path!r}).module()", ".pt": "torch.jit.load({path!r})",
           ".onnx": "onnxruntime.InferenceSession({path!r})"}
# what torch's messages mean, for the causes met in approxify's own layers (torch 2.13)
KNOWN_CAUSES = (
    ("PackedParams", "a dynamically quantized int8 layer keeps packed weights, which torch.export cannot trace"),
    ("compressed tensor", "sparse CSR weights (magnitude pruning) do not run on the fake tensors torch.export traces with"),
)
NOISY_LOGGERS = ("torch._subclasses.fake_tensor", "torch.onnx._internal.exporter._registration")
# a trace records the operations one input ran: a branch on the inputs' values is fixed as it went
CAVEATS = {"TorchScript (trace)": " (traced on the first example input: branches on values stay as it took them)"}


@dataclass(frozen=True)
class ModelExport:
    """What :func:`export_model` wrote, and the evidence that it is the variant."""

    path: Path
    format: str  # "torch.export", "TorchScript (script)", "TorchScript (trace)" or "ONNX"
    reasons: tuple[str, ...]  # why each way tried before ``format`` failed, one line each
    max_abs_diff: float  # largest difference of the reloaded file's outputs from the variant's
    checked: int  # example inputs compared

    @property
    def loader(self) -> str:
        """The line that loads the file again (torch alone; onnxruntime for .onnx)."""
        return LOADERS[self.path.suffix.lower()].format(path=str(self.path))

    def describe(self) -> str:
        """What was written, how to load it, the check, and why earlier ways were not used."""
        alone = "onnxruntime" if self.format == "ONNX" else "torch alone"
        lines = [f"written to {self.path} as {self.format}{CAVEATS.get(self.format, '')}; load it with "
                 f"{self.loader}, {alone} (no approxify); its outputs on {self.checked} example "
                 f"input(s) match the variant's (max abs diff {self.max_abs_diff:.3g})"]
        return "\n".join(lines + [f"  {reason}" for reason in self.reasons])


def check_model_path(path: str | Path, *, what: str = "path") -> Path:
    """``path``, when its suffix names a format a model variant is written in."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise InvalidArgument(
            f"{what} {str(path)!r}: a model's variant is written as .pt2 (torch.export, preferred), "
            f".pt (TorchScript) or .onnx, got {path.suffix or 'no suffix'!r}; name e.g. "
            f"{str(path.with_suffix('.pt2'))!r} (.pt when torch.export cannot export the variant)."
        )
    return path


def export_model(module: Any, path: str | Path, example_inputs: Any, *, what: str = "path") -> ModelExport:
    """Write ``module`` (a variant) to ``path`` in the format its suffix names, loaded back and
    checked against ``module`` on the first few ``example_inputs`` (a list of calls, as tuning
    takes: tensors, tuples of arguments, ``ax.Args``). ``what``: how messages name ``path``."""
    torch = require_torch()
    path = check_model_path(path, what=what)
    if path.suffix.lower() == ".onnx":
        _onnx()  # missing, the install hint before any work
    # read as tuning reads a model's inputs: a DataLoader's (inputs, labels) batches give the inputs
    items = read_inputs(example_inputs, name="example_inputs", batches=True)
    calls = [split_call(item) for item in items[:CHECKED]]
    expected = [_expected(module, call, position) for position, call in enumerate(calls)]
    reasons: list[str] = []
    for name, write, load in _ways(torch, path.suffix.lower()):
        scratch = path.with_name(f".{path.name}.partial{path.suffix}")  # never a half-checked file at path
        try:
            with _quiet(torch):
                write(module, calls[0], scratch)
                loaded = load(scratch)
            diff = max(_difference(torch, _run(loaded, call), want) for call, want in zip(calls, expected))
        except Exception as exc:  # torch raises many kinds; each is a reason to try the next way
            reasons.append(f"{name} failed: {_explained(exc)}")
            scratch.unlink(missing_ok=True)
            continue
        os.replace(scratch, path)
        return ModelExport(path, name, tuple(reasons), diff, len(calls))
    raise UnsupportedTarget(_failed(path, what, reasons))


def _ways(torch: Any, suffix: str) -> list[tuple[str, Callable[..., None], Callable[[Path], Any]]]:
    """(name, write(module, call, path), load(path)) for each way to write ``suffix``, best first."""
    if suffix == ".pt2":
        return [("torch.export", _write_exported, lambda p: torch.export.load(str(p)).module())]
    if suffix == ".pt":
        def load_script(p: Path) -> Any:
            return torch.jit.load(str(p))

        return [("TorchScript (script)", _write_scripted, load_script),
                ("TorchScript (trace)", _write_traced, load_script)]
    return [("ONNX", _write_onnx, _load_onnx)]


def _write_exported(module: Any, call: tuple[tuple[Any, ...], dict[str, Any]], path: Path) -> None:
    torch = require_torch()
    args, kwargs = call
    program = torch.export.export(module, args, kwargs, dynamic_shapes=_any_sizes(torch, module, args, kwargs))
    torch.export.save(program, str(path))


def _any_sizes(torch: Any, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Every dimension of every tensor argument left to torch.export to decide (``Dim.AUTO``): a
    batch of another size then runs too, where nothing in the model fixes it. A size of 1 in the
    example stays 1: torch.export specializes it."""
    def sizes(value: Any) -> Any:
        if torch.is_tensor(value):
            return {d: torch.export.Dim.AUTO for d in range(value.dim())} or None
        if isinstance(value, (list, tuple)):
            return type(value)(sizes(v) for v in value)
        if isinstance(value, Mapping):
            return {k: sizes(v) for k, v in value.items()}
        return None

    bound = inspect.signature(module.forward).bind(*args, **kwargs)
    return {name: sizes(value) for name, value in bound.arguments.items()}


def _write_scripted(module: Any, call: Any, path: Path) -> None:
    torch = require_torch()
    torch.jit.save(torch.jit.script(module), str(path))


def _write_traced(module: Any, call: tuple[tuple[Any, ...], dict[str, Any]], path: Path) -> None:
    torch = require_torch()
    args, kwargs = call
    # strict=False: outputs may be lists or dicts; check_trace=False: the reloaded file is checked
    traced = torch.jit.trace(module, args if args else None, example_kwarg_inputs=kwargs or None,
                             strict=False, check_trace=False)
    torch.jit.save(traced, str(path))


def _onnx() -> tuple[Any, Any]:
    """onnx (that torch.onnx.export writes with) and onnxruntime (that the check runs on)."""
    try:
        import onnx
        import onnxruntime
    except ImportError as exc:
        raise ImportError(f"writing .onnx needs onnx and onnxruntime ({exc}); {ONNX_HINT}, or "
                          "write .pt2 (torch.export) instead") from None
    return onnx, onnxruntime


def _write_onnx(module: Any, call: tuple[tuple[Any, ...], dict[str, Any]], path: Path) -> None:
    torch = require_torch()
    _onnx()
    args, kwargs = call
    torch.onnx.export(module, args, str(path), kwargs=kwargs or None, verbose=False,
                      dynamic_shapes=_any_sizes(torch, module, args, kwargs))


def _load_onnx(path: Path) -> Callable[..., Any]:
    """A callable over an onnxruntime session: tensors in, tensors out, as the checks compare."""
    torch = require_torch()
    _, onnxruntime = _onnx()
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def run(*args: Any, **kwargs: Any) -> Any:
        values = [a for a in (*args, *kwargs.values()) if torch.is_tensor(a)]
        feed = {n: v.detach().cpu().numpy() for n, v in zip(names, values)}
        outputs = [torch.from_numpy(o) for o in session.run(None, feed)]
        return outputs[0] if len(outputs) == 1 else tuple(outputs)

    return run


def _run(module: Any, call: tuple[tuple[Any, ...], dict[str, Any]]) -> Any:
    torch = require_torch()
    args, kwargs = call
    with torch.inference_mode():
        return module(*args, **kwargs)


def _expected(module: Any, call: tuple[tuple[Any, ...], dict[str, Any]], position: int) -> Any:
    """The variant's outputs on one example input; one it cannot run is the inputs' fault."""
    try:
        return _run(module, call)
    except Exception as exc:
        raise InvalidArgument(
            f"example_inputs[{position}]: the variant raised {_short(exc)}; pass inputs the model "
            "takes (a list of batches, each a tensor or a tuple of arguments, as tuning takes)."
        ) from exc


def _difference(torch: Any, got: Any, want: Any) -> float:
    """The largest absolute difference of ``got`` from ``want``; raises (AssertionError) when they
    are not the same within float rounding (``torch.testing.assert_close``'s tolerance for the
    dtype; NaN where the variant gives NaN), or not the same number of tensors."""
    got, want = _tensors(torch, got), _tensors(torch, want)
    if len(got) != len(want):
        raise AssertionError(f"it returns {len(got)} tensor(s), the variant {len(want)}")
    worst = 0.0
    for g, w in zip(got, want):
        torch.testing.assert_close(g.to(w.device), w, equal_nan=True)
        if w.numel() and w.is_floating_point():
            gap = (g.to(w.device, w.dtype) - w).abs().nan_to_num(0.0).max()
            worst = max(worst, float(gap))
    return worst


def _tensors(torch: Any, value: Any) -> list[Any]:
    """The tensors of an output, in order: TorchScript gives tuples where the model gave lists."""
    if torch.is_tensor(value):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in _tensors(torch, v)]
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [t for v in value for t in _tensors(torch, v)]
    return []


@contextlib.contextmanager
def _quiet(torch: Any):
    """Without the noise of the ways that fail or are deprecated: TorchScript's deprecation and
    tracer warnings, the traceback fake tensors log before torch.export raises (the reason is
    kept), the ONNX exporter's notes on operators of packages that are not installed."""
    loggers = [logging.getLogger(name) for name in NOISY_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            for kind in (DeprecationWarning, FutureWarning, UserWarning, torch.jit.TracerWarning):
                warnings.simplefilter("ignore", kind)
            yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _explained(exc: BaseException) -> str:
    """Why a way failed: what it means where known, then torch's own words."""
    short = _short(exc)
    cause = next((words for marker, words in KNOWN_CAUSES if marker in str(exc)), None)
    return f"{cause} ({short})" if cause else short


def _short(exc: BaseException) -> str:
    """One line: the exception's type and the first line of its message."""
    plain = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # the ONNX exporter colours its messages
    lines = [line.strip() for line in plain.strip().splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return f"{type(exc).__name__}: {text[:200] + '...' if len(text) > 200 else text}"


def _failed(path: Path, what: str, reasons: list[str]) -> str:
    why = "; ".join(reasons)
    suffix = path.suffix.lower()
    if suffix == ".pt2":
        return (f"{what} {str(path)!r}: torch.export cannot write this variant ({why}); write "
                f"TorchScript instead: {str(path.with_suffix('.pt'))!r} (loaded with torch.jit.load).")
    if suffix == ".pt":
        return (f"{what} {str(path)!r}: this variant cannot be written as TorchScript ({why}); "
                f"try torch.export: {str(path.with_suffix('.pt2'))!r}.")
    return (f"{what} {str(path)!r}: this variant cannot be written as ONNX ({why}); write "
            f"{str(path.with_suffix('.pt2'))!r} (torch.export) or .pt (TorchScript) instead.")
