"""The Optuna side of tuning: a resumable study, sensitivity records, and the search loop.

Everything measured is stored in the study (JSON user attributes), so rerunning the same call
with the same ``storage`` picks up where an interrupted run stopped: sensitivity entries are not
measured again, and completed search trials count towards the budget.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import Budget, Setting, config_from_dict, config_key, config_to_dict
from ..errors import InvalidArgument
from ..report.result import Candidate
from .feasibility import feasible, searched_loss, violation
from .measurer import Measurer
from .model import SingleSite, additive_seeds, uniform_seeds
from .progress import Progress
from .space import SearchSpace

PHASE = "phase"  # trial user attribute: "sensitivity" | "seed" | "search"


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Optuna logs every trial at INFO; keep the user's terminal for our progress bar."""
    import optuna

    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def study_name(target_name: str, source: str, settings: dict[str, Any]) -> str:
    """Same target source, inputs split and settings -> same study, so a rerun resumes."""
    text = source + json.dumps({k: v for k, v in settings.items() if k != "storage"},
                               sort_keys=True, default=str)
    return f"approxify-{target_name}-{hashlib.sha1(text.encode()).hexdigest()[:12]}"


IDENTITY = ("inputs_digest", "inputs", "tuning", "heldout", "seed", "sample_groups")  # what a study was measured on


def open_study(storage: str | None, name: str, *, sampler: Any, identity: dict[str, Any]):
    """The study ``name`` in ``storage`` (in memory when None), created or loaded to resume.
    A study measured on other inputs (a name given twice by hand) is refused: resuming it
    would reuse measurements of other inputs."""
    import optuna

    study = optuna.create_study(
        storage=storage, study_name=name, directions=["maximize", "minimize"],
        sampler=sampler, load_if_exists=True,
    )
    wanted = {key: identity.get(key) for key in IDENTITY}
    recorded = study.user_attrs.get("identity")
    if recorded is not None:  # studies recorded before groups= had none
        recorded = {"sample_groups": None, **recorded}
    if recorded is None:
        study.set_user_attr("identity", wanted)
    elif recorded != wanted:
        raise InvalidArgument(
            f"study_name={name!r} in storage={storage!r} holds measurements of other inputs "
            f"(it was measured on {recorded.get('inputs')} inputs split {recorded.get('tuning')}/"
            f"{recorded.get('heldout')} with seed {recorded.get('seed')}, content digest "
            f"{str(recorded.get('inputs_digest'))[:12]}; these are {wanted['inputs']} inputs, digest "
            f"{str(wanted['inputs_digest'])[:12]}); resuming it would reuse those measurements. "
            "Pass another study_name=, or leave it out to get one named after the inputs."
        )
    return study


@dataclass(frozen=True)
class Sensitivity:
    """One site x setting measured alone, and whether the search keeps it."""

    site: str
    setting: Setting
    figures: dict[str, Any]
    kept: bool
    reason: str

    @classmethod
    def judge(cls, site: str, setting: Setting, figures: dict[str, Any], bound: float, *,
              payoff: float | None = None) -> Sensitivity:
        """Kept unless it fails, exceeds the bound alone, or (with ``payoff``) saves less than
        that cost ratio alone."""
        if not feasible(figures, bound):
            reason = (f"fails on {figures['failures']} input(s)" if figures["failures"]
                      else f"loss {searched_loss(figures):.3g} > bound alone")
            return cls(site, setting, figures, False, reason)
        if payoff is not None and figures["speedup"] < payoff:
            return cls(site, setting, figures, False, f"saves nothing alone ({figures['speedup']:.2f}x)")
        return cls(site, setting, figures, True, "")

    @property
    def single(self) -> SingleSite:
        return SingleSite(self.site, self.setting, searched_loss(self.figures), self.figures["speedup"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "site": self.site, "setting": self.setting.to_dict(), "label": self.setting.label(),
            "mean_loss": self.figures["mean_loss"], "speedup": self.figures["speedup"],
            "failures": self.figures["failures"], "kept": self.kept, "reason": self.reason,
        }


def sensitivity_key(site_id: str, setting: Setting) -> str:
    return "sensitivity:" + json.dumps({site_id: setting.to_dict()}, sort_keys=True)


def stored_sensitivity(study) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in study.user_attrs.items() if k.startswith("sensitivity:")}


