"""Number formatting for certificate statements.

Bounds are rounded *outwards* (an upper bound up, a lower bound and a confidence down), so a
rounded statement never claims more than the unrounded one.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal


def _plain(value: Decimal) -> str:
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _significant(value: Decimal, digits: int, rounding: str) -> str:
    if value == 0:
        return "0"
    quantum = Decimal(1).scaleb(value.adjusted() - digits + 1)
    return _plain(value.quantize(quantum, rounding=rounding))


def exact(value: float) -> str:
    """The shortest decimal that reads back as `value`, without exponent (0.05, not 5e-02)."""
    return _plain(Decimal(repr(value)))


def nearest(value: float, digits: int = 3) -> str:
    """`value` rounded to `digits` significant digits (for observed, not certified, numbers)."""
    return _significant(Decimal(repr(value)), digits, ROUND_HALF_EVEN)


def up(value: float, digits: int = 3) -> str:
    """`value` rounded up to `digits` significant digits (for upper bounds)."""
    return _significant(Decimal(repr(value)), digits, ROUND_CEILING)


def percent_up(value: float, digits: int = 3) -> str:
    """100 * `value` rounded up, with a % sign (for upper bounds on rates)."""
    return _significant(Decimal(repr(value)) * 100, digits, ROUND_CEILING) + "%"


def percent_down(value: float, digits: int = 3) -> str:
    """100 * `value` rounded down, with a % sign (for lower bounds and confidence levels)."""
    return _significant(Decimal(repr(value)) * 100, digits, ROUND_FLOOR) + "%"


def complement_percent(value: float) -> str:
    """100 * (1 - `value`) with a % sign, computed in decimal (1 - 0.9 is 10%, not 9.99%)."""
    return _plain((1 - Decimal(repr(value))) * 100) + "%"
