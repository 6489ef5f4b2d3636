"""Profiling: run the program on example inputs and record what each variable holds.

The program's Python functions are rewritten so every definition of every variable passes
through ``_ax_probe`` (the same places a cast would go), then run on each example.
numba-compiled functions run compiled, and numba's own type inference says what each variable
holds.
"""

from __future__ import annotations

import ast
import copy
import sys
import types
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ...errors import TargetFailed
from ...measure.inputs import InputSet
from ...targets.python import PythonProgram
from ...targets.python_runtime import runtime_helper
from .places import RETURN, variables, wrap_definitions

_RECORDING: list[Profile] = []  # the profile being recorded (a stack, for safety)


@dataclass(frozen=True)
class Seen:
    """The kind of one value: ``array`` / ``scalar`` (NumPy) / ``python`` float, or ``other``."""

    kind: str
    dtype: str  # "float64", "int64", … or the type name for ``other``

    @property
    def is_float(self) -> bool:
        return self.kind != "other" and self.dtype.startswith("float")


def describe(value: Any) -> Seen:
    if isinstance(value, np.ndarray):
        return Seen("array", str(value.dtype))
    if isinstance(value, np.generic):
        return Seen("scalar", str(value.dtype))
    if isinstance(value, float):
        return Seen("python", "float64")
    return Seen("other", type(value).__name__)


SAMPLED = 1 << 22  # arrays larger than this are checked on an evenly strided sample


def integral_span(array: np.ndarray) -> tuple[float, float] | None:
    """(min, max) of a float array whose values are all integers, else None (empty arrays too)."""
    flat = array.reshape(-1)
    if flat.size > SAMPLED:
        flat = flat[:: flat.size // SAMPLED + 1]
    if flat.size == 0:
        return None
    low, high = float(flat.min()), float(flat.max())  # NaN if any value is NaN
    if not (np.isfinite(low) and np.isfinite(high)) or not np.array_equal(flat, np.round(flat)):
        return None
    return low, high


@dataclass
class Variable:
    """What one variable held on each example input."""

    key: str  # function key
    name: str  # variable name, or "return"
    seen: dict[int, set[Seen]] = field(default_factory=dict)  # example index -> kinds seen
    shape: tuple[int, ...] | None = None
    view: bool = False  # held a view of another array (writes through it reach that array)
    # (min, max) while every float value seen was an array of integers (for int16 / int32)
    integral: tuple[float, float] | None = None
    fractional: bool = False  # a float value that was no array of integers was seen

    @property
    def floats(self) -> list[Seen]:
        kinds = {s for group in self.seen.values() for s in group if s.is_float}
        return sorted(kinds, key=lambda s: (s.kind, s.dtype))

    @property
    def is_float(self) -> bool:
        return bool(self.floats)

    @property
    def widest(self) -> str:
        """The widest float dtype seen (what the knob lowers from)."""
        return max((s.dtype for s in self.floats), key=lambda d: np.dtype(d).itemsize)

    def see_values(self, array: np.ndarray | None) -> None:
        """Widen the integral range by ``array``'s values; a float scalar (None) or a float array
        holding any non-integer, NaN or infinity ends it for good."""
        span = integral_span(array) if array is not None and not self.fractional else None
        if span is None:
            self.fractional, self.integral = True, None
        elif self.integral is None:
            self.integral = span
        else:
            self.integral = (min(self.integral[0], span[0]), max(self.integral[1], span[1]))

    def dtype_changes(self) -> dict[int, list[str]]:
        """Example index -> float dtypes, when examples disagree on them; else empty."""
        per_input = {i: sorted({s.dtype for s in kinds if s.is_float}) for i, kinds in self.seen.items()}
        distinct = {tuple(v) for v in per_input.values() if v}
        return per_input if len(distinct) > 1 else {}

    def summary(self) -> str:
        if self.floats:
            return ", ".join(f"{s.dtype} {s.kind}" for s in self.floats)
        kinds = sorted({s.dtype for group in self.seen.values() for s in group})
        return "/".join(kinds) or "never assigned"


@dataclass
class Profile:
    """Every variable of every function, as seen on ``examples`` example inputs."""

    examples: int
    variables: dict[tuple[str, str], Variable] = field(default_factory=dict)
    current: int = 0

    def see(self, key: str, name: str, value: Any) -> None:
        variable = self.variables.get((key, name))
        if variable is None:
            variable = self.variables[(key, name)] = Variable(key, name)
        seen = describe(value)
        variable.seen.setdefault(self.current, set()).add(seen)
        if variable.shape is None and seen.kind == "array":
            variable.shape = tuple(value.shape)
        if seen.kind == "array" and value.base is not None:
            variable.view = True
        if seen.is_float:
            variable.see_values(value if seen.kind == "array" else None)

    def see_type(self, key: str, name: str, numba_type: Any) -> None:
        """Record a numba type: float arrays and floats by dtype, anything else (tuples,
        integers, records…) by name, as not float."""
        from numba.core import types as nb

        if isinstance(numba_type, nb.Array) and isinstance(numba_type.dtype, nb.Float):
            seen = Seen("array", str(numba_type.dtype))
        elif isinstance(numba_type, nb.Float):
            seen = Seen("scalar", str(numba_type))
        else:
            seen = Seen("other", str(numba_type))
        variable = self.variables.setdefault((key, name), Variable(key, name))
        variable.seen.setdefault(self.current, set()).add(seen)

    def of(self, key: str, name: str) -> Variable | None:
        return self.variables.get((key, name))


@runtime_helper()
def _ax_probe(key, name, value):
    _RECORDING[-1].see(key, name, value)
    return value


def _probe_call(key: str) -> Any:
    def wrap(name: str, value: ast.expr) -> ast.expr:
        args = [ast.Constant(key), ast.Constant(name), value]
        return ast.Call(func=ast.Name(id="_ax_probe", ctx=ast.Load()), args=args, keywords=[])

    return wrap


def instrumented(program: PythonProgram) -> PythonProgram:
    """The program with every variable definition of its Python functions recorded
    (numba-compiled functions are left as they are: their types come from numba)."""
    functions = dict(program.functions)
    for key, lifted in program.functions.items():
        if not lifted.jitted:
            tree = copy.deepcopy(lifted.tree)
            wrap_definitions(tree, set(variables(tree)), _probe_call(key))
            functions[key] = replace(lifted, tree=tree)
    return replace(program, functions=functions).with_helpers({"_ax_probe"})


def profile_program(program: PythonProgram, examples: Sequence[Any], *, name: str) -> Profile:
    """Run the instrumented program on each example and return what it saw."""
    built = instrumented(program).build_all()
    run = built[program.root]
    if program.bound_self is not None:
        run = types.MethodType(run, program.bound_self)
    inputs = InputSet(examples)
    profile = Profile(examples=len(examples))
    _RECORDING.append(profile)
    compiled: set[tuple[str, Any]] = set()  # (function, signature) type maps already read
    try:
        for index in range(len(examples)):
            profile.current = index
            args, kwargs = inputs.fresh(index)
            try:
                run(*args, **kwargs)
                _record_numba_types(profile, program, built, compiled)
            except Exception as exc:
                raise TargetFailed(
                    f"{name} raised {type(exc).__name__}: {exc} while being profiled on example "
                    f"input #{index}; precision sites are found by running the program, so the "
                    "example inputs must be ones it runs on."
                ) from exc
    finally:
        _RECORDING.pop()
    _warn_dtype_changes(profile)
    return profile


def _record_numba_types(profile: Profile, program: PythonProgram, built: dict[str, Any],
                        compiled: set[tuple[str, Any]]) -> None:
    """What numba's type inference gave each variable of the compiled functions, from the
    compilations this example caused (an example with the types of an earlier one compiles
    nothing new). The variants built here are compiled afresh, never loaded from a cache, so
    their type maps exist."""
    for key, lifted in program.functions.items():
        if not lifted.jitted:
            continue
        for signature, result in built[key].overloads.items():
            if (key, signature) in compiled:
                continue
            compiled.add((key, signature))
            for name, numba_type in result.fndesc.typemap.items():
                if not name.startswith(("$", "arg.")):
                    profile.see_type(key, name.split(".")[0], numba_type)
            profile.see_type(key, RETURN, result.fndesc.restype)


class DtypeChangeWarning(UserWarning):
    """A variable held different float dtypes on different example inputs."""


def _warn_dtype_changes(profile: Profile) -> None:
    for variable in profile.variables.values():
        changes = variable.dtype_changes()
        if changes:
            seen = "; ".join(f"input #{i}: {', '.join(d) or 'no float'}" for i, d in sorted(changes.items()))
            warnings.warn(
                f"{variable.key}: variable {variable.name!r} changes dtype between example inputs "
                f"({seen}); its precision site lowers from the widest ({variable.widest}). Give "
                "inputs of one dtype if that is not intended.",
                DtypeChangeWarning, stacklevel=_caller_level(),
            )


def _caller_level() -> int:
    """``stacklevel`` for a warning raised here that points at the first frame outside approxify."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_globals.get("__name__", "").startswith("approxify"):
        frame, level = frame.f_back, level + 1
    return level
