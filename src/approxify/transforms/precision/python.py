"""Precision tuning for Python functions: every float variable, array or result is a site.

Sites come from a profile (``ax.sites(fn, example_inputs=...)``): a variable is a site when the
examples showed it holding float data, and its knob offers the float types narrower than the
widest it held. Without a profile, a config may still name any variable of the program (the casts
never touch non-float values), which is how a saved result is rebuilt.

A lowered variable is cast where it is defined (see :mod:`.places`); an array constructor whose
result is always float64 gets the narrow ``dtype=`` instead, so no float64 copy is made. A float
array whose values were all integers in range is also offered int32 and int16 (see
:mod:`.integers`).
"""

from __future__ import annotations

import ast
import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from ...config import FLOAT_BITS, INT_RANGES, Precision, Setting
from ...errors import InvalidConfig
from ...sites import Knob, Site
from ...targets.python import LiftedFunction, PythonProgram, numpy_name
from .._base import Transform, register
from . import integers, runtime
from .constructors import with_dtype
from .flow import flow_groups
from .profile import profile_program
from .literals import integer_literals, lower_literals
from .places import RETURN, site_id, variables, wrap_definitions, written_through

PYTHON_DTYPES = ("float32", "float16")  # bfloat16 has no fast NumPy kernels; int8 is for models
NUMBA_DTYPES = ("float32",)  # numba loops gain nothing from int16 that float32 does not give


def parse_site_id(site: str) -> tuple[str, str] | None:
    key, _, rest = site.rpartition("/")
    if rest == RETURN:
        return key, RETURN
    if rest.startswith("var:"):
        return key, rest[4:]
    return None


@dataclass(frozen=True)
class Variable:
    """A precision site's locator: a variable of a function (``name`` is ``return`` for its
    returned values)."""

    function: str  # key of the lifted function
    name: str


@register
class PythonPrecision(Transform):
    family = "precision"
    target = "python"
    order = 2
    examples = 3  # tuning inputs profiled: dtypes rarely differ between inputs
    sites_need_examples = True

    def observe(self, program: PythonProgram, examples, *, name: str):
        """Run the program on ``examples`` and record the float data each variable holds."""
        return profile_program(program, examples, name=name)

    def discover(self, program: PythonProgram) -> list[Site]:
        profile = program.observed(self.family)
        if profile is None:
            return []  # found by profiling only: sites(fn, example_inputs=...)
        sites = []
        for key, lifted in program.functions.items():
            for name in variables(lifted.tree):
                seen = profile.of(key, name)
                if seen is None or not seen.is_float or _only_python_floats(seen, lifted):
                    continue
                if seen.view and written_through(lifted.tree, name):
                    continue  # a lowered copy would take the writes meant for the viewed array
                as_int = integers.integer_choices(lifted, name, seen.widest, seen.integral)
                choices = _narrower(seen.widest, lifted) + as_int
                if choices:
                    sites.append(self._site(lifted, name, choices, facts={
                        "dtype": seen.widest, "held": seen.summary(),
                        "shape": list(seen.shape) if seen.shape is not None else None,
                        **({"integral": list(seen.integral)} if as_int else {}),
                    }))
        groups = flow_groups(program, [s.id for s in sites])
        return [_with_group(s, groups[s.id]) for s in sites]

    def resolve(self, program: PythonProgram, site: str) -> Site | None:
        """A site named in a config for an unprofiled program, checked against the source."""
        parsed = parse_site_id(site)
        if parsed is None or parsed[0] not in program.functions:
            return None
        lifted = program.functions[parsed[0]]
        if parsed[1] not in variables(lifted.tree):
            return None
        # unprofiled (a saved result rebuilt): any variable may be named with an integer type;
        # profiled: the profile said this variable held no integral float arrays
        as_int = () if program.observed(self.family) is not None or lifted.jitted or parsed[1] == RETURN \
            else integers.INT_DTYPES
        return self._site(lifted, parsed[1], _narrower("float64", lifted) + as_int, facts={"profiled": False})

    def check(self, program: PythonProgram, site: Site, setting: Setting) -> None:
        assert isinstance(setting, Precision)
        jitted = program.functions[site.locator.function].jitted
        allowed = NUMBA_DTYPES if jitted else PYTHON_DTYPES
        if setting.dtype in INT_RANGES and not jitted:
            _check_integer(site, setting)
        elif not setting.is_exact and setting.dtype not in allowed:
            raise InvalidConfig(
                f"config[{site.id!r}] asks for {setting.dtype}, which "
                f"{'numba-compiled' if jitted else 'Python'} code does not "
                f"offer; use one of {', '.join(allowed)}."
            )

    def explain_empty(self, program: PythonProgram) -> str | None:
        """Precision was asked for and nothing can be lowered: say what the profile saw."""
        profile = program.observed(self.family)
        held = [f"{v.name}: {v.summary()}" for v in profile.variables.values()] if profile else []
        summary = "; ".join(held[:12]) + (" …" if len(held) > 12 else "") or "no variables"
        if profile and any(v.is_float for v in profile.variables.values()):
            return (
                f"precision tuning has nothing to lower in {program.name}: its float data is already "
                f"as narrow as approxify offers (float16 in Python, float32 in numba code), or "
                f"plain Python floats, which lowering cannot speed up; on the example inputs its "
                f"variables held {summary}."
            )
        return (
            f"precision tuning found no float data in {program.name}: on the example inputs its "
            f"variables held {summary}. Only float variables and arrays (Python floats, NumPy "
            "float scalars and float arrays) can be lowered."
        )

    def apply(self, program: PythonProgram, settings: Mapping[Site, Setting]) -> PythonProgram:
        by_function: dict[str, dict[str, str]] = {}
        for site, setting in settings.items():
            assert isinstance(setting, Precision)
            if not setting.is_exact:
                by_function.setdefault(site.locator.function, {})[site.locator.name] = setting.dtype
        helpers: set[str] = set()
        profile = program.observed(self.family)
        for key, lowered in by_function.items():
            lifted = program.functions[key]
            tree = copy.deepcopy(lifted.tree)
            used: set[str] = set()
            as_int = {n: d for n, d in lowered.items() if d in INT_RANGES}
            alias = numpy_name(lifted) if as_int else None

            def cast(name: str, value: ast.expr) -> ast.expr:
                if name in as_int:
                    call, constant = integers.cast(value, as_int[name], alias)
                    used.update({constant} - {None})
                    return call
                helper = runtime.CASTS[lowered[name]]
                used.add(helper)
                return ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[value], keywords=[])

            def construct(name: str, value: ast.expr) -> ast.expr | None:
                if name in as_int:
                    return None  # an integer array is cast, its constructor left as written
                dtype_name = runtime.DTYPE_NAMES[lowered[name]]
                built = with_dtype(value, dtype_name, lifted.func.__globals__, jitted=lifted.jitted)
                if built is not None:
                    used.add(dtype_name)
                return built

            if lifted.jitted:
                used |= lower_literals(tree, lowered)
            if as_int:
                integer_literals(tree, as_int)
                returned = profile.of(key, RETURN) if profile is not None else None
                if (returned is None or returned.is_float) and \
                        integers.float_returns(tree, lifted.func.__globals__):
                    used.add(integers.FLOAT_HELPER)
            wrap_definitions(tree, set(lowered), cast, construct)
            helpers |= used
            program = program.with_tree(key, tree)
        return program.with_helpers(helpers)

    @staticmethod
    def _site(lifted: LiftedFunction, name: str, choices: tuple[str, ...], facts: dict) -> Site:
        return Site(
            id=site_id(lifted.key, name),
            family="precision",
            target="python",
            knob=Knob(Precision(), tuple(Precision(d) for d in choices)),
            where=lifted.where(),
            detail=f"{'returned value' if name == RETURN else name}: {facts.get('held', 'float')}",
            facts=facts,
            locator=Variable(lifted.key, name),
        )


