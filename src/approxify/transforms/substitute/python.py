"""Function substitution for Python functions: every costly call is a site.

Sites come from tracing (``ax.sites(fn, example_inputs=...)``): the knob of a call whose
arguments and results are numeric offers surrogates fitted on what the calls saw (``table`` and
``poly`` for one argument, ``mlp`` for several, ``memo``), plus the user's ``alternatives``; a
yes/no test (its results take two values) is also offered those surrogates with their unsure
answers rechecked by the exact function (``recheck``). Calls that cannot be substituted are
listed with the reason and no choices.

Surrogates are fitted when a config first uses them and cached per site and setting in
``program.fits`` (shared by every variant of the target, saved with results), so the tuner never
refits one and a loaded result rebuilds its variant without retraining.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...config import Setting, Substitute
from ...errors import InvalidConfig
from ...sites import Knob, Site
from ...targets.python import LiftedFunction, PythonProgram
from .._base import Transform, register
from .runtime import _ax_Substituted, guard_counts
from .calls import ALTERNATIVES, SIDE_EFFECTS, CallSite, call_sites
from .fitting import fit_for, fit_key, minimum_rows
from .trace import SiteTrace, trace_program

ONE_ARGUMENT = (Substitute("poly", degree=4), Substitute("poly", degree=8), Substitute("poly", degree=16),
                Substitute("table", points=64), Substitute("table", points=1024))
SEVERAL_ARGUMENTS = (Substitute("mlp", hidden=(8,)), Substitute("mlp", hidden=(32,)))
MEMO = (Substitute("memo", cells=256),)
RECHECK = (0.1, 0.2, 0.3)  # recheck bands offered for a yes/no test's surrogates
MEMO_MAX_ARGUMENTS = 3


@dataclass(frozen=True)
class Call:
    """A substitution site's locator: one call (by its call-site id) in a function."""

    function: str  # key of the lifted function
    call: str  # CallSite.id


@register
class PythonSubstitution(Transform):
    family = "substitute"
    target = "python"
    order = 1
    examples = 20  # tuning inputs traced: surrogates are fitted on what they give
    sites_need_examples = True
    fits_need_examples = True
    # fitting surrogates (networks especially) costs seconds per site and setting, which a
    # default run should not spend where loops and floats already pay: asked for by name
    by_default = False

    def observe(self, program: PythonProgram, examples, *, name: str):
        """Run the program on ``examples`` and record each candidate call's arguments and results."""
        return trace_program(program, examples, name=name)

    def discover(self, program: PythonProgram) -> list[Site]:
        traces = program.observed(self.family)
        if traces is None:
            return []  # found by tracing only: sites(fn, example_inputs=...)
        sites = []
        for lifted in program.functions.values():
            for call in call_sites(lifted, program.named_calls):
                sites.append(_site(lifted, call, traces.of(call.id)))
        return sites

    def resolve(self, program: PythonProgram, site: str) -> Site | None:
        """A call site named in a config for an untraced program, checked against the source."""
        key = site.rpartition("/call:")[0]
        if key not in program.functions:
            return None
        for call in call_sites(program.functions[key], program.named_calls):
            if call.id == site:
                return _site(program.functions[key], call, None, traced=False)
        return None

    def check(self, program: PythonProgram, site: Site, setting: Setting) -> None:
        assert isinstance(setting, Substitute)
        if setting.is_exact:
            return
        lifted = program.functions[site.locator.function]
        call = next(c for c in call_sites(lifted, program.named_calls) if c.id == site.locator.call)
        if lifted.jitted:
            raise InvalidConfig(
                f"config[{call.id!r}]: the call is inside numba-compiled code, where a Python "
                "surrogate cannot run; substitute calls in interpreted functions only."
            )
        if getattr(call.callee, SIDE_EFFECTS, False):
            raise InvalidConfig(
                f"config[{call.id!r}]: {call.name} is marked as having side effects (ax.has_side_effects), "
                "so its calls are never replaced; remove the marker if replacing them is safe."
            )
        names = [a.__name__ for a in getattr(call.callee, ALTERNATIVES, ())]
        if setting.kind == "alternative" and setting.name not in names:
            raise InvalidConfig(
                f"config[{call.id!r}] asks for the alternative {setting.name!r}, but {call.name} has "
                f"{'alternatives ' + ', '.join(names) if names else 'none'}; register them with "
                f"@ax.alternatives(...) on {call.name}."
            )

    def unknown_hint(self, site_id: str, setting: Setting) -> str:
        return (" A call to a function named with calls= is a site only when the same "
                "calls= is given again (ax.apply(..., calls=[...]), ax.load(path, calls=[...]))."
                if "/call:" in site_id else "")

    def fit_key(self, site_id: str, setting: Setting) -> str | None:
        return fit_key(site_id, setting) if setting.kind not in ("exact", "alternative") else None

    def counters(self, variant: Any) -> dict[str, Any]:
        return guard_counts(variant)

    def apply(self, program: PythonProgram, settings: Mapping[Site, Setting]) -> PythonProgram:
        chosen = {site.locator.call: s for site, s in settings.items() if not s.is_exact}
        functions = {site.locator.function for site in settings}
        constants: dict[str, Any] = {}
        for key, lifted in program.functions.items():
            if key not in functions:
                continue
            calls = {id(c.node): c for c in call_sites(lifted, program.named_calls) if c.id in chosen}
            if not calls:
                continue
            tree = copy.deepcopy(lifted.tree)
            replacements = {}
            for new, old in zip(ast.walk(tree), ast.walk(lifted.tree)):  # the copy's nodes, in step
                call = calls.get(id(old))
                if call is not None:
                    name = f"_ax_sub_{len(program.constants) + len(constants)}"
                    constants[name] = _replacement(program, call, chosen[call.id])
                    replacements[id(new)] = (name, chosen[call.id])
            _Substituter(replacements).visit(tree)
            program = program.with_tree(key, tree)
        return program.with_constants(constants).with_helpers(
            {"_ax_Substituted"} if any(not s.kind == "alternative" for s in chosen.values()) else set()
        )


