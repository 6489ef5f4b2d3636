"""Programs the precision benchmark tunes, written as users write them (our own code from
published descriptions). Each module has the kernel, ``make_inputs(count, *, seed=0)`` (a list of
argument tuples) and ``QUALITY`` (the loss its outputs are compared with).

``numba_loops`` needs numba and is imported only by the benchmark section that uses it.
"""
