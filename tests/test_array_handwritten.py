"""The by-hand array approximations the arrays benchmark compares against: each takes its
program's arguments and returns what the program returns, in shape and dtype, close to it."""

import importlib

import numpy as np
import pytest

from approxify.measure.quality import get_quality
from benchmarks import arrays
from benchmarks.array_handwritten import BY_HAND
from benchmarks.suite import SUITE

VECTORIZED = [p for p in SUITE if p.form.startswith("NumPy")]


def test_every_vectorized_program_has_one_and_only_those():
    assert sorted(BY_HAND) == sorted(p.name for p in VECTORIZED) == sorted(arrays.PROGRAMS)
    assert len(BY_HAND) == 7


@pytest.mark.parametrize("program", VECTORIZED, ids=lambda p: p.name)
def test_the_output_has_the_programs_shape_and_dtype_and_a_small_loss(program):
    module = importlib.import_module(program.module)
    exact_fn, hand = getattr(module, program.function), BY_HAND[program.name]
    quality = get_quality(getattr(module, "QUALITY", "rel_l2"))
    for args in module.make_inputs(2, seed=1, **{**program.options, **program.quick_options}):
        copies = [np.copy(a) for a in args]
        exact, approx = exact_fn(*args), hand(*args)
        for e, a in zip(*((exact, approx) if isinstance(exact, tuple) else ((exact,), (approx,)))):
            assert np.shape(a) == np.shape(e) and np.asarray(a).dtype == np.asarray(e).dtype
            assert np.isfinite(a).all()
        assert float(np.mean(quality(exact, approx))) < 0.05  # written to hold at the 5% bound
        assert all(np.array_equal(a, c) for a, c in zip(args, copies))  # arguments left unchanged