def _check_integer(site: Site, setting: Precision) -> None:
    if setting in site.knob.choices:
        return
    low, high = INT_RANGES[setting.dtype]
    if site.locator.name == RETURN:
        why = "a returned value keeps a float type"
    elif "integral" in site.facts and low <= site.facts["integral"][0] and site.facts["integral"][1] <= high:
        why = (f"its values spanned {site.facts['integral']}, but an expression of it alone (a square, "
               f"say) leaves {setting.dtype}'s {low}..{high}")
    elif "integral" in site.facts:
        why = f"its values spanned {site.facts['integral']}, beyond {setting.dtype}'s {low}..{high}"
    else:
        why = (f"on the example inputs it held {site.facts.get('held', 'other data')}, not only "
               "arrays of integer values (or the function writes into it)")
    offered = ", ".join(c.dtype for c in site.knob.choices) or "no lowering"
    raise InvalidConfig(
        f"config[{site.id!r}] asks for {setting.dtype}, which this site does not offer: {why}; "
        f"use one of {offered}."
    )


def _only_python_floats(seen, lifted: LiftedFunction) -> bool:
    """Python floats in interpreted code are no site: NumPy takes the array's dtype when a
    Python float meets an array, and a NumPy float32 scalar is slower than a Python float in
    Python arithmetic, so lowering one can only cost. Compiled (numba) code types them as
    float64, so there they are sites."""
    return not lifted.jitted and all(s.kind == "python" for s in seen.floats)


def _narrower(dtype: str, lifted: LiftedFunction) -> tuple[str, ...]:
    offered = NUMBA_DTYPES if lifted.jitted else PYTHON_DTYPES
    bits = FLOAT_BITS.get(dtype, 64)
    return tuple(d for d in offered if FLOAT_BITS[d] < bits)


def _with_group(site: Site, group: str) -> Site:
    return dataclasses.replace(site, facts={**site.facts, "group": group})
