"""Sobel edge detection: the program lives in :mod:`approxify.examples.sobel` (``approxify demo``
tunes it too); the suite and the precision benchmark load it under this name."""

from approxify.examples.sobel import QUALITY, SIZE, make_inputs, sobel

__all__ = ["QUALITY", "SIZE", "make_inputs", "sobel"]
