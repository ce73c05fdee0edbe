"""Taxpayer identification numbers (纳税人识别号): the 18-character unified social credit code."""

from __future__ import annotations

import re

# GB 32100-2015: 31 characters (no I, O, Z, S, V) and weights 3^i mod 31 for the check character.
_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_PATTERN = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")


def check_character(first17: str) -> str:
    """Return the 18th character of a unified social credit code."""
    total = sum(
        _CHARSET.index(char) * weight for char, weight in zip(first17, _WEIGHTS, strict=True)
    )
    return _CHARSET[(31 - total % 31) % 31]


def is_valid_taxpayer_id(value: str) -> bool:
    """Tell whether ``value`` is a well-formed 18-character code with a correct check character."""
    return bool(_PATTERN.fullmatch(value)) and check_character(value[:17]) == value[17]


def mask_taxpayer_id(value: str) -> str:
    """Return the ID with its middle hidden, for screens and logs seen by others."""
    if len(value) <= 8:
        return value
    return value[:4] + "*" * (len(value) - 8) + value[-4:]
