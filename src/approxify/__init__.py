"""approxify: approximate computing for Python functions, with certified accuracy bounds.

    import approxify as ax
    ax.sites(fn)
    fast = ax.apply(fn, {"mc.estimate/for#0": ax.Perforate(rate=0.5)})
    result = ax.approximate(fn, inputs, quality="rel_l2", bound=0.05)
"""

from ._version import __version__
from ._api import apply, approximate, certify, evaluate, load, sites, source
from .config import Budget, Perforate, Precision, Setting, Substitute
from .errors import (
    ApproxifyError,
    InvalidArgument,
    InvalidArgumentType,
    InvalidConfig,
    NotEnoughInputs,
    QualityError,
    ResultFileError,
    TargetChanged,
    TargetFailed,
    UnknownSite,
    UnsupportedTarget,
)
from .markers import alternatives, has_side_effects, statistic
from .measure.evaluation import Evaluation
from .measure.inputs import Args
from .measure.quality import Quality
from .report.result import Candidate, Result
from .sites import Knob, Site, SiteList
from .stats import Certificate


__all__ = [
    "ApproxifyError",
    "Args",
    "Budget",
    "Candidate",
    "Certificate",
    "Evaluation",
    "InvalidArgument",
    "InvalidArgumentType",
    "InvalidConfig",
    "Knob",
    "NotEnoughInputs",
    "Perforate",
    "Precision",
    "Quality",
    "QualityError",
    "Result",
    "ResultFileError",
    "Setting",
    "Site",
    "SiteList",
    "Substitute",
    "TargetChanged",
    "TargetFailed",
    "UnknownSite",
    "UnsupportedTarget",
    "alternatives",
    "apply",
    "approximate",
    "certify",
    "evaluate",
    "has_side_effects",
    "load",
    "sites",
    "source",
    "statistic",
]
