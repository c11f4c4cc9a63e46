"""How codes are shown: the one rule that turns ``1.0`` into ``"1"``.

SPSS and Stata store every numeric code as a double, so a code read from a
file is ``1.0``; users, value labels, YAML files and messages say ``1``. This
bottom-layer module (it imports nothing from ``sid``) holds that rule once:
:func:`format_number` for text, :func:`plain_number` for values written back
into YAML or used as keys. Non-integral numbers, strings and other values are
left as they are.
"""

from __future__ import annotations

import numbers
from typing import Any

__all__ = ["format_number", "plain_number"]


def format_number(value: Any) -> str:
    """A value as text, integral numbers without a decimal part: ``7.0`` -> ``"7"``.

    Python and numpy floats and integers are handled alike; booleans, NaN,
    infinities, non-integral numbers and non-numbers are shown with ``str``.
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        if number.is_integer():
            return str(int(number))
    return str(value)


def plain_number(value: Any) -> Any:
    """A number as a plain Python number, integral ones as ``int``: ``7.0`` -> ``7``,
    ``np.float64(2.5)`` -> ``2.5``; booleans and non-numbers unchanged.

    For values dumped to YAML (which cannot represent numpy scalars) or shown
    as keys, where ``7.0`` would read as a different code than the user wrote.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    number = float(value)
    return int(number) if number.is_integer() else number
