"""Reading a saved result back: every way a file can be missing or damaged is one
:class:`~approxify.errors.ResultFileError` that names the file and what is wrong with it.

:func:`read_json` reads the file (missing, a folder, not UTF-8, not JSON, cut short);
:func:`check_result_data` checks what was read against :data:`RESULT`, the shape
``Result.to_dict`` writes, down to what the summary and the report read (a missing key, a wrong
type, a setting or certificate that does not rebuild), so nothing fails later on a damaged field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import config_from_dict
from ..errors import ApproxifyError, ResultFileError
from ..stats import Certificate

FORMAT = "approxify.result/1"
FIX = "save the result again (result.save) or restore the file"


def read_json(path: Path) -> Any:
    """What the file at ``path`` holds, parsed as JSON."""
    name = f"result file {str(path)!r}"
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ResultFileError(f"{name} does not exist; pass the path result.save() "
                              "(or approxify tune --out) wrote.") from None
    except IsADirectoryError:
        raise ResultFileError(f"{name} is a folder; pass the .json file result.save() wrote.") from None
    except OSError as exc:
        raise ResultFileError(f"{name} cannot be read ({exc.strerror}); check its permissions.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ResultFileError(f"{name} is not a result: byte {exc.start} is not UTF-8 text, and "
                              "result.save() writes UTF-8 JSON; pass the .json file it wrote.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultFileError(f"{name} is not valid JSON: {_json_problem(text, exc)}; {FIX}.") from None


def _json_problem(text: str, exc: json.JSONDecodeError) -> str:
    if not text.strip():
        return "it is empty"
    problem = f"{exc.msg} at line {exc.lineno}, column {exc.colno}"
    # cut short: no closing '}', or cut just after a nested one (then it fails where it ends)
    end = text.rstrip()
    if text.lstrip().startswith("{") and (not end.endswith("}") or exc.pos >= len(end)):
        problem += ", and it ends before its closing '}', as a file cut short does"
    return problem


# -- the shape of a result -------------------------------------------------------------------
class _Damaged(Exception):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)
        self.where, self.problem = where, problem


@dataclass(frozen=True)
class Kind:
    """A leaf of the shape: what a value must be (``expected``, in words) and the test."""

    expected: str
    test: Callable[[Any], bool]

    def check(self, value: Any, where: str) -> None:
        if not self.test(value):
            raise _Damaged(where, f"expected {self.expected}, got {_shown(value)}")


@dataclass(frozen=True)
class Maybe:
    """``spec``, or null."""

    spec: Any

    def check(self, value: Any, where: str) -> None:
        if value is not None:
            _check(value, self.spec, where)


@dataclass(frozen=True)
class MappingOf:
    """An object whose every value is ``spec`` (keys are free: site ids, function keys)."""

    spec: Any

    def check(self, value: Any, where: str) -> None:
        OBJECT.check(value, where)
        for key, item in value.items():
            _check(item, self.spec, f"{where}[{key!r}]")


@dataclass(frozen=True)
class Parsed:
    """A value that must rebuild with ``parse`` (a config, a certificate: they validate)."""

    spec: Any
    parse: Callable[[Any], Any]

    def check(self, value: Any, where: str) -> None:
        _check(value, self.spec, where)
        try:
            self.parse(value)
        except (ApproxifyError, TypeError, ValueError) as exc:
            raise _Damaged(where, str(exc)) from None


def _real(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _figure(value: Any) -> bool:
    """A number, or one of the strings ``finite_json`` writes for the numbers JSON lacks."""
    return _real(value) or (isinstance(value, str) and value in ("inf", "-inf", "nan"))


TEXT = Kind("text", lambda v: isinstance(v, str))
REAL = Kind("a number", _real)
FIGURE = Kind("a number", _figure)
COUNT = Kind("a whole number >= 0", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0)
FLAG = Kind("true or false", lambda v: isinstance(v, bool))
OBJECT = Kind("an object", lambda v: isinstance(v, dict))
REFERENCE = Kind("module:name", lambda v: isinstance(v, str) and ":" in v)
BEST = Kind('"exact" or the index of a pareto entry',
            lambda v: v == "exact" or (isinstance(v, int) and not isinstance(v, bool) and v >= 0))

PAIR = {"speedup": REAL, "mean_loss": REAL}
INTERVAL = {"speedup_low?": Maybe(FIGURE), "speedup_high?": Maybe(FIGURE)}  # absent before intervals
HELDOUT = {
    "speedup?": Maybe(FIGURE), **INTERVAL, "mean_loss": FIGURE, "n?": COUNT, "identical?": Maybe(COUNT),
    "failures?": COUNT, "failure_kinds?": [TEXT], "max_loss?": Maybe(REAL), "p95_loss?": Maybe(REAL),
    "timing?": Maybe(OBJECT), "guards?": MappingOf({"values": COUNT, "fallbacks": COUNT}),
    "bytes?": REAL, "oversize?": FLAG,
}
CANDIDATE = {
    "config": Parsed(OBJECT, config_from_dict),
    "origin": TEXT,
    "tuning": {"speedup": FIGURE, **INTERVAL, "mean_loss": FIGURE, "failures?": COUNT, "bytes?": REAL,
               "oversize?": FLAG},
    "heldout?": Maybe(HELDOUT),
    "certificate?": Maybe(Parsed(OBJECT, Certificate.from_dict)),
}
RESULT = {
    "format": TEXT, "target": TEXT, "reference": REFERENCE, "imported_as?": REFERENCE, "modules?": [TEXT],
    "settings": {"quality": TEXT, "bound": REAL, "confidence": REAL, "tuning": COUNT, "heldout": COUNT,
                 "loss_cap?": Maybe(REAL), "strategy?": Maybe(TEXT)},
    "exact": CANDIDATE, "pareto": [CANDIDATE], "best": BEST, "points": [CANDIDATE],
    "sensitivity": [{"site": TEXT, "label": TEXT, "speedup": Maybe(REAL), "mean_loss": Maybe(REAL),
                     "failures?": COUNT, "kept?": Maybe(FLAG), "reason?": Maybe(TEXT)}],
    "stats": {"trials": COUNT, "evaluations": COUNT, "wall_seconds": REAL},
    "environment": OBJECT, "notes?": [TEXT], "fits?": OBJECT, "weights_file?": TEXT,
    "effects?": [{"sites": [TEXT], "setting": TEXT, "with": PAIR, "without?": Maybe(PAIR),
                  "alone?": Maybe(PAIR)}],
    "followed?": [Kind("[caller, position, callee]", lambda v: isinstance(v, list) and len(v) == 3)],
    "skipped?": [{"function": TEXT, "where": TEXT, "call": TEXT, "reason": TEXT}],
    "fingerprint?": {"algorithm": TEXT, "reference": REFERENCE, "functions?": MappingOf(TEXT),
                     "structure?": TEXT, "weights?": TEXT},
}


def check_result_data(data: Any, *, name: str) -> None:
    """``data`` is a result as ``Result.to_dict`` writes it, or a ResultFileError names ``name``
    (the file) and the first thing wrong."""
    found = data.get("format") if isinstance(data, dict) else None
    if found != FORMAT:
        given = f"format {found!r}" if isinstance(found, str) else f"JSON {_shown(data)}"
        raise ResultFileError(f"{name} is not an approxify result: expected format {FORMAT!r}, "
                              f"got {given}; pass the .json file result.save() wrote.")
    try:
        _check(data, RESULT, "")
        if data["best"] != "exact" and data["best"] >= len(data["pareto"]):
            raise _Damaged("best", f"index {data['best']} is past the {len(data['pareto'])} pareto entries")
        for i, row in enumerate(data.get("effects", [])):
            if not row["sites"]:
                raise _Damaged(f"effects[{i}].sites", "expected at least one site, got none")
    except _Damaged as exc:
        where = f"{exc.where}: " if exc.where else ""
        raise ResultFileError(f"{name} is damaged: {where}{exc.problem.rstrip('.')}; {FIX}.") from None


def _check(value: Any, spec: Any, where: str) -> None:
    if isinstance(spec, dict):
        _check_object(value, spec, where)
    elif isinstance(spec, list):
        if not isinstance(value, list):
            raise _Damaged(where, f"expected a list, got {_shown(value)}")
        for i, item in enumerate(value):
            _check(item, spec[0], f"{where}[{i}]")
    else:
        spec.check(value, where)


def _check_object(value: Any, spec: Mapping[str, Any], where: str) -> None:
    OBJECT.check(value, where)
    for key, item_spec in spec.items():
        name = key.removesuffix("?")
        path = f"{where}.{name}" if where else name
        if name in value:
            _check(value[name], item_spec, path)
        elif not key.endswith("?"):
            raise _Damaged(where, f"the key {name!r} is missing")


def _shown(value: Any) -> str:
    """A value as a message shows it: its JSON kind and a short repr."""
    kind = ("null" if value is None else "true/false" if isinstance(value, bool)
            else "a number" if _real(value) else "text" if isinstance(value, str)
            else "a list" if isinstance(value, list) else "an object" if isinstance(value, dict)
            else type(value).__name__)
    text = repr(value)
    return f"{kind} {text[:60] + '...' if len(text) > 60 else text}"
