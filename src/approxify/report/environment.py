"""Where a result was measured: versions and machine, recorded with every result."""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata
from typing import Any

from .._version import __version__  # the running code's own: also right when run from a checkout


def environment() -> dict[str, Any]:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    return {
        "approxify": __version__,
        "python": sys.version.split()[0],
        "numpy": version("numpy"),
        "scipy": version("scipy"),
        "optuna": version("optuna"),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
    }
