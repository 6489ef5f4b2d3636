"""What a rewired call site runs (see :mod:`.call_graph`): registered as runtime helpers, so a
variant and an exported module use the same code.

``_ax_swap(value)`` gets what a followed call site evaluated to and returns what the variant
calls instead: the variant of a lifted function, a bound method rebound to the variant on the
same object, a user class built with its variant ``__init__``; anything else (a subclass's
override, another object) as it is.
"""

from __future__ import annotations

import types

from .python_runtime import runtime_helper


@runtime_helper()
class _ax_Construct:
    """``cls(*args)`` as ``type.__call__`` does it, with a variant ``__init__``; the class itself
    is not modified."""

    __slots__ = ("cls", "init")

    def __init__(self, cls, init):
        self.cls, self.init = cls, init

    def __call__(self, *args, **kwargs):
        cls = self.cls
        obj = object.__new__(cls) if cls.__new__ is object.__new__ else cls.__new__(cls, *args, **kwargs)
        if isinstance(obj, cls):
            self.init(obj, *args, **kwargs)
        return obj


@runtime_helper(requires=("_ax_Construct",), imports=("import types",))
class _ax_Swap:
    """Callable: what a call site that reached a changed function calls instead (``variants``:
    id of the user's function -> its variant)."""

    __slots__ = ("variants",)

    def __init__(self, variants):
        self.variants = variants

    def __call__(self, value):
        variant = self.variants.get(id(value))
        if variant is not None:
            return variant
        if type(value) is types.MethodType:
            variant = self.variants.get(id(value.__func__))
            return value if variant is None else types.MethodType(variant, value.__self__)
        if isinstance(value, type) and type(value).__call__ is type.__call__:
            variant = self.variants.get(id(getattr(value, "__init__", None)))
            if variant is not None:
                return _ax_Construct(value, variant)
        return value


@runtime_helper()
def _ax_original(owner, name):
    """The function ``owner`` defines as ``name`` (a method's, behind staticmethod or
    classmethod), for an exported module's table of variants."""
    value = vars(owner)[name]
    return getattr(value, "__func__", value)
