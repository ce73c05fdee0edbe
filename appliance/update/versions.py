"""Version strings of bundles and images, compared as numbers: ``2025.11.2`` > ``2025.9.30``.

Only dotted decimal numbers are accepted: anti-rollback compares them, and a free-form string
("v2-rc1", a date with letters) has no order anyone could rely on.
"""

from __future__ import annotations

import re

from appliance.update.errors import BadRequest

MAX_PARTS = 4
MAX_VERSION_LENGTH = 40
_VERSION = re.compile(r"[0-9]{1,9}(\.[0-9]{1,9}){0,3}")


def parse_version(text: str) -> tuple[int, ...]:
    """Return ``text`` as a tuple of numbers; :class:`BadRequest` if it is not ``N(.N){0,3}``.

    Trailing zero parts do not count: ``1.2`` and ``1.2.0`` are the same version.
    """
    if len(text) > MAX_VERSION_LENGTH or not _VERSION.fullmatch(text):
        raise BadRequest(f"version {text[:MAX_VERSION_LENGTH]!r} is not like 2025.11.2")
    parts = [int(part) for part in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def is_older(candidate: str, reference: str) -> bool:
    """Tell whether version ``candidate`` is older than ``reference``."""
    return parse_version(candidate) < parse_version(reference)
