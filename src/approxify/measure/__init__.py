"""Measurement: quality metrics (per-input loss), cost (time or a proxy), and the runner."""
