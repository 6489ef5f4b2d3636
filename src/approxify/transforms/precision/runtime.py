"""What lowered code calls at run time: casts that only ever narrow float data, and the guard
that keeps an integer-lowered function's result float.

``_ax_lower_float32(x)`` returns a float ndarray, NumPy float scalar or Python float wider than
32 bits as float32, and anything else (integers, objects, data already narrow) unchanged, so a
cast placed on a variable can never change a non-float value. Inside numba-compiled code the same
names resolve to typed implementations (``numba.extending.overload``), chosen at compile time.
"""

from __future__ import annotations

import numpy as _ax_np

from ...targets.python_runtime import numba_setup, runtime_constant, runtime_helper

IMPORT = "import numpy as _ax_np"
DTYPES = {"float32": _ax_np.float32, "float16": _ax_np.float16}


@runtime_helper(imports=(IMPORT,))
def _ax_lower(value, dtype, itemsize):
    if isinstance(value, _ax_np.ndarray):
        if value.dtype.kind == "f" and value.dtype.itemsize > itemsize:
            return value.astype(dtype)
        return value
    if isinstance(value, float):  # Python floats and np.float64
        return dtype(value)
    if isinstance(value, _ax_np.floating) and value.dtype.itemsize > itemsize:
        return dtype(value)
    return value


@runtime_helper(requires=("_ax_lower",), imports=(IMPORT,))
def _ax_lower_float32(value):
    return _ax_lower(value, _ax_np.float32, 4)


@runtime_helper(requires=("_ax_lower",), imports=(IMPORT,))
def _ax_lower_float16(value):
    return _ax_lower(value, _ax_np.float16, 2)


CASTS = {"float32": "_ax_lower_float32", "float16": "_ax_lower_float16"}
DTYPE_NAMES = {"float32": "_ax_float32", "float16": "_ax_float16"}
for _name, _dtype in DTYPES.items():
    runtime_constant(DTYPE_NAMES[_name], _dtype, f"{DTYPE_NAMES[_name]} = _ax_np.{_name}",
                     imports=(IMPORT,))


@runtime_helper(requires=("_ax_lower_float32", "_ax_lower_float16"), imports=(IMPORT,))
def _ax_numba_casts():
    """Give numba an implementation of each cast, picked by the argument's type."""
    from numba import types
    from numba.extending import overload

    def implement(cast, dtype, bits):
        @overload(cast)
        def typed(value):
            if isinstance(value, types.Array) and isinstance(value.dtype, types.Float):
                if value.dtype.bitwidth > bits:
                    return lambda value: value.astype(dtype)
            elif isinstance(value, types.Float) and value.bitwidth > bits:
                return lambda value: dtype(value)
            return lambda value: value

    implement(_ax_lower_float32, _ax_np.float32, 32)
    implement(_ax_lower_float16, _ax_np.float16, 16)


numba_setup(_ax_numba_casts)


# Integer lowering (see :mod:`.integers`): the cast is a plain ``.astype``, named by the program's
# own NumPy alias where it has one, else by these constants
INT_DTYPE_NAMES = {"int16": "_ax_int16", "int32": "_ax_int32"}
for _name, _constant in INT_DTYPE_NAMES.items():
    runtime_constant(_constant, getattr(_ax_np, _name), f"{_constant} = _ax_np.{_name}", imports=(IMPORT,))


@runtime_helper(imports=(IMPORT,))
def _ax_float_result(value):
    """A returned integer array or NumPy integer as float64: integer lowering must not change a
    float result into an integer one (``p * 2`` of an int16 ``p``)."""
    if isinstance(value, (_ax_np.ndarray, _ax_np.integer)) and value.dtype.kind in "iu":
        return value.astype(_ax_np.float64)
    return value
