"""Money as integer pence: formatting and parsing pounds-and-pence text.

Amounts are always whole pence (`int`). Text is parsed with `Decimal`, never `float`.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

PENCE_PER_POUND = 100

# Digits with optional thousands commas in groups of three, then at most any decimals
# (the number of decimals is checked separately so the error can say what is wrong).
_AMOUNT = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d*))?$")


def format_pounds(pence: int) -> str:
    """Format whole pence as pounds: 123456 -> "£1,234.56", -500 -> "-£5.00"."""
    sign = "-" if pence < 0 else ""
    pounds, rest = divmod(abs(pence), PENCE_PER_POUND)
    return f"{sign}£{pounds:,}.{rest:02d}"


def parse_pounds(text: str) -> int:
    """Parse an amount of pounds ("8", "8.50", "£8.50", "1,200") into whole pence.

    Raises ValueError, with a message that says what is wrong, for empty or malformed
    text, more than two decimal places, or a negative amount.
    """
    cleaned = text.strip()
    if cleaned.startswith(("-", "−", "£-", "£−")):
        raise ValueError(f"amount {text!r} is negative: give an amount of zero or more")
    cleaned = cleaned.removeprefix("£").strip()
    if not cleaned:
        raise ValueError(f"amount {text!r} is empty: give an amount such as 8.50")
    match = _AMOUNT.match(cleaned)
    if match is None:
        raise ValueError(f"amount {text!r} is not a number of pounds such as 8, 8.50 or 1,200")
    decimals = match.group(1)
    if decimals is not None and len(decimals) > 2:
        raise ValueError(f"amount {text!r} has more than two decimal places")
    if decimals == "":
        raise ValueError(f"amount {text!r} ends with a point: give pence as .50 or leave it out")
    pounds = Decimal(cleaned.replace(",", ""))
    return int((pounds * PENCE_PER_POUND).to_integral_value(rounding=ROUND_HALF_UP))
