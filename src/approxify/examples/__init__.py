"""Example targets used by ``approxify demo``, the tests and the benchmarks.

Each module holds a kernel written the way users write it, and ``make_inputs`` to generate inputs
(no downloads: everything is generated from a seed).
"""
