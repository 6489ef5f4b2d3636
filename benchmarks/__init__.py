"""Benchmarks: side-by-side timings written to BENCHMARKS.md (``make bench``)."""
