"""Running a program whose functions carry probes (calls of a recording runtime helper) on
example inputs: how :mod:`.arrays` and :mod:`.grids` see which of their candidates are real."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ...measure.inputs import InputSet
from ...targets.python import LiftedFunction, PythonProgram


def run_probed(program: PythonProgram, functions: Mapping[str, LiftedFunction], probe: str,
               recording: list[Any], seen: Any, examples: Sequence[Any],
               *, after_each: Callable[[], None] = lambda: None) -> None:
    """Run ``program`` with ``functions`` (the probed trees) on each example, ``seen`` on top of
    ``recording`` (what the ``probe`` helper records into); ``after_each`` runs after every call."""
    run = replace(program, functions=dict(functions)).with_helpers({probe}).build()
    inputs = InputSet(list(examples))
    recording.append(seen)
    try:
        for index in range(len(inputs)):
            args, kwargs = inputs.fresh(index)
            with contextlib.suppress(Exception):  # a run that fails shows less: what it recorded counts
                run(*args, **kwargs)
            after_each()
    finally:
        recording.pop()