def _replacement(program: PythonProgram, call: CallSite, setting: Substitute) -> Any:
    """What replaces the call (checked by ``check`` before): the alternative, or the guarded
    surrogate fitted for ``setting``."""
    if setting.kind == "alternative":
        return next(a for a in getattr(call.callee, ALTERNATIVES, ()) if a.__name__ == setting.name)
    fitted = fit_for(program, call.id, setting)
    if setting.recheck is not None and fitted.levels is None:
        raise InvalidConfig(
            f"config[{call.id!r}] asks for {setting.label()}, but recheck is for a yes/no test and "
            f"{call.name}'s traced calls do not answer with exactly two values in one result; "
            "drop recheck for this call."
        )
    return _ax_Substituted(fitted.surrogate.predictor, outputs=fitted.outputs, tuple_result=fitted.tuple_result,
                           guard=setting.guard, margin=setting.margin, site=call.id,
                           levels=fitted.levels if setting.recheck is not None else None,
                           recheck=setting.recheck)


class _Substituter(ast.NodeTransformer):
    """``f(a, b)`` -> ``_ax_sub_k(f, a, b)``, or ``alt(a, b)`` for an alternative."""

    def __init__(self, replacements: dict[int, tuple[str, Substitute]]) -> None:
        self.replacements = replacements

    def visit_Call(self, node: ast.Call) -> ast.AST:  # noqa: N802
        found = self.replacements.get(id(node))
        self.generic_visit(node)
        if found is None:
            return node
        name, setting = found
        if setting.kind == "alternative":
            node.func = ast.Name(id=name, ctx=ast.Load())
            return node
        return ast.copy_location(ast.Call(func=ast.Name(id=name, ctx=ast.Load()),
                                          args=[node.func, *node.args], keywords=node.keywords), node)


def _site(lifted: LiftedFunction, call: CallSite, trace: SiteTrace | None, *, traced: bool = True) -> Site:
    alternatives = tuple(Substitute("alternative", name=a.__name__)
                         for a in getattr(call.callee, ALTERNATIVES, ()))
    facts: dict[str, Any] = {"callee": call.name, "kind": call.kind}
    reason = None
    choices: tuple[Substitute, ...] = ()
    if getattr(call.callee, SIDE_EFFECTS, False):
        reason = "marked as having side effects (ax.has_side_effects)"
    elif lifted.jitted:
        reason = "inside numba-compiled code, where a Python surrogate cannot run"
    elif not traced:
        choices = ONE_ARGUMENT + SEVERAL_ARGUMENTS + MEMO  # unverified: checked when fitted
    elif trace is None or trace.calls == 0:
        reason = "never called on the example inputs"
    elif trace.reason is not None:
        reason = trace.reason
    else:
        facts.update(calls=trace.calls, seconds=trace.seconds, rows=trace.rows,
                     arguments=trace.arguments, outputs=trace.outputs,
                     lo=trace.lo.tolist() if trace.lo is not None else None,
                     hi=trace.hi.tolist() if trace.hi is not None else None)
        offered = ONE_ARGUMENT if trace.arguments == 1 else SEVERAL_ARGUMENTS
        levels = trace.levels()
        if levels is not None:  # a yes/no test: also with its unsure answers rechecked
            facts["levels"] = list(levels)
            offered = offered + tuple(dataclasses.replace(c, recheck=r) for c in offered for r in RECHECK)
        if (trace.arguments or 0) <= MEMO_MAX_ARGUMENTS:
            offered = offered + MEMO
        choices = tuple(c for c in offered if trace.rows >= minimum_rows(c, trace.arguments or 1))
        if len(choices) < len(offered):
            facts["too_few_rows"] = [c.label() for c in offered if c not in choices]
    if reason is not None:
        facts["reason"] = reason
        choices = ()
    detail = f"{call.name}(...)" + (f": {reason}" if reason else
                                     f": {facts['calls']} calls traced" if "calls" in facts else "")
    return Site(
        id=call.id,
        family="substitute",
        target="python",
        knob=Knob(Substitute(), choices + alternatives),
        where=lifted.where(call.node),
        detail=detail,
        facts=facts,
        locator=Call(lifted.key, call.id),
    )
