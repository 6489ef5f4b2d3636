"""Sensitivity: every site x setting measured alone on the tuning inputs.

Settings that fail or exceed the bound alone are dropped from the search (criticality testing,
as in the loop-perforation literature). Results are stored in the study as they come, so an
interrupted run resumes without measuring them again.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..sites import Site
from . import study as studies
from .measurer import Measurer
from .progress import Progress

# a model's layer setting that saves less than this alone is left out of the search: layers cost
# independently (unlike a program's float variables, whose casts pay only together), and a
# setting that is not cheaper alone (float16 on a CPU without it, int8 on a tiny layer,
# magnitude pruning with dense kernels under cost="time") only adds loss to a combination
MODEL_PAYOFF = 1.02


def measure_sensitivity(study, measurer: Measurer, sites: Sequence[Site], bound: float,
                        bar: Progress) -> list[studies.Sensitivity]:
    payoff = MODEL_PAYOFF if measurer.target.per_sample else None
    jobs = [(site, setting) for site in sites for setting in site.knob.choices]
    done = studies.stored_sensitivity(study)
    bar.start("sensitivity", total=len(jobs))
    results = []
    for site, setting in jobs:
        key = studies.sensitivity_key(site.id, setting)
        figures = done.get(key)
        if figures is None:
            figures = measurer.figures({site.id: setting})
            studies.store_sensitivity(study, key, figures)
        else:
            measurer.remember({site.id: setting}, figures)
        results.append(studies.Sensitivity.judge(site.id, setting, figures, bound, payoff=payoff))
        bar.advance("sensitivity")
    return results
