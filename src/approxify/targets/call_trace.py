"""Calls seen on a run: which user function each call site of the user's code reached.

What static resolution cannot know (a function passed as an argument, a method of an object held
in a variable) a run on example inputs shows: :func:`trace_calls` runs the user's callable with
``sys.setprofile`` and records, per call site (the caller's code and the call's position, as
``co_positions`` gives it), the user functions called there, and the builtin or C functions
called there (for the reason a site is not followed). The result is plain data (references by
``module:qualname``), so it crosses from the forked child that runs it and is saved in results.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .call_graph import Position, function_registry, reference, scope_modules

EXAMPLES = 3  # inputs run under the profiler: enough to see the calls, not a measurement


@dataclass(frozen=True)
class CallHint:
    """At ``position`` in the caller, a run called ``callee`` (both ``module:qualname``)."""

    caller: str
    position: Position
    callee: str

    def to_list(self) -> list[Any]:
        return [self.caller, list(self.position), self.callee]

    @classmethod
    def from_list(cls, data: Sequence[Any]) -> CallHint:
        caller, where, callee = data
        return cls(str(caller), tuple(int(v) for v in where), str(callee))  # type: ignore[arg-type]


@dataclass
class Trace:
    """What a run called: user functions per site (:class:`CallHint`), and per site the names
    of the builtin or C functions called there."""

    hints: list[CallHint] = field(default_factory=list)
    c_calls: dict[tuple[str, Position], list[str]] = field(default_factory=dict)


def trace_calls(run: Callable[[Any], Any], examples: Sequence[Any], scope: Iterable[str]) -> Trace:
    """Run ``run`` on up to :data:`EXAMPLES` examples under the profiler (see the module
    docstring). An example that raises ends the tracing of that example only."""
    registry = function_registry(scope_modules(scope))
    refs = {code: reference(func) for code, func in registry.items()}
    for code, func in registry.items():  # a comprehension's calls are its function's calls
        refs.update({inner: reference(func) for inner in _comprehensions(code)})
    seen: dict[tuple[str, Position, str], None] = {}
    c_calls: dict[tuple[str, Position], dict[str, None]] = {}
    positions: dict[types.CodeType, list[Any]] = {}

    def profile(frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "call":
            callee = refs.get(frame.f_code)
            caller = frame.f_back
            if callee is None or caller is None:
                return
            owner = refs.get(caller.f_code)
            if owner is not None:
                seen[(owner, _position(caller, positions), callee)] = None
        elif event == "c_call":
            owner = refs.get(frame.f_code)
            if owner is not None:
                name = getattr(arg, "__qualname__", None) or getattr(arg, "__name__", repr(arg))
                c_calls.setdefault((owner, _position(frame, positions)), {})[str(name)] = None

    previous = sys.getprofile()
    for example in list(examples)[:EXAMPLES]:
        sys.setprofile(profile)
        try:
            run(example)
        except Exception:  # noqa: BLE001 - the run only shows calls; failures are measured elsewhere
            pass
        finally:
            sys.setprofile(previous)
    return Trace([CallHint(*key) for key in seen], {k: list(v) for k, v in c_calls.items()})


def _position(frame: types.FrameType, cache: dict[types.CodeType, list[Any]]) -> Position:
    positions = cache.get(frame.f_code)
    if positions is None:
        positions = cache[frame.f_code] = list(frame.f_code.co_positions())
    index = frame.f_lasti // 2
    if 0 <= index < len(positions):
        line, end, col, end_col = positions[index]
        if None not in (line, end, col, end_col):
            return (line, end, col, end_col)
    return (frame.f_lineno, frame.f_lineno, -1, -1)


COMPREHENSIONS = ("<listcomp>", "<setcomp>", "<dictcomp>", "<genexpr>")


def _comprehensions(code: types.CodeType) -> list[types.CodeType]:
    """The code objects of the comprehensions inside ``code`` (Python 3.11 compiles each into
    its own code object; its calls are written in the function that holds it)."""
    found = []
    for const in code.co_consts:
        if isinstance(const, types.CodeType) and const.co_name in COMPREHENSIONS:
            found += [const, *_comprehensions(const)]
    return found
