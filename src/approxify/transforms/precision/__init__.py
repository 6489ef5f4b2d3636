"""Precision tuning: lower float variables and arrays."""
