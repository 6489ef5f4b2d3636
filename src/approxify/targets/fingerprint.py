"""Fingerprints of what a result measured, so that a variant is never rebuilt on other code or
weights than those (design.md 5.6).

A fingerprint is plain JSON: the target's reference (``module:qualname``) and SHA-256 digests.
For a program: one per lifted function, of its definition as parsed (``ast.unparse`` of the
original, unrewritten tree), so comments and layout do not count and any change to the code
does. For a model: one of its structure (``repr``) and one of its weights (every entry of
``state_dict()``, by name, with dtype and shape). :func:`changes` says in words what differs.
"""

from __future__ import annotations

import ast
import hashlib
from collections.abc import Mapping
from typing import Any

from .._optional import require_torch

ALGORITHM = "sha256"


def fingerprint(program: Any) -> dict[str, Any]:
    """The fingerprint of a lifted, unrewritten ``program`` (see the module docstring)."""
    found: dict[str, Any] = {"algorithm": ALGORITHM, "reference": program.reference}
    if program.has_weights:
        found["structure"] = _digest(repr(program.model).encode())
        found["weights"] = weights_digest(program.model)
    else:
        found["functions"] = {key: _digest(ast.unparse(f.tree).encode())
                              for key, f in program.functions.items()}
    return found


def weights_digest(model: Any) -> str:
    """One digest of every entry of ``model.state_dict()``, in name order (registration order
    could differ between two builds of the same model)."""
    digest = hashlib.sha256()
    for name, value in sorted(model.state_dict().items()):
        digest.update(name.encode() + b"\0")
        digest.update(_entry_bytes(value))
    return digest.hexdigest()


def _entry_bytes(value: Any) -> bytes:
    """A state-dict entry as bytes: a tensor's dtype, shape and data; anything else (packed
    parameters, extra state) by its repr."""
    torch = require_torch()
    if not isinstance(value, torch.Tensor):
        return repr(value).encode()
    tensor = value.detach().cpu()
    if tensor.is_quantized:
        tensor = tensor.dequantize()
    if tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    header = f"{tensor.dtype} {tuple(tensor.shape)}\0".encode()
    # uint8 view: every dtype (bfloat16 too, which numpy lacks) as its raw bytes
    return header + tensor.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def changes(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between a ``recorded`` fingerprint and the ``current`` one, in words (empty
    when they agree). Only what was recorded is compared: a part the recording lacks is no
    evidence either way."""
    if recorded.get("algorithm") != current.get("algorithm"):
        return [f"the result's fingerprint was taken with {recorded.get('algorithm')!r}, which this "
                f"version of approxify does not compute ({current.get('algorithm')!r})"]
    found = []
    if not _same_target(recorded.get("reference"), current.get("reference")):
        found.append(f"the target is {current.get('reference')}, but the result measured "
                     f"{recorded.get('reference')}")
    if "functions" in recorded:
        found += _function_changes(recorded["functions"], current.get("functions") or {})
    if "structure" in recorded and recorded["structure"] != current.get("structure"):
        found.append("the model's structure (its layers) is not the one measured")
    if "weights" in recorded and recorded["weights"] != current.get("weights"):
        found.append("the model's weights are not those measured")
    return found


def _same_target(recorded: str | None, current: str | None) -> bool:
    """Whether two references name the same target. A script's function (module ``__main__``)
    is the same one when the script is imported by its name later (``ax.load(path,
    target=fn)``): its functions' keys are the script's name either way, and their digests say
    whether the code is the same."""
    if recorded == current:
        return True
    module, _, name = (recorded or "").partition(":")
    return module == "__main__" and (current or "").partition(":")[2] == name


def _function_changes(recorded: Mapping[str, str], current: Mapping[str, str]) -> list[str]:
    changed = [f"function {key} changed" for key in recorded
               if key in current and current[key] != recorded[key]]
    gone = [f"function {key} is no longer reached from the target" for key in recorded if key not in current]
    new = [f"function {key} is new (the result did not measure it)" for key in current if key not in recorded]
    return changed + gone + new
