"""Kinds of fitted objects (surrogates, activation ranges, trained blocks) and their loading.

A fit is saved in a result as the dict its ``to_dict`` gives, with a ``kind`` key; a family
registers each kind it fits with :func:`fit_kind`, and :func:`load_fit` rebuilds any of them,
so loading knows no family.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..errors import InvalidArgument

# results saved before fits carried a kind hold call-site surrogates without one
UNTAGGED = "call-surrogate"
_LOADERS: dict[str, Callable[[dict[str, Any]], Any]] = {}


def fit_kind(kind: str) -> Callable[[type], type]:
    """Class decorator: ``cls.from_dict`` loads saved fits of ``kind``."""

    def register(cls: type) -> type:
        _LOADERS[kind] = cls.from_dict
        return cls

    return register


def load_fit(data: Mapping[str, Any]) -> Any:
    kind = data.get("kind", UNTAGGED) if isinstance(data, Mapping) else None
    loader = _LOADERS.get(kind)
    if loader is None:
        raise InvalidArgument(
            f"a saved fit has kind {kind!r}, which none of the installed families fits (known: "
            f"{', '.join(sorted(_LOADERS))}); the result was saved by another version of approxify."
        )
    return loader(dict(data))