def store_sensitivity(study, key: str, figures: dict[str, Any]) -> None:
    study.set_user_attr(key, figures)


def store_measured(study, config, figures: dict[str, Any]) -> None:
    """Keep one measurement (delta strategy) in the study, so a rerun does not measure it again."""
    study.set_user_attr("measured:" + config_key(config), {"config": config_to_dict(config), "figures": figures})


def remember_measured(study, measurer: Measurer) -> None:
    for key, value in study.user_attrs.items():
        if key.startswith("measured:"):
            measurer.remember(config_from_dict(value["config"]), value["figures"])


def completed_search_trials(study) -> int:
    return sum(1 for t in _complete(study) if t.user_attrs.get(PHASE) in ("search", "seed"))


def search(
    study, measurer: Measurer, space: SearchSpace, singles: Sequence[Sensitivity], *,
    bound: float, budget: Budget, bar: Progress,
) -> list[Candidate]:
    """Run the remaining trials of the budget; return every config measured (sensitivity included)."""
    import optuna

    points = [Candidate(measurer.expand({s.site: s.setting}), "sensitivity", s.figures) for s in singles]
    if not len(space):
        return points
    _remember_trials(study, measurer)
    distributions = space.distributions()
    if not study.user_attrs.get("seeded"):
        _add_sensitivity_trials(study, space, singles, distributions, bound)
        kept = [s.single for s in singles if s.kept]
        seeds = additive_seeds(kept, bound=bound)
        for config in seeds + [c for c in uniform_seeds(kept) if c not in seeds]:
            study.enqueue_trial(space.to_params(config), user_attrs={PHASE: "seed"})
        study.set_user_attr("seeded", True)

    def objective(trial: optuna.Trial) -> tuple[float, float]:
        params = {site.id: trial.suggest_categorical(site.id, space.choices(site.id)) for site in space.sites}
        config = measurer.expand(space.to_config(params))
        figures = measurer.figures(config)
        trial.set_user_attr(PHASE, trial.user_attrs.get(PHASE, "search"))
        trial.set_user_attr("config", config_to_dict(config))
        trial.set_user_attr("figures", figures)
        trial.set_constraint("loss", violation(figures, bound))
        return figures["speedup"], searched_loss(figures)

    done = completed_search_trials(study)
    bar.start("search", total=budget.trials, completed=done)
    for trial in _complete(study):
        if trial.user_attrs.get(PHASE) in ("search", "seed"):
            bar.note_feasible(trial.user_attrs["figures"], bound)
    remaining = budget.trials - done
    if remaining > 0:
        def callback(study, trial) -> None:
            if trial.state == optuna.trial.TrialState.COMPLETE:
                bar.advance("search")
                bar.note_feasible(trial.user_attrs["figures"], bound)

        study.optimize(objective, n_trials=remaining, timeout=budget.seconds, callbacks=[callback])
    for trial in _complete(study):
        if trial.user_attrs.get(PHASE) in ("search", "seed"):
            config = config_from_dict(trial.user_attrs["config"])
            points.append(Candidate(config, trial.user_attrs[PHASE], trial.user_attrs["figures"]))
    return _unique(points)


def _complete(study) -> list:
    import optuna

    return study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))


def _remember_trials(study, measurer: Measurer) -> None:
    for trial in _complete(study):
        if "config" in trial.user_attrs:
            measurer.remember(config_from_dict(trial.user_attrs["config"]), trial.user_attrs["figures"])


def _add_sensitivity_trials(study, space, singles, distributions, bound) -> None:
    """Tell the sampler what the sensitivity pass learnt, as completed trials."""
    import optuna

    trials = []
    for s in singles:
        if not s.kept or s.site not in distributions:
            continue
        trials.append(optuna.trial.create_trial(
            params=space.to_params({s.site: s.setting}), distributions=distributions,
            values=[s.figures["speedup"], searched_loss(s.figures)],
            user_attrs={PHASE: "sensitivity"},
            constraints={"loss": violation(s.figures, bound)},
        ))
    study.add_trials(trials)


def _unique(points: list[Candidate]) -> list[Candidate]:
    seen: set[str] = set()
    unique = []
    for p in points:
        key = config_key(p.config)
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique
