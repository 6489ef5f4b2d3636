"""Exceptions raised by approxify.

Every exception subclasses both :class:`ApproxifyError` and the builtin it refines, so callers can
catch either::

    ApproxifyError
    ├── InvalidArgument (ValueError)        an argument has the wrong value: bound, confidence, metric…
    │   ├── UnknownSite (KeyError)          a config names a site the target does not have
    │   ├── InvalidConfig                   a setting is illegal for its site
    │   └── NotEnoughInputs                 too few inputs to ever certify the bound asked for
    ├── InvalidArgumentType (TypeError)     an argument has the wrong type
    ├── UnsupportedTarget (TypeError)       the object cannot be approximated (lambda, builtin, generator…)
    ├── QualityError (ValueError)           the quality metric fails or is not 0 on the exact outputs
    ├── ResultFileError (ValueError)        a saved result file is missing, not a result, or damaged
    ├── TargetChanged (RuntimeError)        the code or weights differ from those a result measured
    └── TargetFailed (RuntimeError)         the *exact* program fails on a user input

A failure inside an approximate *variant* is never an exception: it is data (loss 1, counted as a
failure). Messages name the argument, what was expected, what was given, and the fix.
"""

from __future__ import annotations


class ApproxifyError(Exception):
    """Base class of every error approxify raises on purpose."""


class InvalidArgument(ApproxifyError, ValueError):
    """An argument has a value approxify cannot use."""


class UnknownSite(InvalidArgument, KeyError):
    """A config or selector names a site the target does not have."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class InvalidConfig(InvalidArgument):
    """A setting is not legal for the site it is given to."""


class NotEnoughInputs(InvalidArgument):
    """Too few (held-out) inputs to certify the requested bound at the requested confidence."""


class InvalidArgumentType(ApproxifyError, TypeError):
    """An argument has a type approxify cannot use."""


class UnsupportedTarget(ApproxifyError, TypeError):
    """The object given as a target cannot be lifted into a program."""


class QualityError(ApproxifyError, ValueError):
    """The quality metric raised, or did not give 0, when comparing exact outputs with themselves."""


class ResultFileError(ApproxifyError, ValueError):
    """A saved result file cannot be read back: missing, not UTF-8 JSON, another format, or
    damaged (a missing key, a wrong type, a bad setting)."""


class TargetChanged(ApproxifyError, RuntimeError):
    """The target's code or weights differ from the fingerprint a result recorded, so a variant
    built now would not be the one that was measured and certified."""


class TargetFailed(ApproxifyError, RuntimeError):
    """The exact (unmodified) target failed on one of the user's inputs."""
