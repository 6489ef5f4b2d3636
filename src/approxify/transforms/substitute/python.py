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
from typing import Any

from ...config import Setting, Substitute
from ...errors import InvalidConfig
from ...sites import Knob, Site
from ...targets.python import LiftedFunction, PythonProgram
from .. import register
from . import runtime as _runtime  # noqa: F401  (registers the helpers)
from .calls import ALTERNATIVES, SIDE_EFFECTS, CallSite, call_sites
from .fitting import fit_for, minimum_rows
from .trace import SiteTrace, trace_program

ONE_ARGUMENT = (Substitute("poly", degree=4), Substitute("poly", degree=8), Substitute("poly", degree=16),
                Substitute("table", points=64), Substitute("table", points=1024))
SEVERAL_ARGUMENTS = (Substitute("mlp", hidden=(8,)), Substitute("mlp", hidden=(32,)))
MEMO = (Substitute("memo", cells=256),)
RECHECK = (0.1, 0.2, 0.3)  # recheck bands offered for a yes/no test's surrogates
MEMO_MAX_ARGUMENTS = 3


@register
class PythonSubstitution:
    family = "substitute"
    target = "python"
    tuning_examples = 20  # tuning inputs traced: surrogates are fitted on what they give

    def observe(self, program: PythonProgram, examples, *, name: str):
        """Run the program on ``examples`` and record each candidate call's arguments and results."""
        return trace_program(program, examples, name=name)

    def discover(self, program: PythonProgram) -> list[Site]:
        traces = program.observed("substitute")
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

    def apply(self, program: PythonProgram, settings: Mapping[str, Setting]) -> PythonProgram:
        chosen = {site: s for site, s in settings.items() if isinstance(s, Substitute) and not s.is_exact}
        constants: dict[str, Any] = {}
        for key, lifted in program.functions.items():
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
    key = call.id.rpartition("/call:")[0]
    if program.functions[key].jitted:
        raise InvalidConfig(
            f"config[{call.id!r}]: the call is inside numba-compiled code, where a Python "
            "surrogate cannot run; substitute calls in interpreted functions only."
        )
    if getattr(call.callee, SIDE_EFFECTS, False):
        raise InvalidConfig(
            f"config[{call.id!r}]: {call.name} is marked as having side effects (ax.has_side_effects), "
            "so its calls are never replaced; remove the marker if replacing them is safe."
        )
    if setting.kind == "alternative":
        for alternative in getattr(call.callee, ALTERNATIVES, ()):
            if alternative.__name__ == setting.name:
                return alternative
        names = [a.__name__ for a in getattr(call.callee, ALTERNATIVES, ())]
        raise InvalidConfig(
            f"config[{call.id!r}] asks for the alternative {setting.name!r}, but {call.name} has "
            f"{'alternatives ' + ', '.join(names) if names else 'none'}; register them with "
            f"@ax.alternatives(...) on {call.name}."
        )
    from .runtime import _ax_Substituted

    fitted = fit_for(program, call.id, setting)
    if setting.recheck is not None and fitted.levels is None:
        raise InvalidConfig(
            f"config[{call.id!r}] asks for {setting.label()}, but recheck is for a yes/no test and "
            f"{call.name}'s traced calls do not answer with exactly two values in one result; "
            "drop recheck for this call."
        )
    return _ax_Substituted(fitted.surrogate, outputs=fitted.outputs, tuple_result=fitted.tuple_result,
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
    )
